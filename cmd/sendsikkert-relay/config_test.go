package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfig: the documented example parses with unknown fields
// refused, so the docs cannot drift from the code.
func TestExampleConfig(t *testing.T) {
	c, err := loadConfig(filepath.Join("..", "..", "docs", "relay.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8443" || c.Registry.Type != "demo" || !c.DigitalPost.IsDemo() || len(c.Audit.Auditors) != 1 {
		t.Fatalf("parsed: %+v", c)
	}
	if _, err := c.organisation(); err != nil {
		t.Fatal(err)
	}
	h := c.HostedAddin
	if h == nil || h.BaseURL != "https://sendsikkert.kommune.dk" || h.Listen != ":9443" || h.ClientID != "11111111-2222-3333-4444-555555555555" ||
		len(h.Tenants) != 1 || h.Scope != "access_as_user" || h.SmartAlert != "block" ||
		h.OpenIDConfiguration != "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" {
		t.Fatalf("hostedAddin: %+v", h)
	}
}

func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no tls":             "listen: :8443\n",
		"typo":               "listen: :8443\ntls: {cert: a, key: b}\nregistri: {}\n",
		"no status ca":       "tls: {cert: a, key: b}\nbeskedfordeler: {listen: ':8444'}\n",
		"hosted http":        "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'http://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s}\n",
		"hosted tenant name": "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [common], scope: s}\n",
		"hosted no scope":    "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee]}\n",
		"hosted smartAlert":  "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s, smartAlert: off}\n",
		"hosted path":        "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x/addin', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s}\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := loadConfig(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
