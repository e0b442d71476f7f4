package entra

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxDocument bounds a discovery document or JWKS read from the issuer.
const maxDocument = 1 << 20

// discovery is the part of an openid configuration the verifier uses.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// parseDiscovery reads an openid configuration.
func parseDiscovery(b []byte) (discovery, error) {
	var d discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("openid configuration: %w", err)
	}
	if d.Issuer == "" {
		return d, errors.New("openid configuration: no issuer")
	}
	u, err := url.Parse(d.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return d, fmt.Errorf("openid configuration: jwks_uri %q is not https", d.JWKSURI)
	}
	return d, nil
}

// parseJWKS reads a JWKS and keeps the RSA signing keys that have a kid.
func parseJWKS(b []byte) (map[string]*rsa.PublicKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != string(jose.RS256) {
			continue
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no RSA signing keys")
	}
	return keys, nil
}

func (v *Verifier) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, maxDocument)
	}
	return b, nil
}

// tenantProvider is one tenant's cached discovery document.
type tenantProvider struct {
	mu        sync.Mutex
	p         *provider
	fetched   time.Time
	attempted time.Time
}

// provider returns tid's issuer and JWKS URI. tid is one of the
// configured tenants. The document is fetched once and again after
// KeysMaxAge; while the issuer is down the cached one is used.
func (v *Verifier) provider(ctx context.Context, tid string) (*provider, error) {
	v.mu.Lock()
	tp, ok := v.tenantProviders[tid]
	if !ok {
		tp = &tenantProvider{}
		v.tenantProviders[tid] = tp
	}
	v.mu.Unlock()

	tp.mu.Lock()
	defer tp.mu.Unlock()
	now := v.now()
	if tp.p != nil && now.Sub(tp.fetched) <= KeysMaxAge {
		return tp.p, nil
	}
	if tp.p != nil && now.Sub(tp.attempted) <= RefetchAfter {
		return tp.p, nil
	}
	if tp.p == nil && !tp.attempted.IsZero() && now.Sub(tp.attempted) <= RefetchAfter {
		return nil, &Error{Kind: Unavailable, Reason: "openid configuration for tenant " + tid + " failed less than a minute ago"}
	}
	tp.attempted = now
	u := strings.ReplaceAll(v.cfg.OpenIDConfiguration, "{tenant}", tid)
	b, err := v.get(ctx, u)
	var d discovery
	if err == nil {
		d, err = parseDiscovery(b)
	}
	if err != nil {
		if tp.p != nil {
			return tp.p, nil // known keys keep working while the issuer is down
		}
		return nil, &Error{Kind: Unavailable, Reason: "openid configuration for tenant " + tid, Err: err}
	}
	tp.p, tp.fetched = &provider{issuer: d.Issuer, jwksURI: d.JWKSURI}, now
	return tp.p, nil
}

// key returns the key kid from the JWKS at uri, fetching it when it is
// unknown (at most once per RefetchAfter) or older than KeysMaxAge.
func (v *Verifier) key(ctx context.Context, uri, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	ks, ok := v.keySets[uri]
	if !ok {
		ks = &keySet{}
		v.keySets[uri] = ks
	}
	v.mu.Unlock()

	ks.mu.Lock()
	k, known := ks.keys[kid]
	fresh := v.now().Sub(ks.fetched) <= KeysMaxAge
	ks.mu.Unlock()
	if known && fresh {
		return k, nil
	}

	// One fetch at a time per JWKS; whoever waited re-reads what the
	// fetch before them found.
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	ks.mu.Lock()
	now := v.now()
	k, known = ks.keys[kid]
	fresh = now.Sub(ks.fetched) <= KeysMaxAge
	throttled := !ks.attempted.IsZero() && now.Sub(ks.attempted) <= RefetchAfter
	lastErr := ks.lastErr
	ks.mu.Unlock()
	switch {
	case known && (fresh || throttled):
		return k, nil
	case !known && throttled && lastErr != nil:
		return nil, &Error{Kind: Unavailable, Reason: "jwks fetch failed less than a minute ago", Err: lastErr}
	case !known && throttled:
		return nil, invalid(fmt.Sprintf("unknown kid %q", clip(kid)), nil)
	}

	b, err := v.get(ctx, uri)
	var keys map[string]*rsa.PublicKey
	if err == nil {
		keys, err = parseJWKS(b)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.attempted, ks.lastErr = now, err
	if err != nil {
		if known {
			return k, nil // known keys keep working while the issuer is down
		}
		return nil, &Error{Kind: Unavailable, Reason: "jwks fetch", Err: err}
	}
	ks.keys, ks.fetched = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, invalid(fmt.Sprintf("unknown kid %q", clip(kid)), nil)
}
