package relay

import (
	"net/http"
	"sync"
	"time"
)

// UserLimit limits how often one hosted-add-in user may call the page API:
// a token proves who someone is, not that they are not a script. Each user
// has a budget of requests per window, and a smaller one for sends (POST
// /api/v1/messages); uploads in slices count as ordinary requests.
type UserLimit struct {
	// Requests and Sends are the budgets per Window.
	Requests, Sends int
	Window          time.Duration
	Now             func() time.Time

	mu    sync.Mutex
	users map[string]*window
}

type window struct {
	start           time.Time
	requests, sends int
}

// NewUserLimit is 600 requests and 30 sends per user per minute: a clerk
// checking and sending by hand never meets it; a 99 MB document in 4 MB
// slices is 25 requests.
func NewUserLimit() *UserLimit {
	return &UserLimit{Requests: 600, Sends: 30, Window: time.Minute}
}

// Allow counts r against owner's budget; when it is spent it says how long
// until the window turns. A nil limit allows everything.
func (l *UserLimit) Allow(owner string, r *http.Request) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users == nil {
		l.users = map[string]*window{}
	}
	w := l.users[owner]
	if w == nil || now.Sub(w.start) >= l.Window {
		if len(l.users) > 100000 {
			l.sweep(now)
		}
		w = &window{start: now}
		l.users[owner] = w
	}
	send := r.Method == http.MethodPost && r.URL.Path == "/api/v1/messages"
	if w.requests >= l.Requests || (send && w.sends >= l.Sends) {
		return w.start.Add(l.Window).Sub(now), false
	}
	w.requests++
	if send {
		w.sends++
	}
	return 0, true
}

// sweep forgets users whose window has passed.
func (l *UserLimit) sweep(now time.Time) {
	for k, w := range l.users {
		if now.Sub(w.start) >= l.Window {
			delete(l.users, k)
		}
	}
}
