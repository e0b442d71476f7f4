//go:build windows

package certs

// syncDir is a no-op: Windows cannot open a directory for FlushFileBuffers
// through os, and NTFS journals the rename itself.
func syncDir(dir string) error { return nil }
