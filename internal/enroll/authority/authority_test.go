package authority

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/vault"
)

func csr(t *testing.T, key any) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "mallory@evil"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestAuthority(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		key, _ := vault.New(vault.NewRandomKey())
		a, err := Open(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		// A second instance on the same database signs with the same CA.
		b, err := Open(ctx, db, key)
		if err != nil || !b.ca.Equal(a.ca) {
			t.Fatalf("second instance: %v", err)
		}
		if _, _, err := a.NewCode(ctx, "not an address"); err == nil {
			t.Fatal("bad user accepted")
		}
		code, _, err := a.NewCode(ctx, "Anna@Kommune.dk")
		if err != nil {
			t.Fatal(err)
		}
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		if _, _, err := a.Enroll(ctx, code, csr(t, rk)); !errors.Is(err, ErrBadCSR) {
			t.Fatalf("RSA key: %v", err)
		}
		certPEM, user, err := b.Enroll(ctx, code, csr(t, k))
		if err != nil || user != "anna@kommune.dk" {
			t.Fatalf("enroll: %q %v", user, err)
		}
		if _, _, err := a.Enroll(ctx, code, csr(t, k)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("code reused: %v", err)
		}
		blk, _ := pem.Decode(certPEM)
		cert, _ := x509.ParseCertificate(blk.Bytes)
		if cert.Subject.CommonName != "anna@kommune.dk" {
			t.Fatalf("certificate names %q, not the code's user", cert.Subject.CommonName)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: a.ClientCAs(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatal(err)
		}
		if u, err := a.Verify(ctx, cert); err != nil || u != "anna@kommune.dk" {
			t.Fatalf("verify: %q %v", u, err)
		}
		// Two codes handed out before the revocation, one spent after it
		// was made, one expired: revoke invalidates the two unused valid ones.
		spare1, _, _ := a.NewCode(ctx, "anna@kommune.dk")
		spare2, _, _ := a.NewCode(ctx, "ANNA@kommune.dk")
		other, _, _ := a.NewCode(ctx, "bo@kommune.dk")
		a.CodeTTL = -time.Minute
		a.NewCode(ctx, "anna@kommune.dk")
		a.CodeTTL = CodeTTL
		if r, err := b.Revoke(ctx, "Anna@kommune.dk"); err != nil || r != (Revocation{Devices: 1, Codes: 2}) {
			t.Fatalf("revoke: %+v %v", r, err)
		}
		for _, c := range []string{spare1, spare2} {
			if _, _, err := a.Enroll(ctx, c, csr(t, k)); !errors.Is(err, ErrBadCode) {
				t.Fatalf("a code made before revoke still enrols: %v", err)
			}
		}
		if _, u, err := a.Enroll(ctx, other, csr(t, k)); err != nil || u != "bo@kommune.dk" {
			t.Fatalf("another user's code was invalidated: %v", err)
		}
		// The other instance notices within its short cache.
		a.Now = func() time.Time { return time.Now().Add(revocationCache) }
		if _, err := a.Verify(ctx, cert); !errors.Is(err, ErrRevoked) {
			t.Fatalf("revoked device: %v", err)
		}
		// An expired code is refused.
		old, _, _ := a.NewCode(ctx, "bo@kommune.dk")
		a.Now = func() time.Time { return time.Now().Add(CodeTTL + time.Minute) }
		if _, _, err := a.Enroll(ctx, old, csr(t, k)); !errors.Is(err, ErrBadCode) {
			t.Fatalf("expired code: %v", err)
		}
	})
}
