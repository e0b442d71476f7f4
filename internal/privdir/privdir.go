// Package privdir makes a folder private to the user who owns it: 0700 on
// Unix, a protected ACL of the user and SYSTEM on Windows. The agent's data
// folder holds the outbox, the Log and the window's credential; on a shared
// host nobody else may list it, let alone read it.
package privdir

import (
	"fmt"
	"os"
)

// Ensure creates dir (and its parents) if needed and makes it private to
// the current user, tightening a folder that an older version, a restore
// or a careless copy left open.
func Ensure(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("privdir: create %s: %w", dir, err)
	}
	if err := restrict(dir); err != nil {
		return fmt.Errorf("privdir: restrict %s: %w", dir, err)
	}
	return nil
}
