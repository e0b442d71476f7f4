package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	_ "modernc.org/sqlite"

	"sendsikkert/internal/enroll"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// testPKI makes a CA and a server certificate for 127.0.0.1 and localhost.
func testPKI(t *testing.T, dir string) (caPEM []byte, certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Kommune CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "relay.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, lt, ca, &key.PublicKey, caKey)
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	cert, _ = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	return
}

type mailbox struct {
	mu   sync.Mutex
	msgs []string
}

type smtpBackend struct{ mb *mailbox }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return smtpSession{b.mb}, nil }

type smtpSession struct{ mb *mailbox }

func (smtpSession) Reset()                               {}
func (smtpSession) Logout() error                        { return nil }
func (smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s smtpSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, string(b))
	s.mb.mu.Unlock()
	return nil
}

type relayProc struct {
	url, config string
	roots       *x509.CertPool
	data        string
	mail        *mailbox
	log         string // the relay's stdout and stderr
}

// metricsAddr is the address the relay's metrics listener bound, from
// its log.
func (r *relayProc) metricsAddr(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(r.log)
	for _, line := range strings.Split(string(b), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "metrics listening" {
			return l.Addr
		}
	}
	t.Fatalf("no metrics listener in the relay log:\n%s", b)
	return ""
}

// startRelay runs sendsikkert-relay serve with a test configuration: its
// own server certificate, a store key from a file, receipts to a local
// SMTP server with STARTTLS.
func startRelay(t *testing.T) *relayProc { return startRelayIn(t, t.TempDir(), "") }

// startRelayIn is startRelay with its files in dir and more YAML appended
// to the configuration (paths in it may be relative to dir).
func startRelayIn(t *testing.T, dir, extra string) *relayProc {
	t.Helper()
	caPEM, certFile, keyFile, cert := testPKI(t, dir)
	keyFile2 := filepath.Join(dir, "store.key")
	os.WriteFile(keyFile2, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600)
	mb := &mailbox{}
	ss := smtp.NewServer(smtpBackend{mb})
	ss.Domain = "localhost"
	ss.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	sl, _ := net.Listen("tcp", "127.0.0.1:0")
	go ss.Serve(sl)
	t.Cleanup(func() { ss.Close() })
	caFile := filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, caPEM, 0o644)
	port := freePort(t)
	auditCfg := "audit: {auditors: [revisor@kommune.test]}\n"
	if strings.HasPrefix(extra, "audit:") || strings.Contains(extra, "\naudit:") {
		auditCfg = "" // the test's own
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data: data
tls: {cert: %s, key: %s}
storeKey: file:%s
smtp: {addr: %s, from: no-reply@kommune.test, caFile: %s}
metrics: {listen: "127.0.0.1:0"}
`, port, certFile, keyFile, keyFile2, sl.Addr(), caFile) + auditCfg + extra
	config := filepath.Join(dir, "relay.yaml")
	os.WriteFile(config, []byte(cfg), 0o600)
	cmd := exec.Command(relayBin, "serve", "--config", config)
	logFile, _ := os.Create(filepath.Join(dir, "relay.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("relay log:\n%s", b)
		}
	})
	r := &relayProc{url: "https://127.0.0.1:" + strconv.Itoa(port), config: config, data: filepath.Join(dir, "data"), mail: mb, log: logFile.Name()}
	r.roots = x509.NewCertPool()
	r.roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}}, Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := hc.Get(r.url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("relay did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

func (r *relayProc) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(relayBin, append(args, "--config", r.config)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return strings.TrimSpace(out.String()), nil
}

func (r *relayProc) code(t *testing.T, user string) string {
	t.Helper()
	c, err := r.cli(t, "enroll-code", "--user", user)
	if err != nil {
		t.Fatalf("enroll-code: %v %s", err, c)
	}
	return c
}

// deviceClient is an mTLS client with a freshly enrolled device.
func (r *relayProc) deviceClient(t *testing.T, user string) *http.Client {
	t.Helper()
	dev, err := enroll.Join(context.Background(), r.url, r.code(t, user), r.roots)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(dev.CertPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots,
		Certificates: []tls.Certificate{{Certificate: [][]byte{blk.Bytes}, PrivateKey: dev.Key}}}}}
}

func checkStatus(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Post(url+"/v1/recipients/check", "application/json", strings.NewReader(`{"recipients":["2211771212"]}`))
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRelayMTLS: enrolment, refusals without a certificate, with a revoked
// one and with a reused code; the audit log's chain and its tamper check.
func TestRelayMTLS(t *testing.T) {
	r := startRelay(t)
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}}}
	if got := checkStatus(t, plain, r.url); got != 401 {
		t.Fatalf("no client certificate: %d, want 401", got)
	}
	// A certificate from another CA is refused in the handshake or after.
	other := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots, Certificates: []tls.Certificate{selfSigned(t)}}}}
	if got := checkStatus(t, other, r.url); got == 200 {
		t.Fatal("foreign client certificate accepted")
	}
	dev := r.deviceClient(t, "bo@kommune.test")
	if got := checkStatus(t, dev, r.url); got != 200 {
		t.Fatalf("enrolled device: %d", got)
	}
	// A code works once.
	code := r.code(t, "cy@kommune.test")
	if _, err := enroll.Join(context.Background(), r.url, code, r.roots); err != nil {
		t.Fatal(err)
	}
	_, err := enroll.Join(context.Background(), r.url, code, r.roots)
	var refused *enroll.RefusedError
	if !errors.As(err, &refused) || refused.Status != 403 || refused.Message == "" {
		t.Fatalf("reused code: %v", err)
	}
	// A code handed out before the revocation dies with it.
	spare := r.code(t, "bo@kommune.test")
	if out, err := r.cli(t, "revoke", "--user", "bo@kommune.test"); err != nil || !strings.Contains(out, "og 1 ubrugt(e) tilmeldingskode(r) er ugyldiggjort") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err := enroll.Join(context.Background(), r.url, spare, r.roots); !errors.As(err, &refused) || refused.Status != 403 {
		t.Fatalf("a code made before revoke still enrols: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for checkStatus(t, dev, r.url) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("revoked device still accepted")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Metrics: refused without a device certificate on the public
	// listener, answered to an enrolled device and on the metrics
	// listener.
	resp, err := plain.Get(r.url + "/metrics")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("metrics without a certificate: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, get := range []func() (*http.Response, error){
		func() (*http.Response, error) { return r.deviceClient(t, "ib@kommune.test").Get(r.url + "/metrics") },
		func() (*http.Response, error) { return http.Get("http://" + r.metricsAddr(t) + "/metrics") },
	} {
		resp, err := get()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("metrics: %v %v", err, resp)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "sendsikkert_relay_http_requests_total") {
			t.Fatalf("metrics: %s", b)
		}
	}

	// The audit API is for auditors only.
	resp, _ = dev.Get(r.url + "/v1/audit")
	if resp != nil && resp.StatusCode == 200 {
		t.Fatal("audit readable by a non-auditor")
	}
	aud := r.deviceClient(t, "revisor@kommune.test")
	resp, err = aud.Get(r.url + "/v1/audit?recipient=2211771212&format=csv")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("audit API: %v %v", err, resp)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "221177-xxxx") || strings.Contains(string(b), "2211771212") {
		t.Fatalf("audit CSV: %s", b)
	}
	// A case system's submit through the same API: delivered, the receipt
	// mailed to the sender and served on the API.
	rc := &relayclient.Client{BaseURL: r.url, HTTP: aud}
	sub, err := rc.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Sag 42", BodyHTML: "<p>Hej</p>", IdempotencyKey: "sag-42"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, err := rc.Status(context.Background(), sub.ID)
		if err == nil && st.Status == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case-system send not delivered: %+v %v", st, err)
		}
	}
	resp, err = aud.Get(r.url + "/v1/messages/" + sub.ID + "/receipt")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("receipt API: %v %v", err, resp)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "X-Sendsikkert-Id: "+sub.ID) || !strings.Contains(string(b), "221177-xxxx") {
		t.Fatalf("receipt: %s", b)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r.mail.mu.Lock()
		got := strings.Join(r.mail.msgs, "\n")
		r.mail.mu.Unlock()
		if strings.Contains(got, "X-Sendsikkert-Id: "+sub.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no receipt mail at the SMTP server")
		}
	}

	if out, err := r.cli(t, "audit", "verify"); err != nil {
		t.Fatalf("audit verify on a clean log: %v %s", err, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(r.data, "relay.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET outcome = 'not-secure' WHERE seq = (SELECT min(seq) FROM audit_log WHERE action = 'lookup')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := r.cli(t, "audit", "verify"); err == nil || !strings.Contains(out, "IKKE intakt") {
		t.Fatalf("audit verify missed an edited row: %v %s", err, out)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "bo@kommune.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestAgentThroughRelay: an agent enrols with a code (key in the real
// keyring) and sends through the separately started relay over mTLS; the
// MeMo lands and the receipt mail arrives.
func TestAgentThroughRelay(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("enrolment keeps the device key in the OS keyring; set SENDSIKKERT_REAL_KEYRING=1 under gnome-keyring (the README test command does)")
	}
	r := startRelay(t)
	data := t.TempDir()
	caFile := filepath.Join(filepath.Dir(r.config), "ca.crt")
	out, err := exec.Command(agentBin, "enroll", "--data", data, "--relay", r.url, "--code", r.code(t, "anna@kommune.test"), "--relay-ca", caFile).CombinedOutput()
	if err != nil {
		t.Fatalf("enroll: %v %s", err, out)
	}
	a := startAgentWith(t, data, freePort(t), false, "--relay", r.url)
	var h map[string]any
	a.call("GET", "/healthz", nil, &h)
	if h["demo"] != false {
		t.Fatalf("healthz: %v", h)
	}
	code, res := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "relay-1"})
	if code != 202 {
		t.Fatalf("send: %d %v", code, res)
	}
	st := a.waitFinal(res["id"].(string), time.Minute)
	if st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	files, _ := filepath.Glob(filepath.Join(r.data, "demo", "digitalpost", "*.xml"))
	if len(files) != 1 {
		t.Fatalf("MeMo files: %v", files)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mail.mu.Lock()
		n := len(r.mail.msgs)
		var m string
		if n > 0 {
			m = r.mail.msgs[0]
		}
		r.mail.mu.Unlock()
		if n > 0 {
			if !strings.Contains(m, "X-Sendsikkert-Id: "+res["id"].(string)) || !strings.Contains(m, "221177-xxxx") {
				t.Fatalf("receipt:\n%s", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no receipt mail")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rep map[string]any
	json.Unmarshal(nil, &rep)
}

// TestEnrolFromWindow: the window's first-run form enrols through the
// agent's local API; the next start uses the relay, not demo.
func TestEnrolFromWindow(t *testing.T) {
	r := startRelay(t)
	// The test relay's CA stands in for a CA the PC trusts (a public CA, or
	// the organisation's, installed machine-wide).
	t.Setenv("SSL_CERT_FILE", filepath.Join(filepath.Dir(r.config), "ca.crt"))
	data := t.TempDir()
	port := freePort(t)
	a := startAgent(t, data, port)
	var out map[string]string
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": "http://plain", "code": "x"}, &out); code != 400 || out["message"] == "" {
		t.Fatalf("plain relay: %d %v", code, out)
	}
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		// Without a keyring nothing can be enrolled, and the answer says so.
		if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": r.url, "code": r.code(t, "eva@kommune.test")}, &out); code != 502 || !strings.Contains(out["message"], "nøgleringen") {
			t.Fatalf("no keyring: %d %v", code, out)
		}
		return
	}
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": r.url, "code": "AAAA-BBBB-CCCC-DDDD"}, &out); code != 403 || !strings.Contains(out["message"], "afviste") {
		t.Fatalf("bad code: %d %v", code, out)
	}
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": r.url, "code": r.code(t, "eva@kommune.test")}, &out); code != 200 || out["user"] != "eva@kommune.test" {
		t.Fatalf("enrol: %d %v", code, out)
	}
	// Enrolled now: a page, with the CSRF token any page of the agent
	// carries, can no longer re-point the agent to another relay.
	if code := a.call("POST", "/api/v1/enroll", map[string]string{"relay": "https://evil.example", "code": "AAAA-BBBB-CCCC-DDDD"}, &out); code != 403 || out["error"] != "enroll_window_only" {
		t.Fatalf("page re-enrolling an enrolled agent: %d %v", code, out)
	}
	a.stop()
	b := startAgentWith(t, data, port, false)
	var h map[string]any
	b.call("GET", "/healthz", nil, &h)
	if h["demo"] != false {
		t.Fatalf("after enrolment still demo: %v", h)
	}
	code, res := b.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Efter tilmelding", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "win-1"})
	if code != 202 {
		t.Fatalf("send: %d %v", code, res)
	}
	if st := b.waitFinal(res["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
}
