package sqlstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// tally is a delivery channel shared by relay instances: it counts
// deliveries per MemoUUID, and per instance.
type tally struct {
	mu    sync.Mutex
	seen  map[string]int
	total atomic.Int64
	fails atomic.Int32
}

type tallyChannel struct {
	t     *tally
	count atomic.Int64
}

func (c *tallyChannel) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	if c.t.fails.Load() > 0 && c.t.fails.Add(-1) >= 0 {
		return delivery.Receipt{}, io.ErrUnexpectedEOF
	}
	for _, a := range d.Attachments {
		rc, err := a.Open()
		if err != nil {
			return delivery.Receipt{}, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || int64(len(b)) != a.Size {
			return delivery.Receipt{}, fmt.Errorf("attachment read %d of %d bytes: %v", len(b), a.Size, err)
		}
	}
	c.t.mu.Lock()
	c.t.seen[d.MemoUUID]++
	c.t.mu.Unlock()
	c.count.Add(1)
	c.t.total.Add(1)
	return delivery.Receipt{Status: delivery.Delivered}, nil
}

type citizens struct{}

func (citizens) Lookup(_ context.Context, id recipient.ID) (recipient.Party, error) {
	return recipient.Party{Found: true, Name: "Borger", DigitalPost: true}, nil
}

// instance starts a relay (API and worker) on store. stop ends its worker
// and returns once it has stopped, so that a test counts deliveries that
// can no longer change rather than sleeping and hoping.
func instance(t *testing.T, store queue.Store, ch *tallyChannel, lease time.Duration) (ts *httptest.Server, stop func()) {
	t.Helper()
	channels := map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: ch}
	w := &queue.Worker{Store: store, Org: queue.DemoOrganisation(), Channels: channels, Log: slog.New(slog.DiscardHandler), Lease: lease}
	s := &relay.Server{
		Store: store, Registry: citizens{}, Org: queue.DemoOrganisation(), Channels: channels,
		Authenticate: relay.BearerAuth("tok", "anna"), Log: slog.New(slog.DiscardHandler), Queued: w.Wake,
	}
	ts = httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(func() { ts.Close(); stop() })
	return ts, stop
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Submit, fail once, retry, deliver once: on every store.
func TestWorkerDeliversOnEveryStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		tl := &tally{seen: map[string]int{}}
		tl.fails.Store(1)
		ts, stop := instance(t, b.open(t), &tallyChannel{t: tl}, 0)
		c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
		msg := &relayapi.MessageRequest{Recipients: []string{"2211771212", "12345674"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: "w-1"}
		body := strings.Repeat("bilag ", 50_000)
		file := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf"}, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(body)), nil
		}}
		r, err := c.Submit(context.Background(), msg, []relayclient.Upload{file})
		if err != nil {
			t.Fatal(err)
		}
		if r2, err := c.Submit(context.Background(), msg, []relayclient.Upload{file}); err != nil || r2.ID != r.ID {
			t.Fatalf("repeat: %v %v", r2, err)
		}
		var st relayapi.MessageStatus
		waitFor(t, "delivery", 20*time.Second, func() bool {
			st, err = c.Status(context.Background(), r.ID)
			return err == nil && st.Status == relayapi.StatusDelivered
		})
		stop()
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if len(tl.seen) != 2 {
			t.Fatalf("deliveries: %v", tl.seen)
		}
		for u, n := range tl.seen {
			if n != 1 {
				t.Errorf("%s delivered %d times", u, n)
			}
		}
	})
}

// An instance that claimed a message and died after persisting one
// recipient's delivery: once its lease expires another instance delivers
// the rest, and never the recipient already delivered.
func TestWorkerTakesOverExpiredLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		store := b.open(t)
		m := newMessage("t-1", time.Now())
		m.Recipients = append(m.Recipients, queue.RecipientState{Input: "0707614285",
			ID: recipient.ID{Kind: recipient.KindCPR, Value: "0707614285"}, Channel: recipient.ChannelDigitalPost,
			Status: relayapi.StatusQueued, MemoUUID: uuid.NewString()})
		if _, _, err := store.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		claimed := time.Now()
		const lease = 500 * time.Millisecond
		if ids, _, err := store.Claim(ctx, "dead", claimed, lease, 10); err != nil || len(ids) != 1 {
			t.Fatalf("claim: %v %v", ids, err)
		}
		m.Recipients[0].Status = relayapi.StatusDelivered
		if err := store.Update(ctx, m, queue.Lease{Owner: "dead", Until: claimed.Add(lease)}); err != nil {
			t.Fatal(err)
		}
		// "dead" stops here. A live instance starts.
		tl := &tally{seen: map[string]int{}}
		h := store
		if b.shared {
			h = b.open(t)
		}
		_, stop := instance(t, h, &tallyChannel{t: tl}, time.Minute)
		waitFor(t, "takeover", 10*time.Second, func() bool { return tl.total.Load() == 1 })
		if since := time.Since(claimed); since < lease {
			t.Errorf("taken over after %v, before the lease of %v ran out", since, lease)
		}
		waitFor(t, "done", 5*time.Second, func() bool {
			got, err := store.Get(ctx, m.ID)
			return err == nil && got.Done()
		})
		stop()
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if tl.seen[m.Recipients[0].MemoUUID] != 0 || tl.seen[m.Recipients[1].MemoUUID] != 1 || len(tl.seen) != 1 {
			t.Fatalf("deliveries after takeover: %v", tl.seen)
		}
		if err := store.Update(ctx, m, queue.Lease{Owner: "dead", Until: time.Now().Add(lease)}); err == nil {
			t.Error("the dead instance could still write")
		}
	})
}

// Two relay instances on one database, each with its API and worker,
// deliver every queued message exactly once. PostgreSQL is where this
// counts (two handles, as two processes would have) with 1,000 messages;
// bbolt and SQLite, which one process owns, run two workers on one handle.
func TestTwoInstancesShareQueue(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		n := 1000
		if !b.shared {
			n = 200
		}
		tl := &tally{seen: map[string]int{}}
		first := b.open(t)
		second := first
		if b.shared {
			second = b.open(t)
		}
		chA, chB := &tallyChannel{t: tl}, &tallyChannel{t: tl}
		// Workers start with the first submits; half the queue builds up
		// while they run.
		tsA, stopA := instance(t, first, chA, time.Minute)
		tsB, stopB := instance(t, second, chB, time.Minute)
		clients := []*relayclient.Client{{BaseURL: tsA.URL, Token: "tok"}, {BaseURL: tsB.URL, Token: "tok"}}
		file := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf"}, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("%PDF-1.4 bilag")), nil
		}}
		ids := make([]string, n)
		var wg sync.WaitGroup
		work := make(chan int)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: fmt.Sprintf("two-%d", i)}
					r, err := clients[(i+w)%2].Submit(context.Background(), msg, []relayclient.Upload{file})
					if err != nil {
						t.Errorf("submit %d: %v", i, err)
						continue
					}
					ids[i] = r.ID
				}
			}()
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
		if t.Failed() {
			return
		}
		waitFor(t, fmt.Sprintf("%d deliveries", n), 3*time.Minute, func() bool { return tl.total.Load() >= int64(n) })
		stopA() // with both workers stopped, the counts are final
		stopB()
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if len(tl.seen) != n || tl.total.Load() != int64(n) {
			t.Fatalf("%d deliveries of %d recipients, want %d of %d", tl.total.Load(), len(tl.seen), n, n)
		}
		for u, k := range tl.seen {
			if k != 1 {
				t.Errorf("%s delivered %d times", u, k)
			}
		}
		for _, id := range ids {
			if m, err := first.Get(context.Background(), id); err != nil || !m.Done() {
				t.Fatalf("message %s not done: %v", id, err)
			}
		}
		if chA.count.Load() == 0 || chB.count.Load() == 0 {
			t.Errorf("one instance did all the work: %d and %d", chA.count.Load(), chB.count.Load())
		}
		t.Logf("%s: instance A delivered %d, B %d", b.name, chA.count.Load(), chB.count.Load())
	})
}
