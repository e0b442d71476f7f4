//go:build !windows

package privdir

import (
	"fmt"
	"os"
	"syscall"
)

func restrict(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		// Someone else's folder: chmod would fail or, as root, take it
		// over silently. Neither is right.
		return fmt.Errorf("%s belongs to uid %d, not to this user (%d)", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}
