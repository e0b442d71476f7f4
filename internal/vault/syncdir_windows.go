//go:build windows

package vault

// SyncDir is a no-op on Windows: a directory cannot be opened for syncing
// there (FlushFileBuffers through os), and NTFS journals the rename
// (MoveFileEx) itself.
func SyncDir(dir string) error { return nil }
