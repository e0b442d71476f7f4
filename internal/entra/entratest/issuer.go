// Package entratest runs an OpenID Connect issuer shaped like Microsoft
// Entra ID on loopback HTTPS, for tests of the relay's token checks and of
// the hosted add-in pages: per-tenant discovery documents, one shared JWKS,
// key rotation, and an outage switch.
package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TB is what the issuer needs of a test: TB has it; a test
// server program (test/hosted/server) brings its own.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Key is a signing key with its kid.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// NewKey makes a 2048-bit RSA key with kid id.
func NewKey(t TB, id string) *Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{ID: id, Private: k}
}

// Issuer is the test issuer. Its zero value is not usable; call New.
type Issuer struct {
	Server *httptest.Server

	mu        sync.Mutex
	published []*Key // in the JWKS
	current   *Key   // signs Token
	down      bool
	serial    int

	// JWKSFetches counts GETs of the JWKS; DiscoveryFetches of any
	// discovery document.
	JWKSFetches      atomic.Int64
	DiscoveryFetches atomic.Int64
}

// New starts an issuer on 127.0.0.1 with one published key; it stops
// when the test ends.
func New(t TB) *Issuer {
	t.Helper()
	i := &Issuer{}
	k := NewKey(t, "key-1")
	i.published, i.current, i.serial = []*Key{k}, k, 1
	i.Server = httptest.NewTLSServer(http.HandlerFunc(i.serve))
	t.Cleanup(i.Server.Close)
	return i
}

// RootCAs trusts the issuer's certificate.
func (i *Issuer) RootCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(i.Server.Certificate())
	return p
}

// OpenIDConfiguration is the hostedAddin.openidConfiguration value.
func (i *Issuer) OpenIDConfiguration() string {
	return i.Server.URL + "/{tenant}/v2.0/.well-known/openid-configuration"
}

// IssuerFor is tid's iss, as Entra's v2.0 endpoint writes it.
func (i *Issuer) IssuerFor(tid string) string { return i.Server.URL + "/" + tid + "/v2.0" }

// JWKSURI is where the keys are published (one set for every tenant, as
// at Entra).
func (i *Issuer) JWKSURI() string { return i.Server.URL + "/common/discovery/v2.0/keys" }

// SetDown makes every request fail with 503 (true) or work again (false).
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// Rotate makes a new key, publishes it beside the old ones and signs with
// it from now on; it returns the new key.
func (i *Issuer) Rotate(t TB) *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.serial++
	k := NewKey(t, fmt.Sprintf("key-%d", i.serial))
	i.published = append(i.published, k)
	i.current = k
	return k
}

// Withdraw removes a key from the JWKS.
func (i *Issuer) Withdraw(k *Key) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for n, p := range i.published {
		if p == k {
			i.published = append(i.published[:n], i.published[n+1:]...)
			return
		}
	}
}

// Current is the key Token signs with.
func (i *Issuer) Current() *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current
}

// Claims are a valid access token's claims for a user of tid, for the
// add-in clientID with scope; change or delete entries to break them.
func (i *Issuer) Claims(tid, clientID, scope string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":                i.IssuerFor(tid),
		"aud":                clientID,
		"tid":                tid,
		"oid":                "00000000-0000-0000-0000-0000000000a1",
		"sub":                "anna-sub",
		"scp":                scope + " User.Read",
		"preferred_username": "anna@kommune.dk",
		"name":               "Anna Andersen",
		"ver":                "2.0",
		"iat":                now.Unix(),
		"nbf":                now.Add(-time.Minute).Unix(),
		"exp":                now.Add(time.Hour).Unix(),
	}
}

// Token signs claims with the current key.
func (i *Issuer) Token(t TB, claims map[string]any) string {
	t.Helper()
	return Sign(t, i.Current(), claims)
}

// Sign signs claims RS256 with k (kid k.ID).
func Sign(t TB, k *Key, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Private},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.ID))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	down := i.down
	published := append([]*Key(nil), i.published...)
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/common/discovery/v2.0/keys":
		i.JWKSFetches.Add(1)
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var set jose.JSONWebKeySet
		for _, k := range published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Use: "sig", Algorithm: string(jose.RS256)})
		}
		_ = json.NewEncoder(w).Encode(set)
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		i.DiscoveryFetches.Add(1)
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		tid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/v2.0/.well-known/openid-configuration")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                i.IssuerFor(tid),
			"jwks_uri":                              i.JWKSURI(),
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	default:
		http.NotFound(w, r)
	}
}
