// Package autostart makes the agent start at login: an XDG autostart entry
// on Linux, a LaunchAgent on macOS, the Run key on Windows (HKCU; the
// installer's HKLM entry counts as on). The portable part is here; each
// platform's entry is in autostart_<os>.go.
package autostart

import (
	"os"
	"path/filepath"
)

// Flag marks a start at login, so a second start then (two entries, an
// agent already running) exits quietly instead of opening the window.
const Flag = "--autostart"

// Entry is what starts at login.
type Entry struct {
	// Exe is the agent's executable (absolute).
	Exe string
	// Args follow it; Flag is added.
	Args []string
	// Dir overrides where the entry lives (tests): the autostart folder on
	// Linux, LaunchAgents on macOS; ignored on Windows.
	Dir string
}

// Current is an entry for the running executable.
func Current(args ...string) (Entry, error) {
	exe, err := os.Executable()
	if err != nil {
		return Entry{}, err
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return Entry{Exe: exe, Args: args}, nil
}

func (e Entry) argv() []string {
	return append(append([]string{e.Exe}, e.Args...), Flag)
}
