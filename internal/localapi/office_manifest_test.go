package localapi

import (
	"strings"
	"testing"
)

// TestOfficeManifestServed: the agent serves the Word/Excel/PowerPoint
// manifest through the route table, and every URL in it answers 200; the
// share pane carries the CSRF token.
func TestOfficeManifestServed(t *testing.T) {
	s := testServer(t)
	get := agentGet(s.Handler())
	found := false
	for _, rt := range s.Routes() {
		found = found || rt.Pattern == "GET /addin/office.xml"
	}
	if !found {
		t.Fatal("GET /addin/office.xml is not in the route table")
	}
	body := checkManifest(t, get, "/addin/office.xml", 6)
	if !strings.Contains(body, `xsi:type="TaskPaneApp"`) || !strings.Contains(body, "<Permissions>ReadAllDocument</Permissions>") {
		t.Fatal("not the Office TaskPaneApp manifest")
	}
	for _, f := range []string{"share.js", "document.js", "share.css", "help.html"} {
		if w := get("https://localhost:47800/addin/office/" + f); w.Code != 200 {
			t.Errorf("office/%s: HTTP %d", f, w.Code)
		}
	}
	if !servedWithToken(s, get, "/addin/office/share.html") {
		t.Error("share pane served without the CSRF token")
	}
}
