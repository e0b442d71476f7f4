// Package databasetest opens the databases a test suite runs against:
// SQLite always, and a real PostgreSQL when SENDSIKKERT_PG_DSN names one
// (the README test command starts a throwaway server). Each PostgreSQL
// test gets its own schema, dropped afterwards.
package databasetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for PostgreSQL

	"sendsikkert/internal/database"
)

// Each runs f once per available database.
func Each(t *testing.T, f func(t *testing.T, db *database.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := database.Open(context.Background(), "", t.TempDir(), "test.sqlite")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db := Postgres(t)
		f(t, db)
	})
}

// Postgres opens a fresh schema on SENDSIKKERT_PG_DSN, or skips (fails
// when SENDSIKKERT_REQUIRE_TOOLS=1).
func Postgres(t *testing.T) *database.DB {
	t.Helper()
	db, _ := PostgresDSN(t)
	return db
}

// PostgresDSN is Postgres that also returns the address of the fresh
// schema, for code that opens the database itself.
func PostgresDSN(t *testing.T) (*database.DB, string) {
	t.Helper()
	dsn := os.Getenv("SENDSIKKERT_PG_DSN")
	if dsn == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatal("SENDSIKKERT_PG_DSN is required (SENDSIKKERT_REQUIRE_TOOLS=1)")
		}
		t.Skip("SENDSIKKERT_PG_DSN not set")
	}
	ctx := context.Background()
	admin, err := database.Open(ctx, dsn, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := database.Open(ctx, u.String(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return db, u.String()
}
