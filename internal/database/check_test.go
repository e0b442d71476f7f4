package database

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// store makes a SQLite database as the relay leaves it after a clean
// stop: rows written, markers set, connection closed.
func store(t *testing.T, rows int) (dir, path string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	db, err := Open(ctx, "", dir, "relay.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	closed, err := MarkOpen(ctx, db, "", dir, "relay.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if _, err := db.Exec(`INSERT INTO m (v) VALUES (?)`, fmt.Sprintf("%0200d", i)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	closed()
	return dir, filepath.Join(dir, "relay.sqlite")
}

func TestCheckSQLite(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		make   func(t *testing.T) string // returns the data folder
		damage string                    // "" when the store is sound
	}{
		{"new relay, empty folder", func(t *testing.T) string { return t.TempDir() }, ""},
		{"sound store after a clean stop", func(t *testing.T) string { d, _ := store(t, 50); return d }, ""},
		{"database deleted", func(t *testing.T) string {
			d, p := store(t, 5)
			os.Remove(p)
			return d
		}, "database file is missing"},
		{"database gone, WAL left", func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "relay.sqlite-wal"), []byte("x"), 0o600)
			return d
		}, "WAL file"},
		{"database gone, blobs left", func(t *testing.T) string {
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "blobs"), 0o700)
			os.WriteFile(filepath.Join(d, "blobs", "0123abcd"), []byte("x"), 0o600)
			return d
		}, "attachments of accepted messages"},
		{"emptied file", func(t *testing.T) string {
			d, p := store(t, 5)
			os.Truncate(p, 0)
			return d
		}, "file is empty"},
		{"not a database", func(t *testing.T) string {
			d, p := store(t, 5)
			os.WriteFile(p, []byte(strings.Repeat("garbage ", 100)), 0o600)
			return d
		}, "not a SQLite database"},
		{"damaged pages", func(t *testing.T) string {
			d, p := store(t, 2000)
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			// Scribble over pages in the middle of the table's b-tree.
			for off := int64(3 * 4096); off < 12*4096; off += 4096 {
				f.WriteAt([]byte(strings.Repeat("\xff\x00", 300)), off+8)
			}
			f.Close()
			return d
		}, "quick_check"},
		{"crash with the WAL deleted", func(t *testing.T) string {
			d, p := store(t, 5)
			os.WriteFile(p+openSuffix, nil, 0o600) // the relay did not stop cleanly
			os.Remove(p + "-wal")
			return d
		}, "WAL file relay.sqlite-wal is gone"},
		{"crash with the WAL in place", func(t *testing.T) string {
			d, p := store(t, 5)
			os.WriteFile(p+openSuffix, nil, 0o600)
			// A live connection's WAL, as a crash leaves it.
			db, _ := Open(ctx, "", d, "relay.sqlite")
			db.Exec(`INSERT INTO m (v) VALUES ('after')`)
			if !exists(p + "-wal") {
				t.Fatal("no WAL while open")
			}
			t.Cleanup(func() { db.Close() })
			return d
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.make(t)
			err := Check(ctx, "", dir, "relay.sqlite")
			if c.damage == "" {
				if err != nil {
					t.Fatalf("sound store refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), c.damage) {
				t.Fatalf("got %v, want a damage finding containing %q", err, c.damage)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "relay.sqlite")) {
				t.Errorf("finding %q does not name the file", err)
			}
		})
	}
}

// TestCloseCleanlyAfterACrash: an administrator's command after a crash
// checkpoints the WAL on its clean close and clears the crash marker, so
// the next start is not refused; while a relay holds the lock, the marker
// stays.
func TestCloseCleanlyAfterACrash(t *testing.T) {
	ctx := context.Background()
	dir, p := store(t, 5)
	os.WriteFile(p+openSuffix, nil, 0o600) // a relay crashed
	db, err := Open(ctx, "", dir, "relay.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := LockFile(p + ".lock") // ... and another relay now runs
	if err != nil {
		t.Fatal(err)
	}
	if err := CloseCleanly(db, "", dir, "relay.sqlite"); err != nil {
		t.Fatal(err)
	}
	if !exists(p + openSuffix) {
		t.Fatal("the marker of a running relay was removed")
	}
	lock.Close()
	db, _ = Open(ctx, "", dir, "relay.sqlite")
	if err := CloseCleanly(db, "", dir, "relay.sqlite"); err != nil {
		t.Fatal(err)
	}
	if exists(p + openSuffix) {
		t.Fatal("the crash marker stayed after a clean close with no relay running")
	}
	if err := Check(ctx, "", dir, "relay.sqlite"); err != nil {
		t.Fatalf("store refused after a clean close: %v", err)
	}
}
