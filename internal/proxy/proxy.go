// Package proxy decides how the agent reaches the relay through a proxy:
// IT's policy first (a proxy URL, or DIRECT), then HTTPS_PROXY/NO_PROXY,
// then the system's settings (on Windows the user's WinINet settings,
// which Internet Options and most GPOs write). PAC scripts and WPAD are
// not run: where IT uses them, it sets the policy's proxy.
package proxy

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Func is what http.Transport.Proxy takes; nil means no proxy.
type Func func(*http.Request) (*url.URL, error)

// Direct is the policy value that bypasses every proxy.
const Direct = "DIRECT"

// For returns the proxy choice for the relay, and where it came from (for
// the log and doctor).
func For(policyProxy string) (Func, string) {
	switch {
	case policyProxy == Direct:
		return nil, "policy: direct"
	case policyProxy != "":
		u, err := url.Parse(policyProxy)
		if err == nil {
			return http.ProxyURL(u), "policy: " + u.Redacted()
		}
	}
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if os.Getenv(v) != "" {
			return http.ProxyFromEnvironment, "environment: " + v
		}
	}
	if f, source := system(); f != nil {
		return f, source
	}
	return nil, "none"
}

// WinINet turns WinINet's ProxyServer and ProxyOverride values into a
// proxy choice for https requests. ProxyServer is "host:port" (every
// scheme) or "http=h:p;https=h:p;…"; ProxyOverride is a ;-list of host
// patterns with * wildcards, where "<local>" means names without a dot.
// It returns nil when there is no proxy for https.
func WinINet(server, override string) Func {
	addr := ""
	server = strings.TrimSpace(server)
	if strings.Contains(server, "=") {
		for _, part := range strings.FieldsFunc(server, func(r rune) bool { return r == ';' || r == ' ' }) {
			scheme, hp, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			switch strings.ToLower(scheme) {
			case "https":
				addr = hp
			case "http":
				if addr == "" {
					addr = hp
				}
			}
		}
	} else {
		addr = server
	}
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	var bypass []string
	for _, p := range strings.Split(override, ";") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			bypass = append(bypass, p)
		}
	}
	return func(r *http.Request) (*url.URL, error) {
		if bypassed(r.URL.Hostname(), bypass) {
			return nil, nil
		}
		return u, nil
	}
}

// bypassed: loopback never goes through a proxy; otherwise the
// ProxyOverride patterns decide.
func bypassed(host string, patterns []string) bool {
	host = strings.ToLower(host)
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, p := range patterns {
		if p == "<local>" {
			if !strings.Contains(host, ".") {
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

// match is WinINet's wildcard match: * stands for any run of characters.
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
