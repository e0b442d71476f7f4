// Package sched holds what the queue workers on both sides (the agent's
// outbox, the relay's queue) share about waiting: a per-message hold-off
// and an idle sleep that wakes no CPU.
package sched

import (
	"context"
	"time"
)

// HoldOff keeps, in memory, the time before which a queued id is not
// worked on: a worker passes over it until then.
type HoldOff map[string]time.Time

// Holds reports whether id is held off at now; if so, next (when the
// worker is next due, zero for never) is brought forward to the hold's end.
func (h HoldOff) Holds(id string, now time.Time, next *time.Time) bool {
	t, ok := h[id]
	if !ok || !now.Before(t) {
		return false
	}
	if next.IsZero() || t.Before(*next) {
		*next = t
	}
	return true
}

// SleepUntil is a queue worker's rest with nothing to do: it sleeps until
// next (with zero, until woken), a signal on wake or the end of ctx, and
// reports false if ctx ended. An idle worker wakes no CPU.
func SleepUntil(ctx context.Context, next time.Time, wake <-chan struct{}) bool {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(max(time.Until(next), 10*time.Millisecond))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-timer:
	}
	return true
}
