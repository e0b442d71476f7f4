package authority

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/enroll"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/entra/entratest"
	"sendsikkert/internal/vault"
)

// TestEnrollByToken: zero-touch enrolment end to end — the agent's client
// (enroll.JoinWith) sends an Entra token instead of a code, the relay's
// handler checks it and issues a certificate for the token's user; a bad
// token is refused as the page API refuses it, and a relay without
// hostedAddin takes codes only.
func TestEnrollByToken(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		key, _ := vault.New(vault.NewRandomKey())
		a, err := Open(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewTLSServer(a.Handler(slog.New(slog.DiscardHandler)))
		defer srv.Close()
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())

		iss := entratest.New(t)
		const tenant, client = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "11111111-2222-3333-4444-555555555555"
		tok := iss.Token(t, iss.Claims(tenant, client, "access_as_user"))

		_, err = enroll.JoinWith(ctx, srv.URL, enroll.Request{AccessToken: tok}, roots)
		var refused *enroll.RefusedError
		if !errors.As(err, &refused) || refused.Status != 400 {
			t.Fatalf("codes-only relay: %v", err)
		}

		v, err := entra.New(entra.Config{BaseURL: "https://sendsikkert.kommune.dk", ClientID: client, Tenants: []string{tenant},
			Scope: "access_as_user", OpenIDConfiguration: iss.OpenIDConfiguration(), RootCAs: iss.RootCAs()})
		if err != nil {
			t.Fatal(err)
		}
		a.Token = func(ctx context.Context, tok string) (string, error) {
			p, err := v.Verify(ctx, tok)
			return p.Username, err
		}
		dev, err := enroll.JoinWith(ctx, srv.URL, enroll.Request{AccessToken: tok}, roots)
		if err != nil || dev.User != "anna@kommune.dk" {
			t.Fatalf("token enrolment: %+v %v", dev, err)
		}
		blk, _ := pem.Decode(dev.CertPEM)
		cert, _ := x509.ParseCertificate(blk.Bytes)
		if user, err := a.Verify(ctx, cert); err != nil || user != "anna@kommune.dk" {
			t.Fatalf("issued certificate: %q %v", user, err)
		}

		bad := iss.Claims(tenant, client, "access_as_user")
		bad["aud"] = "someone-else"
		for _, tok := range []string{iss.Token(t, bad), "x.y.z"} {
			_, err = enroll.JoinWith(ctx, srv.URL, enroll.Request{AccessToken: tok}, roots)
			if !errors.As(err, &refused) || refused.Status != 401 || refused.Code != "invalid_token" {
				t.Fatalf("bad token: %v", err)
			}
		}
		if _, err := enroll.JoinWith(ctx, srv.URL, enroll.Request{AccessToken: tok, Code: "ABCD"}, roots); err == nil {
			t.Fatal("code and token together accepted")
		}
	})
}
