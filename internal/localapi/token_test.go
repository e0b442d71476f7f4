package localapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCSRFTokenRenewal: a page with a stale token can fetch the current
// one from its own origin; a foreign origin or a cross-site request
// cannot, and only configured add-in origins get CORS.
func TestCSRFTokenRenewal(t *testing.T) {
	s := testServer(t)
	s.Guard.Allowed = []string{"https://relay.kommune.dk"}
	h := s.Handler()
	tests := []struct {
		name, origin, site string
		want               int
		cors               bool
	}{
		{"same origin, no Origin header", "", "same-origin", 200, false},
		{"own origin", "https://localhost:47800", "", 200, false},
		{"hosted add-in origin", "https://relay.kommune.dk", "cross-site", 200, true},
		{"foreign origin", "https://evil.example", "cross-site", 403, false},
		{"cross-site without Origin", "", "cross-site", 403, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "https://localhost:47800/csrf-token", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.site != "" {
			r.Header.Set("Sec-Fetch-Site", tt.site)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d %s", tt.name, w.Code, w.Body)
			continue
		}
		if has := strings.Contains(w.Body.String(), s.Guard.Token); has != (tt.want == 200) {
			t.Errorf("%s: token in body = %v", tt.name, has)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin") != ""; got != tt.cors {
			t.Errorf("%s: CORS = %v", tt.name, got)
		}
	}
}
