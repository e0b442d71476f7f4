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
	"strings"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

// ErrRelayRunning is returned by Restore while a relay holds the store.
var ErrRelayRunning = errors.New("backup: a relay is running on this data folder; stop it first")

// Report is what a restore did.
type Report struct {
	Manifest Manifest
	// ReplacedDir holds what the restore moved aside ("" when the folder
	// held nothing).
	ReplacedDir string
	// Resent are messages done before the restore but pending in the
	// backup: the relay sends them again, with their original MeMo
	// messageUUID.
	Resent []string
	// Pending are messages pending in the backup (Resent among them).
	Pending []string
	// Lost are messages the replaced store had that the backup does not:
	// accepted after the backup was taken.
	Lost []string
	// LostAuditTo is the last audit row known before the restore (from
	// the replaced database), for the restore's audit record.
	LostAuditTo int64
}

// Restore replaces the SQLite database at dbPath and the blobs in blobDir
// with the backup in from. It refuses while a relay holds the store's
// lock. The caller writes the audit record (RecordRestore) on the
// restored database.
func Restore(ctx context.Context, from, dbPath, blobDir string, now time.Time) (Report, error) {
	var rep Report
	lock, err := database.LockFile(dbPath + ".lock")
	if err != nil {
		return rep, ErrRelayRunning
	}
	defer lock.Close()
	in, err := os.Open(from)
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	// Unpack into a staging folder first: a damaged backup changes nothing.
	dataDir := filepath.Dir(dbPath)
	stage, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(stage)
	if rep.Manifest, err = unpack(in, stage); err != nil {
		return rep, err
	}
	staged := filepath.Join(stage, dbName)
	if err := database.Check(ctx, "sqlite:"+staged, "", ""); err != nil {
		return rep, fmt.Errorf("backup: the backup's database: %w", err)
	}
	// What the current store knows, to name what the restore changes.
	backupDone, err := messageStates(ctx, staged)
	if err != nil {
		return rep, err
	}
	var current map[string]bool
	if _, err := os.Stat(dbPath); err == nil {
		current, _ = messageStates(ctx, dbPath) // a damaged store names nothing
		rep.LostAuditTo, _, _ = summary(ctx, dbPath)
	}
	for id, done := range backupDone {
		if done {
			continue
		}
		rep.Pending = append(rep.Pending, id)
		if current[id] {
			rep.Resent = append(rep.Resent, id)
		}
	}
	for id := range current {
		if _, ok := backupDone[id]; !ok {
			rep.Lost = append(rep.Lost, id)
		}
	}
	sortAll(rep.Pending, rep.Resent, rep.Lost)

	// Move the current store aside, never delete it.
	replaced := filepath.Join(dataDir, "replaced-"+now.UTC().Format("20060102T150405Z"))
	moved := false
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", blobDir} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if !moved {
			if err := os.MkdirAll(replaced, 0o700); err != nil {
				return rep, fmt.Errorf("backup: %w", err)
			}
			moved = true
		}
		if err := os.Rename(p, filepath.Join(replaced, filepath.Base(p))); err != nil {
			return rep, fmt.Errorf("backup: set %s aside: %w", p, err)
		}
	}
	if moved {
		rep.ReplacedDir = replaced
	}
	os.Remove(dbPath + ".open") // the old store's crash marker, if any
	// The blobs first: a restore cut short leaves no database without its
	// attachments, and the store check then refuses to start on it.
	stagedBlobs := filepath.Join(stage, "blobs")
	if _, err := os.Stat(stagedBlobs); err == nil {
		if err := os.Rename(stagedBlobs, blobDir); err != nil {
			return rep, fmt.Errorf("backup: %w", err)
		}
	} else if err := os.MkdirAll(blobDir, 0o700); err != nil {
		return rep, err
	}
	if err := os.Rename(staged, dbPath); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	return rep, vault.SyncDir(dataDir)
}

func sortAll(lists ...[]string) {
	for _, l := range lists {
		for i := 1; i < len(l); i++ {
			for j := i; j > 0 && l[j] < l[j-1]; j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
}

// unpack extracts a backup into dir, refusing names that would leave it.
func unpack(r io.Reader, dir string) (Manifest, error) {
	var m Manifest
	tr := tar.NewReader(r)
	haveDB := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("backup: the backup file is damaged: %w", err)
		}
		name := h.Name
		switch {
		case name == manifestName:
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
				return m, fmt.Errorf("backup: manifest: %w", err)
			}
			continue
		case name == dbName:
			haveDB = true
		case strings.HasPrefix(name, blobPrefix) && !strings.ContainsAny(name[len(blobPrefix):], `/\`) && name != blobPrefix && !strings.HasPrefix(name[len(blobPrefix):], "."):
			os.MkdirAll(filepath.Join(dir, "blobs"), 0o700)
		default:
			return m, fmt.Errorf("backup: unexpected entry %q in the backup", name)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		_, err = io.Copy(out, tr)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, fmt.Errorf("backup: unpack %s: %w", name, err)
		}
	}
	if m.Format != format || !haveDB {
		return m, fmt.Errorf("backup: not a Send sikkert relay backup (format %d, database %v)", m.Format, haveDB)
	}
	return m, nil
}

// messageStates maps each message id of a store to whether it is done.
func messageStates(ctx context.Context, path string) (map[string]bool, error) {
	db, err := sql.Open("sqlite", "file:"+database.SQLiteURIPath(path)+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, done FROM relay_messages`)
	if missingTable(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: messages of %s: %w", path, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		var done int
		if err := rows.Scan(&id, &done); err != nil {
			return nil, err
		}
		out[id] = done != 0
	}
	return out, rows.Err()
}
