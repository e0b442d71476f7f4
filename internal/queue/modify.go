package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Records is the part of a Store that Modify uses.
type Records interface {
	Get(ctx context.Context, id string) (*Message, error)
	Update(ctx context.Context, m *Message, lease Lease) error
	Acquire(ctx context.Context, id, owner string, now, until time.Time) error
}

// ModifyLease is how long Modify holds a message: long enough for one
// read and one write.
const ModifyLease = 30 * time.Second

// Modify changes one message outside the worker (the secure mailbox adding
// an event) under a lease of its own, so that it never overwrites what the
// worker or another instance writes at the same time: it acquires the
// message as owner, waiting while another holds it (until ctx ends), reads
// it, applies change, and writes it back releasing the lease. If change
// fails nothing is written; the lease is released all the same.
func Modify(ctx context.Context, s Records, id, owner string, change func(*Message) error) error {
	wait := 20 * time.Millisecond
	for {
		now := time.Now()
		err := s.Acquire(ctx, id, owner, now, now.Add(ModifyLease))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			// The wait ran out, perhaps in the middle of asking.
			return fmt.Errorf("queue: modify %s: %w (%w)", id, ErrLeaseHeld, ctx.Err())
		}
		if !errors.Is(err, ErrLeaseHeld) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue: modify %s: %w (%w)", id, err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	m, err := s.Get(ctx, id)
	if err != nil {
		return err // the lease runs out by itself
	}
	if err := change(m); err != nil {
		// Released as stored: nothing of the failed change is written.
		if fresh, gerr := s.Get(ctx, id); gerr == nil {
			s.Update(ctx, fresh, Lease{Owner: owner})
		}
		return err
	}
	return s.Update(ctx, m, Lease{Owner: owner})
}
