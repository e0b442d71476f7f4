package localapi

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOutlookManifestServed: the agent serves the Outlook manifest for its
// own origin, and every URL in it answers 200 from the same handler.
func TestOutlookManifestServed(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	get := func(u string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", u, nil)
		r.Host = "localhost:47800"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("https://localhost:47800/addin/outlook.xml")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/xml") {
		t.Fatalf("manifest: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	urls := regexp.MustCompile(`https://[^"<\s]+`).FindAllString(body, -1)
	n := 0
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://localhost:47800/addin/") {
			if u != "https://localhost:47800" {
				t.Errorf("foreign URL in manifest: %s", u)
			}
			continue
		}
		n++
		if w := get(u); w.Code != 200 {
			t.Errorf("%s: HTTP %d", u, w.Code)
		}
	}
	if n < 10 {
		t.Errorf("only %d add-in URLs checked", n)
	}
	// Served pages carry the CSRF token in place of the placeholder.
	if w := get("https://localhost:47800/addin/outlook/taskpane.html"); !strings.Contains(w.Body.String(), `<meta name="sendsikkert-csrf" content="`+s.Guard.Token+`">`) {
		t.Error("task pane served without the CSRF token")
	}
}
