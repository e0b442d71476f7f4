package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/policy"
)

// A wrong relay in IT's policy (the MSI's RELAY on Windows) stops the
// agent with a message that names the setting; headless there is no tray.
func TestInvalidPolicyNamed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(p, []byte(`{"relayUrl":"http://relay.kommune.dk"}`), 0o644)
	old := policy.File
	policy.File = p
	t.Cleanup(func() { policy.File = old })
	var stderr bytes.Buffer
	code := runTo([]string{"--headless", "--data", t.TempDir(), "--log-dir", t.TempDir()}, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "politik for Send sikkert er ugyldig") || !strings.Contains(stderr.String(), "relayUrl") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
