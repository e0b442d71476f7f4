package entra_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sendsikkert/internal/entra"
	"sendsikkert/internal/entra/entratest"
)

const (
	tenant   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	stranger = "99999999-8888-7777-6666-555555555555"
	clientID = "11111111-2222-3333-4444-555555555555"
	scope    = "access_as_user"
	baseURL  = "https://sendsikkert.kommune.dk"
)

// clock is a settable clock for the verifier.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }
func (c *clock) claims(m map[string]any) map[string]any {
	n := c.now()
	m["iat"], m["nbf"], m["exp"] = n.Unix(), n.Add(-time.Minute).Unix(), n.Add(time.Hour).Unix()
	return m
}

func newVerifier(t *testing.T, iss *entratest.Issuer) (*entra.Verifier, *clock) {
	t.Helper()
	c := &clock{}
	v, err := entra.New(entra.Config{
		BaseURL: baseURL, ClientID: clientID, Tenants: []string{tenant}, Scope: scope,
		OpenIDConfiguration: iss.OpenIDConfiguration(), RootCAs: iss.RootCAs(), Now: c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, c
}

func kindOf(err error) (entra.Kind, bool) {
	var e *entra.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Kind, true
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// handmade builds a JWS with any header, signed by sign over the signing
// input: the attacks a JOSE library must refuse.
func handmade(t *testing.T, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	return in + "." + b64(sign([]byte(in)))
}

func TestVerify(t *testing.T) {
	iss := entratest.New(t)
	other := entratest.New(t) // another issuer, whose keys must not count
	pubDER, _ := x509.MarshalPKIXPublicKey(&iss.Current().Private.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	good := func() map[string]any { return iss.Claims(tenant, clientID, scope) }
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	now := time.Now()
	for _, tc := range []struct {
		name  string
		token func(t *testing.T) string
		want  entra.Kind // when !ok
		ok    bool
	}{
		{"valid", func(t *testing.T) string { return iss.Token(t, good()) }, 0, true},
		{"aud api://host/clientId", func(t *testing.T) string {
			return iss.Token(t, with("aud", "api://sendsikkert.kommune.dk/"+clientID))
		}, 0, true},
		{"aud list with clientId", func(t *testing.T) string { return iss.Token(t, with("aud", []string{"x", clientID})) }, 0, true},
		{"expired within skew", func(t *testing.T) string { return iss.Token(t, with("exp", now.Add(-4*time.Minute).Unix())) }, 0, true},
		{"nbf within skew", func(t *testing.T) string { return iss.Token(t, with("nbf", now.Add(4*time.Minute).Unix())) }, 0, true},
		{"no nbf", func(t *testing.T) string { return iss.Token(t, with("nbf", nil)) }, 0, true},

		{"garbage", func(*testing.T) string { return "not.a.token" }, entra.Invalid, false},
		{"empty", func(*testing.T) string { return "" }, entra.Invalid, false},
		{"alg none", func(t *testing.T) string {
			return handmade(t, map[string]any{"alg": "none", "kid": "key-1"}, good(), func([]byte) []byte { return nil })
		}, entra.Invalid, false},
		{"HS256 with the public key (DER)", func(t *testing.T) string {
			return handmade(t, map[string]any{"alg": "HS256", "kid": "key-1"}, good(), func(in []byte) []byte {
				m := hmac.New(sha256.New, pubDER)
				m.Write(in)
				return m.Sum(nil)
			})
		}, entra.Invalid, false},
		{"HS256 with the public key (PEM)", func(t *testing.T) string {
			return handmade(t, map[string]any{"alg": "HS256", "kid": "key-1"}, good(), func(in []byte) []byte {
				m := hmac.New(sha256.New, pubPEM)
				m.Write(in)
				return m.Sum(nil)
			})
		}, entra.Invalid, false},
		{"another issuer's key, same kid", func(t *testing.T) string { return other.Token(t, good()) }, entra.Invalid, false},
		{"unknown kid", func(t *testing.T) string {
			return entratest.Sign(t, entratest.NewKey(t, "never-published"), good())
		}, entra.Invalid, false},
		{"tampered payload", func(t *testing.T) string {
			tok := iss.Token(t, good())
			parts := strings.Split(tok, ".")
			c, _ := json.Marshal(with("oid", "00000000-0000-0000-0000-0000000000b2"))
			return parts[0] + "." + b64(c) + "." + parts[2]
		}, entra.Invalid, false},
		{"iss of another tenant", func(t *testing.T) string { return iss.Token(t, with("iss", iss.IssuerFor(stranger))) }, entra.Invalid, false},
		{"iss v1 sts.windows.net", func(t *testing.T) string {
			return iss.Token(t, with("iss", "https://sts.windows.net/"+tenant+"/"))
		}, entra.Invalid, false},
		{"aud another app", func(t *testing.T) string { return iss.Token(t, with("aud", "22222222-2222-3333-4444-555555555555")) }, entra.Invalid, false},
		{"aud another host", func(t *testing.T) string { return iss.Token(t, with("aud", "api://evil.example/"+clientID)) }, entra.Invalid, false},
		{"aud Graph", func(t *testing.T) string { return iss.Token(t, with("aud", "00000003-0000-0000-c000-000000000000")) }, entra.Invalid, false},
		{"no aud", func(t *testing.T) string { return iss.Token(t, with("aud", nil)) }, entra.Invalid, false},
		{"expired beyond skew", func(t *testing.T) string { return iss.Token(t, with("exp", now.Add(-6*time.Minute).Unix())) }, entra.Invalid, false},
		{"no exp", func(t *testing.T) string { return iss.Token(t, with("exp", nil)) }, entra.Invalid, false},
		{"nbf beyond skew", func(t *testing.T) string { return iss.Token(t, with("nbf", now.Add(6*time.Minute).Unix())) }, entra.Invalid, false},
		{"no scp", func(t *testing.T) string { return iss.Token(t, with("scp", nil)) }, entra.Invalid, false},
		{"scp without the scope", func(t *testing.T) string { return iss.Token(t, with("scp", "User.Read Mail.Send")) }, entra.Invalid, false},
		{"scp with a longer scope", func(t *testing.T) string { return iss.Token(t, with("scp", "access_as_user_admin")) }, entra.Invalid, false},
		{"app-only token (roles, no scp)", func(t *testing.T) string {
			c := with("scp", nil)
			c["roles"] = []string{scope}
			return iss.Token(t, c)
		}, entra.Invalid, false},
		{"no oid", func(t *testing.T) string { return iss.Token(t, with("oid", nil)) }, entra.Invalid, false},
		{"tenant not listed", func(t *testing.T) string {
			c := with("tid", stranger)
			c["iss"] = iss.IssuerFor(stranger)
			return iss.Token(t, c)
		}, entra.TenantNotEnabled, false},
		{"tid a path", func(t *testing.T) string { return iss.Token(t, with("tid", "../../common")) }, entra.TenantNotEnabled, false},
		{"no tid", func(t *testing.T) string { return iss.Token(t, with("tid", nil)) }, entra.TenantNotEnabled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := newVerifier(t, iss)
			p, err := v.Verify(context.Background(), tc.token(t))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				want := entra.Principal{OID: "00000000-0000-0000-0000-0000000000a1", TID: tenant, Username: "anna@kommune.dk", Name: "Anna Andersen"}
				if p != want {
					t.Fatalf("principal %+v, want %+v", p, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if k, ok := kindOf(err); !ok || k != tc.want {
				t.Fatalf("error %v: kind %v, want %v", err, k, tc.want)
			}
		})
	}
}

// TestStrangerFetchesNothing: a token for an unlisted tenant is refused
// before any discovery or JWKS request, so strangers cannot make the relay
// fetch anything.
func TestStrangerFetchesNothing(t *testing.T) {
	iss := entratest.New(t)
	v, _ := newVerifier(t, iss)
	for _, tid := range []string{stranger, "common", "organizations", "../x", ""} {
		c := iss.Claims(tid, clientID, scope)
		if _, err := v.Verify(context.Background(), iss.Token(t, c)); err == nil {
			t.Fatalf("tid %q accepted", tid)
		}
	}
	if d, j := iss.DiscoveryFetches.Load(), iss.JWKSFetches.Load(); d != 0 || j != 0 {
		t.Fatalf("strangers caused %d discovery and %d JWKS fetches", d, j)
	}
}

func TestKeyRotation(t *testing.T) {
	iss := entratest.New(t)
	v, clk := newVerifier(t, iss)
	ctx := context.Background()
	if _, err := v.Verify(ctx, iss.Token(t, clk.claims(iss.Claims(tenant, clientID, scope)))); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1", n)
	}
	old := iss.Current()
	iss.Rotate(t)
	rotated := iss.Token(t, clk.claims(iss.Claims(tenant, clientID, scope)))
	// Within a minute of the last fetch an unknown kid is not fetched for.
	clk.advance(30 * time.Second)
	if _, err := v.Verify(ctx, rotated); err == nil {
		t.Fatal("new kid accepted without a fetch")
	} else if k, _ := kindOf(err); k != entra.Invalid {
		t.Fatalf("kind %v, want Invalid", k)
	}
	if n := iss.JWKSFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches within a minute, want 1", n)
	}
	clk.advance(31 * time.Second)
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("rotated key after a minute: %v", err)
	}
	if n := iss.JWKSFetches.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2", n)
	}
	// The old key is still published, so its tokens still work.
	if _, err := v.Verify(ctx, entratest.Sign(t, old, clk.claims(iss.Claims(tenant, clientID, scope)))); err != nil {
		t.Fatalf("old key: %v", err)
	}
	// A withdrawn key stops working when the keys are next fetched.
	iss.Withdraw(old)
	clk.advance(entra.KeysMaxAge + time.Minute)
	if _, err := v.Verify(ctx, entratest.Sign(t, old, clk.claims(iss.Claims(tenant, clientID, scope)))); err == nil {
		t.Fatal("withdrawn key still accepted after KeysMaxAge")
	}
	if _, err := v.Verify(ctx, iss.Token(t, clk.claims(iss.Claims(tenant, clientID, scope)))); err != nil {
		t.Fatalf("current key: %v", err)
	}
}

func TestIssuerDown(t *testing.T) {
	iss := entratest.New(t)
	ctx := context.Background()

	t.Run("down from the start", func(t *testing.T) {
		v, clk := newVerifier(t, iss)
		iss.SetDown(true)
		defer iss.SetDown(false)
		_, err := v.Verify(ctx, iss.Token(t, clk.claims(iss.Claims(tenant, clientID, scope))))
		if k, ok := kindOf(err); !ok || k != entra.Unavailable {
			t.Fatalf("err %v, want Unavailable", err)
		}
	})

	t.Run("known keys keep working, unknown kid is 503", func(t *testing.T) {
		v, clk := newVerifier(t, iss)
		claims := func() map[string]any { return clk.claims(iss.Claims(tenant, clientID, scope)) }
		if _, err := v.Verify(ctx, iss.Token(t, claims())); err != nil {
			t.Fatal(err)
		}
		iss.SetDown(true)
		defer iss.SetDown(false)
		clk.advance(2 * time.Minute)
		if _, err := v.Verify(ctx, iss.Token(t, claims())); err != nil {
			t.Fatalf("known key with the issuer down: %v", err)
		}
		unknown := entratest.Sign(t, entratest.NewKey(t, "new"), claims())
		fetches := iss.JWKSFetches.Load()
		for range 2 { // the second within the minute: no fetch, still 503
			_, err := v.Verify(ctx, unknown)
			if k, ok := kindOf(err); !ok || k != entra.Unavailable {
				t.Fatalf("unknown kid with the JWKS down: %v, want Unavailable", err)
			}
		}
		if n := iss.JWKSFetches.Load() - fetches; n != 1 {
			t.Fatalf("%d fetches for two unknown kids within a minute, want 1", n)
		}
		// Keys older than KeysMaxAge still work while the issuer is down.
		clk.advance(entra.KeysMaxAge)
		if _, err := v.Verify(ctx, iss.Token(t, claims())); err != nil {
			t.Fatalf("old known key with the issuer down: %v", err)
		}
		// Back up: after a minute the unknown kid is fetched for and,
		// still unknown, refused as invalid.
		iss.SetDown(false)
		clk.advance(61 * time.Second)
		_, err := v.Verify(ctx, unknown)
		if k, ok := kindOf(err); !ok || k != entra.Invalid {
			t.Fatalf("unknown kid with the JWKS up: %v, want Invalid", err)
		}
	})
}

// TestOneFetchForManyUnknownKids: concurrent unknown kids share a fetch.
func TestOneFetchForManyUnknownKids(t *testing.T) {
	iss := entratest.New(t)
	v, clk := newVerifier(t, iss)
	if _, err := v.Verify(context.Background(), iss.Token(t, clk.claims(iss.Claims(tenant, clientID, scope)))); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Minute)
	k := entratest.NewKey(t, "made-up")
	tok := entratest.Sign(t, k, clk.claims(iss.Claims(tenant, clientID, scope)))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _ = v.Verify(context.Background(), tok) })
	}
	wg.Wait()
	if n := iss.JWKSFetches.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2", n)
	}
}

func TestRequire(t *testing.T) {
	iss := entratest.New(t)
	v, _ := newVerifier(t, iss)
	h := v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := entra.FromContext(r.Context())
		_, _ = w.Write([]byte(p.ID() + " " + p.Username))
	}))
	call := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/whatever", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tok := iss.Token(t, iss.Claims(tenant, clientID, scope))
	if w := call("Bearer " + tok); w.Code != 200 || w.Body.String() != tenant+"/00000000-0000-0000-0000-0000000000a1 anna@kommune.dk" {
		t.Fatalf("valid: %d %s", w.Code, w.Body)
	}
	for _, auth := range []string{"", "Basic " + tok, "Bearer", "Bearer x.y.z", tok} {
		w := call(auth)
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Fatalf("%q: %d %q", auth, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	c := iss.Claims(stranger, clientID, scope)
	w := call("Bearer " + iss.Token(t, c))
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 401 || body["error"] != "tenant_not_enabled" || !strings.Contains(body["message"], "organisation har ikke slået Send sikkert til for dig") {
		t.Fatalf("stranger: %d %v", w.Code, body)
	}

	v2, clk := newVerifier(t, iss)
	iss.SetDown(true)
	defer iss.SetDown(false)
	_ = clk
	r := httptest.NewRequest("GET", "/api/v1/whatever", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w = httptest.NewRecorder()
	v2.Require(http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("issuer down: %d %v", w.Code, w.Header())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := entra.Config{BaseURL: baseURL, ClientID: clientID, Tenants: []string{tenant}, Scope: scope}
	if _, err := entra.New(ok); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mut := range map[string]func(*entra.Config){
		"http baseURL":      func(c *entra.Config) { c.BaseURL = "http://x" },
		"no clientId":       func(c *entra.Config) { c.ClientID = "" },
		"no tenants":        func(c *entra.Config) { c.Tenants = nil },
		"tenant not a GUID": func(c *entra.Config) { c.Tenants = []string{"common"} },
		"no scope":          func(c *entra.Config) { c.Scope = "" },
		"http discovery":    func(c *entra.Config) { c.OpenIDConfiguration = "http://x/{tenant}" },
		"no {tenant}":       func(c *entra.Config) { c.OpenIDConfiguration = "https://x/common/v2.0" },
	} {
		c := ok
		mut(&c)
		if _, err := entra.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
