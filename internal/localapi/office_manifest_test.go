package localapi

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOfficeManifestServed: the agent serves the Word/Excel/PowerPoint
// manifest through the route table, and every URL in it answers 200; the
// share pane carries the CSRF token.
func TestOfficeManifestServed(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	get := func(u string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", u, nil)
		r.Host = "localhost:47800"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	found := false
	for _, rt := range s.Routes() {
		found = found || rt.Pattern == "GET /addin/office.xml"
	}
	if !found {
		t.Fatal("GET /addin/office.xml is not in the route table")
	}
	w := get("https://localhost:47800/addin/office.xml")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/xml") {
		t.Fatalf("manifest: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if !strings.Contains(body, `xsi:type="TaskPaneApp"`) || !strings.Contains(body, "<Permissions>ReadAllDocument</Permissions>") {
		t.Fatal("not the Office TaskPaneApp manifest")
	}
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
	if n < 6 {
		t.Errorf("only %d add-in URLs checked", n)
	}
	for _, f := range []string{"share.js", "document.js", "share.css", "help.html"} {
		if w := get("https://localhost:47800/addin/office/" + f); w.Code != 200 {
			t.Errorf("office/%s: HTTP %d", f, w.Code)
		}
	}
	if w := get("https://localhost:47800/addin/office/share.html"); !strings.Contains(w.Body.String(), `<meta name="sendsikkert-csrf" content="`+s.Guard.Token+`">`) {
		t.Error("share pane served without the CSRF token")
	}
}
