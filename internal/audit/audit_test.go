package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/recipient"
)

func openLog(t *testing.T, db *database.DB) *Log {
	t.Helper()
	l, err := Open(context.Background(), db, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestChainDetectsEdits(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tamper := range []struct {
		name, sql string
	}{
		{"edit outcome", `UPDATE audit_log SET outcome = 'delivered' WHERE seq = 2`},
		{"edit user", `UPDATE audit_log SET user_name = 'mallory@x.dk' WHERE seq = 3`},
		{"delete middle", `DELETE FROM audit_log WHERE seq = 2`},
		{"delete last", `DELETE FROM audit_log WHERE seq = 4`},
	} {
		databasetest.Each(t, func(t *testing.T, db *database.DB) {
			t.Log(tamper.name)
			l := openLog(t, db)
			l.Now = func() time.Time { return now }
			id := recipient.Parse("2211771212", now)
			for _, a := range []string{ActionLookup, ActionSubmit, ActionFail, ActionDeliver} {
				if err := l.Record(ctx, "anna@kommune.dk", a, id, "digitalpost", "ok", "m-1"); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := l.Verify(ctx); err != nil || n != 4 {
				t.Fatalf("clean chain: %d %v", n, err)
			}
			if _, err := db.Exec(tamper.sql); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Verify(ctx); !errors.Is(err, ErrBroken) {
				t.Fatalf("tampering not detected: %v", err)
			}
		})
	}
}

func TestSearchByFullCPRWithoutStoringIt(t *testing.T) {
	databasetest.Each(t, testSearch)
}

func testSearch(t *testing.T, db *database.DB) {
	ctx := context.Background()
	l := openLog(t, db)
	now := time.Now()
	l.Record(ctx, "anna@kommune.dk", ActionSubmit, recipient.Parse("221177-1212", now), "digitalpost", "queued", "m-1")
	l.Record(ctx, "bo@kommune.dk", ActionSubmit, recipient.Parse("12345674", now), "digitalpost", "queued", "m-2")
	got, err := l.Search(ctx, Query{Recipient: "2211771212"})
	if err != nil || len(got) != 1 || got[0].MessageID != "m-1" || got[0].Recipient != "221177-xxxx" {
		t.Fatalf("search: %+v %v", got, err)
	}
	got, _ = l.Search(ctx, Query{User: "BO@kommune.dk"})
	if len(got) != 1 || got[0].MessageID != "m-2" {
		t.Fatalf("by user: %+v", got)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM audit_log WHERE recipient LIKE '%1212%' OR recipient_hash LIKE '%2211771212%'`).Scan(&n)
	if n != 0 {
		t.Fatal("full CPR stored")
	}
	var sb strings.Builder
	WriteCSV(&sb, got)
	if !strings.Contains(sb.String(), "bo@kommune.dk") {
		t.Fatalf("csv: %s", sb.String())
	}
}

func TestPurgeKeepsChainVerifiable(t *testing.T) {
	databasetest.Each(t, testPurge)
}

func testPurge(t *testing.T, db *database.DB) {
	ctx := context.Background()
	l := openLog(t, db)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	l.Now = func() time.Time { return now }
	for i := range 5 {
		now = t0.AddDate(0, i, 0)
		l.Record(ctx, "anna@kommune.dk", ActionLookup, recipient.ID{}, "", "ok", "")
	}
	now = t0.AddDate(1, 0, 0)
	n, err := l.Purge(ctx, t0.AddDate(0, 3, 0))
	if err != nil || n != 3 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("after purge: %v", err)
	}
}
