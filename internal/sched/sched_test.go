package sched

import (
	"context"
	"testing"
	"time"
)

func TestHoldOff(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	h := HoldOff{"a": now.Add(time.Minute), "b": now.Add(10 * time.Second), "past": now.Add(-time.Second), "edge": now}
	tests := []struct {
		id         string
		next, want time.Time // next before, next after
		holds      bool
	}{
		{"unknown", time.Time{}, time.Time{}, false},
		{"past", time.Time{}, time.Time{}, false},
		{"edge", time.Time{}, time.Time{}, false}, // a hold ends at its time
		{"a", time.Time{}, now.Add(time.Minute), true},
		{"a", now.Add(30 * time.Second), now.Add(30 * time.Second), true}, // an earlier next stays
		{"b", now.Add(30 * time.Second), now.Add(10 * time.Second), true}, // a later one comes forward
	}
	for _, tt := range tests {
		next := tt.next
		if got := h.Holds(tt.id, now, &next); got != tt.holds || !next.Equal(tt.want) {
			t.Errorf("Holds(%s, next %v) = %v, next %v; want %v, %v", tt.id, tt.next, got, next, tt.holds, tt.want)
		}
	}
}

// TestSleepUntil: the sleep ends at its time, on a wake or with its
// context, each within a bound; without a time only a wake or the end of
// the context ends it.
func TestSleepUntil(t *testing.T) {
	start := time.Now()
	if !SleepUntil(context.Background(), start.Add(30*time.Millisecond), nil) {
		t.Fatal("timed sleep reported a cancelled context")
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Errorf("slept %v for 30 ms", d)
	}
	start = time.Now()
	SleepUntil(context.Background(), start.Add(-time.Hour), nil) // past: a short nap, not none
	if d := time.Since(start); d < 10*time.Millisecond || d > 5*time.Second {
		t.Errorf("slept %v for a time past", d)
	}
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	start = time.Now()
	if !SleepUntil(context.Background(), time.Time{}, wake) || time.Since(start) > 5*time.Second {
		t.Error("a wake did not end the sleep")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if SleepUntil(ctx, time.Now().Add(time.Hour), make(chan struct{})) {
		t.Error("a cancelled context did not end the sleep with false")
	}
}
