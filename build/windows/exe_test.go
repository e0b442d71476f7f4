package windows

import (
	"bytes"
	"debug/buildinfo"
	"debug/pe"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
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
	// The one version string build.sh was given (the MSI's ProductVersion).
	want := os.Getenv("SENDSIKKERT_MSI_VERSION")
	for _, exe := range []struct {
		name string
		tags []string
	}{
		{"sendsikkert-window.exe", []string{"desktop", "production", "nodemo"}},
		{"sendsikkert.exe", []string{"nodemo"}},
	} {
		t.Run(exe.name, func(t *testing.T) {
			path := filepath.Join(dir, exe.name)
			checkGUI(t, path)
			info, err := buildinfo.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var tags, ldflags string
			for _, s := range info.Settings {
				switch s.Key {
				case "-tags":
					tags = s.Value
				case "-ldflags":
					ldflags = s.Value
				}
			}
			for _, tag := range exe.tags {
				if !strings.Contains(","+tags+",", ","+tag+",") {
					t.Errorf("built without the %s tag (tags %q)", tag, tags)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("will not build without the correct build tags")) {
				t.Error("Wails' stub")
			}
			// -tags nodemo: no demo relay, relay server or SQL driver linked.
			for _, pkg := range []string{"sendsikkert/internal/demo.", "sendsikkert/internal/relayd.", "modernc.org/sqlite."} {
				if bytes.Contains(b, []byte(pkg)) {
					t.Errorf("links %s", strings.TrimSuffix(pkg, "."))
				}
			}
			if want == "" {
				return
			}
			if !strings.Contains(ldflags, "sendsikkert/internal/version.String="+want) {
				t.Errorf("version not set at build time: -ldflags %q", ldflags)
			}
			if got := resourceVersion(t, path); got != want+".0" {
				t.Errorf("version resource %q, want %s.0", got, want)
			}
		})
	}
}

// checkGUI: a PE64 of the GUI subsystem, so no console opens beside it.
func checkGUI(t *testing.T, path string) {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("%s is not a 64-bit PE", path)
	}
	if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("subsystem %d, want GUI (%d): a console would open", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
}

// resourceVersion reads the exe's VERSIONINFO: the fixed ProductVersion,
// which must equal the FileVersion and the strings.
func resourceVersion(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := winres.LoadFromEXESingleType(f, winres.RT_VERSION)
	if err != nil {
		t.Fatalf("no resources: %v", err)
	}
	var data []byte
	rs.WalkType(winres.RT_VERSION, func(_ winres.Identifier, _ uint16, d []byte) bool {
		data = d
		return false
	})
	if data == nil {
		t.Fatal("no version resource")
	}
	vi, err := version.FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	j, err := vi.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Fixed struct {
			File    string `json:"file_version"`
			Product string `json:"product_version"`
		} `json:"fixed"`
		Info map[string]map[string]string `json:"info"`
	}
	if err := json.Unmarshal(j, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.Fixed.File != parsed.Fixed.Product {
		t.Errorf("FileVersion %s, ProductVersion %s", parsed.Fixed.File, parsed.Fixed.Product)
	}
	for lang, strs := range parsed.Info {
		if strs["ProductVersion"] != parsed.Fixed.Product || strs["ProductName"] != "Send sikkert" {
			t.Errorf("strings of %s: %v", lang, strs)
		}
	}
	return parsed.Fixed.Product
}
