package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNotEnrolledNeverDemo: an agent started without --demo and without an
// enrolment runs "not enrolled": /healthz says so, every send and check is
// refused with a Danish message pointing to IT, no demo folder appears,
// and doctor exits non-zero saying why. It needs a real keyring: outside
// demo mode no key is ever kept in the clear.
func TestNotEnrolledNeverDemo(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("set SENDSIKKERT_REAL_KEYRING=1 under a session bus with gnome-keyring (scripts/test.sh does)")
	}
	data := t.TempDir()
	a := startAgentWith(t, data, freePort(t), false)
	var h map[string]any
	if code := a.call("GET", "/healthz", nil, &h); code != 200 || h["demo"] != false || h["enrolled"] != false {
		t.Fatalf("healthz: %d %v", code, h)
	}
	// The same on the board the tray and the window show.
	if probs, _ := h["problems"].([]any); len(probs) == 0 || probs[0].(map[string]any)["code"] != "not_enrolled" ||
		!strings.Contains(probs[0].(map[string]any)["message"].(string), "kontakt IT") {
		t.Fatalf("problems: %v", h["problems"])
	}
	var out map[string]any
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": []string{"2211771212"}}, &out); code != 503 || out["error"] != "not_enrolled" || !strings.Contains(out["message"].(string), "Kontakt IT") {
		t.Fatalf("check: %d %v", code, out)
	}
	code, sent := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse", "bodyHtml": "<p>x</p>", "idempotencyKey": "ne-1"})
	if code != 503 || sent["error"] != "not_enrolled" {
		t.Fatalf("send: %d %v", code, sent)
	}
	if _, err := os.Stat(filepath.Join(data, "demo")); err == nil {
		t.Fatal("a demo folder was made without --demo")
	}
	doc := exec.Command(agentBin, "doctor", "--data", data, "--port", strconv.Itoa(a.port))
	doc.Env = os.Environ()
	report, err := doc.CombinedOutput()
	if err == nil || !strings.Contains(string(report), "ikke tilmeldt") {
		t.Fatalf("doctor (err %v):\n%s", err, report)
	}
}

// TestNoDoorSaidInLog: without a door service the agent binds the port
// itself and its log says so.
func TestNoDoorSaidInLog(t *testing.T) {
	data := t.TempDir()
	startAgent(t, data, freePort(t))
	b, err := os.ReadFile(filepath.Join(data, "logs", "sendsikkert.log"))
	if err != nil || !strings.Contains(string(b), "no door service answers on this port; the agent binds it itself") {
		t.Fatalf("log (%v):\n%s", err, b)
	}
}
