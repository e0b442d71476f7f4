package proxy

import (
	"net/http"
	"strings"
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

// Proxy and bypass strings as WinINet (ProxyServer/ProxyOverride), netsh
// winhttp and a PAC script's answer (through WinHTTP) write them.
func TestStatic(t *testing.T) {
	for _, tt := range []struct {
		server, override, target, want string
	}{
		{"proxy.kommune.dk:3128", "", "https://relay.kommune.dk/v1", "http://proxy.kommune.dk:3128"},
		{"http=p1:80;https=p2:8443", "", "https://relay.kommune.dk/", "http://p2:8443"},
		{"https=p2:8443;http=p1:80", "", "https://relay.kommune.dk/", "http://p2:8443"},
		{"http=p1:80", "", "https://relay.kommune.dk/", "http://p1:80"},
		{"http=p1:80 ftp=p3:21", "", "https://relay.kommune.dk/", "http://p1:80"},
		{"ftp=p3:21", "", "https://relay.kommune.dk/", ""},
		{"socks=s:1080", "", "https://relay.kommune.dk/", ""},
		// a list (PAC "PROXY a:1; PROXY b:2" through WinHTTP): the first
		{"a:1;b:2", "", "https://relay.kommune.dk/", "http://a:1"},
		{"a:1 b:2", "", "https://relay.kommune.dk/", "http://a:1"},
		{"http=p1:80;any:3128", "", "https://relay.kommune.dk/", "http://any:3128"},
		{"https://secure-proxy:443", "", "https://relay.kommune.dk/", "https://secure-proxy:443"},
		{"http://p:8080/some/path", "", "https://relay.kommune.dk/", "http://p:8080"},
		{"p:99999", "", "https://relay.kommune.dk/", ""},
		{"p:0", "", "https://relay.kommune.dk/", ""},
		{"p:http", "", "https://relay.kommune.dk/", ""},
		{"ftp://p:21", "", "https://relay.kommune.dk/", ""},
		{"", "", "https://relay.kommune.dk/", ""},
		{" ; ", "", "https://relay.kommune.dk/", ""},
		// bypass lists: ';', ',' or white space between; <local>; wildcards
		{"proxy:3128", "*.kommune.dk;<local>", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "*.kommune.dk;<local>", "https://relay/", ""},
		{"proxy:3128", "<local>", "https://relay.kommune.dk/", "http://proxy:3128"},
		{"proxy:3128", "<local>", "https://10.1.2.3/", "http://proxy:3128"},
		{"proxy:3128", "*.kommune.dk", "https://relay.example.org/", "http://proxy:3128"},
		{"proxy:3128", "relay.*.dk", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "RELAY.Kommune.DK", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "intern.dk, *.kommune.dk", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "intern.dk *.kommune.dk", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "https://relay.kommune.dk", "https://relay.kommune.dk/", ""},
		{"proxy:3128", "relay.kommune.dk:8443", "https://relay.kommune.dk:8443/", ""},
		{"proxy:3128", "10.*", "https://10.1.2.3:8443/", ""},
		{"proxy:3128", "*.kommune.dk", "https://kommune.dk/", "http://proxy:3128"},
		{"proxy:3128", "", "https://relay.kommune.dk./", "http://proxy:3128"},
		{"proxy:3128", "relay.kommune.dk", "https://relay.kommune.dk./", ""},
		// loopback is never proxied
		{"proxy:3128", "", "https://localhost:47800/", ""},
		{"proxy:3128", "", "https://127.0.0.1:8443/", ""},
		{"proxy:3128", "", "https://[::1]:8443/", ""},
	} {
		if got := proxied(t, Static(tt.server, tt.override), tt.target); got != tt.want {
			t.Errorf("%q %q → %s: %q, want %q", tt.server, tt.override, tt.target, got, tt.want)
		}
	}
}

func TestForOrder(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://env-proxy:8080")
	f, src := For("http://user:secret@policy-proxy:3128")
	if got := proxied(t, f, "https://relay.kommune.dk/"); got != "http://user:secret@policy-proxy:3128" || src.Kind != Policy || strings.Contains(src.String(), "secret") {
		t.Errorf("policy: %q %q", got, src)
	}
	if f, src := For(Direct); f != nil || src.Kind != PolicyDirect {
		t.Errorf("DIRECT: %q", src)
	}
	f, src = For("")
	if got := proxied(t, f, "https://relay.kommune.dk/"); got != "http://env-proxy:8080" || src.Kind != Environment || src.String() != "environment: HTTPS_PROXY" {
		t.Errorf("environment: %q %q", got, src)
	}
}

// Every source says itself in English and Danish.
func TestSourceText(t *testing.T) {
	for k := None; k <= WinHTTP; k++ {
		s := Source{Kind: k, Detail: "proxy:3128"}
		if s.String() == "" || s.Danish() == "" || (k != None && s.String() == Source{}.String()) || (k != None && s.Danish() == Source{}.Danish()) {
			t.Errorf("kind %d: %q / %q", k, s, s.Danish())
		}
	}
	if s := (Source{Kind: WinHTTP, Detail: "p:1"}); !strings.Contains(s.String(), "netsh winhttp") || !strings.Contains(s.Danish(), "maskinens WinHTTP-proxy") {
		t.Errorf("WinHTTP: %q / %q", s, s.Danish())
	}
}

func FuzzStatic(f *testing.F) {
	f.Add("http=p1:80;https=p2:8443", "*.kommune.dk;<local>", "relay.kommune.dk")
	f.Fuzz(func(t *testing.T, server, override, host string) {
		if u := HTTPSProxy(server); u != nil && (u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https")) {
			t.Fatalf("HTTPSProxy(%q) = %v", server, u)
		}
		for _, p := range ParseBypass(override) {
			if p == "" {
				t.Fatalf("ParseBypass(%q): empty pattern", override)
			}
		}
		fn := Static(server, override)
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

func TestPACFetchable(t *testing.T) {
	for u, want := range map[string]bool{
		"":                                  true,
		"http://pac.kommune.dk/proxy.pac":   true,
		"https://pac.kommune.dk/proxy.pac":  true,
		"file:///C:/proxy.pac":              false,
		"file://server/share/proxy.pac":     false,
		`\\server\share\proxy.pac`:          false,
		"C:\\proxy.pac":                     false,
		"ftp://pac.kommune.dk/proxy.pac":    false,
		"http:///proxy.pac":                 false,
		" http://pac.kommune.dk/proxy.pac ": true,
	} {
		if got := PACFetchable(u); got != want {
			t.Errorf("PACFetchable(%q) = %v", u, got)
		}
	}
	s := Source{Kind: WinHTTP, Detail: "p:1", IgnoredPAC: "file:///C:/proxy.pac"}
	if !strings.Contains(s.String(), "netsh winhttp") || !strings.Contains(s.String(), "file:///C:/proxy.pac is ignored") || !strings.Contains(s.Danish(), "bruges ikke") {
		t.Errorf("%q / %q", s, s.Danish())
	}
}
