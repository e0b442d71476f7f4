package clientaddr

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

func TestParse(t *testing.T) {
	p, err := Parse([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "2001:db8::1": true, "::ffff:10.0.0.1": true, "203.0.113.7": false} {
		if got := p.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v", addr, got)
		}
	}
	if _, err := Parse([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	if (*Proxies)(nil).Trusted(netip.MustParseAddr("10.0.0.1")) {
		t.Error("no proxies, yet trusted")
	}
}

func TestForwardedFor(t *testing.T) {
	p, _ := Parse([]string{"10.0.0.0/8"})
	for _, c := range []struct{ peer, xff, want string }{
		{"10.0.0.5:4000", "203.0.113.7", "203.0.113.7:0"},
		{"10.0.0.5:4000", "198.51.100.1, 203.0.113.7", "203.0.113.7:0"}, // the client may lie to the left
		{"10.0.0.5:4000", "203.0.113.7, 10.0.0.6", "203.0.113.7:0"},     // two of our proxies
		{"10.0.0.5:4000", "10.0.0.9", "10.0.0.9:0"},                     // only proxies: the first
		{"10.0.0.5:4000", "garbage", "10.0.0.5:4000"},                   // nothing we can vouch for
		{"10.0.0.5:4000", "203.0.113.7, garbage", "10.0.0.5:4000"},      // garbage from the last hop
		{"10.0.0.5:4000", "", "10.0.0.5:4000"},                          // no header
		{"198.51.100.1:4000", "203.0.113.7", "198.51.100.1:4000"},       // not a proxy: ignored
		{"[2001:db8::1]:4000", "203.0.113.7", "[2001:db8::1]:4000"},     // not a proxy either
		{"10.0.0.5:4000", "2001:db8::7", "[2001:db8::7]:0"},
	} {
		var got string
		h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

// remoteSeen serves one listener and reports each request's RemoteAddr.
func remoteSeen(t *testing.T, p *Proxies) (string, chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.RemoteAddr }), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(p.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), seen
}

func sendWithHeader(t *testing.T, addr string, h *proxyproto.Header) (int, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if h != nil {
		if _, err := h.WriteTo(c); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func header(version byte, src string) *proxyproto.Header {
	return &proxyproto.Header{Version: version, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr: &net.TCPAddr{IP: net.ParseIP(src), Port: 51000}, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8443}}
}

func TestProxyProtocolFromTrustedProxyOnly(t *testing.T) {
	trusted, _ := Parse([]string{"127.0.0.1/32"})
	addr, seen := remoteSeen(t, trusted)
	if code, err := sendWithHeader(t, addr, header(2, "203.0.113.7")); err != nil || code != 200 {
		t.Fatalf("v2 from a trusted proxy: %d %v", code, err)
	}
	if got := <-seen; !strings.HasPrefix(got, "203.0.113.7:") {
		t.Fatalf("client behind the proxy: %s", got)
	}
	// A trusted proxy's health check without a header is its own address.
	if code, err := sendWithHeader(t, addr, nil); err != nil || code != 200 {
		t.Fatalf("no header: %d %v", code, err)
	}
	if got := <-seen; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("no header: %s", got)
	}
	// Version 1 is refused.
	if code, err := sendWithHeader(t, addr, header(1, "203.0.113.8")); err == nil && code == 200 {
		t.Fatal("PROXY v1 accepted")
	}

	untrusted, _ := Parse([]string{"10.0.0.0/8"})
	addr, seen = remoteSeen(t, untrusted)
	if code, err := sendWithHeader(t, addr, header(2, "203.0.113.7")); err != nil || code != 200 {
		t.Fatalf("v2 from anyone: %d %v", code, err)
	}
	if got := <-seen; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("a PROXY header from a host that is no trusted proxy named the client: %s", got)
	}
}

func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.1, 203.0.113.7", "203.0.113.7, 10.0.0.6", "garbage", "", "2001:db8::7, ,", "::ffff:10.0.0.1"} {
		f.Add(s)
	}
	p, _ := Parse([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.5:4000"
		r.Header.Set("X-Forwarded-For", xff)
		c, ok := p.forwarded(r)
		if !ok {
			return
		}
		// The client named is one of the header's addresses.
		if !strings.Contains(xff, c.String()) && !strings.Contains(strings.ToLower(xff), strings.ToLower(c.String())) {
			found := false
			for _, h := range strings.Split(xff, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil && a.Unmap() == c {
					found = true
				}
			}
			if !found {
				t.Fatalf("client %s is not in %q", c, xff)
			}
		}
	})
}
