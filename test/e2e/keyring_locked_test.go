package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockedKeyring: a real gnome-keyring in its own private session bus;
// the agent (with a relay, so not demo) first starts against the unlocked
// keyring and stores its key; then the login collection is locked over
// D-Bus (no prompter can answer: no display), and the agent refuses to
// start at once with the clear Danish message, writes no clear-text key
// file, and does not hang waiting for a prompt.
func TestLockedKeyring(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("set SENDSIKKERT_REAL_KEYRING=1 where gnome-keyring is installed (scripts/test.sh does)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("gnome-keyring is Linux")
	}
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required", tool)
		}
	}
	home := t.TempDir()
	data := filepath.Join(home, "data")
	agent := agentBin + " --headless --data " + data + " --port " + strconv.Itoa(freePort(t)) + " --relay http://127.0.0.1:9"
	script := `set -u
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
` + keyringWait + `
echo "== first"
timeout -s INT 10 ` + agent + ` 2>&1
echo "== lock"
dbus-send --session --dest=org.freedesktop.secrets --type=method_call --print-reply /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null || echo LOCK-FAILED
echo "== second"
` + agent + ` 2>&1
echo "== exit $?"
`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "HOME="+home, "DISPLAY=", "WAYLAND_DISPLAY=")
	start := time.Now()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the agent hung on a locked keyring")
	}
	s := string(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	first, rest, _ := strings.Cut(s, "== lock")
	_, second, _ := strings.Cut(rest, "== second")
	if strings.Contains(first, "nøglering") || !strings.Contains(first, "ikke tilmeldt") {
		t.Fatalf("first start should reach the keyring and run not enrolled:\n%s", first)
	}
	if strings.Contains(rest, "LOCK-FAILED") {
		t.Fatalf("could not lock the collection:\n%s", s)
	}
	if !strings.Contains(second, "nøgleringen op") || !strings.Contains(second, "låst") {
		t.Fatalf("no clear Danish message for a locked keyring:\n%s", second)
	}
	if strings.Contains(second, "== exit 0") {
		t.Fatalf("agent exited 0 with a locked keyring:\n%s", second)
	}
	if _, err := os.Stat(filepath.Join(data, "INSECURE-demo-keys-NOT-PROTECTED.json")); err == nil {
		t.Fatal("a clear-text key file was written outside demo mode")
	}
	t.Logf("locked keyring refused in %s", time.Since(start).Round(time.Millisecond))
}

// keyringWait waits until the daemon owns org.freedesktop.secrets: the
// --unlock call returns before that, and an agent calling in the gap has
// D-Bus start a second daemon that corrupts the login keyring
// (scripts/keyring-wait.sh does the same for the suite).
const keyringWait = `i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "gnome-keyring did not come up"; exit 1; }
  sleep 0.1
done`
