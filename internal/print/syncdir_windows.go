//go:build windows

package print

// syncDir is a no-op on Windows: a directory cannot be opened for syncing
// there, and NTFS journals the rename (MoveFileEx) itself.
func syncDir(dir string) error { return nil }
