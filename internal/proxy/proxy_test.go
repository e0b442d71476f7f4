package proxy

import (
	"net/http"
	"testing"
)

func proxied(t *testing.T, f Func, target string) string {
	t.Helper()
	if f == nil {
		return ""
	}
	r, _ := http.NewRequest("GET", target, nil)
	u, err := f(r)
	if err != nil {
		t.Fatal(err)
	}
	if u == nil {
		return ""
	}
	return u.String()
}

func TestWinINet(t *testing.T) {
	for _, tt := range []struct {
		server, override, target, want string
	}{
		{"proxy.kommune.dk:3128", "", "https://relay.kommune.dk/v1", "http://proxy.kommune.dk:3128"},
		{"http=p1:80;https=p2:8443", "", "https://relay.kommune.dk/", "http://p2:8443"},
		{"http=p1:80", "", "https://relay.kommune.dk/", "http://p1:80"},
		{"ftp=p3:21", "", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "*.kommune.dk;<local>", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "*.kommune.dk;<local>", "https://relay/", ""},
		{"proxy:3128", "*.kommune.dk", "https://relay.example.org/", "http://proxy:3128"},
		{"proxy:3128", "relay.*.dk", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "", "https://localhost:47800/", ""},
		{"proxy:3128", "", "https://127.0.0.1:8443/", ""},
		{"", "", "https://relay.kommune.dk/", ""},
		{"https://secure-proxy:443", "", "https://relay.kommune.dk/", "https://secure-proxy:443"},
		{"socks=s:1080", "", "https://relay.kommune.dk/", ""},
	} {
		if got := proxied(t, WinINet(tt.server, tt.override), tt.target); got != tt.want {
			t.Errorf("%q %q → %s: %q, want %q", tt.server, tt.override, tt.target, got, tt.want)
		}
	}
}

func TestForOrder(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://env-proxy:8080")
	f, src := For("http://policy-proxy:3128")
	if got := proxied(t, f, "https://relay.kommune.dk/"); got != "http://policy-proxy:3128" || src != "policy: http://policy-proxy:3128" {
		t.Errorf("policy: %q %q", got, src)
	}
	if f, src := For(Direct); f != nil || src != "policy: direct" {
		t.Errorf("DIRECT: %q", src)
	}
	f, src = For("")
	if got := proxied(t, f, "https://relay.kommune.dk/"); got != "http://env-proxy:8080" || src != "environment: HTTPS_PROXY" {
		t.Errorf("environment: %q %q", got, src)
	}
}

func FuzzWinINet(f *testing.F) {
	f.Add("http=p1:80;https=p2:8443", "*.kommune.dk;<local>", "relay.kommune.dk")
	f.Fuzz(func(t *testing.T, server, override, host string) {
		fn := WinINet(server, override)
		if fn == nil {
			return
		}
		r, err := http.NewRequest("GET", "https://example.org/", nil)
		if err != nil {
			return
		}
		r.URL.Host = host
		u, err := fn(r)
		if err != nil || (u != nil && u.Host == "") {
			t.Fatalf("%q %q %q: %v %v", server, override, host, u, err)
		}
	})
}
