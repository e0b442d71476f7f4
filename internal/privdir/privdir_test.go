package privdir

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestEnsureTightens(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("ACLs, not modes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	made := filepath.Join(t.TempDir(), "a", "b")
	if err := Ensure(made); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(made); fi.Mode().Perm() != 0o700 {
		t.Fatalf("new folder mode %v", fi.Mode().Perm())
	}
}
