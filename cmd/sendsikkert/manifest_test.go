package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifestCmd: `sendsikkert manifest outlook|office` writes the
// manifest for the given origin; anything else is a usage error.
func TestManifestCmd(t *testing.T) {
	dir := t.TempDir()
	for kind, want := range map[string]string{"outlook": `xsi:type="MailApp"`, "office": `xsi:type="TaskPaneApp"`} {
		out := filepath.Join(dir, kind+".xml")
		if code := manifestCmd([]string{kind, "--origin", "https://relay.kommune.dk", "--out", out}); code != 0 {
			t.Fatalf("%s: exit %d", kind, code)
		}
		b, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(b), want) || !strings.Contains(string(b), "https://relay.kommune.dk/addin/") {
			t.Errorf("%s: %v\n%.300s", kind, err, b)
		}
	}
	for _, args := range [][]string{nil, {"word"}, {"office"}, {"office", "--origin", "http://x", "--out", filepath.Join(dir, "x")}} {
		if code := manifestCmd(args); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
