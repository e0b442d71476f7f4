package partner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, cn string) testCA {
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

func (ca testCA) client(t *testing.T, subject pkix.Name) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestGate(t *testing.T) {
	ca := newCA(t, "Test partner CA")
	other := newCA(t, "Other CA")
	sp := pkix.Name{CommonName: "Serviceplatformen", Organization: []string{"KOMBIT A/S"}, SerialNumber: "CVR:19435075-FID:1"}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	g, err := New("beskedfordeler", pool, []string{sp.String()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	srv.TLS = g.TLSConfig(nil)
	srv.StartTLS()
	defer srv.Close()

	call := func(cert *tls.Certificate) (int, error) {
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		cfg := &tls.Config{RootCAs: roots}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := c.Get(srv.URL)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	listed := ca.client(t, sp)
	// Same CA, a subject that contains the listed one's parts: not listed.
	sneaky := ca.client(t, pkix.Name{CommonName: "Serviceplatformen", Organization: []string{"KOMBIT A/S", "Evil"}, SerialNumber: "CVR:19435075-FID:1"})
	foreign := other.client(t, sp)
	if code, err := call(&listed); err != nil || code != 200 {
		t.Errorf("listed subject: %d %v", code, err)
	}
	if code, err := call(&sneaky); err != nil || code != 403 {
		t.Errorf("unlisted subject from the same CA: %d %v, want 403", code, err)
	}
	if _, err := call(&foreign); err == nil {
		t.Error("a certificate from another CA was let through the handshake")
	}
	if _, err := call(nil); err == nil {
		t.Error("no certificate was let through the handshake")
	}
}

func TestCheckWithoutTLS(t *testing.T) {
	pool := x509.NewCertPool()
	g, _ := New("x", pool, []string{"CN=x"}, nil)
	if _, err := g.Check(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("plain request: %v", err)
	}
}

func TestNewRefusesEmptyList(t *testing.T) {
	if _, err := New("x", x509.NewCertPool(), nil, nil); err == nil {
		t.Error("empty allowedSubjects accepted")
	}
	if _, err := New("x", x509.NewCertPool(), []string{""}, nil); err == nil {
		t.Error("empty subject accepted")
	}
	if _, err := New("x", nil, []string{"CN=x"}, nil); err == nil {
		t.Error("nil pool accepted")
	}
}

// TestCheckVerifiesItsOwnCA: the gate verifies the chain against its own
// CA whatever TLS verified, so on a listener whose TLS trusts another CA
// (the public one, with device certificates) a listed subject from that
// CA, a server-only certificate and no certificate are all refused.
func TestCheckVerifiesItsOwnCA(t *testing.T) {
	ca, other := newCA(t, "Partner CA"), newCA(t, "Device CA")
	sp := pkix.Name{CommonName: "Serviceplatformen", Organization: []string{"KOMBIT A/S"}}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	g, _ := New("beskedfordeler", pool, []string{sp.String()}, nil)
	req := func(c tls.Certificate) *http.Request {
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		r := httptest.NewRequest("POST", "/", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}}
		return r
	}
	if !g.Admits(req(ca.client(t, sp))) {
		t.Error("the partner's certificate refused")
	}
	if _, err := g.Check(req(other.client(t, sp))); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("listed subject from another CA: %v", err)
	}
	server := ca.client(t, sp)
	leaf, _ := x509.ParseCertificate(server.Certificate[0])
	tmpl := *leaf
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, &key.PublicKey, ca.key)
	if g.Admits(req(tls.Certificate{Certificate: [][]byte{der}})) {
		t.Error("a certificate not for client authentication admitted")
	}
	if g.Admits(httptest.NewRequest("POST", "/", nil)) {
		t.Error("no certificate admitted")
	}
}
