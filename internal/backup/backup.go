// Package backup takes a consistent online backup of a running SQLite
// relay and restores it. A backup is one tar file: manifest.json, the
// database as `VACUUM INTO` wrote it (one read transaction, so a
// consistent snapshot, while the relay keeps serving), and the attachment
// blobs — still encrypted, as the relay keeps them. PostgreSQL relays are
// backed up with PostgreSQL's own tools (docs/relay.md).
//
// A restore never deletes what it replaces: the current database and
// blobs move aside to a folder named replaced-<time>. The messages the
// restored relay will send again are listed (those delivered after the
// backup keep their MeMo messageUUID, on which NgDP de-duplicates), and so
// are those accepted after the backup, which the restored relay no longer
// has; the audit log gets a keyed record of the rows it lost.
package backup

import (
	"archive/tar"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

// Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	TakenAt time.Time `json:"takenAt"`
	// AuditSeq is the last audit row in the backup.
	AuditSeq int64 `json:"auditSeq"`
	Messages int   `json:"messages"`
	Blobs    int   `json:"blobs"`
}

const (
	format       = 1
	manifestName = "manifest.json"
	dbName       = "relay.sqlite"
	blobPrefix   = "blobs/"
)

// Take writes a backup of the SQLite database at dbPath and the blobs in
// blobDir to out (atomically: a temporary file renamed into place once
// synced). The relay may be running.
func Take(ctx context.Context, dbPath, blobDir, out string, now time.Time) (Manifest, error) {
	m := Manifest{Format: format, TakenAt: now.UTC()}
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".backup-")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	// Blobs are written before the record that names them is committed,
	// and removed only after it is done: listing them before the snapshot
	// and again after it catches every blob the snapshot can name.
	before, err := listBlobs(blobDir)
	if err != nil {
		return m, err
	}
	snap := filepath.Join(tmpDir, dbName)
	db, err := sql.Open("sqlite", "file:"+database.SQLiteURIPath(dbPath)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return m, fmt.Errorf("backup: open %s: %w", dbPath, err)
	}
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, snap)
	db.Close()
	if err != nil {
		return m, fmt.Errorf("backup: snapshot of %s: %w", dbPath, err)
	}
	after, err := listBlobs(blobDir)
	if err != nil {
		return m, err
	}
	blobs := union(before, after)
	if m.AuditSeq, m.Messages, err = summary(ctx, snap); err != nil {
		return m, err
	}
	f, err := os.CreateTemp(filepath.Dir(out), ".backup-*.tar")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(f.Name())
	tw := tar.NewWriter(f)
	add := func(name, path string) error {
		src, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(name, blobPrefix) {
			return nil // delivered and removed since it was listed
		}
		if err != nil {
			return err
		}
		defer src.Close()
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		return err
	}
	m.Blobs = len(blobs)
	man, _ := json.MarshalIndent(m, "", "  ")
	err = tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(man)), ModTime: m.TakenAt})
	if err == nil {
		_, err = tw.Write(man)
	}
	if err == nil {
		err = add(dbName, snap)
	}
	for _, b := range blobs {
		if err != nil {
			break
		}
		err = add(blobPrefix+b, filepath.Join(blobDir, b))
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, fmt.Errorf("backup: write %s: %w", out, err)
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return m, err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, vault.SyncDir(filepath.Dir(out))
}

func listBlobs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: blobs: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(a, b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// summary reads a database's last audit row and message count (columns in
// clear; nothing sealed is read).
func summary(ctx context.Context, path string) (auditSeq int64, messages int, err error) {
	db, err := sql.Open("sqlite", "file:"+database.SQLiteURIPath(path)+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	var seq sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_log`).Scan(&seq); err != nil && !missingTable(err) {
		return 0, 0, fmt.Errorf("backup: audit rows of %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM relay_messages`).Scan(&messages); err != nil && !missingTable(err) {
		return 0, 0, fmt.Errorf("backup: messages of %s: %w", path, err)
	}
	return seq.Int64, messages, nil
}

func missingTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}
