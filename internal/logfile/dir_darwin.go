package logfile

import (
	"os"
	"path/filepath"
)

// dir: ~/Library/Logs/sendsikkert, where Console.app looks.
func dir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "sendsikkert", "logs")
	}
	return filepath.Join(home, "Library", "Logs", "sendsikkert")
}
