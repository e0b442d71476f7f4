//go:build linux

package purge

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Every user's data and logs go; everything else in the homes stays, and a
// link a user planted on the way is never followed.
func TestAllUsers(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir() // stands for /etc: must survive
	HomeRoot = root
	t.Cleanup(func() { HomeRoot = "/home" })

	write(t, filepath.Join(root, "anna", ".config/sendsikkert/agent.db"))
	write(t, filepath.Join(root, "anna", ".config/sendsikkert/tls/ca.pem"))
	write(t, filepath.Join(root, "anna", ".local/state/sendsikkert/logs/sendsikkert.log"))
	write(t, filepath.Join(root, "anna", ".config/other/keep.txt"))
	write(t, filepath.Join(root, "bo", ".config/sendsikkert/agent.db"))
	// bo links his data folder's link target inside: RemoveAll removes the link only.
	write(t, filepath.Join(outside, "inner", "keep"))
	if err := os.Symlink(filepath.Join(outside, "inner"), filepath.Join(root, "bo", ".config/sendsikkert/link")); err != nil {
		t.Fatal(err)
	}
	// carl's .local is a link to "/etc": his log folder is left alone.
	write(t, filepath.Join(outside, "state", "sendsikkert", "keep"))
	if err := os.MkdirAll(filepath.Join(root, "carl"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "carl", ".local")); err != nil {
		t.Fatal(err)
	}
	// a home that is itself a link is not a profile.
	if err := os.Symlink(outside, filepath.Join(root, "dora")); err != nil {
		t.Fatal(err)
	}

	profiles, err := Profiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 3 {
		t.Fatalf("profiles: %+v", profiles)
	}
	results := All(profiles)
	removed, linked := 0, 0
	for _, r := range results {
		if r.Removed {
			removed++
		}
		if errors.Is(r.Err, ErrLink) {
			linked++
		} else if r.Err != nil {
			t.Errorf("%s: %v", r.Path, r.Err)
		}
	}
	if removed != 3 || linked != 1 {
		t.Fatalf("removed %d, refused %d links: %+v", removed, linked, results)
	}
	for _, gone := range []string{"anna/.config/sendsikkert", "anna/.local/state/sendsikkert", "bo/.config/sendsikkert"} {
		if exists(filepath.Join(root, gone)) {
			t.Errorf("%s still there", gone)
		}
	}
	for _, kept := range []string{filepath.Join(root, "anna/.config/other/keep.txt"), filepath.Join(outside, "inner", "keep"), filepath.Join(outside, "state", "sendsikkert", "keep")} {
		if !exists(kept) {
			t.Errorf("%s was removed", kept)
		}
	}
	// Running again finds nothing to do and reports no error.
	for _, r := range All(profiles) {
		if r.Removed || (r.Err != nil && !errors.Is(r.Err, ErrLink)) {
			t.Errorf("second run: %+v", r)
		}
	}
}

func TestSplitPath(t *testing.T) {
	got := splitPath(".local/state/sendsikkert")
	if len(got) != 3 || got[0] != ".local" || got[2] != "sendsikkert" {
		t.Fatalf("%q", got)
	}
}
