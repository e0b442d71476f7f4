package localapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPageCannotRepointEnrolledAgent: with the page's CSRF token alone, an
// enrolled agent refuses POST /api/v1/enroll before the enrolment runs;
// the window's token lets it through. A not-yet-enrolled agent still
// accepts the page's first-run enrolment.
func TestPageCannotRepointEnrolledAgent(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t)
	tok, err := WriteWindowToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, WindowTokenFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v", fi.Mode().Perm())
	}
	if got, _ := ReadWindowToken(dir); got != tok {
		t.Fatalf("read %q, wrote %q", got, tok)
	}
	s.WindowToken = tok
	enrolled := true
	s.Enrolled = func() bool { return enrolled }
	var calls []string
	s.Enroll = func(ctx context.Context, relayURL, code string) (string, error) {
		calls = append(calls, relayURL)
		return "anna@kommune.dk", nil
	}
	h := s.Handler()
	post := func(window string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/enroll", strings.NewReader(`{"relay":"https://evil.example","code":"ABCD"}`))
		r.Host = "localhost:47800"
		r.Header.Set(CSRFHeader, s.Guard.Token)
		if window != "" {
			r.Header.Set(WindowHeader, window)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, wt := range []string{"", "wrong", s.Guard.Token} {
		if w := post(wt); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "enroll_window_only") {
			t.Fatalf("page (window token %q): %d %s", wt, w.Code, w.Body)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("enrolment ran for a page: %v", calls)
	}
	// An enrolled agent enrolled again changes relay at its next start,
	// and the window says so; a first enrolment works at once.
	if w := post(tok); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "start det igen") {
		t.Fatalf("window: %d %s", w.Code, w.Body)
	}
	enrolled = false
	if w := post(""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "sender nu gennem relæet") || strings.Contains(w.Body.String(), "start det igen") {
		t.Fatalf("first-run page: %d %s", w.Code, w.Body)
	}
	if len(calls) != 2 {
		t.Fatalf("calls %v", calls)
	}
	// The token is never served in a page.
	r := httptest.NewRequest("GET", "https://localhost:47800/", nil)
	r.Host = "localhost:47800"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || strings.Contains(w.Body.String(), tok) {
		t.Fatalf("index: %d, token served: %v", w.Code, strings.Contains(w.Body.String(), tok))
	}
}

func TestHealthzUser(t *testing.T) {
	s := testServer(t)
	s.User = "anna"
	r := httptest.NewRequest("GET", "https://localhost:47800/healthz", nil)
	r.Host = "localhost:47800"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var h map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil || h["user"] != "anna" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
