package entra

import (
	"context"
	"testing"
	"time"
)

// FuzzVerify: no token, however malformed, panics the verifier or is
// accepted; none makes it fetch (the issuer URL is unreachable, so a fetch
// would show as Unavailable for an unlisted tenant).
func FuzzVerify(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.")
	f.Add("a.b.c")
	v, err := New(Config{
		BaseURL: "https://sendsikkert.kommune.dk", ClientID: "11111111-2222-3333-4444-555555555555",
		Tenants: []string{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, Scope: "access_as_user",
		OpenIDConfiguration: "https://127.0.0.1:1/{tenant}/v2.0/.well-known/openid-configuration",
	})
	if err != nil {
		f.Fatal(err)
	}
	v.client.Timeout = time.Second
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err == nil {
			t.Fatalf("accepted %q: %+v", tok, p)
		}
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %v is not an *Error", err)
		}
	})
}

// FuzzParseJWKS: whatever the issuer serves, parseJWKS returns RSA keys
// with kids or an error.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || k == nil || k.N == nil {
				t.Fatalf("bad key %q", kid)
			}
		}
	})
}

// FuzzParseDiscovery: an accepted openid configuration has an issuer and
// an https jwks_uri.
func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://x/t/v2.0","jwks_uri":"https://x/keys"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDiscovery(b)
		if err == nil && (d.Issuer == "" || len(d.JWKSURI) < len("https://x")) {
			t.Fatalf("accepted %q", b)
		}
	})
}
