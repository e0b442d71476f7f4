//go:build !windows && !darwin

package logfile

import (
	"os"
	"path/filepath"
)

// dir: $XDG_STATE_HOME/sendsikkert/logs, by default ~/.local/state (the
// XDG base directories' place for logs).
func dir() string {
	if s := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(s) {
		return filepath.Join(s, "sendsikkert", "logs")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "sendsikkert", "logs")
	}
	return filepath.Join(home, ".local", "state", "sendsikkert", "logs")
}
