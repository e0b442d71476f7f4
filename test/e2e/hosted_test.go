package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/entra/entratest"
)

// TestHostedAddinRelay: the relay binary with hostedAddin on a listener of
// its own: the pages, the allowed-origins file and the add-in config
// without a client certificate, the page API with an Entra token from the
// in-process issuer (refused without one), nothing of the devices' API
// there; and `manifest` prints the hosted manifest for baseURL.
func TestHostedAddinRelay(t *testing.T) {
	const tenant, client = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "11111111-2222-3333-4444-555555555555"
	iss := entratest.New(t)
	dir := t.TempDir()
	issuerCA := filepath.Join(dir, "issuer.crt")
	os.WriteFile(issuerCA, pemCert(iss.Server.Certificate().Raw), 0o644)
	t.Setenv("SSL_CERT_FILE", issuerCA)
	port := freePort(t)
	r := startRelayIn(t, dir, fmt.Sprintf(`hostedAddin:
  baseURL: https://sendsikkert.kommune.test
  listen: 127.0.0.1:%d
  clientId: %s
  tenants: [%s]
  scope: access_as_user
  openidConfiguration: %s
  smartAlert: softblock
`, port, client, tenant, iss.OpenIDConfiguration()))
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}}}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := hc.Get(base + "/healthz"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hosted listener not up")
		}
	}
	if code, body := get("/addin/outlook/taskpane.html", ""); code != 200 || !strings.Contains(body, `<meta name="sendsikkert-auth" content="entra">`) {
		t.Fatalf("taskpane: %d", code)
	}
	if code, body := get("/.well-known/microsoft-officeaddins-allowed.json", ""); code != 200 || !strings.Contains(body, "https://sendsikkert.kommune.test") {
		t.Fatalf("allowed: %d %s", code, body)
	}
	var cfg map[string]any
	code, body := get("/v1/addin-config", "")
	if json.Unmarshal([]byte(body), &cfg); code != 200 || cfg["clientId"] != client {
		t.Fatalf("addin-config: %d %s", code, body)
	}
	if code, _ := get("/api/v1/reply-mailboxes", ""); code != 401 {
		t.Fatalf("page API without a token: %d", code)
	}
	tok := iss.Token(t, iss.Claims(tenant, client, "access_as_user"))
	if code, body := get("/api/v1/reply-mailboxes", tok); code != 200 || !strings.Contains(body, "options") {
		t.Fatalf("page API with a token: %d %s", code, body)
	}
	for _, p := range []string{"/v1/reply-mailboxes", "/metrics", "/openapi.yaml"} {
		if code, _ := get(p, ""); code != 404 {
			t.Errorf("%s on the hosted listener: %d", p, code)
		}
	}
	out, err := exec.Command(relayBin, "manifest", "--config", r.config, "--kind", "outlook").Output()
	if err != nil || !strings.Contains(string(out), `SendMode="SoftBlock"`) || !strings.Contains(string(out), "https://sendsikkert.kommune.test/addin/outlook/taskpane.html") {
		t.Fatalf("manifest: %v\n%s", err, out)
	}
}
