// Package metrics exposes counters in the Prometheus text format: enough
// for IT's monitoring without pulling in a client library.
package metrics

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds counters and gauges.
type Registry struct {
	mu       sync.Mutex
	counters map[string]*atomic.Int64
	help     map[string]string
	gauges   map[string]func() float64
}

// New makes an empty registry.
func New() *Registry {
	return &Registry{counters: map[string]*atomic.Int64{}, help: map[string]string{}, gauges: map[string]func() float64{}}
}

// Help documents a metric family.
func (r *Registry) Help(name, text string) {
	r.mu.Lock()
	r.help[name] = text
	r.mu.Unlock()
}

// Add increments name{labels} (labels as "k=v" pairs) by n.
func (r *Registry) Add(name string, n int64, labels ...string) {
	key := name
	if len(labels) > 0 {
		parts := make([]string, len(labels))
		for i, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			parts[i] = fmt.Sprintf("%s=%q", k, v)
		}
		key += "{" + strings.Join(parts, ",") + "}"
	}
	r.mu.Lock()
	c, ok := r.counters[key]
	if !ok {
		c = new(atomic.Int64)
		r.counters[key] = c
	}
	r.mu.Unlock()
	c.Add(n)
}

// Gauge registers a value read at scrape time.
func (r *Registry) Gauge(name string, f func() float64) {
	r.mu.Lock()
	r.gauges[name] = f
	r.mu.Unlock()
}

// ServeHTTP writes the exposition.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.counters))
	for k := range r.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		family, _, _ := strings.Cut(k, "{")
		if !seen[family] {
			seen[family] = true
			if h := r.help[family]; h != "" {
				fmt.Fprintf(w, "# HELP %s %s\n", family, h)
			}
			fmt.Fprintf(w, "# TYPE %s counter\n", family)
		}
		fmt.Fprintf(w, "%s %d\n", k, r.counters[k].Load())
	}
	names := make([]string, 0, len(r.gauges))
	for k := range r.gauges {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if h := r.help[k]; h != "" {
			fmt.Fprintf(w, "# HELP %s %s\n", k, h)
		}
		fmt.Fprintf(w, "# TYPE %s gauge\n%s %g\n", k, k, r.gauges[k]())
	}
}

// StatusRecorder captures a response's status for counting.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

func (s *StatusRecorder) WriteHeader(code int) {
	s.Status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
