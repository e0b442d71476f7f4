package database

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrDamaged marks a store the relay must not start on: starting would
// serve an empty or partial queue over messages it had accepted.
var ErrDamaged = errors.New("store damaged")

// SchemaVersion is the relay schema this program knows. A PostgreSQL
// database written by a newer relay is refused rather than half
// understood.
const SchemaVersion = 1

// Finding is one thing Check found wrong, naming the file or database.
type Finding struct {
	Where string
	What  string
}

func (f Finding) Error() string { return fmt.Sprintf("%s: %s", f.Where, f.What) }
func (f Finding) Unwrap() error { return ErrDamaged }

// Check inspects the store that Open(dsn, dataDir, name) would open,
// without changing it, and returns a Finding (wrapping ErrDamaged) when
// the relay must not start on it; any other error means it could not
// look (PostgreSQL unreachable). `sendsikkert-relay check` runs it on
// demand, `serve` before it opens anything.
//
// SQLite: a database file missing where this data folder had one (its
// .created marker, or a -wal file, or attachment blobs lying beside it);
// a file that is not a SQLite database; `PRAGMA quick_check` not "ok";
// a relay that stopped uncleanly (its .open marker left behind) whose WAL
// file is gone — the commits since the last checkpoint, acknowledged to
// their senders, would be lost without a word.
// PostgreSQL: a schema version newer than this program's.
func Check(ctx context.Context, dsn, dataDir, name string) error {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := Open(ctx, dsn, "", "")
		if err != nil {
			return err
		}
		defer db.Close()
		return checkSchema(ctx, db, redact(dsn))
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		path = filepath.Join(dataDir, name)
	}
	return checkSQLite(ctx, path, filepath.Join(filepath.Dir(path), "blobs"))
}

func checkSQLite(ctx context.Context, path, blobDir string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		switch {
		case exists(path + createdSuffix):
			return Finding{path, "the database file is missing, but this data folder had one (" + filepath.Base(path+createdSuffix) + "); restore it from a backup (sendsikkert-relay restore) rather than start empty"}
		case exists(path + "-wal"):
			return Finding{path, "the database file is missing, but its WAL file " + filepath.Base(path) + "-wal is there"}
		case nonEmptyDir(blobDir):
			return Finding{path, "the database file is missing, but attachments of accepted messages lie in " + blobDir}
		}
		return nil // a new relay
	}
	if err != nil {
		return fmt.Errorf("database: check %s: %w", path, err)
	}
	if fi.IsDir() {
		return Finding{path, "is a folder, not a database file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("database: check %s: %w", path, err)
	}
	head := make([]byte, 100)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if n == 0 {
		if exists(path + createdSuffix) {
			return Finding{path, "the database file is empty, but this data folder had a database"}
		}
		return nil
	}
	if n < 100 || !bytes.HasPrefix(head, []byte("SQLite format 3\x00")) {
		return Finding{path, "is not a SQLite database (its header is damaged)"}
	}
	// Bytes 18 and 19 are 2 in WAL mode.
	if head[18] == 2 && exists(path+openSuffix) && !exists(path+"-wal") {
		return Finding{path, "the relay stopped without closing the database, and its WAL file " + filepath.Base(path) + "-wal is gone: messages accepted since the last checkpoint would be lost"}
	}
	// Read-only and immutable=0: the check changes nothing, not even the
	// WAL (a read-only connection still reads it).
	db, err := sql.Open("sqlite", "file:"+SQLiteURIPath(path)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("database: check %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return Finding{path, "cannot be read as a database: " + err.Error()}
	}
	defer rows.Close()
	var findings []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return Finding{path, "quick_check: " + err.Error()}
		}
		if s != "ok" {
			findings = append(findings, s)
		}
	}
	if err := rows.Err(); err != nil {
		return Finding{path, "quick_check: " + err.Error()}
	}
	if len(findings) > 0 {
		if len(findings) > 3 {
			findings = append(findings[:3], fmt.Sprintf("and %d more", len(findings)-3))
		}
		return Finding{path, "quick_check found damage: " + strings.Join(findings, "; ")}
	}
	return nil
}

// Suffixes of the markers beside a SQLite database.
const (
	createdSuffix = ".created" // this folder has held a database: a missing one is damage
	openSuffix    = ".open"    // a relay has it open; left behind by a crash
)

// MarkOpen records beside a SQLite database (dsn and name as for Open) that
// it exists and is open; the returned function, called on a clean stop,
// removes the open marker. For PostgreSQL it records the schema version.
func MarkOpen(ctx context.Context, db *DB, dsn, dataDir, name string) (closed func(), err error) {
	if db.Postgres {
		return func() {}, setSchema(ctx, db)
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		path = filepath.Join(dataDir, name)
	}
	for _, m := range []string{path + createdSuffix, path + openSuffix} {
		if err := writeMarker(m); err != nil {
			return nil, fmt.Errorf("database: marker %s: %w", m, err)
		}
	}
	return func() { os.Remove(path + openSuffix) }, nil
}

// CloseCleanly closes db, opened by an administrator's command (not
// serve), and then — when no relay holds the store's lock — removes an
// open marker a crashed relay left: Check found the WAL in place before
// this command opened the database, and SQLite has just checkpointed it
// into the file on this clean close, so nothing is lost any more. While a
// relay runs, its marker stays.
func CloseCleanly(db *DB, dsn, dataDir, name string) error {
	err := db.Close()
	if err != nil || db.Postgres {
		return err
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		path = filepath.Join(dataDir, name)
	}
	if !exists(path + openSuffix) {
		return nil
	}
	lock, lerr := LockFile(path + ".lock")
	if lerr != nil {
		return nil // a relay runs on it
	}
	defer lock.Close()
	if !exists(path + "-wal") {
		os.Remove(path + openSuffix)
	}
	return nil
}

func writeMarker(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func checkSchema(ctx context.Context, db *DB, where string) error {
	var v int
	err := db.QueryRowContext(ctx, `SELECT version FROM relay_schema`).Scan(&v)
	switch {
	case err == nil:
	case errors.Is(err, sql.ErrNoRows):
		return Finding{where, "the relay_schema table is empty"}
	default:
		// No table: a database no relay has started on yet, or one from
		// before the version was recorded.
		var found bool
		if qerr := db.QueryRowContext(ctx, `SELECT to_regclass('relay_schema') IS NOT NULL`).Scan(&found); qerr != nil {
			return fmt.Errorf("database: check %s: %w", where, qerr)
		}
		if !found {
			return nil
		}
		return fmt.Errorf("database: check %s: %w", where, err)
	}
	if v > SchemaVersion {
		return Finding{where, fmt.Sprintf("schema version %d is newer than this relay's (%d): upgrade the relay, do not start an older one on it", v, SchemaVersion)}
	}
	return nil
}

func setSchema(ctx context.Context, db *DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS relay_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("database: schema version: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM relay_schema`).Scan(&n); err != nil {
		return fmt.Errorf("database: schema version: %w", err)
	}
	if n == 0 {
		_, err := db.ExecContext(ctx, db.Q(`INSERT INTO relay_schema (version) VALUES (?)`), SchemaVersion)
		return err
	}
	return nil
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func nonEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}
