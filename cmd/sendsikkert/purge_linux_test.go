package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sendsikkert/internal/purge"
)

// The uninstaller's PURGE=1 runs `sendsikkert purge --all-users`: every
// home's data and logs go; without --all-users nothing happens.
func TestPurgeAllUsers(t *testing.T) {
	root := t.TempDir()
	old := purge.HomeRoot
	purge.HomeRoot = root
	t.Cleanup(func() { purge.HomeRoot = old })
	for _, f := range []string{"anna/.config/sendsikkert/agent.db", "bo/.local/state/sendsikkert/logs/sendsikkert.log", "bo/Dokumenter/keep.docx"} {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("x"), 0o600)
	}
	if code := runTo([]string{"purge"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Fatalf("purge without --all-users: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(root, "anna/.config/sendsikkert")); err != nil {
		t.Fatal("purge without --all-users removed data")
	}
	if code := runTo([]string{"purge", "--all-users"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, gone := range []string{"anna/.config/sendsikkert", "bo/.local/state/sendsikkert"} {
		if _, err := os.Stat(filepath.Join(root, gone)); err == nil {
			t.Errorf("%s left", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "bo/Dokumenter/keep.docx")); err != nil {
		t.Error("a user's own file was removed")
	}
}
