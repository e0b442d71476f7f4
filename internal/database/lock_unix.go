//go:build unix

package database

import (
	"os"

	"golang.org/x/sys/unix"
)

// LockFile takes an exclusive lock on path, or fails at once if another
// process (or another open in this one) holds it: a second process cannot
// open the same SQLite store.

func LockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
