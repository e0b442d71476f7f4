package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestXDGAutostart(t *testing.T) {
	dir := t.TempDir()
	e := Entry{Exe: "/opt/Send sikkert/sendsikkert", Args: []string{"--data", "/home/a b/x"}, Dir: dir}
	if on, err := e.Enabled(); on || err != nil {
		t.Fatalf("before: %v %v", on, err)
	}
	if err := e.Enable(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sendsikkert.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"[Desktop Entry]", "Type=Application", `Exec="/opt/Send sikkert/sendsikkert" --data "/home/a b/x" --autostart`} {
		if !strings.Contains(s, want) {
			t.Fatalf("entry lacks %q:\n%s", want, s)
		}
	}
	if on, _ := e.Enabled(); !on {
		t.Fatal("not enabled after Enable")
	}
	// A user who switched it off in the desktop's settings is respected.
	os.WriteFile(filepath.Join(dir, "sendsikkert.desktop"), []byte(s+"X-GNOME-Autostart-enabled=false\n"), 0o644)
	if on, _ := e.Enabled(); on {
		t.Fatal("switched-off entry counts as on")
	}
	if err := e.Disable(); err != nil {
		t.Fatal(err)
	}
	if on, _ := e.Enabled(); on {
		t.Fatal("still on after Disable")
	}
	if err := e.Disable(); err != nil {
		t.Fatal("second Disable:", err)
	}
}

func TestXDGConfigHome(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	e := Entry{Exe: "/usr/bin/sendsikkert"}
	if err := e.Enable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg, "autostart", "sendsikkert.desktop")); err != nil {
		t.Fatal(err)
	}
}
