// Package entra verifies the Entra ID access tokens the hosted add-in
// pages send (Nested App Authentication): who the clerk is, for the relay's
// page API and for zero-touch enrolment.
//
// The signature, the algorithm and the issuer are checked by go-oidc and
// go-jose; this package decides which issuer and which key apply, and does
// so without fetching anything for a tenant that is not configured.
package entra

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// Skew is how far the relay's clock may be from Entra's: a token is
// accepted up to Skew after exp and from Skew before nbf.
const Skew = 5 * time.Minute

// RefetchAfter is how long after a JWKS fetch an unknown kid may trigger
// another: a stranger's made-up kids must not turn into a request storm.
const RefetchAfter = time.Minute

// KeysMaxAge is how long fetched keys are used before they are fetched
// anew on the next verification (so a key Entra withdrew stops working);
// if that fetch fails, the known keys keep working.
const KeysMaxAge = 24 * time.Hour

// RetryAfter is what a 503 tells the page to wait when the issuer's keys
// could not be fetched.
const RetryAfter = 30 * time.Second

// DefaultOpenIDConfiguration is Entra's v2.0 discovery document;
// {tenant} is the token's tid.
const DefaultOpenIDConfiguration = "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"

// Config is what the verifier needs from hostedAddin.
type Config struct {
	// BaseURL is the origin the pages are loaded from; its host is part of
	// the accepted audience api://HOST/CLIENTID.
	BaseURL string
	// ClientID is the add-in's Entra application (client) id.
	ClientID string
	// Tenants are the accepted tenant ids (tid).
	Tenants []string
	// Scope must be one of the token's scp values.
	Scope string
	// OpenIDConfiguration is the discovery URL, {tenant} replaced by tid.
	OpenIDConfiguration string
	// RootCAs, when set, replaces the system's roots for the issuer
	// (tests); production leaves it nil (Go honours SSL_CERT_FILE).
	RootCAs *x509.CertPool
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Principal is the clerk a token names.
type Principal struct {
	// OID and TID together identify the user; OID alone is unique only
	// within its tenant.
	OID string
	TID string
	// Username is preferred_username (usually the UPN, anna@kommune.dk):
	// shown, used for receipts and in the audit log, never as identity.
	Username string
	// Name is the display name, when the token carries one.
	Name string
}

// ID is the stable identity of the user: "tid/oid".
func (p Principal) ID() string { return p.TID + "/" + p.OID }

// Kind says how a refusal is answered.
type Kind int

const (
	// Invalid: 401 with WWW-Authenticate: Bearer error="invalid_token".
	Invalid Kind = iota
	// TenantNotEnabled: 401 as Invalid, but the person is told the
	// organisation has not enabled Send sikkert for them.
	TenantNotEnabled
	// Unavailable: the issuer could not be reached; 503 with Retry-After.
	Unavailable
)

// Error is a refused token.
type Error struct {
	Kind Kind
	// Reason is English, for the log; it never holds the token.
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "entra: " + e.Reason + ": " + e.Err.Error()
	}
	return "entra: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status the refusal is answered with.
func (e *Error) Status() int {
	if e.Kind == Unavailable {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// Code is the machine-readable error code in the JSON answer.
func (e *Error) Code() string {
	switch e.Kind {
	case TenantNotEnabled:
		return "tenant_not_enabled"
	case Unavailable:
		return "issuer_unavailable"
	}
	return "invalid_token"
}

// Text is the Danish sentence for the person.
func (e *Error) Text() string {
	switch e.Kind {
	case TenantNotEnabled:
		return "Din organisation har ikke slået Send sikkert til for dig. Kontakt din IT-afdeling."
	case Unavailable:
		return "Send sikkert kan ikke kontrollere dit login lige nu, fordi Microsoft Entra ID ikke svarer. Prøv igen om lidt."
	}
	return "Dit login blev ikke godkendt. Luk ruden, og prøv igen."
}

func invalid(reason string, err error) *Error { return &Error{Kind: Invalid, Reason: reason, Err: err} }

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg       Config
	audiences []string
	client    *http.Client
	now       func() time.Time

	mu              sync.Mutex
	tenantProviders map[string]*tenantProvider // by tid
	keySets         map[string]*keySet         // by jwks_uri: Entra's tenants share one
}

// provider is one tenant's discovery document.
type provider struct {
	issuer  string
	jwksURI string
}

// keySet is one JWKS, fetched at most once per RefetchAfter.
type keySet struct {
	fetchMu   sync.Mutex                // one fetch at a time
	mu        sync.Mutex                // guards the rest
	keys      map[string]*rsa.PublicKey // by kid
	fetched   time.Time                 // last successful fetch
	attempted time.Time                 // last fetch, successful or not
	lastErr   error                     // of the last fetch
}

// New checks cfg and returns a verifier. It fetches nothing yet.
func New(cfg Config) (*Verifier, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("entra: baseURL must be https://host, not %q", cfg.BaseURL)
	}
	if cfg.ClientID == "" || cfg.Scope == "" || len(cfg.Tenants) == 0 {
		return nil, errors.New("entra: clientId, scope and at least one tenant are required")
	}
	if cfg.OpenIDConfiguration == "" {
		cfg.OpenIDConfiguration = DefaultOpenIDConfiguration
	}
	if !strings.HasPrefix(cfg.OpenIDConfiguration, "https://") || !strings.Contains(cfg.OpenIDConfiguration, "{tenant}") {
		return nil, fmt.Errorf("entra: openidConfiguration must be an https:// URL with {tenant}, not %q", cfg.OpenIDConfiguration)
	}
	for _, t := range cfg.Tenants {
		if !validTenant(t) {
			return nil, fmt.Errorf("entra: tenant %q is not a tenant id", t)
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if cfg.RootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &Verifier{
		cfg:             cfg,
		audiences:       []string{cfg.ClientID, "api://" + u.Host + "/" + cfg.ClientID},
		client:          &http.Client{Transport: tr, Timeout: 10 * time.Second},
		now:             now,
		tenantProviders: map[string]*tenantProvider{},
		keySets:         map[string]*keySet{},
	}, nil
}

// Audiences are the accepted aud values.
func (v *Verifier) Audiences() []string { return slices.Clone(v.audiences) }

// validTenant accepts a GUID, the shape of every tid; anything else could
// not come from Entra and must never reach a URL.
func validTenant(t string) bool {
	if len(t) != 36 {
		return false
	}
	for i, c := range t {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// claims are the access token claims this package reads beyond what
// go-oidc checks.
type claims struct {
	TID      string          `json:"tid"`
	OID      string          `json:"oid"`
	Scp      string          `json:"scp"`
	Username string          `json:"preferred_username"`
	Name     string          `json:"name"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *json.Number    `json:"exp"`
	Nbf      *json.Number    `json:"nbf"`
}

var algs = []jose.SignatureAlgorithm{jose.RS256}

// Verify checks raw (the bearer token) and returns who it names. A refusal
// is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil {
		return Principal{}, invalid("not an RS256 JWS", err)
	}
	if len(jws.Signatures) != 1 {
		return Principal{}, invalid("not exactly one signature", nil)
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		return Principal{}, invalid("no kid", nil)
	}
	// Only tid is read before the signature is checked, and only to refuse
	// strangers before anything is fetched on their behalf.
	var unverified claims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return Principal{}, invalid("claims are not JSON", err)
	}
	if !slices.Contains(v.cfg.Tenants, unverified.TID) {
		return Principal{}, &Error{Kind: TenantNotEnabled, Reason: fmt.Sprintf("tenant %q is not in hostedAddin.tenants", clip(unverified.TID))}
	}
	p, err := v.provider(ctx, unverified.TID)
	if err != nil {
		return Principal{}, err
	}
	key, err := v.key(ctx, p.jwksURI, kid)
	if err != nil {
		return Principal{}, err
	}
	verifier := oidc.NewVerifier(p.issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key}}, &oidc.Config{
		SupportedSigningAlgs: []string{oidc.RS256},
		// aud has two accepted values and exp needs the skew; both are
		// checked below on the verified claims.
		SkipClientIDCheck: true,
		SkipExpiryCheck:   true,
	})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, invalid("signature or issuer", err)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Principal{}, invalid("claims", err)
	}
	if c.TID != unverified.TID {
		return Principal{}, invalid("tid changed", nil)
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(v.audiences, a) }) {
		return Principal{}, invalid(fmt.Sprintf("audience %q", tok.Audience), nil)
	}
	now := v.now()
	if c.Exp == nil || tok.Expiry.IsZero() {
		return Principal{}, invalid("no exp", nil)
	}
	if now.After(tok.Expiry.Add(Skew)) {
		return Principal{}, invalid("expired", nil)
	}
	if c.Nbf != nil {
		nbf, err := c.Nbf.Float64()
		if err != nil || now.Add(Skew).Before(time.Unix(int64(nbf), 0)) {
			return Principal{}, invalid("not yet valid", err)
		}
	}
	if !slices.Contains(strings.Fields(c.Scp), v.cfg.Scope) {
		return Principal{}, invalid(fmt.Sprintf("scp %q lacks %q", clip(c.Scp), v.cfg.Scope), nil)
	}
	if c.OID == "" {
		return Principal{}, invalid("no oid", nil)
	}
	return Principal{OID: c.OID, TID: c.TID, Username: c.Username, Name: c.Name}, nil
}

// clip keeps a stranger's value short in a log line.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
