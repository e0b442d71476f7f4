//go:build !windows

package door

import "os"

// restrictState: the state folder may be read (ca.crt) but only written by
// the door's account.
func restrictState(dir string) error { return os.Chmod(dir, 0o755) }

func restrictKey(path string) error { return os.Chmod(path, 0o600) }
