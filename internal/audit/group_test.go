package audit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
)

// TestGroupCommit: many callers at once, each with several rows, share
// commits; every caller's rows are there, consecutive, and the chain
// holds.
func TestGroupCommit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := openLog(t, db)
		id := recipient.Parse("2211771212", time.Now())
		const callers, each = 24, 3
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows := make([]queue.AuditRow, each)
				for j := range rows {
					rows[j] = queue.AuditRow{User: "anna", Action: ActionLookup, ID: id, Outcome: string(rune('a' + i))}
				}
				errs <- l.RecordAll(ctx, rows)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := l.Verify(ctx)
		if err != nil || n != callers*each {
			t.Fatalf("verify: %d rows, %v; want %d", n, err, callers*each)
		}
		rows, err := l.Search(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		// A caller's rows are one run of the chain.
		for i := 0; i < len(rows); i += each {
			for j := 1; j < each; j++ {
				if rows[i+j].Outcome != rows[i].Outcome {
					t.Fatalf("rows %d–%d interleave callers: %q %q", rows[i].Seq, rows[i+j].Seq, rows[i].Outcome, rows[i+j].Outcome)
				}
			}
		}
	})
}

// TestRecordTx: rows written in another transaction on the same database
// commit with it or not at all, and chain on the rows before them.
func TestRecordTx(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := openLog(t, db)
		id := recipient.Parse("2211771212", time.Now())
		row := []queue.AuditRow{{User: "anna", Action: ActionSubmit, ID: id, MessageID: "m1"}, {User: "anna", Action: ActionSubmit, ID: id, MessageID: "m1"}}
		if err := l.Record(ctx, "anna", ActionLookup, id, "", "", ""); err != nil {
			t.Fatal(err)
		}
		for _, commit := range []bool{false, true} {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.RecordTx(ctx, tx, row); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Record(ctx, "anna", ActionDeliver, id, "", "", "m1"); err != nil {
			t.Fatal(err)
		}
		n, err := l.Verify(ctx)
		if err != nil || n != 4 {
			t.Fatalf("verify: %d rows, %v; want 4", n, err)
		}
	})
}

// TestGroupCommitFailsEveryone: a commit that fails fails every caller
// whose rows it held.
func TestGroupCommitFailsEveryone(t *testing.T) {
	db, err := database.Open(context.Background(), "", t.TempDir(), "test.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	l := openLog(t, db)
	db.Close()
	if err := l.RecordAll(context.Background(), []queue.AuditRow{{User: "anna", Action: ActionLookup}}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the database's error", err)
	}
}

// TestGroupCommitInstances: two relay instances append to one log at
// once, in group commits and inside a store's transactions; each instance
// appends after the head it last left when nobody else moved it (on
// PostgreSQL in one statement) and after the locked head otherwise. Every
// row is there once and the chain holds.
func TestGroupCommitInstances(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		logs := []*Log{openLog(t, db), openLog(t, db)}
		id := recipient.Parse("2211771212", time.Now())
		const callers, rounds = 6, 10
		var wg sync.WaitGroup
		errs := make(chan error, 2*callers*rounds+rounds)
		for i := range 2 * callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					errs <- logs[i%2].RecordAll(ctx, []queue.AuditRow{{User: "anna", Action: ActionLookup, ID: id}})
				}
			}()
		}
		wg.Add(1)
		go func() { // a store's transactions moving the head under both
			defer wg.Done()
			for range rounds {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				if err := logs[0].RecordTx(ctx, tx, []queue.AuditRow{{User: "bo", Action: ActionLookup, ID: id}}); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				errs <- tx.Commit()
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		want := int64(2*callers*rounds + rounds)
		for _, l := range logs {
			if n, err := l.Verify(ctx); err != nil || n != want {
				t.Fatalf("verify: %d rows, %v; want %d", n, err, want)
			}
		}
	})
}
