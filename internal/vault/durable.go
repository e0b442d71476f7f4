package vault

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with what write writes, so that a crash leaves
// the old file or the complete new one, never a torn one: the plain
// counterpart of File. write gets a temporary file .<name>.tmp-* in the
// same folder (hidden, and not ending as the real one does, so no watcher
// takes it for the file; the rename cannot cross file systems), which is
// synced, given perm, renamed into place, and the folder synced (SyncDir).
// On failure the temporary file is removed.
func WriteFile(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}
