package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// WinHTTP evaluates PAC scripts and WPAD for us (Windows' own engine, the
// one Edge and Office use); the agent runs no script of its own.
var (
	winhttp                   = windows.NewLazySystemDLL("winhttp.dll")
	kernel32                  = windows.NewLazySystemDLL("kernel32.dll")
	procGetIEProxyConfig      = winhttp.NewProc("WinHttpGetIEProxyConfigForCurrentUser")
	procGetDefaultProxyConfig = winhttp.NewProc("WinHttpGetDefaultProxyConfiguration")
	procGetProxyForURL        = winhttp.NewProc("WinHttpGetProxyForUrl")
	procOpen                  = winhttp.NewProc("WinHttpOpen")
	procSetTimeouts           = winhttp.NewProc("WinHttpSetTimeouts")
	procGlobalFree            = kernel32.NewProc("GlobalFree")
)

const (
	accessTypeNoProxy    = 1 // WINHTTP_ACCESS_TYPE_NO_PROXY
	accessTypeNamedProxy = 3 // WINHTTP_ACCESS_TYPE_NAMED_PROXY

	autoProxyAutoDetect = 0x1 // WINHTTP_AUTOPROXY_AUTO_DETECT
	autoProxyConfigURL  = 0x2 // WINHTTP_AUTOPROXY_CONFIG_URL
	autoDetectDHCP      = 0x1 // WINHTTP_AUTO_DETECT_TYPE_DHCP
	autoDetectDNSA      = 0x2 // WINHTTP_AUTO_DETECT_TYPE_DNS_A

	errLoginFailure = windows.Errno(12015) // ERROR_WINHTTP_LOGIN_FAILURE
)

// WINHTTP_CURRENT_USER_IE_PROXY_CONFIG
type ieProxyConfig struct {
	autoDetect    int32 // BOOL
	autoConfigURL *uint16
	proxy         *uint16
	proxyBypass   *uint16
}

// WINHTTP_PROXY_INFO
type proxyInfo struct {
	accessType  uint32
	proxy       *uint16
	proxyBypass *uint16
}

// WINHTTP_AUTOPROXY_OPTIONS
type autoProxyOptions struct {
	flags                 uint32
	autoDetectFlags       uint32
	autoConfigURL         *uint16
	reserved              uintptr
	reserved2             uint32
	autoLogonIfChallenged int32 // BOOL
}

// take copies a string WinHTTP allocated and frees it with GlobalFree, as
// WinHTTP's documentation demands of every such buffer.
func take(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	procGlobalFree.Call(uintptr(unsafe.Pointer(p)))
	return s
}

// system is the user's proxy settings, then the machine's WinHTTP proxy.
func system() (Func, Source) {
	machine, machineSource := machineProxy()
	f, src := userProxy(machine)
	if f == nil {
		f, src = machine, Source{Kind: machineSource.Kind, Detail: machineSource.Detail, IgnoredPAC: src.IgnoredPAC}
	}
	return f, src
}

// userProxy reads the user's settings (Internet Options, GPO) through
// WinHTTP. A PAC script or auto-detection wins over the fixed proxy, as
// in Windows; when the script cannot be had or run, the fixed proxy, then
// fallback (the machine's), serve.
func userProxy(fallback Func) (Func, Source) {
	if err := procGetIEProxyConfig.Find(); err != nil {
		return registryProxy()
	}
	var c ieProxyConfig
	if r, _, err := procGetIEProxyConfig.Call(uintptr(unsafe.Pointer(&c))); r == 0 {
		_ = err // no settings for this user (a service account): none
		return registryProxy()
	}
	autoConfig, fixed, bypass := take(c.autoConfigURL), take(c.proxy), take(c.proxyBypass)
	static := Static(fixed, bypass)
	ignored := ""
	if !PACFetchable(autoConfig) {
		// WinHTTP would fail on it at every request; Windows' own
		// fallback (the fixed proxy) serves, and doctor says why.
		ignored, autoConfig = autoConfig, ""
	}
	if autoConfig != "" || c.autoDetect != 0 {
		next := static
		if next == nil {
			next = fallback
		}
		pac := &pacProxy{url: autoConfig, detect: c.autoDetect != 0, fallback: next}
		if autoConfig != "" {
			return pac.proxy, Source{Kind: PAC, Detail: autoConfig}
		}
		return pac.proxy, Source{Kind: AutoDetect, IgnoredPAC: ignored}
	}
	if static != nil {
		return static, Source{Kind: WinINet, Detail: fixed, IgnoredPAC: ignored}
	}
	return nil, Source{IgnoredPAC: ignored}
}

// machineProxy is the WinHTTP default proxy (netsh winhttp set proxy),
// which services use and which IT sets on machines where the user's
// settings are not managed.
func machineProxy() (Func, Source) {
	if err := procGetDefaultProxyConfig.Find(); err != nil {
		return nil, Source{}
	}
	var pi proxyInfo
	if r, _, _ := procGetDefaultProxyConfig.Call(uintptr(unsafe.Pointer(&pi))); r == 0 {
		return nil, Source{}
	}
	list, bypass := take(pi.proxy), take(pi.proxyBypass)
	if pi.accessType != accessTypeNamedProxy {
		return nil, Source{}
	}
	f := Static(list, bypass)
	if f == nil {
		return nil, Source{}
	}
	return f, Source{Kind: WinHTTP, Detail: list}
}

// internetSettings is where WinINet keeps the user's proxy; read only
// when winhttp.dll cannot answer.
const internetSettings = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

func registryProxy() (Func, Source) {
	k, err := registry.OpenKey(registry.CURRENT_USER, internetSettings, registry.QUERY_VALUE)
	if err != nil {
		return nil, Source{}
	}
	defer k.Close()
	if on, _, err := k.GetIntegerValue("ProxyEnable"); err != nil || on == 0 {
		return nil, Source{}
	}
	server, _, _ := k.GetStringValue("ProxyServer")
	override, _, _ := k.GetStringValue("ProxyOverride")
	f := Static(server, override)
	if f == nil {
		return nil, Source{}
	}
	return f, Source{Kind: WinINet, Detail: server}
}

// pacProxy asks WinHTTP, per relay host, what the PAC script says; the
// answer is kept a few minutes (the relay is one host, asked often).
type pacProxy struct {
	url      string // the script's URL; empty with detect
	detect   bool   // WPAD (DHCP, then DNS)
	fallback Func   // when the script cannot be had or run

	once    sync.Once
	session uintptr // WinHTTP session for PAC evaluation, kept for the process
	openErr error

	mu    sync.Mutex
	cache map[string]pacAnswer
}

type pacAnswer struct {
	proxy  *url.URL // nil: DIRECT
	failed bool     // no script or it failed: the fallback serves
	until  time.Time
}

const pacTTL = 5 * time.Minute

func (p *pacProxy) proxy(r *http.Request) (*url.URL, error) {
	host := r.URL.Hostname()
	if Bypass(nil).Bypassed(host) { // loopback
		return nil, nil
	}
	key := r.URL.Scheme + "://" + r.URL.Host
	p.mu.Lock()
	a, ok := p.cache[key]
	p.mu.Unlock()
	if !ok || !time.Now().Before(a.until) {
		// Go's transport asks for every request, and a WPAD search on a
		// network without one takes seconds: answers and failures alike
		// are kept pacTTL.
		u, err := p.evaluate(r.URL)
		a = pacAnswer{proxy: u, failed: err != nil, until: time.Now().Add(pacTTL)}
		p.mu.Lock()
		if p.cache == nil {
			p.cache = map[string]pacAnswer{}
		}
		p.cache[key] = a
		p.mu.Unlock()
	}
	if a.failed {
		// No script, or it failed: Windows goes on with the fixed
		// settings, and so do we.
		if p.fallback != nil {
			return p.fallback(r)
		}
		return nil, nil
	}
	return a.proxy, nil
}

func (p *pacProxy) open() {
	agent, _ := windows.UTF16PtrFromString("Send sikkert")
	h, _, err := procOpen.Call(uintptr(unsafe.Pointer(agent)), accessTypeNoProxy, 0, 0, 0)
	if h == 0 {
		p.openErr = err
		return
	}
	// A PAC server that does not answer must not hold a send for WinHTTP's
	// default minute: 5 s to resolve, connect, send and receive.
	procSetTimeouts.Call(h, 5000, 5000, 5000, 5000)
	p.session = h
}

// evaluate runs the PAC script for target in WinHTTP; nil means DIRECT.
func (p *pacProxy) evaluate(target *url.URL) (*url.URL, error) {
	p.once.Do(p.open)
	if p.openErr != nil {
		return nil, p.openErr
	}
	if p.session == 0 {
		return nil, errors.New("proxy: no WinHTTP session")
	}
	wurl, err := windows.UTF16PtrFromString(target.String())
	if err != nil {
		return nil, err
	}
	opts := autoProxyOptions{}
	if p.url != "" {
		opts.flags = autoProxyConfigURL
		opts.autoConfigURL, err = windows.UTF16PtrFromString(p.url)
		if err != nil {
			return nil, err
		}
	} else {
		opts.flags = autoProxyAutoDetect
		opts.autoDetectFlags = autoDetectDHCP | autoDetectDNSA
	}
	var pi proxyInfo
	// Microsoft's advice: without the user's credentials first; only a
	// PAC server that asks for them (12015) gets them.
	r, _, callErr := procGetProxyForURL.Call(p.session, uintptr(unsafe.Pointer(wurl)), uintptr(unsafe.Pointer(&opts)), uintptr(unsafe.Pointer(&pi)))
	if r == 0 && errors.Is(callErr, errLoginFailure) {
		opts.autoLogonIfChallenged = 1
		r, _, callErr = procGetProxyForURL.Call(p.session, uintptr(unsafe.Pointer(wurl)), uintptr(unsafe.Pointer(&opts)), uintptr(unsafe.Pointer(&pi)))
	}
	if r == 0 {
		return nil, callErr
	}
	list, bypass := take(pi.proxy), take(pi.proxyBypass)
	if pi.accessType != accessTypeNamedProxy {
		return nil, nil // the script said DIRECT
	}
	if ParseBypass(bypass).Bypassed(target.Hostname()) {
		return nil, nil
	}
	// "PROXY a:1; PROXY b:2" arrives as "a:1;b:2": the first is used
	// (Go's transport has no failover between proxies).
	return HTTPSProxy(list), nil
}
