// Package httptimeout gives every HTTP listener of the agent and the relay
// the same defence against slow clients (slowloris): the request headers
// must arrive within 10 s, a request body must keep delivering at least
// 64 KiB in every 30 s, and a response must keep draining at least 64 KiB
// in every 30 s. The body and response deadlines move with the bytes, so a
// large upload on a slow but honest line (99.5 MB at 1 MB/s) succeeds where
// a fixed total read or write timeout would cut it.
//
// net/http's own ReadTimeout is left at zero on purpose: it is one deadline
// for the whole request, and once a body-less request is being handled the
// server's background read would hit it and cancel the request's context
// of a long download. The moving deadlines are set through
// http.ResponseController, which reaches the connection under HTTP/1 and
// the stream under HTTP/2.
package httptimeout

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Policy is a set of limits. Default is the one every listener uses; tests
// may scale it down.
type Policy struct {
	// Header is how long a client has from connecting (TLS handshake
	// included) to the end of its request headers.
	Header time.Duration
	// Window and MinBytes: fewer than MinBytes of body received (or of
	// response drained) within Window cuts the request off.
	Window   time.Duration
	MinBytes int
	// Idle is how long a kept-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// Default: headers in 10 s; at least 64 KiB in any 30 s; 2 minutes idle.
var Default = Policy{Header: 10 * time.Second, Window: 30 * time.Second, MinBytes: 64 << 10, Idle: 2 * time.Minute}

// MaxHeaderBytes bounds the request headers on every listener.
const MaxHeaderBytes = 64 << 10

// Server returns a server for h with Default's limits; log receives the
// server's own errors (handler panics, TLS failures).
func Server(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return Default.Server(addr, h, log)
}

// Server returns a server for h with p's limits.
func (p Policy) Server(addr string, h http.Handler, log *slog.Logger) *http.Server {
	s := &http.Server{
		Addr:              addr,
		Handler:           p.Handler(h),
		ReadHeaderTimeout: p.Header,
		// The write timeout is the baseline for what net/http writes
		// before the handler runs (100 Continue, HTTP/2 streams); the
		// handler's writes then move it.
		WriteTimeout:   p.Window,
		IdleTimeout:    p.Idle,
		MaxHeaderBytes: MaxHeaderBytes,
	}
	if log != nil {
		s.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return s
}

// Handler sets h's moving read and write deadlines. Server applies it;
// use it directly only for a server built elsewhere.
func (p Policy) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Writes set their own deadline as they happen: a handler may
		// think for longer than a window before it answers.
		rc.SetWriteDeadline(time.Time{})
		if r.Body != nil && r.Body != http.NoBody {
			rc.SetReadDeadline(time.Now().Add(p.Window))
			r.Body = &body{ReadCloser: r.Body, rc: rc, p: p}
		}
		pw := &writer{ResponseWriter: w, rc: rc, p: p}
		defer func() {
			// net/http flushes what is buffered after the handler returns.
			rc.SetWriteDeadline(time.Now().Add(p.Window))
		}()
		h.ServeHTTP(pw, r)
	})
}

// body moves the read deadline forward each time MinBytes more arrived.
type body struct {
	io.ReadCloser
	rc   *http.ResponseController
	p    Policy
	got  int
	done bool
}

func (b *body) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.got += n
	if b.got >= b.p.MinBytes && !b.done {
		b.got = 0
		b.rc.SetReadDeadline(time.Now().Add(b.p.Window))
	}
	if err != nil && !b.done {
		b.done = true
		if errors.Is(err, io.EOF) {
			// The whole body is in: net/http's background read, which
			// watches for the client going away, must not time out and
			// cancel the request while the handler works.
			b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

// writer gives every MinBytes of the response its own Window to drain.
type writer struct {
	http.ResponseWriter
	rc *http.ResponseController
	p  Policy
}

func (w *writer) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		chunk := min(len(b), w.p.MinBytes)
		w.rc.SetWriteDeadline(time.Now().Add(w.p.Window))
		m, err := w.ResponseWriter.Write(b[:chunk])
		n += m
		if err != nil {
			return n, err
		}
		b = b[chunk:]
	}
	return n, nil
}

// Flush sends what is buffered, within a window.
func (w *writer) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(w.p.Window))
	w.rc.Flush()
}

// Hijack hands the connection over (its deadlines are then the caller's).
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.rc.Hijack()
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
