package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/recipient"
)

// fakeRegistry counts lookups and answers from a table.
type fakeRegistry struct {
	mu      sync.Mutex
	parties map[string]recipient.Party
	err     error
	calls   map[string]int
	// gate, when set, holds every lookup until closed.
	gate chan struct{}
}

func (f *fakeRegistry) Lookup(_ context.Context, id recipient.ID) (recipient.Party, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[id.Value]++
	if f.err != nil {
		return recipient.Party{}, f.err
	}
	return f.parties[id.Value], nil
}

func (f *fakeRegistry) n(v string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[v]
}

var day = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func cpr(v string) recipient.ID { return recipient.ID{Kind: recipient.KindCPR, Value: v} }

func TestCached(t *testing.T) {
	karen := recipient.Party{Found: true, Name: "Karen Testesen", DigitalPost: true, Address: []string{"Prøvegade 12", "8000 Aarhus C"}}
	secret := recipient.Party{Found: true, Name: "Hemmelig Borger", Protected: true, DigitalPost: true, Address: []string{"Skjultvej 7"}}
	secretExempt := recipient.Party{Found: true, Name: "Skjult Fritaget", Protected: true, Address: []string{"Lukketvej 3"}}
	tests := []struct {
		name string
		id   string
		// advance between the two lookups
		advance time.Duration
		ttl     time.Duration
		// calls to the register after two lookups
		calls int
		// second answer
		want recipient.Party
	}{
		{"hit within the TTL", "2211771212", 23 * time.Hour, 0, 1, karen},
		{"miss after the default 24 h", "2211771212", 24 * time.Hour, 0, 2, karen},
		{"configured TTL", "2211771212", 2 * time.Minute, time.Minute, 2, karen},
		{"not found is cached too", "0101011234", time.Hour, 0, 1, recipient.Party{}},
		{"protected: only that, never the name", "1010101010", time.Hour, 0, 1, recipient.Party{Found: true, Protected: true, DigitalPost: true}},
		{"protected and exempt: asked again (a letter needs name and address)", "1111111118", time.Hour, 0, 2, secretExempt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := &fakeRegistry{parties: map[string]recipient.Party{"2211771212": karen, "1010101010": secret, "1111111118": secretExempt}}
			clock := day
			c := NewCached(reg, tc.ttl, 0)
			c.Now = func() time.Time { return clock }
			first, err := c.Lookup(context.Background(), cpr(tc.id))
			if err != nil {
				t.Fatal(err)
			}
			if want := reg.parties[tc.id]; !equal(first, want) {
				t.Errorf("first answer %+v, want %+v", first, want)
			}
			clock = clock.Add(tc.advance)
			got, err := c.Lookup(context.Background(), cpr(tc.id))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.want) {
				t.Errorf("second answer %+v, want %+v", got, tc.want)
			}
			if n := reg.n(tc.id); n != tc.calls {
				t.Errorf("register asked %d times, want %d", n, tc.calls)
			}
			// Nothing in the cache names a protected person, and no key
			// is a CPR number.
			c.mu.Lock()
			for k, el := range c.entries {
				e := el.Value.(*cacheEntry)
				if e.party.Protected && (e.party.Name != "" || len(e.party.Address) > 0) {
					t.Errorf("protected entry kept %+v", e.party)
				}
				if strings.Contains(fmt.Sprintf("%x", k), tc.id) {
					t.Errorf("key holds the number")
				}
			}
			c.mu.Unlock()
		})
	}
}

func TestCachedErrorsNotCached(t *testing.T) {
	reg := &fakeRegistry{err: errors.New("down")}
	c := NewCached(reg, 0, 0)
	for range 3 {
		if _, err := c.Lookup(context.Background(), cpr("2211771212")); err == nil {
			t.Fatal("no error")
		}
	}
	if n := reg.n("2211771212"); n != 3 {
		t.Errorf("register asked %d times, want 3", n)
	}
	if c.Len() != 0 {
		t.Errorf("cache holds %d entries after errors", c.Len())
	}
	// Once the register is back, the answer comes through.
	reg.mu.Lock()
	reg.err = nil
	reg.parties = map[string]recipient.Party{"2211771212": {Found: true, Name: "Karen", DigitalPost: true}}
	reg.mu.Unlock()
	if p, err := c.Lookup(context.Background(), cpr("2211771212")); err != nil || !p.DigitalPost {
		t.Fatalf("%+v, %v", p, err)
	}
}

func TestCachedBounded(t *testing.T) {
	reg := &fakeRegistry{parties: map[string]recipient.Party{}}
	c := NewCached(reg, 0, 3)
	ctx := context.Background()
	for _, v := range []string{"a", "b", "c"} {
		c.Lookup(ctx, cpr(v))
	}
	c.Lookup(ctx, cpr("a")) // a is now the most recent
	c.Lookup(ctx, cpr("d")) // evicts b
	if c.Len() != 3 {
		t.Errorf("len %d, want 3", c.Len())
	}
	c.Lookup(ctx, cpr("a"))
	c.Lookup(ctx, cpr("b"))
	if reg.n("a") != 1 || reg.n("b") != 2 {
		t.Errorf("a asked %d (want 1), b asked %d (want 2)", reg.n("a"), reg.n("b"))
	}
}

func TestCachedReturnsCopies(t *testing.T) {
	reg := &fakeRegistry{parties: map[string]recipient.Party{"2211771212": {Found: true, Name: "K", Address: []string{"Vej 1"}}}}
	c := NewCached(reg, 0, 0)
	p, _ := c.Lookup(context.Background(), cpr("2211771212"))
	p.Address[0] = "changed"
	q, _ := c.Lookup(context.Background(), cpr("2211771212"))
	if q.Address[0] != "Vej 1" {
		t.Errorf("cache entry changed through a returned Party: %q", q.Address)
	}
}

func equal(a, b recipient.Party) bool {
	return a.Found == b.Found && a.Name == b.Name && a.Protected == b.Protected && a.DigitalPost == b.DigitalPost && slices.Equal(a.Address, b.Address)
}

func TestCachedSharesOneCall(t *testing.T) {
	reg := &fakeRegistry{parties: map[string]recipient.Party{"2211771212": {Found: true, Name: "Karen", DigitalPost: true}}, gate: make(chan struct{})}
	c := NewCached(reg, 0, 0)
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Lookup(context.Background(), cpr("2211771212"))
			if err == nil && !p.DigitalPost {
				err = fmt.Errorf("answer %+v", p)
			}
			results <- err
		}()
	}
	// One caller gives up while the call is under way; the rest still
	// get the answer.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := c.Lookup(ctx, cpr("2211771212")); gaveUp <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	close(reg.gate)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if n := reg.n("2211771212"); n != 1 {
		t.Errorf("register asked %d times by 21 concurrent lookups, want 1", n)
	}
}
