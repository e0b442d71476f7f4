package authority

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http/httptest"
	"testing"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

var errUnauth = errors.New("unauthenticated")

// TestAuthenticateTellsUnknownFromUnavailable: an enrolled device is never
// called unknown because the database is down; an unknown or absent
// certificate is refused as the caller's own fault.
func TestAuthenticateTellsUnknownFromUnavailable(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), "relay.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.New(vault.NewRandomKey())
	a, err := Open(ctx, db, key)
	if err != nil {
		t.Fatal(err)
	}
	code, _, _ := a.NewCode(ctx, "anna@kommune.dk")
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	certPEM, _, err := a.Enroll(ctx, code, csr(t, k))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	cert, _ := x509.ParseCertificate(blk.Bytes)
	auth := a.Authenticate(errUnauth)
	req := func(c *x509.Certificate) (string, error) {
		r := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}
		}
		return auth(r)
	}
	if u, err := req(cert); err != nil || u != "anna@kommune.dk" {
		t.Fatalf("enrolled device: %q %v", u, err)
	}
	if _, err := req(nil); !errors.Is(err, errUnauth) {
		t.Fatalf("no certificate: %v, want unauthenticated", err)
	}
	stranger := *cert
	stranger.SerialNumber = new(big.Int).Lsh(cert.SerialNumber, 1)
	if _, err := req(&stranger); !errors.Is(err, errUnauth) {
		t.Fatalf("unknown device: %v, want unauthenticated", err)
	}
	// The database goes away; the cached answer expires.
	db.Close()
	a.mu.Lock()
	a.revoked = map[string]cacheEntry{}
	a.mu.Unlock()
	if _, err := req(cert); err == nil || errors.Is(err, errUnauth) {
		t.Fatalf("database down: %v, want an error that is not 'unauthenticated'", err)
	}
}
