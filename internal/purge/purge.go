// Package purge removes every user's Send sikkert data from a machine: the
// uninstaller's PURGE=1 runs `sendsikkert purge --all-users` as SYSTEM
// (root elsewhere). It finds the user profiles the OS knows, and in each
// removes only the folders Send sikkert itself makes there.
package purge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Profile is one user's home folder.
type Profile struct {
	User string // the account's name or SID, for the report
	Home string
}

// Result is what happened in one data folder.
type Result struct {
	Profile Profile
	Path    string
	Removed bool
	// Err says why the folder was left; a folder that does not exist is
	// neither removed nor an error.
	Err error
}

// ErrLink: a folder on the way to the data is a symbolic link or junction.
// Purge runs as SYSTEM or root in folders users own, so it never follows
// one: a user could point it at anything on the machine.
var ErrLink = errors.New("purge: a folder on the way is a link; left alone")

// All removes the Send sikkert data folders in every profile.
func All(profiles []Profile) []Result {
	var out []Result
	for _, p := range profiles {
		for _, rel := range dataDirs {
			path := filepath.Join(p.Home, rel)
			r := Result{Profile: p, Path: path}
			r.Removed, r.Err = remove(p.Home, rel)
			out = append(out, r)
		}
	}
	return out
}

// remove deletes home/rel after checking that no part of rel below home
// is a link, and that rel's last part is a real folder.
func remove(home, rel string) (bool, error) {
	path := home
	for _, part := range splitPath(rel) {
		path = filepath.Join(path, part)
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("purge: %s: %w", path, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 || isReparsePoint(fi) {
			return false, fmt.Errorf("%w: %s", ErrLink, path)
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("purge: %s is not a folder; left alone", path)
		}
	}
	// RemoveAll never follows links inside the folder: it removes the
	// link itself.
	if err := os.RemoveAll(path); err != nil {
		return false, fmt.Errorf("purge: remove %s: %w", path, err)
	}
	return true, nil
}

func splitPath(rel string) []string {
	var parts []string
	for rel != "" && rel != "." {
		dir, file := filepath.Split(filepath.Clean(rel))
		parts = append([]string{file}, parts...)
		rel = filepath.Clean(dir)
		if dir == "" {
			break
		}
	}
	return parts
}
