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
}

func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no tls":       "listen: :8443\n",
		"typo":         "listen: :8443\ntls: {cert: a, key: b}\nregistri: {}\n",
		"no status ca": "tls: {cert: a, key: b}\nbeskedfordeler: {listen: ':8444'}\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := loadConfig(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
