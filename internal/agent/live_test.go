package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"sendsikkert/internal/door"
	"sendsikkert/internal/keystore"
)

// TestEnrolmentTakenUpBehindTheDoor: an agent registered with the
// machine's door runs not enrolled; an enrolment appears (as
// `sendsikkert enroll` leaves it); the agent goes on enrolled in the same
// process, behind the same registration: /healthz through the door says
// enrolled with no problem left, and the door still knows one agent. The
// code and zero-touch paths through the agent's own API are proved
// against the real relay in test/e2e (TestEnrolWithoutRestart,
// TestZeroTouchEnrolment).
func TestEnrolmentTakenUpBehindTheDoor(t *testing.T) {
	keyring.MockInit()
	short := func() string {
		d, err := os.MkdirTemp("", "door")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	// The door, as the machine service runs it.
	port := freePort(t)
	runDir := filepath.Join(short(), "run")
	dctx, dcancel := context.WithCancel(context.Background())
	ready := make(chan *door.Door, 1)
	ddone := make(chan error, 1)
	go func() {
		ddone <- door.Run(dctx, door.Config{Port: port, StateDir: filepath.Join(short(), "state"), RunDir: runDir,
			Hosts: []string{"127.0.0.1"}, Log: quiet(), Ready: func(d *door.Door) { ready <- d }})
	}()
	var d *door.Door
	select {
	case d = <-ready:
	case err := <-ddone:
		t.Fatal(err)
	}
	defer func() { dcancel(); <-ddone }()
	t.Setenv("SENDSIKKERT_DOOR_DIR", runDir)
	caPEM, _ := os.ReadFile(d.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	health := func() map[string]any {
		t.Helper()
		resp, err := client.Get("https://localhost:" + strconv.Itoa(port) + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &h) != nil {
			t.Fatalf("healthz: %d %s", resp.StatusCode, b)
		}
		return h
	}

	// A relay that offers no zero-touch enrolment.
	relay := httptest.NewTLSServer(http.NotFoundHandler())
	defer relay.Close()
	data := short()
	agents := make(chan *Agent, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{DataDir: data, Port: port, RelayURL: relay.URL, Version: "test", Log: quiet(), Ready: func(a *Agent) { agents <- a }})
	}()
	defer func() { cancel(); <-done }()
	select {
	case a := <-agents:
		if a.NotEnrolled == "" {
			t.Fatal("started enrolled")
		}
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready")
	}
	if h := health(); h["enrolled"] != false {
		t.Fatalf("before: %v", h)
	}

	// What an enrolment leaves: the device key in the keyring, its
	// certificate, and relay.json last.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := keystore.NewKeyring(data).Set(clientKeyName, pk); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(data, relayDir), 0o700)
	os.WriteFile(filepath.Join(data, relayDir, "client.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	b, _ := json.Marshal(enrolment{URL: relay.URL, User: "anna@kommune.dk"})
	os.WriteFile(filepath.Join(data, relayDir, "relay.json"), b, 0o600)

	select {
	case a := <-agents:
		if a.NotEnrolled != "" {
			t.Fatalf("taken up not enrolled: %s", a.NotEnrolled)
		}
	case err := <-done:
		t.Fatalf("agent ended: %v", err)
	case <-time.After(3*enrolmentPoll + 5*time.Second):
		t.Fatal("the enrolment was not taken up")
	}
	h := health()
	if h["enrolled"] != true || h["demo"] != false {
		t.Fatalf("after: %v", h)
	}
	if ps, _ := h["problems"].([]any); len(ps) != 0 {
		t.Fatalf("problems after enrolment: %v", ps)
	}
	if n := len(d.Agents()); n != 1 {
		t.Fatalf("the door knows %d agents, want the one registration", n)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
