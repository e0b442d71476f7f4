package localapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// agentGet returns a GET of a URL answered by h as the agent on
// localhost:47800.
func agentGet(h http.Handler) func(u string) *httptest.ResponseRecorder {
	return func(u string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", u, nil)
		r.Host = "localhost:47800"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
}

// checkManifest gets the manifest at the agent's path, checks that it
// names no URL off the agent's origin and that each of its add-in URLs
// (at least least of them) answers 200 from the same handler, and returns
// the manifest.
func checkManifest(t *testing.T, get func(string) *httptest.ResponseRecorder, path string, least int) string {
	t.Helper()
	w := get("https://localhost:47800" + path)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/xml") {
		t.Fatalf("manifest: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	n := 0
	for _, u := range regexp.MustCompile(`https://[^"<\s]+`).FindAllString(body, -1) {
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
	if n < least {
		t.Errorf("only %d add-in URLs checked", n)
	}
	return body
}

// servedWithToken reports whether the page at the agent's path is served
// with s's CSRF token in place of the placeholder.
func servedWithToken(s *Server, get func(string) *httptest.ResponseRecorder, path string) bool {
	return strings.Contains(get("https://localhost:47800"+path).Body.String(), `<meta name="sendsikkert-csrf" content="`+s.Guard.Token+`">`)
}

// TestOutlookManifestServed: the agent serves the Outlook manifest for its
// own origin, and every URL in it answers 200 from the same handler.
func TestOutlookManifestServed(t *testing.T) {
	s := testServer(t)
	get := agentGet(s.Handler())
	checkManifest(t, get, "/addin/outlook.xml", 10)
	// Served pages carry the CSRF token in place of the placeholder.
	if !servedWithToken(s, get, "/addin/outlook/taskpane.html") {
		t.Error("task pane served without the CSRF token")
	}
}
