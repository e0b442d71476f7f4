package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
)

// TestIdempotency: the same sender and key give the same message, however
// often asked; another sender or key is another message; an id in use
// is refused.
func TestIdempotency(t *testing.T) {
	s := openBolt(t)
	ctx := context.Background()
	now := time.Now()
	first := message(now, "2211771212")
	first.Sender, first.IdempotencyKey = "anna", "k-1"
	if id, created, err := s.Create(ctx, first); err != nil || !created || id != first.ID {
		t.Fatalf("first: %s %v %v", id, created, err)
	}
	tests := []struct {
		name, sender, key string
		sameID            bool
		err               error
	}{
		{"same sender, same key", "anna", "k-1", true, nil},
		{"same again", "anna", "k-1", true, nil},
		{"other sender, same key", "bo", "k-1", false, nil},
		{"same sender, other key", "anna", "k-2", false, nil},
		{"key differing in case", "anna", "K-1", false, nil},
	}
	for _, tt := range tests {
		m := message(now, "2211771212")
		m.Sender, m.IdempotencyKey = tt.sender, tt.key
		id, created, err := s.Create(ctx, m)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if (id == first.ID) != tt.sameID || created == tt.sameID {
			t.Errorf("%s: id %s created %v, first %s", tt.name, id, created, first.ID)
		}
		if got, ok, err := s.ByKey(ctx, tt.sender, tt.key); err != nil || !ok || got != id {
			t.Errorf("%s: ByKey %s %v %v, want %s", tt.name, got, ok, err, id)
		}
	}
	taken := message(now, "2211771212")
	taken.ID = first.ID
	if _, _, err := s.Create(ctx, taken); !errors.Is(err, ErrIDTaken) {
		t.Fatalf("id taken: %v", err)
	}
	if _, ok, err := s.ByKey(ctx, "anna", "never"); ok || err != nil {
		t.Fatalf("unknown key: %v %v", ok, err)
	}
	if _, err := s.Get(ctx, "no-such"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

// TestBoltReopenDropsLeases: leases found on opening belong to a process
// that is gone: its messages are claimable at once, and an entry that
// only held a done message's lease is gone.
func TestBoltReopenDropsLeases(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	s, err := OpenBolt(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	queued, done := message(now, "2211771212"), message(now, "0707614285")
	done.Recipients[0].Status = relayapi.StatusDelivered
	for _, m := range []*Message{queued, done} {
		if _, _, err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _, _ := s.Claim(ctx, "dead", now, time.Hour, 10); len(ids) != 1 || ids[0] != queued.ID {
		t.Fatalf("claim: %v", ids)
	}
	if err := s.Acquire(ctx, done.ID, "dead", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = OpenBolt(dir, key); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ids, next, _ := s.Claim(ctx, "new", now, time.Minute, 10); len(ids) != 1 || ids[0] != queued.ID || !next.IsZero() {
		t.Fatalf("after reopen: %v next %v", ids, next)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketQueue).Get([]byte(done.ID)) != nil {
			t.Error("a done message's lease entry survived the reopen")
		}
		return nil
	})
	if err := s.Acquire(ctx, done.ID, "new", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("done message still held: %v", err)
	}
}

// TestQueueEntryEncoding: entries round-trip, and an entry written before
// leases existed (8 bytes: the next attempt) reads as unleased.
func TestQueueEntryEncoding(t *testing.T) {
	at := time.Unix(0, 1_700_000_000_123_456_789)
	until := at.Add(time.Minute)
	tests := []queueEntry{
		{next: at},
		{next: at, until: until, owner: "relay-1/abc"},
		{next: parked, until: until, owner: "securemailbox/x"},
	}
	for _, e := range tests {
		got := parseQueueEntry(e.bytes())
		if !got.next.Equal(e.next) || got.owner != e.owner || (e.owner != "" && !got.until.Equal(e.until)) {
			t.Errorf("round trip %+v -> %+v", e, got)
		}
	}
	legacy := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	if e := parseQueueEntry(legacy); !e.next.Equal(at) || e.owner != "" || e.held(at) {
		t.Errorf("legacy entry %+v", e)
	}
	if e := parseQueueEntry(nil); !e.next.IsZero() || e.owner != "" {
		t.Errorf("empty entry %+v", e)
	}
	held := queueEntry{owner: "a", until: until}
	for _, c := range []struct {
		now  time.Time
		want bool
	}{{at, true}, {until.Add(-time.Nanosecond), true}, {until, false}, {until.Add(time.Second), false}} {
		if held.held(c.now) != c.want {
			t.Errorf("held at %v = %v", c.now.Sub(at), !c.want)
		}
	}
}

// TestModifyBolt: Modify on the embedded store waits for a held lease
// within its context, writes under its own lease, and releases it.
func TestModifyBolt(t *testing.T) {
	s := openBolt(t)
	ctx := context.Background()
	m := message(time.Now(), "2211771212")
	s.Create(ctx, m)
	if ids, _, _ := s.Claim(ctx, "worker", time.Now(), time.Minute, 10); len(ids) != 1 {
		t.Fatal("claim")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := Modify(short, s, m.ID, "mb", func(*Message) error { return nil }); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("while held: %v", err)
	}
	if err := Modify(ctx, s, "no-such", "mb", func(*Message) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	got := get(t, s, m.ID)
	if err := s.Update(ctx, got, Lease{Owner: "worker"}); err != nil { // released
		t.Fatal(err)
	}
	if err := Modify(ctx, s, m.ID, "mb", func(m *Message) error { m.Subject = "Ny"; return nil }); err != nil {
		t.Fatal(err)
	}
	if get(t, s, m.ID).Subject != "Ny" {
		t.Fatal("change not written")
	}
	if ids, _, _ := s.Claim(ctx, "worker", time.Now(), time.Minute, 10); len(ids) != 1 {
		t.Fatal("Modify left its lease behind")
	}
}

func TestMessageStatus(t *testing.T) {
	m := message(time.Now(), "2211771212", "0707614285")
	m.Recipients[0].Status, m.Recipients[0].Message = relayapi.StatusDelivered, "Leveret"
	m.Events = []relayapi.Event{{Kind: relayapi.EventReceived, What: "Modtaget af relæet"}}
	st := m.Status()
	if st.ID != m.ID || st.Status != relayapi.StatusSending || len(st.Recipients) != 2 || st.Recipients[0].Message != "Leveret" ||
		st.Recipients[1].Input != "0707614285" || len(st.Events) != 1 || m.Done() {
		t.Fatalf("%+v done=%v", st, m.Done())
	}
	m.Recipients[1].Status = relayapi.StatusNeedsFallback
	if st := m.Status(); st.Status != relayapi.StatusNeedsFallback || !m.Done() {
		t.Fatalf("%+v done=%v", st, m.Done())
	}
}

func TestOrganisationMailbox(t *testing.T) {
	org := DemoOrganisation()
	if m, ok := org.Mailbox("jobcenter"); !ok || m.Label != "Jobcenter" || m.ContactPointID == "" {
		t.Fatalf("%+v %v", m, ok)
	}
	if _, ok := org.Mailbox("nope"); ok {
		t.Fatal("unknown mailbox found")
	}
}

// TestOpenRecordRefusesOtherKeys: a record opens only with its key and
// under its id.
func TestOpenRecordRefusesOtherKeys(t *testing.T) {
	key := testKey(t)
	m := message(time.Now(), "2211771212")
	sealed, err := key.SealJSON(m, []byte(m.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenRecord(key, m.ID, sealed); err != nil || got.ID != m.ID {
		t.Fatalf("open: %v", err)
	}
	if _, err := OpenRecord(key, "other-id", sealed); err == nil {
		t.Fatal("opened under another id")
	}
	if _, err := OpenRecord(testKey(t), m.ID, sealed); err == nil {
		t.Fatal("opened with another key")
	}
}
