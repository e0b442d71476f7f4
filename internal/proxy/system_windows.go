package proxy

import (
	"golang.org/x/sys/windows/registry"
)

// internetSettings is where WinINet (Internet Options, the GPO "Proxy
// settings") keeps the user's proxy.
const internetSettings = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// system reads the user's WinINet proxy: ProxyEnable (DWORD), ProxyServer
// and ProxyOverride. WinHTTP's machine proxy (netsh winhttp) serves
// services, not a user's agent, and is not read.
func system() (Func, string) {
	k, err := registry.OpenKey(registry.CURRENT_USER, internetSettings, registry.QUERY_VALUE)
	if err != nil {
		return nil, ""
	}
	defer k.Close()
	if on, _, err := k.GetIntegerValue("ProxyEnable"); err != nil || on == 0 {
		return nil, ""
	}
	server, _, _ := k.GetStringValue("ProxyServer")
	override, _, _ := k.GetStringValue("ProxyOverride")
	f := WinINet(server, override)
	if f == nil {
		return nil, ""
	}
	return f, `WinINet (HKCU\` + internetSettings + `): ` + server
}
