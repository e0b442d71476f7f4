package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
)

// TestCheckPostgresSchemaVersion: a database written by a newer relay is
// refused; one this relay marked is accepted; a fresh one is new.
func TestCheckPostgresSchemaVersion(t *testing.T) {
	ctx := context.Background()
	db, dsn := databasetest.PostgresDSN(t)
	if err := database.Check(ctx, dsn, "", ""); err != nil {
		t.Fatalf("fresh database: %v", err)
	}
	if _, err := database.MarkOpen(ctx, db, dsn, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := database.Check(ctx, dsn, "", ""); err != nil {
		t.Fatalf("marked database: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE relay_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	err := database.Check(ctx, dsn, "", "")
	if !errors.Is(err, database.ErrDamaged) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema: %v", err)
	}
}
