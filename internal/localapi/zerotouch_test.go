package localapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sendsikkert/internal/enroll"
	"sendsikkert/internal/hostedaddin"
)

func unenrolled(t *testing.T, join func(context.Context, string) (string, error)) *Server {
	t.Helper()
	return &Server{Guard: &Guard{Port: 47800, Token: NewToken()}, Log: slog.New(slog.DiscardHandler), Version: "t",
		EnrollToken: join,
		AddinConfig: func(context.Context) (hostedaddin.AddinConfig, error) {
			return hostedaddin.AddinConfig{ClientID: "c", Tenants: []string{"t"}, Scope: "access_as_user"}, nil
		}}
}

func callUnenrolled(t *testing.T, s *Server, method, path, body string, csrf bool) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, "https://localhost:47800"+path, strings.NewReader(body))
	if csrf {
		r.Header.Set(CSRFHeader, s.Guard.Token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.UnenrolledHandler().ServeHTTP(w, r)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// TestZeroTouchEnroll: the not-yet-enrolled door serves the pages, the
// relay's add-in config and the enrolment; it enrols with a token only to
// IT's relay, refuses a relay the page names, and says not_enrolled for
// everything else; the guard still stands before all of it.
func TestZeroTouchEnroll(t *testing.T) {
	var got []string
	s := unenrolled(t, func(_ context.Context, tok string) (string, error) {
		got = append(got, tok)
		return "anna@kommune.dk", nil
	})
	if code, out := callUnenrolled(t, s, "GET", "/healthz", "", false); code != 200 || out["enrolled"] != false {
		t.Fatalf("healthz: %d %v", code, out)
	}
	if code, out := callUnenrolled(t, s, "GET", "/api/v1/addin-config", "", true); code != 200 || out["clientId"] != "c" {
		t.Fatalf("addin-config: %d %v", code, out)
	}
	if code, out := callUnenrolled(t, s, "POST", "/api/v1/enroll", `{"accessToken":"tok","relay":"https://evil.example"}`, true); code != 400 || out["error"] != "relay_not_yours" || len(got) != 0 {
		t.Fatalf("page-named relay: %d %v", code, out)
	}
	if code, _ := callUnenrolled(t, s, "POST", "/api/v1/enroll", `{"accessToken":"tok"}`, false); code != http.StatusForbidden || len(got) != 0 {
		t.Fatalf("without the CSRF token: %d", code)
	}
	if code, out := callUnenrolled(t, s, "POST", "/api/v1/enroll", `{"accessToken":"tok"}`, true); code != 200 || out["user"] != "anna@kommune.dk" || len(got) != 1 || got[0] != "tok" {
		t.Fatalf("enrol: %d %v %v", code, out, got)
	}
	for _, p := range []string{"/api/v1/recipients/check", "/api/v1/settings"} {
		if code, out := callUnenrolled(t, s, "POST", p, `{}`, true); code != 503 || out["error"] != "not_enrolled" {
			t.Errorf("%s: %d %v", p, code, out)
		}
	}
	r := httptest.NewRequest("GET", "https://localhost:47800/addin/outlook/taskpane.html", nil)
	w := httptest.NewRecorder()
	s.UnenrolledHandler().ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), s.Guard.Token) {
		t.Fatalf("taskpane: %d", w.Code)
	}
}

func TestZeroTouchRefusals(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{ErrAlreadyEnrolled, 409, "already_enrolled"},
		{ErrNoRelay, 409, "no_relay"},
		{&enroll.RefusedError{Status: 401, Code: "invalid_token", Message: "Dit login blev ikke godkendt."}, 401, "enroll_refused"},
		{&enroll.RefusedError{Status: 400, Code: "token_enroll_off", Message: "kun kode"}, 403, "enroll_refused"},
	} {
		s := unenrolled(t, func(context.Context, string) (string, error) { return "", tc.err })
		if code, out := callUnenrolled(t, s, "POST", "/api/v1/enroll", `{"accessToken":"tok"}`, true); code != tc.code || out["error"] != tc.want {
			t.Errorf("%v: %d %v", tc.err, code, out)
		}
	}
	// The enrolled agent's own route table answers the same way.
	s := unenrolled(t, func(context.Context, string) (string, error) { return "", ErrAlreadyEnrolled })
	r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/enroll", strings.NewReader(`{"accessToken":"tok"}`))
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		if rt.Pattern == "POST /api/v1/enroll" {
			mux.Handle(rt.Pattern, s.Guard.Wrap(rt))
		}
	}
	mux.ServeHTTP(w, r)
	if w.Code != 409 {
		t.Fatalf("enrolled agent: %d %s", w.Code, w.Body)
	}
}

// TestZeroTouchAndTheWindowRule: both rules on POST /api/v1/enroll hold
// together — once enrolled, a page is refused before anything (403,
// window only), and even the window cannot enrol again with a token (409).
func TestZeroTouchAndTheWindowRule(t *testing.T) {
	var asked int
	s := unenrolled(t, func(context.Context, string) (string, error) { asked++; return "", ErrAlreadyEnrolled })
	s.WindowToken = "window-secret"
	s.Enrolled = func() bool { return true }
	post := func(window bool) (int, map[string]any) {
		r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/enroll", strings.NewReader(`{"accessToken":"tok"}`))
		r.Header.Set(CSRFHeader, s.Guard.Token)
		if window {
			r.Header.Set(WindowHeader, "window-secret")
		}
		w := httptest.NewRecorder()
		mux := http.NewServeMux()
		for _, rt := range s.Routes() {
			if rt.Pattern == "POST /api/v1/enroll" {
				mux.Handle(rt.Pattern, s.Guard.Wrap(rt))
			}
		}
		mux.ServeHTTP(w, r)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := post(false); code != 403 || out["error"] != "enroll_window_only" || asked != 0 {
		t.Fatalf("page on an enrolled agent: %d %v (asked %d)", code, out, asked)
	}
	if code, out := post(true); code != 409 || out["error"] != "already_enrolled" {
		t.Fatalf("window with a token on an enrolled agent: %d %v", code, out)
	}
}
