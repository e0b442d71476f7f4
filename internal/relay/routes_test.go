package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
)

// withAllParts sets every part another package serves to h, so that the
// route table is complete.
func withAllParts(s *Server, h http.Handler) {
	s.Enrol, s.Metrics, s.AuditLog, s.Receipts, s.MailboxPages, s.StatusMessages, s.AddinSite = h, h, h, h, h, h, h
}

// pathOf turns a route pattern into a request: {id} becomes an id, a
// subtree ("/m/") gets a page below it.
func pathOf(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(path, "{id}", "8d0f7f7e-6f1a-4b8e-9a51-3c1d2f0e9b7a")
	if strings.HasSuffix(path, "/") {
		path += "page"
	}
	return method, path
}

// TestEveryRouteIsGuarded walks the whole route table — the API's routes
// and extra ones of every kind — and proves that a call without
// credentials is refused on every route that is not public, before its
// handler runs, and that a device's credentials do not open a partner's
// route.
func TestEveryRouteIsGuarded(t *testing.T) {
	s, _, _ := pageRelay(t) // with the hosted add-in's page API
	var reached atomic.Int32
	sentinel := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) })
	withAllParts(s, sentinel)
	// A route whose authentication is not declared is refused to all.
	routes := append(s.Routes(), Route{"GET /undeclared", 0, sentinel})
	ts := httptest.NewServer(s.guard().Handler(routes))
	defer ts.Close()
	kinds := map[Auth]int{}
	for _, rt := range routes {
		kinds[rt.Auth]++
		method, path := pathOf(rt.Pattern)
		for _, token := range []string{"", "wrong", "tok"} {
			if token == "tok" && (rt.Auth == AuthDevice || rt.Auth == AuthPublic) {
				continue // a device's token opens device routes
			}
			reached.Store(0)
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("{}"))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e relayapi.Error
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			refused := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
			switch {
			case rt.Auth == AuthPublic && refused:
				t.Errorf("%s (public) refused: %d", rt.Pattern, resp.StatusCode)
			case rt.Auth != AuthPublic && (!refused || e.Code == ""):
				t.Errorf("%s (%v) with token %q: %d %+v, want refused", rt.Pattern, rt.Auth, token, resp.StatusCode, e)
			case rt.Auth != AuthPublic && reached.Load() != 0:
				t.Errorf("%s (%v): handler ran for a refused call", rt.Pattern, rt.Auth)
			}
		}
	}
	if kinds[AuthPublic] != 7 || kinds[AuthDevice] != 14 || kinds[AuthPartner] != 1 || kinds[AuthEntra] != 15 || kinds[0] != 1 {
		t.Errorf("route table lacks kinds: %v", kinds)
	}
	// A device's credentials reach a device route.
	req, _ := http.NewRequest("GET", ts.URL+"/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer tok")
	reached.Store(0)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || reached.Load() != 1 {
		t.Fatalf("device route with credentials: %v %v reached=%d", resp, err, reached.Load())
	}
}

// TestHandlerForServesOnlyItsKind: the partner's own listener offers the
// partner's routes and nothing else.
func TestHandlerForServesOnlyItsKind(t *testing.T) {
	s, _, _ := testRelay(t)
	withAllParts(s, http.NotFoundHandler())
	ts := httptest.NewServer(s.HandlerFor(AuthPartner))
	defer ts.Close()
	for _, p := range []string{"/healthz", "/openapi.yaml", "/v1/reply-mailboxes"} {
		req, _ := http.NewRequest("GET", ts.URL+p, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s on the partner listener: %d, want 404", p, resp.StatusCode)
		}
	}
}

func testCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func testLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestHandlerOfHostedListener: the hosted add-in's own listener serves its
// pages and the page API, not the devices' API or other public routes.
func TestHandlerOfHostedListener(t *testing.T) {
	s, _, _ := pageRelay(t)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	withAllParts(s, page)
	ts := httptest.NewServer(s.HandlerOf(func(r Route) bool {
		return r.Auth == AuthEntra || r.Pattern == "GET /healthz" || r.Pattern == "/addin/"
	}))
	defer ts.Close()
	for path, want := range map[string]int{"GET /addin/outlook/taskpane.html": 200, "GET /healthz": 200, "GET /api/v1/reply-mailboxes": 401,
		"GET /v1/reply-mailboxes": 404, "POST /v1/enroll": 404, "GET /openapi.yaml": 404, "GET /metrics": 404, "GET /m/x": 404} {
		method, p, _ := strings.Cut(path, " ")
		req, _ := http.NewRequest(method, ts.URL+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
