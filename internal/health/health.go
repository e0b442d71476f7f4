// Package health keeps the agent's current problems: what /healthz lists
// under "problems" and the tray shows, each with a code for IT and a
// Danish message for the clerk. Parts of the agent set and clear their own
// problems by code; nothing here decides what is a problem.
package health

import (
	"slices"
	"sync"
	"time"
)

// Problem is one thing wrong that a person should know of.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Affected names the messages the problem touches, where known.
	Affected []Affected `json:"affected,omitempty"`
}

// Affected is a message a problem touches: its id, and its subject and
// time where they can still be read.
type Affected struct {
	ID      string    `json:"id,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// Board holds the current problems. The zero value is ready; it is safe
// for concurrent use.
type Board struct {
	mu       sync.Mutex
	problems []Problem
	sources  []func() []Problem
	onChange []func()
}

// Set adds p, or replaces the problem with its code; it tells the
// listeners when something changed.
func (b *Board) Set(p Problem) {
	b.mu.Lock()
	i := slices.IndexFunc(b.problems, func(x Problem) bool { return x.Code == p.Code })
	changed := true
	if i < 0 {
		b.problems = append(b.problems, p)
	} else {
		changed = !equal(b.problems[i], p)
		b.problems[i] = p
	}
	fs := slices.Clone(b.onChange)
	b.mu.Unlock()
	if changed {
		for _, f := range fs {
			f()
		}
	}
}

func equal(a, b Problem) bool {
	return a.Code == b.Code && a.Message == b.Message && slices.Equal(a.Affected, b.Affected)
}

// Clear removes the problem with code, if there is one.
func (b *Board) Clear(code string) {
	b.mu.Lock()
	n := len(b.problems)
	b.problems = slices.DeleteFunc(b.problems, func(x Problem) bool { return x.Code == code })
	changed := len(b.problems) != n
	fs := slices.Clone(b.onChange)
	b.mu.Unlock()
	if changed {
		for _, f := range fs {
			f()
		}
	}
}

// Source adds a function asked for its problems on every List (problems
// derived from stored state, such as long-waiting messages).
func (b *Board) Source(f func() []Problem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = append(b.sources, f)
}

// OnChange adds a listener called after Set or Clear changed something.
// It must not block.
func (b *Board) OnChange(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onChange = append(b.onChange, f)
}

// Changed tells the listeners that a source's problems changed.
func (b *Board) Changed() {
	if b == nil {
		return
	}
	b.mu.Lock()
	fs := slices.Clone(b.onChange)
	b.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// List returns the current problems, those set first, then the sources'.
// It never returns nil, so /healthz always shows "problems": [].
func (b *Board) List() []Problem {
	if b == nil {
		return []Problem{}
	}
	b.mu.Lock()
	out := slices.Clone(b.problems)
	srcs := slices.Clone(b.sources)
	b.mu.Unlock()
	for _, f := range srcs {
		out = append(out, f()...)
	}
	if out == nil {
		out = []Problem{}
	}
	return out
}

// Has reports whether a problem with code is current.
func (b *Board) Has(code string) bool {
	return slices.ContainsFunc(b.List(), func(p Problem) bool { return p.Code == code })
}
