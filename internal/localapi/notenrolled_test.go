package localapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNotEnrolledRefusesEverySend: with no relay (not enrolled, not demo)
// every route that needs the relay answers 503 not_enrolled in Danish and
// queues nothing; /healthz says demo false, enrolled false; the routes a
// first start needs (healthz, enrolment, settings, the pages) still work.
func TestNotEnrolledRefusesEverySend(t *testing.T) {
	s := testServer(t)
	s.Relay = nil
	h := s.Handler()
	needs := 0
	for _, rt := range s.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(path, "{$}", ""), "{id}", "x"), "{index}", "0")
		path = strings.ReplaceAll(path, "{path...}", "taskpane.html")
		body := `{"recipients":["2211771212"]}`
		if method == "GET" {
			body = ""
		}
		r := httptest.NewRequest(method, "https://localhost:47800"+path, strings.NewReader(body))
		r.Host = "localhost:47800"
		r.Header.Set(CSRFHeader, s.Guard.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var answer map[string]any
		json.Unmarshal(w.Body.Bytes(), &answer)
		refused := w.Code == 503 && answer["error"] == "not_enrolled" && strings.Contains(answer["message"].(string), "Kontakt IT")
		if rt.NeedsRelay != refused {
			t.Errorf("%s: HTTP %d %v (needs the relay: %v)", rt.Pattern, w.Code, answer, rt.NeedsRelay)
		}
		if rt.NeedsRelay {
			needs++
		}
	}
	for _, must := range []string{"POST /api/v1/recipients/check", "POST /api/v1/messages", "POST /api/v1/uploads"} {
		found := false
		for _, rt := range s.Routes() {
			found = found || (rt.Pattern == must && rt.NeedsRelay)
		}
		if !found {
			t.Errorf("%s is not refused while not enrolled", must)
		}
	}
	if s.Outbox.Pending() != 0 {
		t.Fatal("something was queued while not enrolled")
	}
	r := httptest.NewRequest("GET", "https://localhost:47800/healthz", nil)
	r.Host = "localhost:47800"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `"demo":false`) || !strings.Contains(w.Body.String(), `"enrolled":false`) {
		t.Fatalf("healthz: %s", w.Body.String())
	}
	// The agent's own page says it too.
	r = httptest.NewRequest("GET", "https://localhost:47800/", nil)
	r.Host = "localhost:47800"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), "Ikke tilmeldt") || !strings.Contains(w.Body.String(), "Kontakt IT") {
		t.Fatalf("index page:\n%s", w.Body.String())
	}
	// Enrolled (a relay, not demo): healthz says so.
	s2 := testServer(t)
	w = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "https://localhost:47800/healthz", nil)
	r.Host = "localhost:47800"
	s2.Handler().ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `"enrolled":true`) {
		t.Fatalf("healthz enrolled: %s", w.Body.String())
	}
}

// The window's Kom i gang page fills in the relay IT's policy names.
func TestSettingsCarryPolicyRelay(t *testing.T) {
	s := testServer(t)
	s.Relay = nil
	s.Policy.RelayURL = "https://relay.kommune.dk:8443"
	r := httptest.NewRequest("GET", "https://localhost:47800/api/v1/settings", nil)
	r.Host = "localhost:47800"
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var v SettingsView
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.PolicyRelay != "https://relay.kommune.dk:8443" {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
}
