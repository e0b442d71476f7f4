package proxy

import (
	"testing"
	"unsafe"
)

// The structs handed to winhttp.dll must have the C layout of
// WINHTTP_CURRENT_USER_IE_PROXY_CONFIG, WINHTTP_PROXY_INFO and
// WINHTTP_AUTOPROXY_OPTIONS, or WinHTTP writes past them.
func TestWinHTTPLayouts(t *testing.T) {
	p := unsafe.Sizeof(uintptr(0))
	if got, want := unsafe.Sizeof(ieProxyConfig{}), 4*p; got != want {
		t.Errorf("ieProxyConfig: %d bytes, want %d", got, want)
	}
	if got, want := unsafe.Sizeof(proxyInfo{}), 3*p; got != want {
		t.Errorf("proxyInfo: %d bytes, want %d", got, want)
	}
	want := uintptr(32) // DWORD DWORD LPCWSTR LPVOID DWORD BOOL on 64-bit
	if p == 4 {
		want = 24
	}
	if got := unsafe.Sizeof(autoProxyOptions{}); got != want {
		t.Errorf("autoProxyOptions: %d bytes, want %d", got, want)
	}
	if off := unsafe.Offsetof(autoProxyOptions{}.autoConfigURL); off != 8 {
		t.Errorf("autoProxyOptions.autoConfigURL at %d, want 8", off)
	}
}

// On a real Windows the system settings are read without a crash, and
// whatever they say is named.
func TestSystemReads(t *testing.T) {
	f, src := system()
	if f == nil && src.Kind != None {
		t.Errorf("no proxy but source %v", src)
	}
	t.Logf("system proxy: %v", src)
}
