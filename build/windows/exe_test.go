package windows

import (
	"bytes"
	"debug/buildinfo"
	"debug/pe"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsExecutables checks the programs build.sh made for the
// installer (SENDSIKKERT_WINDOWS_BIN, set by the test command): the window
// is the real Wails program (its build tags, not the stub that only says
// it was built wrong) and, like every program a clerk starts, opens no
// console (PE subsystem GUI).
func TestWindowsExecutables(t *testing.T) {
	dir := os.Getenv("SENDSIKKERT_WINDOWS_BIN")
	if dir == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" && os.Getenv("SENDSIKKERT_MSI") != "" {
			t.Fatal("SENDSIKKERT_WINDOWS_BIN not set")
		}
		t.Skip("SENDSIKKERT_WINDOWS_BIN not set: build/windows/build.sh has not run")
	}
	window := filepath.Join(dir, "sendsikkert-window.exe")
	f, err := pe.Open(window)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("%s is not a 64-bit PE", window)
	}
	if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("window subsystem %d, want GUI (%d): a console would open beside it", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
	info, err := buildinfo.ReadFile(window)
	if err != nil {
		t.Fatal(err)
	}
	var tags string
	for _, s := range info.Settings {
		if s.Key == "-tags" {
			tags = s.Value
		}
	}
	for _, want := range []string{"desktop", "production"} {
		if !strings.Contains(","+tags+",", ","+want+",") {
			t.Errorf("window built without the %s tag (tags %q)", want, tags)
		}
	}
	b, err := os.ReadFile(window)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("will not build without the correct build tags")) {
		t.Error("the window is Wails' stub")
	}
}
