//go:build !windows

package vault

import "os"

// SyncDir makes a rename in dir durable: on POSIX systems the directory
// entry is only on disk once the directory itself is synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
