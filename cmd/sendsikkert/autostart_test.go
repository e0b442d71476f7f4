package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestAutostartCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG autostart is Linux")
	}
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	data := t.TempDir()
	entry := filepath.Join(cfg, "autostart", "sendsikkert.desktop")
	if code := run([]string{"autostart", "on", "--data", data}); code != 0 {
		t.Fatalf("on: exit %d", code)
	}
	b, err := os.ReadFile(entry)
	if err != nil || !strings.Contains(string(b), "--data "+data+" --autostart") {
		t.Fatalf("entry: %s %v", b, err)
	}
	// The user chose: the first desktop start does not add it back.
	if code := run([]string{"autostart", "off", "--data", data}); code != 0 {
		t.Fatalf("off: exit %d", code)
	}
	if err := autostartFirstRun(data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); err == nil {
		t.Fatal("autostart added back after the user turned it off")
	}
	// A fresh data folder: the first desktop start adds it.
	fresh := t.TempDir()
	if err := autostartFirstRun(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); err != nil {
		t.Fatal("first run did not add autostart")
	}
	if code := run([]string{"autostart", "status", "--data", fresh}); code != 0 {
		t.Fatalf("status: exit %d", code)
	}
	if code := run([]string{"autostart", "bogus"}); code != 2 {
		t.Fatalf("bogus: exit %d", code)
	}
}
