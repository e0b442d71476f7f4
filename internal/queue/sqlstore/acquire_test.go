package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
)

// TestStoreAcquire: one message can be leased outside the worker's
// claims — refused while another holds it, taken once that lease runs
// out, and on a done message too, which Claim then still never returns.
func TestStoreAcquire(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		now := time.Now().Truncate(time.Millisecond)
		m := newMessage("acq", now.Add(-time.Second))
		if _, _, err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := s.Acquire(ctx, "no-such-id", "x", now, now.Add(time.Minute)); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("acquire unknown: %v", err)
		}
		if ids, _, err := s.Claim(ctx, "worker", now, time.Minute, 10); err != nil || len(ids) != 1 {
			t.Fatalf("claim: %v %v", ids, err)
		}
		// The worker holds it: the mailbox must wait, and cannot write.
		if err := s.Acquire(ctx, m.ID, "mailbox", now, now.Add(time.Minute)); !errors.Is(err, queue.ErrLeaseHeld) {
			t.Fatalf("acquire held: %v", err)
		}
		if err := s.Update(ctx, m, queue.Lease{Owner: "mailbox"}); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("update without the lease: %v", err)
		}
		// The holder may acquire again; at the lease's end anyone may.
		if err := s.Acquire(ctx, m.ID, "worker", now, now.Add(time.Minute)); err != nil {
			t.Fatalf("holder re-acquires: %v", err)
		}
		later := now.Add(2 * time.Minute)
		if err := s.Acquire(ctx, m.ID, "mailbox", later, later.Add(time.Minute)); err != nil {
			t.Fatalf("acquire expired: %v", err)
		}
		if err := s.Update(ctx, m, queue.Lease{Owner: "worker"}); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("old holder writes after takeover: %v", err)
		}
		if ids, _, _ := s.Claim(ctx, "worker", later, time.Minute, 10); len(ids) != 0 {
			t.Fatalf("claimed while the mailbox holds it: %v", ids)
		}
		// Delivered, released: it leaves the queue.
		m.Recipients[0].Status = relayapi.StatusDelivered
		if err := s.Update(ctx, m, queue.Lease{Owner: "mailbox"}); err != nil {
			t.Fatal(err)
		}
		// A done message is leased for an event and never claimed, before
		// or after the lease runs out, nor after it is released.
		if err := s.Acquire(ctx, m.ID, "mailbox", later, later.Add(time.Minute)); err != nil {
			t.Fatalf("acquire done: %v", err)
		}
		if err := s.Acquire(ctx, m.ID, "other", later, later.Add(time.Minute)); !errors.Is(err, queue.ErrLeaseHeld) {
			t.Fatalf("acquire done and held: %v", err)
		}
		for _, at := range []time.Time{later, later.Add(time.Hour)} {
			if ids, next, _ := s.Claim(ctx, "worker", at, time.Minute, 10); len(ids) != 0 || !next.IsZero() {
				t.Fatalf("done message claimable at %v: %v next %v", at, ids, next)
			}
		}
		m.Events = append(m.Events, relayapi.Event{At: later, Kind: relayapi.EventMailboxRead, Recipient: "a@b.dk", What: "Læst"})
		if err := s.Update(ctx, m, queue.Lease{Owner: "mailbox"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, m.ID)
		if err != nil || len(got.Events) != len(m.Events) || got.Events[len(got.Events)-1].Kind != relayapi.EventMailboxRead {
			t.Fatalf("event not kept: %+v %v", got, err)
		}
		if ids, next, _ := s.Claim(ctx, "worker", later.Add(time.Hour), time.Minute, 10); len(ids) != 0 || !next.IsZero() {
			t.Fatalf("released done message claimable: %v next %v", ids, next)
		}
		if err := s.Acquire(ctx, m.ID, "other", later, later.Add(time.Minute)); err != nil {
			t.Fatalf("acquire after release: %v", err)
		}
	})
}

// TestModifyWaitsForTheLease: Modify (the secure mailbox's events) waits
// while the worker holds a message and then writes on top of the worker's
// record, so neither write is lost; with the wait bounded by ctx it gives
// up and writes nothing.
func TestModifyWaitsForTheLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		now := time.Now()
		m := newMessage("mod", now.Add(-time.Second))
		if _, _, err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if ids, _, err := s.Claim(ctx, "worker", time.Now(), time.Minute, 10); err != nil || len(ids) != 1 {
			t.Fatalf("claim: %v %v", ids, err)
		}
		// Bounded: gives up while the worker holds it.
		short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		start := time.Now()
		err := queue.Modify(short, s, m.ID, "mailbox-1", func(m *queue.Message) error {
			t.Error("changed without the lease")
			return nil
		})
		cancel()
		if !errors.Is(err, queue.ErrLeaseHeld) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("modify while held: %v after %v", err, time.Since(start))
		}
		done := make(chan error, 1)
		go func() {
			done <- queue.Modify(ctx, s, m.ID, "mailbox-2", func(m *queue.Message) error {
				m.Events = append(m.Events, relayapi.Event{Kind: relayapi.EventMailboxRead, What: "Læst"})
				return nil
			})
		}()
		select {
		case err := <-done:
			t.Fatalf("modify did not wait for the worker: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		// The worker writes its outcome and releases the message.
		m.Events = append(m.Events, relayapi.Event{Kind: relayapi.EventDelivered, What: "Leveret"})
		m.Recipients[0].Status = relayapi.StatusDelivered
		if err := s.Update(ctx, m, queue.Lease{Owner: "worker"}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("modify never got the lease")
		}
		got, err := s.Get(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []relayapi.EventKind
		for _, e := range got.Events {
			kinds = append(kinds, e.Kind)
		}
		if n := len(kinds); n < 2 || kinds[n-2] != relayapi.EventDelivered || kinds[n-1] != relayapi.EventMailboxRead {
			t.Fatalf("events %v: a write was lost", kinds)
		}
		// A failing change writes nothing and leaves no lease behind.
		boom := errors.New("boom")
		if err := queue.Modify(ctx, s, m.ID, "mailbox-3", func(m *queue.Message) error { m.Subject = "changed"; return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing change: %v", err)
		}
		if got, _ := s.Get(ctx, m.ID); got.Subject == "changed" {
			t.Fatal("failed change written")
		}
		if err := s.Acquire(ctx, m.ID, "next", time.Now(), time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("lease left after a failed change: %v", err)
		}
	})
}

// TestStoreLeaseBoundary: a lease holds up to the instant it ends and not
// at it, on every store alike; the claim that finds it held says when.
func TestStoreLeaseBoundary(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		now := time.Now().Truncate(time.Millisecond)
		m := newMessage("edge", now)
		if _, _, err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if ids, _, err := s.Claim(ctx, "a", now, time.Minute, 10); err != nil || len(ids) != 1 {
			t.Fatalf("claim a: %v %v", ids, err)
		}
		end := now.Add(time.Minute)
		ids, next, err := s.Claim(ctx, "b", end.Add(-time.Millisecond), time.Minute, 10)
		if err != nil || len(ids) != 0 || !next.Equal(end) {
			t.Fatalf("just before the end: %v next %v %v, want none, next %v", ids, next, err, end)
		}
		if err := s.Acquire(ctx, m.ID, "c", end.Add(-time.Millisecond), end.Add(time.Minute)); !errors.Is(err, queue.ErrLeaseHeld) {
			t.Fatalf("acquire just before the end: %v", err)
		}
		if ids, _, err := s.Claim(ctx, "b", end, time.Minute, 10); err != nil || len(ids) != 1 {
			t.Fatalf("at the end: %v %v, want taken", ids, err)
		}
		// The same for a single message's lease.
		if err := s.Acquire(ctx, m.ID, "c", end.Add(time.Minute), end.Add(2*time.Minute)); err != nil {
			t.Fatalf("acquire at the end of b's lease: %v", err)
		}
	})
}
