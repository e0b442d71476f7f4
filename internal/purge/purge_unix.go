//go:build !windows

package purge

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// dataDirs are the folders Send sikkert makes in a home: the agent's data
// (os.UserConfigDir) and its log files (logfile.Dir).
var dataDirs = func() []string {
	if runtime.GOOS == "darwin" {
		return []string{"Library/Application Support/sendsikkert", "Library/Logs/sendsikkert"}
	}
	return []string{".config/sendsikkert", ".local/state/sendsikkert"}
}()

// HomeRoot is where user homes live; tests point it elsewhere.
var HomeRoot = func() string {
	if runtime.GOOS == "darwin" {
		return "/Users"
	}
	return "/home"
}()

// Profiles lists the homes under HomeRoot (one folder per user); a home
// that is a link is not followed. Accounts with homes elsewhere (root,
// system users) run no desktop agent.
func Profiles() ([]Profile, error) {
	entries, err := os.ReadDir(HomeRoot)
	if err != nil {
		return nil, err
	}
	var out []Profile
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 || !e.IsDir() {
			continue
		}
		out = append(out, Profile{User: e.Name(), Home: filepath.Join(HomeRoot, e.Name())})
	}
	return out, nil
}

func isReparsePoint(fs.FileInfo) bool { return false }
