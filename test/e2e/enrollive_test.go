package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnrolWithoutRestart: an agent started not enrolled (its relay offers
// no zero-touch enrolment) is enrolled from the window's Kom i gang page
// with IT's code and the window's credential, and goes on enrolled in the
// same process: the answer says it sends now, the page's CSRF token still
// works, /healthz says enrolled, and a send is delivered — no restart, no
// second listener, no second bind of the port.
func TestEnrolWithoutRestart(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("enrolment keeps the device key in the OS keyring; set SENDSIKKERT_REAL_KEYRING=1 under gnome-keyring (scripts/test.sh does)")
	}
	r := startRelay(t)
	// The test relay's CA stands in for a CA the PC trusts.
	t.Setenv("SSL_CERT_FILE", filepath.Join(filepath.Dir(r.config), "ca.crt"))
	data := t.TempDir()
	a := startAgentWith(t, data, freePort(t), false, "--relay", r.url)
	pid := a.cmd.Process.Pid
	var h map[string]any
	if code := a.call("GET", "/healthz", nil, &h); code != 200 || h["status"] != "ok" || h["enrolled"] != false {
		t.Fatalf("healthz before: %d %v", code, h)
	}
	code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Før tilmelding", "bodyHtml": "<p>x</p>", "idempotencyKey": "live-0"})
	if code != 503 || out["error"] != "not_enrolled" {
		t.Fatalf("send before enrolment: %d %v", code, out)
	}

	// The window: its credential from DATA/window.token, as
	// sendsikkert-window sends it.
	tok, err := os.ReadFile(filepath.Join(data, "window.token"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"relay": r.url, "code": r.code(t, "eva@kommune.test")})
	req := a.request("POST", "/api/v1/enroll", bytes.NewReader(body), "application/json")
	req.Header.Set("X-Sendsikkert-Window", strings.TrimSpace(string(tok)))
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var enr map[string]string
	json.Unmarshal(b, &enr)
	if resp.StatusCode != 200 || enr["user"] != "eva@kommune.test" || !strings.Contains(enr["message"], "sender nu") || strings.Contains(enr["message"], "start det igen") {
		t.Fatalf("enrol: %d %s", resp.StatusCode, b)
	}

	// The very next request, with the token the page already holds.
	h = nil
	if code := a.call("GET", "/healthz", nil, &h); code != 200 || h["status"] != "ok" || h["enrolled"] != true || h["demo"] != false {
		t.Fatalf("healthz right after enrolment: %d %v", code, h)
	}
	if probs, _ := h["problems"].([]any); len(probs) != 0 {
		t.Fatalf("problems after enrolment: %v", probs)
	}
	code, res := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Efter tilmelding", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "live-1"})
	if code != 202 {
		t.Fatalf("send after enrolment: %d %v", code, res)
	}
	if st := a.waitFinal(res["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	select {
	case <-a.exited:
		t.Fatal("the agent exited")
	default:
	}
	if a.cmd.Process.Pid != pid {
		t.Fatal("another process")
	}
	log, _ := os.ReadFile(filepath.Join(data, "logs", "sendsikkert.log"))
	if n := strings.Count(string(log), "the agent binds it itself"); n != 1 {
		t.Fatalf("the port was bound %d times:\n%s", n, log)
	}
	if !strings.Contains(string(log), "no restart needed") {
		t.Fatalf("log does not say the agent went on enrolled:\n%s", log)
	}
	// Enrolled now: a page can no longer re-point it; the window can, for
	// the next start, and is told so.
	var again map[string]string
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": r.url, "code": r.code(t, "eva@kommune.test")}, &again); code != 403 || again["error"] != "enroll_window_only" {
		t.Fatalf("page re-enrolling: %d %v", code, again)
	}
}

// TestEnrolFromConsoleWhileRunning: `sendsikkert enroll` in a console is
// another process; the running, not enrolled agent takes its enrolment up
// within seconds and sends, without a restart.
func TestEnrolFromConsoleWhileRunning(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("enrolment keeps the device key in the OS keyring; set SENDSIKKERT_REAL_KEYRING=1 under gnome-keyring (scripts/test.sh does)")
	}
	r := startRelay(t)
	t.Setenv("SSL_CERT_FILE", filepath.Join(filepath.Dir(r.config), "ca.crt"))
	data := t.TempDir()
	a := startAgentWith(t, data, freePort(t), false, "--relay", r.url)
	out, err := exec.Command(agentBin, "enroll", "--data", data, "--relay", r.url, "--code", r.code(t, "eva@kommune.test")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "om få sekunder") {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var h map[string]any
		if code := a.call("GET", "/healthz", nil, &h); code == 200 && h["enrolled"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running agent did not take up the enrolment")
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, res := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Efter tilmelding i konsollen", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "cli-1"})
	if code != 202 {
		t.Fatalf("send: %d %v", code, res)
	}
	if st := a.waitFinal(res["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	select {
	case <-a.exited:
		t.Fatal("the agent exited")
	default:
	}
}
