// Package proxy decides how the agent reaches the relay through a proxy:
// IT's policy first (a proxy URL, or DIRECT), then HTTPS_PROXY/NO_PROXY,
// then the system's settings. On Windows those are the user's WinINet
// settings (Internet Options, the GPO "Proxy settings") — a PAC script or
// auto-detection (WPAD) there is evaluated by Windows itself (WinHTTP), the
// agent runs no script engine — and then the machine's WinHTTP proxy
// (netsh winhttp). With none of these the relay is reached directly.
package proxy

import (
	"net/http"
	"net/url"
	"os"
)

// Func is what http.Transport.Proxy takes; nil means no proxy.
type Func func(*http.Request) (*url.URL, error)

// Direct is the policy value that bypasses every proxy.
const Direct = "DIRECT"

// Kind is where a proxy choice came from.
type Kind int

const (
	// None: no proxy anywhere; the relay is reached directly.
	None Kind = iota
	// Policy: IT's policy names a proxy.
	Policy
	// PolicyDirect: IT's policy says DIRECT.
	PolicyDirect
	// Environment: HTTPS_PROXY (or its relatives) is set.
	Environment
	// PAC: the user's proxy settings name a PAC script, which Windows
	// evaluates for each relay URL.
	PAC
	// AutoDetect: the user's proxy settings say "Automatically detect
	// settings" (WPAD); Windows finds and evaluates the PAC script.
	AutoDetect
	// WinINet: the user's fixed proxy (Internet Options).
	WinINet
	// WinHTTP: the machine's WinHTTP proxy (netsh winhttp set proxy).
	WinHTTP
)

// Source says where the proxy choice came from, for the log and doctor.
type Source struct {
	Kind Kind
	// Detail is the proxy (credentials redacted), the variable's name or
	// the PAC script's URL.
	Detail string
	// IgnoredPAC is a PAC script URL in the user's settings that cannot
	// be used (file://: WinHTTP refuses it), so the next source serves.
	IgnoredPAC string
}

// String is the English sentence for logs and doctor --lang en.
func (s Source) String() string {
	if s.IgnoredPAC != "" {
		return s.text() + "; the PAC script " + s.IgnoredPAC + " is ignored (WinHTTP takes PAC scripts over http(s) only)"
	}
	return s.text()
}

func (s Source) text() string {
	switch s.Kind {
	case Policy:
		return "policy: " + s.Detail
	case PolicyDirect:
		return "policy: direct"
	case Environment:
		return "environment: " + s.Detail
	case PAC:
		return "user's proxy settings, PAC script " + s.Detail + " (evaluated by WinHTTP)"
	case AutoDetect:
		return "user's proxy settings, automatic detection (WPAD, evaluated by WinHTTP)"
	case WinINet:
		return "user's proxy settings (WinINet): " + s.Detail
	case WinHTTP:
		return "machine's WinHTTP proxy (netsh winhttp): " + s.Detail
	}
	return "none (direct)"
}

// Danish is the same for doctor's Danish report.
func (s Source) Danish() string {
	if s.IgnoredPAC != "" {
		return s.danish() + "; PAC-scriptet " + s.IgnoredPAC + " bruges ikke (WinHTTP henter kun PAC-scripts over http(s))"
	}
	return s.danish()
}

func (s Source) danish() string {
	switch s.Kind {
	case Policy:
		return "IT's politik: " + s.Detail
	case PolicyDirect:
		return "IT's politik: direkte (ingen proxy)"
	case Environment:
		return "miljøvariablen " + s.Detail
	case PAC:
		return "brugerens proxyindstillinger, PAC-script " + s.Detail + " (evalueret af WinHTTP)"
	case AutoDetect:
		return "brugerens proxyindstillinger, automatisk registrering (WPAD, evalueret af WinHTTP)"
	case WinINet:
		return "brugerens proxyindstillinger (WinINet): " + s.Detail
	case WinHTTP:
		return "maskinens WinHTTP-proxy (netsh winhttp): " + s.Detail
	}
	return "ingen (direkte forbindelse)"
}

// For returns the proxy choice for the relay, and where it came from.
func For(policyProxy string) (Func, Source) {
	switch {
	case policyProxy == Direct:
		return nil, Source{Kind: PolicyDirect}
	case policyProxy != "":
		u, err := url.Parse(policyProxy)
		if err == nil {
			return http.ProxyURL(u), Source{Kind: Policy, Detail: u.Redacted()}
		}
	}
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if os.Getenv(v) != "" {
			return http.ProxyFromEnvironment, Source{Kind: Environment, Detail: v}
		}
	}
	if f, source := system(); f != nil {
		return f, source
	}
	return nil, Source{Kind: None}
}
