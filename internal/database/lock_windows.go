//go:build windows

package database

import (
	"os"

	"golang.org/x/sys/windows"
)

// LockFile takes an exclusive lock on path, or fails at once if another
// process (or another open in this one) holds it: a second process cannot
// open the same SQLite store.

func LockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{})
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
