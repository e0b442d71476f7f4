package proxy

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The proxy and bypass strings Windows hands out — WinINet's ProxyServer
// and ProxyOverride, WinHTTP's lpszProxy and lpszProxyBypass (from netsh
// winhttp, the user's IE settings or a PAC script's answer) — share one
// grammar, parsed here on every platform so it is tested and fuzzed
// everywhere.

// HTTPSProxy picks the proxy for https requests from a Windows proxy
// list: entries separated by ';' or white space, each "host:port" (every
// scheme), "scheme=host:port" or a URL. An "https=" entry wins, then the
// first entry for every scheme, then an "http=" entry (WinINet's proxy for
// http tunnels https too). It returns nil when the list names no usable
// proxy for https (an ftp= or socks= entry only, or nothing).
func HTTPSProxy(list string) *url.URL {
	var https, any, plain *url.URL
	for _, entry := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		scheme, addr, named := strings.Cut(entry, "=")
		if !named {
			scheme, addr = "", entry
			// "http://host:port" is a URL, not scheme=…
		} else if strings.Contains(scheme, "/") {
			scheme, addr = "", entry
		}
		u := proxyURL(addr)
		if u == nil {
			continue
		}
		switch strings.ToLower(scheme) {
		case "https":
			if https == nil {
				https = u
			}
		case "":
			if any == nil {
				any = u
			}
		case "http":
			if plain == nil {
				plain = u
			}
		}
	}
	for _, u := range []*url.URL{https, any, plain} {
		if u != nil {
			return u
		}
	}
	return nil
}

// proxyURL reads one proxy address: host:port, or an http(s):// URL.
func proxyURL(addr string) *url.URL {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	if p := u.Port(); p != "" {
		if n, ok := port(p); !ok || n == 0 {
			return nil
		}
	}
	// Only where to connect: a path or query in a proxy string is noise.
	return &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}
}

func port(s string) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return n, true
}

// Bypass is a Windows bypass list (ProxyOverride, lpszProxyBypass):
// host patterns with * wildcards separated by ';', ',' or white space;
// "<local>" means any name without a dot. Loopback is always bypassed.
type Bypass []string

// ParseBypass reads a bypass list.
func ParseBypass(list string) Bypass {
	var b Bypass
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		p = strings.ToLower(p)
		// "http://host" and "host:port" patterns: Windows compares the
		// host; so does this.
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
		}
		if h, _, err := net.SplitHostPort(p); err == nil {
			p = h
		}
		p = strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")
		if p != "" {
			b = append(b, p)
		}
	}
	return b
}

// Bypassed reports whether host is reached directly.
func (b Bypass) Bypassed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, p := range b {
		if p == "<local>" {
			if !strings.Contains(host, ".") && net.ParseIP(host) == nil {
				return true
			}
			continue
		}
		if match(p, host) {
			return true
		}
	}
	return false
}

// PACFetchable says whether WinHTTP can fetch a PAC script from u: http
// and https only (file:// and UNC paths it refuses). Empty is no script.
func PACFetchable(u string) bool {
	if u == "" {
		return true
	}
	p, err := url.Parse(strings.TrimSpace(u))
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// Static is a fixed proxy list with its bypass list as a proxy choice for
// https requests, or nil when the list names no proxy for https.
func Static(list, bypass string) Func {
	u := HTTPSProxy(list)
	if u == nil {
		return nil
	}
	b := ParseBypass(bypass)
	return func(r *http.Request) (*url.URL, error) {
		if b.Bypassed(r.URL.Hostname()) {
			return nil, nil
		}
		return u, nil
	}
}

// match is Windows' wildcard match: * stands for any run of characters.
func match(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, part)
		}
		j := strings.Index(s, part)
		if j < 0 {
			return false
		}
		s = s[j+len(part):]
	}
	return true
}
