package localapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/vault"
)

type fakeRelay struct{}

func (fakeRelay) Check(ctx context.Context, in []string) (recipient.Report, error) {
	return recipient.Report{}, relayclient.ErrUnavailable
}
func (fakeRelay) ReplyMailboxes(context.Context) (relayapi.MailboxChoices, error) {
	return relayapi.MailboxChoices{}, relayclient.ErrUnavailable
}
func (fakeRelay) Status(context.Context, string) (relayapi.MessageStatus, error) {
	return relayapi.MessageStatus{}, relayclient.ErrUnavailable
}
func (fakeRelay) Revoke(context.Context, string) (relayapi.MessageStatus, error) {
	return relayapi.MessageStatus{}, relayclient.ErrUnavailable
}

func testServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _ := vault.New(vault.NewRandomKey())
	ob, err := outbox.Open(db, filepath.Join(dir, "outbox"), key)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := settings.Open(db, key)
	return &Server{
		Guard:  &Guard{Port: 47800, Token: NewToken(), Allowed: []string{"https://relay.kommune.dk"}},
		Outbox: ob, Relay: fakeRelay{}, Settings: st, Log: slog.New(slog.DiscardHandler),
	}
}

// TestEveryRouteGuarded walks the route table: every /api/ route refuses a
// missing token, a foreign origin and a foreign Host before its handler
// runs; every other route refuses a foreign Host.
func TestEveryRouteGuarded(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	for _, rt := range s.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.ReplaceAll(strings.ReplaceAll(path, "{$}", ""), "{id}", "x")
		api := strings.HasPrefix(path, "/api/")
		cases := []struct {
			name string
			set  func(*http.Request)
			want int
		}{
			{"foreign host", func(r *http.Request) { r.Host = "evil.example:47800"; r.Header.Set(CSRFHeader, s.Guard.Token) }, 403},
		}
		if api {
			cases = append(cases,
				struct {
					name string
					set  func(*http.Request)
					want int
				}{"no token", func(r *http.Request) {}, 403},
				struct {
					name string
					set  func(*http.Request)
					want int
				}{"foreign origin", func(r *http.Request) {
					r.Header.Set(CSRFHeader, s.Guard.Token)
					r.Header.Set("Origin", "https://evil.example")
				}, 403},
			)
		}
		for _, c := range cases {
			r := httptest.NewRequest(method, "https://localhost:47800"+path, strings.NewReader("{}"))
			r.Host = "localhost:47800"
			c.set(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("%s %s (%s): HTTP %d, want %d", method, path, c.name, w.Code, c.want)
			}
			if w.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s (%s): CORS header sent", method, path, c.name)
			}
		}
		if api && rt.MaxBody == 0 {
			t.Errorf("%s has no body limit", rt.Pattern)
		}
	}
	if n := s.Guard.Refused.Load(); n == 0 {
		t.Error("refusals not counted")
	}
}

func TestAllowedOriginGetsCORS(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	r := httptest.NewRequest("OPTIONS", "https://localhost:47800/api/v1/recipients/check", nil)
	r.Header.Set("Origin", "https://relay.kommune.dk")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://relay.kommune.dk" {
		t.Fatalf("allowed preflight: %d %v", w.Code, w.Header())
	}
	r = httptest.NewRequest("POST", "https://localhost:47800/api/v1/recipients/check", strings.NewReader(`{"recipients":["2211771212"]}`))
	r.Header.Set("Origin", "https://relay.kommune.dk")
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://relay.kommune.dk" {
		t.Fatalf("allowed origin: %d %v", w.Code, w.Header())
	}
}

// TestRelayDown: a check with the relay away answers every line honestly,
// and a send is still queued.
func TestRelayDown(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/recipients/check", strings.NewReader(`{"recipients":["2211771212","3102991234"]}`))
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `"secure":false`) || strings.Contains(body, `"secure":true`) || !strings.Contains(body, "kunne ikke slås op") {
		t.Fatalf("check with relay down: %d %s", w.Code, body)
	}

	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "--b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"+
			`{"recipients":["2211771212"],"subject":"Hej","bodyHtml":"x","idempotencyKey":"k1"}`+"\r\n--b--\r\n")
		pw.Close()
	}()
	r = httptest.NewRequest("POST", "https://localhost:47800/api/v1/messages", pr)
	r.Header.Set(CSRFHeader, s.Guard.Token)
	r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 202 || !strings.Contains(w.Body.String(), `"queued"`) {
		t.Fatalf("send with relay down: %d %s", w.Code, w.Body)
	}
	if s.Outbox.Pending() != 1 {
		t.Fatalf("not queued")
	}
}

func TestTraversal(t *testing.T) {
	for _, p := range []string{"/../x", "/a/%2e%2e/x", "/a/..%5cx", "/./x"} {
		r := httptest.NewRequest("GET", "https://localhost:47800/", nil)
		u, err := url.Parse("https://localhost:47800" + p)
		if err != nil {
			t.Fatal(err)
		}
		r.URL, r.RequestURI = u, p
		if !traversal(r) {
			t.Errorf("%s not caught", p)
		}
	}
	r := httptest.NewRequest("GET", "https://localhost:47800/api/v1/messages/abc", nil)
	if traversal(r) {
		t.Error("plain path refused")
	}
}

func TestSettingsAPI(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	do := func(method, body string) (int, string) {
		r := httptest.NewRequest(method, "https://localhost:47800/api/v1/settings", strings.NewReader(body))
		r.Header.Set(CSRFHeader, s.Guard.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	if code, body := do("GET", ""); code != 200 || !strings.Contains(body, `"language":"da"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := do("PUT", `{"signatureHtml":"<p>Med venlig hilsen<br>Anna</p>"}`); code != 200 || !strings.Contains(body, "Med venlig hilsen") {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, _ := do("PUT", `{"language":"de"}`); code != 400 {
		t.Fatalf("bad language: %d", code)
	}
	if code, _ := do("PUT", `{"signatureHtml":"`+strings.Repeat("x", MaxSignature+1)+`"}`); code != 413 {
		t.Fatalf("big signature: %d", code)
	}
	if code, body := do("GET", ""); code != 200 || !strings.Contains(body, "Anna") {
		t.Fatalf("kept: %d %s", code, body)
	}
}

func TestPolicyLocks(t *testing.T) {
	s := testServer(t)
	s.Policy = policy.Policy{ReplyCitizen: "jobcenter"}
	h := s.Handler()
	r := httptest.NewRequest("GET", "https://localhost:47800/api/v1/settings", nil)
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `"locked":["replyCitizen"]`) || !strings.Contains(w.Body.String(), `"citizen":"jobcenter"`) {
		t.Fatalf("settings view: %s", w.Body)
	}
}
