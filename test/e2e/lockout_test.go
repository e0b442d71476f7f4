package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"sendsikkert/internal/enroll"
)

// TestLockoutCountsTheRealClient: the relay behind a load balancer
// (trustedProxies: [127.0.0.1/32]). An attacker who tries wrong enrolment
// codes is locked out, but a colleague behind the same balancer enrols
// fine, whether the balancer names clients by PROXY protocol v2 (TLS passed
// through) or X-Forwarded-For. A host that is no trusted proxy
// (127.0.0.2) cannot name anyone: its headers are ignored and its own
// address is counted.
func TestLockoutCountsTheRealClient(t *testing.T) {
	r := startRelayIn(t, t.TempDir(), "trustedProxies: [127.0.0.1/32]\n")
	u, _ := url.Parse(r.url)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))

	// client connects from local, and (when proxied is set) starts each
	// connection with a PROXY v2 header naming proxied; xff, when set, is
	// sent as X-Forwarded-For.
	client := func(local, proxied, xff string) func(code string) int {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}, DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
				c, err := d.DialContext(ctx, network, addr)
				if err != nil || proxied == "" {
					return c, err
				}
				h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
					SourceAddr: &net.TCPAddr{IP: net.ParseIP(proxied), Port: 50000}, DestinationAddr: c.RemoteAddr()}
				if _, err := h.WriteTo(c); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			}}
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		return func(code string) int {
			body, _ := json.Marshal(enroll.Request{Code: code, CSR: csr})
			req, _ := http.NewRequest("POST", "https://"+u.Host+"/v1/enroll", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	lockOut := func(name string, try func(string) int) {
		t.Helper()
		for i := range 10 {
			if got := try("AAAA-BBBB-CCCC-DDDD"); got != http.StatusForbidden {
				t.Fatalf("%s: wrong code %d answered %d", name, i+1, got)
			}
		}
		if got := try("AAAA-BBBB-CCCC-DDDD"); got != http.StatusTooManyRequests {
			t.Fatalf("%s: not locked out after 10 wrong codes: %d", name, got)
		}
	}

	// PROXY protocol v2 from the balancer.
	lockOut("attacker by PROXY v2", client("127.0.0.1", "203.0.113.66", ""))
	if got := client("127.0.0.1", "203.0.113.10", "")(r.code(t, "colleague1@kommune.test")); got != 200 {
		t.Fatalf("colleague behind the same balancer (PROXY v2): %d, want 200", got)
	}
	// X-Forwarded-For from the balancer.
	lockOut("attacker by X-Forwarded-For", client("127.0.0.1", "", "203.0.113.77"))
	if got := client("127.0.0.1", "", "203.0.113.78")(r.code(t, "colleague2@kommune.test")); got != 200 {
		t.Fatalf("colleague behind the same balancer (X-Forwarded-For): %d, want 200", got)
	}
	// Not a trusted proxy: naming other clients does not help it.
	lockOut("untrusted host naming clients", client("127.0.0.2", "198.51.100.1", "198.51.100.2"))
	if got := client("127.0.0.2", "198.51.100.3", "198.51.100.4")(r.code(t, "colleague3@kommune.test")); got != http.StatusTooManyRequests {
		t.Fatalf("untrusted host escaped its lockout by naming another client: %d, want 429", got)
	}
}
