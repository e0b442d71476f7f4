package e2e

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sendsikkert/internal/entra/entratest"
)

// TestZeroTouchEnrolment: a PC with a relay (--relay, as from policy) but
// no enrolment, whose relay offers the hosted add-in, waits for its pages:
// they hand the agent the clerk's Entra token, the agent enrols to IT's
// relay (never one the page names), goes on enrolled in the same process
// (same port, same CSRF token) and sends; an
// enrolled agent refuses a second enrolment.
func TestZeroTouchEnrolment(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("enrolment keeps the device key in the OS keyring; set SENDSIKKERT_REAL_KEYRING=1 under gnome-keyring (the README test command does)")
	}
	const tenant, client = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "11111111-2222-3333-4444-555555555555"
	iss := entratest.New(t)
	dir := t.TempDir()
	issuerCA := filepath.Join(dir, "issuer.crt")
	os.WriteFile(issuerCA, pemCert(iss.Server.Certificate().Raw), 0o644)
	// The relay reaches the issuer with the system's roots: here, the
	// issuer's certificate.
	t.Setenv("SSL_CERT_FILE", issuerCA)
	r := startRelayIn(t, dir, fmt.Sprintf(`hostedAddin:
  baseURL: https://sendsikkert.kommune.test
  clientId: %s
  tenants: [%s]
  scope: access_as_user
  openidConfiguration: %s
`, client, tenant, iss.OpenIDConfiguration()))
	// The agent trusts the relay's CA (as a PC trusts a public CA).
	t.Setenv("SSL_CERT_FILE", filepath.Join(dir, "ca.crt"))

	data := t.TempDir()
	port := freePort(t)
	a := startAgentWith(t, data, port, false, "--relay", r.url)
	var h map[string]any
	if a.call("GET", "/healthz", nil, &h); h["enrolled"] != false {
		t.Fatalf("waiting agent's healthz: %v", h)
	}
	var cfg map[string]any
	if code := a.call("GET", "/api/v1/addin-config", nil, &cfg); code != 200 || cfg["clientId"] != client || cfg["scope"] != "access_as_user" {
		t.Fatalf("addin-config: %d %v", code, cfg)
	}
	var out map[string]string
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": []string{"2211771212"}}, &out); code != 503 || out["error"] != "not_enrolled" {
		t.Fatalf("check before enrolment: %d %v", code, out)
	}
	claims := iss.Claims(tenant, client, "access_as_user")
	claims["preferred_username"] = "eva@kommune.test"
	tok := iss.Token(t, claims)
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": r.url, "accessToken": tok}, &out); code != 400 || out["error"] != "relay_not_yours" {
		t.Fatalf("page-named relay: %d %v", code, out)
	}
	bad := iss.Claims(tenant, client, "access_as_user")
	bad["scp"] = "User.Read"
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"accessToken": iss.Token(t, bad)}, &out); code != 401 {
		t.Fatalf("token without the scope: %d %v", code, out)
	}
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"accessToken": tok}, &out); code != 200 || out["user"] != "eva@kommune.test" {
		t.Fatalf("enrol: %d %v", code, out)
	}

	// The agent goes on enrolled in the same process, on the same port,
	// with the same CSRF token: the very next request finds it enrolled.
	h = nil
	if code := a.call("GET", "/healthz", nil, &h); code != 200 || h["status"] != "ok" || h["demo"] != false || h["enrolled"] != true {
		t.Fatalf("agent not enrolled right after the answer: %d %v", code, h)
	}
	select {
	case <-a.exited:
		t.Fatal("the agent exited")
	default:
	}
	code, res := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Efter automatisk tilmelding", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "zt-1"})
	if code != 202 {
		t.Fatalf("send: %d %v", code, res)
	}
	if st := a.waitFinal(res["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	// An enrolled agent refuses: the pages may not enrol it again (only
	// the window may, and with a token not even the window: 409).
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"accessToken": tok}, &out); code != 403 || out["error"] != "enroll_window_only" {
		t.Fatalf("second enrolment: %d %v", code, out)
	}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
