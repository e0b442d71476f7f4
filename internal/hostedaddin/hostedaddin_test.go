package hostedaddin

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sendsikkert/addin"
)

func site(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := New(Config{BaseURL: "https://sendsikkert.kommune.dk/", ClientID: "11111111-2222-3333-4444-555555555555",
		Tenants: []string{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, Scope: "access_as_user"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, p string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestPages: every embedded page file is served at /addin/…; HTML pages
// carry the Entra marker instead of the agent's CSRF slot, everything else
// is byte for byte what the agent serves.
func TestPages(t *testing.T) {
	srv := site(t)
	n := 0
	err := fs.WalkDir(addin.Pages, "pages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		want, _ := fs.ReadFile(addin.Pages, p)
		resp, got := get(t, srv, "/addin/"+strings.TrimPrefix(p, "pages/"))
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
			return nil
		}
		if !strings.HasSuffix(p, ".html") {
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the embedded file", p)
			}
			return nil
		}
		if bytes.Contains(want, csrfPlaceholder) && (!bytes.Contains(got, hostedMarker) || bytes.Contains(got, csrfPlaceholder)) {
			t.Errorf("%s: no Entra marker", p)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self' https://appsforoffice.microsoft.com https://login.microsoftonline.com") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("walked %d files: %v", n, err)
	}
	for _, p := range []string{"/addin/nope.html", "/addin/../addin.go", "/addin/%2e%2e/addin.go", "/addin/outlook/../../addin.go"} {
		if resp, _ := get(t, srv, p); resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv, "/api/v1/recipients/check"); resp.StatusCode != 404 {
		t.Errorf("the site alone serves no API: %d", resp.StatusCode)
	}
}

func TestAllowedAndConfig(t *testing.T) {
	srv := site(t)
	resp, b := get(t, srv, AllowedPath)
	var allowed map[string][]string
	if err := json.Unmarshal(b, &allowed); resp.StatusCode != 200 || err != nil || len(allowed["allowed"]) != 1 || allowed["allowed"][0] != "https://sendsikkert.kommune.dk" {
		t.Fatalf("allowed: %d %s", resp.StatusCode, b)
	}
	resp, b = get(t, srv, ConfigPath)
	c, err := ParseAddinConfig(b)
	if resp.StatusCode != 200 || err != nil || c.ClientID != "11111111-2222-3333-4444-555555555555" || c.Scope != "access_as_user" || len(c.Tenants) != 1 {
		t.Fatalf("addin-config: %d %s %v", resp.StatusCode, b, err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	if len(raw) != 3 {
		t.Fatalf("addin-config has more than {clientId, tenants, scope}: %s", b)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []Config{
		{BaseURL: "http://x", ClientID: "c", Tenants: []string{"t"}, Scope: "s"},
		{BaseURL: "https://x", Tenants: []string{"t"}, Scope: "s"},
		{BaseURL: "https://x", ClientID: "c", Scope: "s"},
		{BaseURL: "https://x", ClientID: "c", Tenants: []string{"t"}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// FuzzParseAddinConfig: a relay's answer is either refused or has every
// field, none of which can break out of a URL path segment.
func FuzzParseAddinConfig(f *testing.F) {
	f.Add([]byte(`{"clientId":"11111111-2222-3333-4444-555555555555","tenants":["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"],"scope":"access_as_user"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAddinConfig(b)
		if err != nil {
			return
		}
		if c.ClientID == "" || c.Scope == "" || len(c.Tenants) == 0 || strings.ContainsAny(c.ClientID+c.Scope+strings.Join(c.Tenants, ""), "/?#") {
			t.Fatalf("accepted %q", b)
		}
	})
}

// TestLaunchEventPolicy: the Smart Alert served from here is told the
// organisation's smartAlert.sendAnyway, as the agent's is.
func TestLaunchEventPolicy(t *testing.T) {
	for _, allow := range []bool{false, true} {
		s, err := New(Config{BaseURL: "https://sendsikkert.kommune.dk/", ClientID: "11111111-2222-3333-4444-555555555555",
			Tenants: []string{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, Scope: "access_as_user", SendAnyway: allow})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		_, b := get(t, srv, "/addin/"+addin.LaunchEventJS)
		srv.Close()
		want := `var POLICY = {"smartAlert":true,"sendAnyway":false}; // sendsikkert:policy`
		if allow {
			want = `var POLICY = {"smartAlert":true,"sendAnyway":true}; // sendsikkert:policy`
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("sendAnyway %v: script lacks %s", allow, want)
		}
	}
}
