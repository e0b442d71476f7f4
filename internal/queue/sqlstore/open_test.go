package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/queue"
)

// TestOpenStoreKinds: the database setting picks the store; a second
// process (here: a second open) cannot share a SQLite file; an unknown
// setting is refused without echoing a password.
func TestOpenStoreKinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tt := range []struct {
		database string
		want     string
	}{
		{"", "*sqlstore.SQLStore"},
		{"sqlite:" + filepath.Join(dir, "other", "q.sqlite"), "*sqlstore.SQLStore"},
		{"bolt", "*queue.BoltStore"},
	} {
		s, err := OpenStore(ctx, tt.database, filepath.Join(dir, strings.ReplaceAll(tt.database, "/", "_")), testKey())
		if err != nil {
			t.Fatalf("%q: %v", tt.database, err)
		}
		if got := typeName(s); got != tt.want {
			t.Errorf("%q opened %s, want %s", tt.database, got, tt.want)
		}
		s.Close()
	}
	first, err := OpenSQLite(ctx, filepath.Join(dir, "one.sqlite"), filepath.Join(dir, "blobs"), testKey())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if first.Postgres() || first.DB() == nil || first.Rebind("a = ?") != "a = ?" {
		t.Error("SQLite store describes itself wrongly")
	}
	if _, err := OpenSQLite(ctx, filepath.Join(dir, "one.sqlite"), filepath.Join(dir, "blobs"), testKey()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
	_, err = OpenStore(ctx, "mysql://relay:hemmelig@db/relay", dir, testKey())
	if err == nil || strings.Contains(err.Error(), "hemmelig") || !strings.Contains(err.Error(), "unknown database") {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := OpenPostgres(ctx, "postgres://relay:hemmelig@db:notaport/relay", testKey()); err == nil || strings.Contains(err.Error(), "hemmelig") {
		t.Fatalf("bad PostgreSQL address: %v", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://relay:hemmelig@db:5432/relay": "postgres://…@db:5432/relay",
		"relay:hemmelig@db":                       "…@db",
		"sqlite:/var/lib/relay.sqlite":            "sqlite:/var/lib/relay.sqlite",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func typeName(s queue.Store) string {
	switch s.(type) {
	case *SQLStore:
		return "*sqlstore.SQLStore"
	case *queue.BoltStore:
		return "*queue.BoltStore"
	}
	return "?"
}
