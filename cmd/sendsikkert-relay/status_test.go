package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/logmask"
	"sendsikkert/internal/partner"
	"sendsikkert/internal/relay"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, cn string) testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{c, key}
}

func (ca testCA) issue(t *testing.T, subject pkix.Name, server bool) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestBeskedfordelerOnlyFromListedSubject: two client certificates from
// the same test CA; only the one whose whole subject DN is configured may
// push a status, the other gets 403 and is logged.
func TestBeskedfordelerOnlyFromListedSubject(t *testing.T) {
	dir := t.TempDir()
	spCA := newTestCA(t, "Test Serviceplatformen CA")
	caFile := filepath.Join(dir, "sp-ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: spCA.cert.Raw}), 0o644)
	sp := pkix.Name{CommonName: "Serviceplatformen Beskedfordeler", Organization: []string{"KOMBIT A/S"}, Country: []string{"DK"}, SerialNumber: "CVR:19435075-FID:12345"}
	other := pkix.Name{CommonName: "Anden myndighed", Organization: []string{"Nabokommune"}, Country: []string{"DK"}}
	spCert, otherCert := spCA.issue(t, sp, false), spCA.issue(t, other, false)

	cfgFile := filepath.Join(dir, "relay.yaml")
	os.WriteFile(cfgFile, []byte("tls: {cert: a, key: b}\nbeskedfordeler:\n  listen: 127.0.0.1:0\n  clientCA: sp-ca.crt\n  allowedSubjects: [\""+sp.String()+"\"]\n"), 0o600)
	cfg, err := loadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}

	serverCA := newTestCA(t, "Test relay CA")
	var logs syncBuf
	log := slog.New(logmask.New(slog.NewJSONHandler(&logs, nil)))
	pushes := 0
	var pushTo func(tls.Certificate, string) int
	book := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pushes++; io.WriteString(w, "ok") })
	// Wired as serve wires it: the route table's partner check is the
	// shared gate, and the listener serves the partner routes behind it.
	gate, err := partner.Load("beskedfordeler", cfg.Beskedfordeler, log)
	if err != nil {
		t.Fatal(err)
	}
	rs := &relay.Server{Partner: gate.Admits, StatusMessages: book}
	srv, err := statusServer(cfg.Beskedfordeler, serverCA.issue(t, pkix.Name{CommonName: "relay"}, true), rs.HandlerFor(relay.AuthPartner), log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	push := func(cert tls.Certificate) int { return pushTo(cert, "/beskedfordeler/PostStatusBeskedModtag") }
	pushTo = func(cert tls.Certificate, path string) int {
		roots := x509.NewCertPool()
		roots.AddCert(serverCA.cert)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
		resp, err := c.Post("https://"+ln.Addr().String()+path, "application/xml", strings.NewReader("<status/>"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := push(spCert); code != 200 || pushes != 1 {
		t.Fatalf("listed Serviceplatformen certificate: %d, pushes %d", code, pushes)
	}
	if code := push(otherCert); code != 403 || pushes != 1 {
		t.Fatalf("another certificate from the same CA: %d, pushes %d; want 403 and no push", code, pushes)
	}
	// The same route on the public listener's table: the gate verifies
	// the chain itself, so neither a device certificate (another CA) with
	// the listed subject nor an unlisted one gets through.
	foreign := newTestCA(t, "Device CA").issue(t, sp, false)
	for _, cert := range []tls.Certificate{otherCert, foreign} {
		leaf, _ := x509.ParseCertificate(cert.Certificate[0])
		req := httptest.NewRequest("POST", "/beskedfordeler/PostStatusBeskedModtag", strings.NewReader("<status/>"))
		req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}}
		w := httptest.NewRecorder()
		rs.Handler().ServeHTTP(w, req)
		if w.Code != 403 || pushes != 1 {
			t.Fatalf("public listener, %s: %d, pushes %d", leaf.Subject, w.Code, pushes)
		}
	}
	if l := logs.String(); !strings.Contains(l, "partner call refused") || !strings.Contains(l, "Nabokommune") {
		t.Fatalf("refusal not logged: %s", l)
	}
	// A refused call's path enters the log through the masking handler.
	if code := pushTo(otherCert, "/beskedfordeler/221177-1212"); code != 403 {
		t.Fatalf("refused path: %d", code)
	}
	if l := logs.String(); strings.Contains(l, "221177-1212") || !strings.Contains(l, "/beskedfordeler/221177-xxxx") {
		t.Fatalf("a CPR number in a refused call's path: %s", l)
	}
}

func TestBeskedfordelerNeedsAllowedSubjects(t *testing.T) {
	p := filepath.Join(t.TempDir(), "relay.yaml")
	os.WriteFile(p, []byte("tls: {cert: a, key: b}\nbeskedfordeler: {listen: ':8444', clientCA: ca.crt}\n"), 0o600)
	if _, err := loadConfig(p); err == nil || !strings.Contains(err.Error(), "allowedSubjects") {
		t.Fatalf("beskedfordeler without allowedSubjects: %v", err)
	}
}
