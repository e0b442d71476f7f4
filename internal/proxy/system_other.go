//go:build !windows

package proxy

// system: outside Windows the environment (HTTPS_PROXY) is the system's
// proxy setting; desktop proxy settings (GNOME, macOS) are not read.
func system() (Func, Source) { return nil, Source{} }
