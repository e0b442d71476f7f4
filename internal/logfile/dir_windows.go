package logfile

import (
	"os"
	"path/filepath"
)

// dir: %LOCALAPPDATA%\sendsikkert\logs (local, not roaming: logs must not
// follow the user to every PC).
func dir() string {
	base := os.Getenv("LOCALAPPDATA")
	if base == "" {
		base = os.TempDir()
	}
	return filepath.Join(base, "sendsikkert", "logs")
}
