package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"sendsikkert/internal/keystore"
	"sendsikkert/internal/policy"
)

// connectProxy is a real HTTP CONNECT proxy that counts the tunnels it
// opened.
func connectProxy(t *testing.T) (string, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		n.Add(1)
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { io.Copy(up, buf); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// enrolled writes what an enrolment leaves (device key in the keyring,
// client.crt, relay.json) for relayURL.
func enrolled(t *testing.T, dir, relayURL string) (*enrolment, keystore.Store) {
	t.Helper()
	keyring.MockInit()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	store := keystore.NewKeyring(dir)
	if err := store.Set(clientKeyName, pk); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, relayDir), 0o700)
	os.WriteFile(filepath.Join(dir, relayDir, "client.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return &enrolment{URL: relayURL, User: "anna@kommune.dk"}, store
}

// The relay client goes through IT's policy proxy (a real CONNECT) and
// trusts the policy's RelayCA file; a RelayCA that is missing or holds no
// certificate leaves the agent not enrolled with the file named in Danish.
func TestRelayClientPolicyProxyAndCA(t *testing.T) {
	relay := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "relay") }))
	defer relay.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "relay-ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: relay.Certificate().Raw}), 0o644)
	proxyURL, tunnels := connectProxy(t)
	e, store := enrolled(t, dir, relay.URL)

	cfg := Config{DataDir: dir, RelayURL: relay.URL, Policy: policy.Policy{RelayCA: caFile, Proxy: proxyURL}}
	c, why, err := e.client(cfg, store, quiet())
	if err != nil || c == nil || why != "" {
		t.Fatalf("client: %v %q", err, why)
	}
	resp, err := c.HTTP.Get(relay.URL + "/v1/x")
	if err != nil {
		t.Fatalf("through the proxy, trusting the policy CA: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "relay" || tunnels.Load() != 1 {
		t.Fatalf("answer %q, tunnels %d", b, tunnels.Load())
	}

	// DIRECT: no tunnel.
	cfg.Policy.Proxy = "DIRECT"
	c, _, _ = e.client(cfg, store, quiet())
	if resp, err := c.HTTP.Get(relay.URL + "/v1/x"); err != nil || tunnels.Load() != 1 {
		t.Fatalf("DIRECT: %v, tunnels %d", err, tunnels.Load())
	} else {
		resp.Body.Close()
	}

	for _, bad := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.crt"), "findes ikke"},
		{filepath.Join(dir, "relay.yaml"), "indeholder intet certifikat"},
	} {
		os.WriteFile(filepath.Join(dir, "relay.yaml"), []byte("not: a certificate"), 0o644)
		cfg.Policy.RelayCA = bad.file
		c, why, err := e.client(cfg, store, quiet())
		if err != nil || c != nil || !strings.Contains(why, bad.file) || !strings.Contains(why, bad.want) || !strings.Contains(why, "kontakt IT") {
			t.Errorf("%s: client %v, why %q, err %v", bad.file, c != nil, why, err)
		}
	}
}
