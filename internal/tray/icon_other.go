//go:build !windows

package tray

// platformIcon: Linux and macOS take the PNG as it is.
func platformIcon(pngBytes []byte) []byte { return pngBytes }
