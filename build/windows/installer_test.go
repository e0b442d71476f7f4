// Package windows holds the Windows packaging; this test checks the NSIS
// script: every file, registry value, certificate and loopback exemption
// the install section makes is taken away by the uninstall section, and
// makensis compiles it.
package windows

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func sections(t *testing.T) (install, uninstall string, defines map[string]string) {
	t.Helper()
	b, err := os.ReadFile("installer.nsi")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	defines = map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*!define\s+(\w+)\s+"([^"]*)"`).FindAllStringSubmatch(s, -1) {
		defines[m[1]] = m[2]
	}
	body := func(name string) string {
		i := strings.Index(s, `Section "`+name+`"`)
		if i < 0 {
			t.Fatalf("no section %s", name)
		}
		j := strings.Index(s[i:], "SectionEnd")
		return s[i : i+j]
	}
	expand := func(x string) string {
		for k, v := range defines {
			x = strings.ReplaceAll(x, "${"+k+"}", v)
		}
		return x
	}
	return expand(body("Install")), expand(body("Uninstall")), defines
}

func TestInstallUninstallPaired(t *testing.T) {
	in, un, _ := sections(t)
	// Files.
	for _, m := range regexp.MustCompile(`(?m)^\s*File\s+"([^"]+)"`).FindAllStringSubmatch(in, -1) {
		name := filepath.Base(strings.ReplaceAll(m[1], `\`, "/"))
		if !strings.Contains(un, `Delete "$INSTDIR\`+name+`"`) {
			t.Errorf("installed file %s is not deleted on uninstall", name)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:WriteUninstaller|CopyFiles /SILENT "[^"]+")\s+"([^"]+)"`).FindAllStringSubmatch(in, -1) {
		if !strings.Contains(un, `Delete "`+m[1]+`"`) {
			t.Errorf("written file %s is not deleted on uninstall", m[1])
		}
	}
	if !strings.Contains(un, `RMDir "$INSTDIR"`) {
		t.Error("install folder not removed")
	}
	// Registry.
	for _, m := range regexp.MustCompile(`(?m)^\s*WriteReg\w+\s+(HKLM|HKCU)\s+"([^"]+)"\s+"([^"]+)"`).FindAllStringSubmatch(in, -1) {
		root, key, value := m[1], m[2], m[3]
		if !strings.Contains(un, `DeleteRegKey `+root+` "`+key+`"`) && !strings.Contains(un, `DeleteRegValue `+root+` "`+key+`" "`+value+`"`) {
			t.Errorf("registry %s\\%s\\%s is not removed on uninstall", root, key, value)
		}
	}
	// Certificates and the loopback exemption.
	if strings.Contains(in, "-addstore Root") && !strings.Contains(un, "-delstore Root") {
		t.Error("a certificate added to Root is not removed")
	}
	for _, m := range regexp.MustCompile(`LoopbackExempt -a -n=(\S+?)'`).FindAllStringSubmatch(in, -1) {
		if !strings.Contains(un, "LoopbackExempt -d -n="+m[1]) {
			t.Errorf("loopback exemption %s is not removed", m[1])
		}
	}
	// User data stays unless asked.
	if !strings.Contains(un, `/PURGE=`) || strings.Count(un, "RMDir /r") != 1 {
		t.Error("uninstall must keep user data unless /PURGE=1")
	}
}

// TestMakensis compiles the script with placeholder binaries.
func TestMakensis(t *testing.T) {
	makensis, err := exec.LookPath("makensis")
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatal("makensis (Debian nsis) is required")
		}
		t.Skip("makensis not installed")
	}
	bin := t.TempDir()
	for _, f := range []string{"sendsikkert.exe", "sendsikkert-window.exe"} {
		os.WriteFile(filepath.Join(bin, f), []byte("MZ placeholder"), 0o644)
	}
	out := t.TempDir()
	cmd := exec.Command(makensis, "-V2", "-DVERSION=0.1.0", "-DBINDIR="+bin, "-DOUTFILE="+filepath.Join(out, "setup.exe"), "installer.nsi")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makensis: %v\n%s", err, b)
	}
	if st, err := os.Stat(filepath.Join(out, "setup.exe")); err != nil || st.Size() == 0 {
		t.Fatalf("no installer: %v", err)
	}
}
