// Package localapi is the agent's door on loopback: the add-in pages and
// the JSON API they call. Any web page in the user's browser can reach
// https://localhost:PORT, so every request passes one guard before any
// handler runs: the Host header (DNS rebinding), the Origin (only the
// agent's own, or an add-in origin allowed by configuration), a per-start
// CSRF token in a custom header, and a size limit on the body. Handlers
// never re-check and never skip it; a test walks the route table to prove
// it.
package localapi

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// CSRFHeader carries the token on every /api/ call.
const CSRFHeader = "X-Sendsikkert-CSRF"

// Guard holds the door's rules.
type Guard struct {
	Port  int
	Token string
	// Allowed are extra add-in origins (e.g. the relay hosting the pages
	// for new Outlook), exactly as "https://host[:port]".
	Allowed []string
	// Refused counts turned-away requests.
	Refused atomic.Int64
}

func (g *Guard) ownOrigins() []string {
	p := strconv.Itoa(g.Port)
	return []string{"https://localhost:" + p, "https://127.0.0.1:" + p, "https://[::1]:" + p}
}

func (g *Guard) hostOK(host string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil || p != strconv.Itoa(g.Port) {
		return false
	}
	switch strings.ToLower(h) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

func (g *Guard) originOK(origin string) bool {
	for _, o := range g.ownOrigins() {
		if origin == o {
			return true
		}
	}
	return g.allowedExtra(origin)
}

func (g *Guard) allowedExtra(origin string) bool {
	for _, o := range g.Allowed {
		if origin == o {
			return true
		}
	}
	return false
}

// traversal reports a path that tries to climb out with "..", raw or
// percent-encoded. Such a request is refused rather than cleaned, so no
// handler is ever reached by a path other than the one it was written for.
func traversal(r *http.Request) bool {
	raw := r.URL.EscapedPath()
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return true
	}
	for _, p := range []string{raw, dec, r.RequestURI} {
		p = strings.ReplaceAll(p, "\\", "/")
		for _, seg := range strings.Split(strings.SplitN(p, "?", 2)[0], "/") {
			if seg == ".." || seg == "." {
				return true
			}
		}
	}
	return strings.Contains(dec, "\x00")
}

// Route is one entry of the route table.
type Route struct {
	Pattern string // as for http.ServeMux, "METHOD /path"
	// MaxBody bounds the request body; the message upload enforces its own
	// limits while streaming.
	MaxBody int64
	// NeedsRelay: the handler asks the relay or queues work for it; while
	// the agent is not enrolled the route answers 503 not_enrolled.
	NeedsRelay bool
	Handler    http.HandlerFunc
}

// Wrap applies the guard to h, which serves the route r.
func (g *Guard) Wrap(rt Route) http.Handler {
	api := strings.Contains(rt.Pattern, " /api/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostOK(r.Host) {
			g.refuse(w, http.StatusForbidden, "bad_host", "Forespørgslen er afvist: ukendt værtsnavn.")
			return
		}
		origin := r.Header.Get("Origin")
		if api {
			if origin != "" && !g.originOK(origin) {
				g.refuse(w, http.StatusForbidden, "bad_origin", "Forespørgslen er afvist: den kommer fra en side uden for Send sikkert.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(g.Token)) != 1 {
				g.refuse(w, http.StatusForbidden, "bad_csrf", "Forespørgslen er afvist: sikkerhedsnøglen mangler eller er forkert. Genindlæs siden.")
				return
			}
			if origin != "" && g.allowedExtra(origin) {
				corsHeaders(w, origin)
			}
		}
		if rt.MaxBody > 0 {
			if r.ContentLength > rt.MaxBody {
				w.Header().Set("Connection", "close")
				g.refuse(w, http.StatusRequestEntityTooLarge, "too_large", "Forespørgslen er for stor.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBody)
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		rt.Handler(w, r)
	})
}

func corsHeaders(w http.ResponseWriter, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Vary", "Origin")
}

// Outer runs before the mux: it refuses traversal and handles CORS
// preflights, which never reach a handler.
func (g *Guard) Outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if traversal(r) {
			g.refuse(w, http.StatusBadRequest, "bad_path", "Ugyldig sti.")
			return
		}
		if !g.hostOK(r.Host) {
			g.refuse(w, http.StatusForbidden, "bad_host", "Forespørgslen er afvist: ukendt værtsnavn.")
			return
		}
		if r.Method == http.MethodOptions {
			origin := r.Header.Get("Origin")
			// Our own pages never need a preflight (same origin); only an
			// add-in origin allowed by configuration gets an answer.
			if origin == "" || !g.allowedExtra(origin) {
				g.refuse(w, http.StatusForbidden, "bad_origin", "Forespørgslen er afvist.")
				return
			}
			corsHeaders(w, origin)
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, "+CSRFHeader)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Guard) refuse(w http.ResponseWriter, status int, code, msg string) {
	g.Refused.Add(1)
	writeError(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}
