package windows

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// requireTool finds a packaging tool, or skips (fails when the test
// command demands every tool).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not found (Debian wixl / msitools)", name)
		}
		t.Skipf("%s not found (Debian wixl / msitools)", name)
	}
	return p
}

// buildMSI returns the MSI to inspect: SENDSIKKERT_MSI (the one
// build/windows/build.sh made from the real programs, in the test command)
// or one built here by msi.sh from stand-in executables.
func buildMSI(t *testing.T) (msi, version string) {
	t.Helper()
	requireTool(t, "wixl")
	requireTool(t, "msibuild")
	requireTool(t, "msiinfo")
	if p := os.Getenv("SENDSIKKERT_MSI"); p != "" {
		return p, os.Getenv("SENDSIKKERT_MSI_VERSION")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	for _, f := range []string{"sendsikkert.exe", "sendsikkert-window.exe"} {
		if err := os.WriteFile(filepath.Join(bin, f), []byte("MZ stand-in "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	msi = filepath.Join(dir, "Sendsikkert.msi")
	if out, err := exec.Command("bash", "msi.sh", "1.4.2", bin, msi).CombinedOutput(); err != nil {
		t.Fatalf("msi.sh: %v\n%s", err, out)
	}
	return msi, "1.4.2"
}

// table reads an MSI table as rows of columns (msiinfo export: three
// header lines, then tab-separated rows).
func table(t *testing.T, msi, name string) [][]string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msi, name).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", name, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
	var rows [][]string
	for _, l := range lines[min(3, len(lines)):] {
		rows = append(rows, strings.Split(strings.TrimRight(l, "\r"), "\t"))
	}
	return rows
}

func rowWith(rows [][]string, col int, value string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == value {
			return r
		}
	}
	return nil
}

func TestMSI(t *testing.T) {
	msi, version := buildMSI(t)

	props := map[string]string{}
	for _, r := range table(t, msi, "Property") {
		props[r[0]] = r[1]
	}
	if props["ALLUSERS"] != "1" {
		t.Errorf("not per-machine: ALLUSERS=%q", props["ALLUSERS"])
	}
	if version != "" && props["ProductVersion"] != version {
		t.Errorf("ProductVersion %q, want %q", props["ProductVersion"], version)
	}
	if props["UpgradeCode"] == "" || props["PORT"] != "47800" {
		t.Errorf("UpgradeCode %q, PORT %q", props["UpgradeCode"], props["PORT"])
	}
	for _, p := range []string{"RELAY", "RELAYCA", "PORT", "PURGE"} {
		if !strings.Contains(";"+props["SecureCustomProperties"]+";", ";"+p+";") {
			t.Errorf("%s is not a secure property: a silent elevated install would drop it (%q)", p, props["SecureCustomProperties"])
		}
	}

	files := table(t, msi, "File")
	for _, f := range []string{"sendsikkert.exe", "sendsikkert-window.exe", "sendsikkert.admx"} {
		if rowWith(files, 2, f) == nil {
			t.Errorf("file %s not in the MSI", f)
		}
	}

	// The door service: LocalSystem, automatic, own process; started on
	// install, stopped on install and uninstall (so an upgrade stops and
	// restarts it), removed on uninstall.
	svc := rowWith(table(t, msi, "ServiceInstall"), 1, "SendsikkertDoor")
	if svc == nil {
		t.Fatal("no door service")
	}
	if svc[3] != "16" || svc[4] != "2" || svc[8] != "LocalSystem" || !strings.HasPrefix(svc[10], "door --port [PORT]") {
		t.Errorf("door service row %q", svc)
	}
	ctl := rowWith(table(t, msi, "ServiceControl"), 1, "SendsikkertDoor")
	if ctl == nil {
		t.Fatal("no door service control")
	}
	events, _ := strconv.Atoi(ctl[2])
	const startInstall, stopInstall, stopUninstall, deleteUninstall = 0x1, 0x2, 0x20, 0x80
	for name, bit := range map[string]int{"start on install": startInstall, "stop on install": stopInstall, "stop on uninstall": stopUninstall, "delete on uninstall": deleteUninstall} {
		if events&bit == 0 {
			t.Errorf("door service control lacks %s (events %d)", name, events)
		}
	}

	reg := table(t, msi, "Registry")
	run := rowWith(reg, 3, "Sendsikkert")
	if run == nil || run[1] != "2" || run[2] != `Software\Microsoft\Windows\CurrentVersion\Run` || !strings.Contains(run[4], "sendsikkert.exe") {
		t.Errorf("per-user autostart (HKLM Run) missing: %q", run)
	}
	relay := rowWith(reg, 3, "RelayURL")
	if relay == nil || relay[2] != `Software\Policies\Sendsikkert` || relay[4] != "[RELAY]" {
		t.Errorf("RELAY does not reach the policy: %q", relay)
	}
	if ca := rowWith(reg, 3, "RelayCA"); ca == nil || ca[4] != "[RELAYCA]" {
		t.Errorf("RELAYCA does not reach the policy: %q", ca)
	}
	comps := table(t, msi, "Component")
	for comp, cond := range map[string]string{"PolicyRelay": "RELAY", "PolicyRelayCA": "RELAYCA"} {
		if r := rowWith(comps, 0, comp); r == nil || r[4] != cond {
			t.Errorf("component %s is written without its property (condition %q)", comp, r)
		}
	}

	// Upgrades: older versions are found and removed; a newer one stops
	// the install.
	up := table(t, msi, "Upgrade")
	if rowWith(up, 6, "OLDERFOUND") == nil || rowWith(up, 6, "NEWERFOUND") == nil {
		t.Errorf("upgrade table %q", up)
	}
	seq := map[string]int{}
	cond := map[string]string{}
	for _, r := range table(t, msi, "InstallExecuteSequence") {
		n, _ := strconv.Atoi(r[2])
		seq[r[0]], cond[r[0]] = n, r[1]
	}
	if seq["RemoveExistingProducts"] == 0 {
		t.Error("RemoveExistingProducts not scheduled: an upgrade would install beside the old version")
	}
	// Deferred custom actions must lie inside the install transaction; the
	// agents are stopped before files are replaced; the purge runs only on
	// a real uninstall with PURGE=1.
	cas := table(t, msi, "CustomAction")
	for _, name := range []string{"StopAgents", "StopWindows", "PurgeUserData"} {
		ca := rowWith(cas, 0, name)
		if ca == nil {
			t.Errorf("custom action %s missing", name)
			continue
		}
		typ, _ := strconv.Atoi(ca[1])
		if typ&0x400 == 0 || typ&0x800 == 0 {
			t.Errorf("%s is not deferred as SYSTEM (type %d)", name, typ)
		}
		if s := seq[name]; s <= seq["InstallInitialize"] || s >= seq["InstallFinalize"] {
			t.Errorf("%s at %d lies outside InstallInitialize..InstallFinalize", name, s)
		}
	}
	if seq["StopAgents"] >= seq["InstallFiles"] || seq["StopWindows"] >= seq["InstallFiles"] {
		t.Error("running agents are not stopped before the files are replaced")
	}
	if c := cond["PurgeUserData"]; !strings.Contains(c, `PURGE="1"`) || !strings.Contains(c, `REMOVE="ALL"`) || !strings.Contains(c, "NOT UPGRADINGPRODUCTCODE") {
		t.Errorf("purge condition %q would delete user data on an upgrade or without PURGE=1", c)
	}
	if ca := rowWith(cas, 0, "PurgeUserData"); ca != nil && !strings.Contains(ca[3], "purge --all-users") {
		t.Errorf("purge runs %q", ca[3])
	}

	// msiextract unpacks the files: the cabinet is whole.
	if _, err := exec.LookPath("msiextract"); err == nil {
		dir := t.TempDir()
		if out, err := exec.Command("msiextract", "-C", dir, msi).CombinedOutput(); err != nil {
			t.Fatalf("msiextract: %v\n%s", err, out)
		}
		var found []string
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				found = append(found, info.Name())
			}
			return nil
		})
		if !strings.Contains(strings.Join(found, " "), "sendsikkert.exe") {
			t.Errorf("msiextract found %v", found)
		}
	}
}
