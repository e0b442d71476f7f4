package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/recipient"
)

type fixture struct {
	t   *testing.T
	db  *database.DB
	l   *Log
	now time.Time
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	f := &fixture{t: t, db: db, l: openLog(t, db), now: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	f.l.Now = func() time.Time { return f.now }
	return f
}

// add appends n rows, an hour apart.
func (f *fixture) add(n int) {
	f.t.Helper()
	for range n {
		f.now = f.now.Add(time.Hour)
		if err := f.l.Record(context.Background(), "anna@kommune.dk", ActionSubmit, recipient.Parse("2211771212", f.now), "digitalpost", "queued", "m"); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) exec(sql ...string) {
	f.t.Helper()
	for _, s := range sql {
		if _, err := f.db.Exec(s); err != nil {
			f.t.Fatalf("%s: %v", s, err)
		}
	}
}

// backup copies the log's tables as a database backup would; restore
// puts the copy back.
func (f *fixture) backup(name string) {
	f.exec(`CREATE TABLE `+name+`_log AS SELECT * FROM audit_log`, `CREATE TABLE `+name+`_head AS SELECT * FROM audit_head`)
}

func (f *fixture) restore(name string) {
	f.exec(`DELETE FROM audit_log`, `INSERT INTO audit_log SELECT * FROM `+name+`_log`,
		`DELETE FROM audit_head`, `INSERT INTO audit_head SELECT * FROM `+name+`_head`)
}

func (f *fixture) checkpoint() Checkpoint {
	f.t.Helper()
	f.now = f.now.Add(time.Minute)
	c, err := f.l.Checkpoint(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) verify(cps ...Checkpoint) error {
	_, err := f.l.Verify(context.Background(), cps...)
	return err
}

// TestVerifyFindsEveryDeletion: on SQLite and PostgreSQL, Verify on its
// own finds an edited row and deleted rows at the start, in the middle and
// at the end, also with the head moved to match.
func TestVerifyFindsEveryDeletion(t *testing.T) {
	for _, c := range []struct {
		name, want string
		sql        []string
	}{
		{"edited row", "row 3 was changed", []string{`UPDATE audit_log SET outcome = 'delivered' WHERE seq = 3`}},
		{"edited detail", "row 3 was changed", []string{`UPDATE audit_log SET detail = '{}' WHERE seq = 3`}},
		{"first row deleted", "oldest rows (1–1)", []string{`DELETE FROM audit_log WHERE seq = 1`}},
		{"first rows deleted", "oldest rows (1–3)", []string{`DELETE FROM audit_log WHERE seq <= 3`}},
		{"middle row deleted", "row 4 does not follow row 2", []string{`DELETE FROM audit_log WHERE seq = 3`}},
		{"last row deleted", "last rows were removed", []string{`DELETE FROM audit_log WHERE seq = 6`}},
		{"last rows deleted, head rewound", "not written by the relay", []string{`DELETE FROM audit_log WHERE seq >= 5`,
			`UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)`}},
		{"head MAC blanked", "not written by the relay", []string{`UPDATE audit_head SET mac = ''`}},
		{"row inserted", "", []string{`INSERT INTO audit_log SELECT seq + 100, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash FROM audit_log WHERE seq = 6`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			databasetest.Each(t, func(t *testing.T, db *database.DB) {
				f := newFixture(t, db)
				f.add(6)
				if err := f.verify(); err != nil {
					t.Fatalf("clean log: %v", err)
				}
				f.exec(c.sql...)
				err := f.verify()
				if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s: %v, want ErrBroken with %q", c.name, err, c.want)
				}
			})
		})
	}
}

// TestCheckpointCatchesRewoundHead: a database put back to an earlier
// copy of itself (head MAC and all: an unrecorded restore, or rows
// deleted with an old head replayed) is consistent in itself; the
// checkpoint made since shows the rows it lost.
func TestCheckpointCatchesRewoundHead(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.add(3)
		f.backup("early")
		f.add(3)
		cp := f.checkpoint()
		f.restore("early")
		if err := f.verify(); err != nil {
			t.Fatalf("without a checkpoint the copy is consistent (expected): %v", err)
		}
		err := f.verify(cp)
		if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "head was rewound") || !strings.Contains(err.Error(), "row 6, the log ends at row 3") {
			t.Fatalf("rewound head: %v", err)
		}
		// Work goes on after the unrecorded restore: rows 4–6 come
		// again with other content, and the checkpoint's row 6 no
		// longer matches.
		f.add(4)
		if err := f.verify(cp); !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "row 6 was replaced") {
			t.Fatalf("replaced rows: %v", err)
		}
	})
}

// TestRestoreRecordExplainsTheGap: the restore record names the rows lost
// after the backup; Verify accepts the gap it explains and the checkpoints
// inside it, and still refuses a gap it does not explain.
func TestRestoreRecordExplainsTheGap(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.add(3)
		backupAt := f.now
		f.backup("nightly")
		f.add(2)
		cp5 := f.checkpoint()
		f.add(2)
		cp7 := f.checkpoint()
		f.restore("nightly")
		d, err := f.l.RecordRestore(ctx, "admin", backupAt, cp7.Seq)
		if err != nil || d.LostFrom != 4 || d.LostTo != 7 {
			t.Fatalf("restore record: %+v %v", d, err)
		}
		f.add(2)
		n, err := f.l.Verify(ctx, cp5, cp7)
		if err != nil || n != 6 {
			t.Fatalf("explained gap: %d %v", n, err)
		}
		rows, _ := f.l.Search(ctx, Query{})
		if rows[2].Seq != 8 || rows[2].Action != ActionRestore || !strings.Contains(rows[2].Outcome, "rows 4–7 after it are gone") {
			t.Fatalf("restore row: %+v", rows[2])
		}
		// The restore record can explain only its own gap.
		f.exec(`DELETE FROM audit_log WHERE seq = 9`)
		if err := f.verify(cp5, cp7); !errors.Is(err, ErrBroken) {
			t.Fatalf("a deletion after the restore: %v", err)
		}
	})
}

// TestPurgeRecordExplainsTheStart: retention's purge record explains the
// missing oldest rows and a checkpoint of a pruned row, but not more rows
// deleted than it removed.
func TestPurgeRecordExplainsTheStart(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.add(3)
		cp3 := f.checkpoint()
		f.add(3)
		n, err := f.l.Purge(ctx, f.now.Add(-150*time.Minute)) // rows 1–3
		if err != nil || n != 3 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if err := f.verify(cp3); err != nil {
			t.Fatalf("after purge: %v", err)
		}
		rows, _ := f.l.Search(ctx, Query{Limit: 1})
		if rows[0].Action != ActionPurge || !strings.Contains(rows[0].Detail, `"to":3`) {
			t.Fatalf("purge row: %+v", rows[0])
		}
		f.exec(`DELETE FROM audit_log WHERE seq = 4`)
		if err := f.verify(); !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "oldest rows (1–4)") {
			t.Fatalf("one row more than purged: %v", err)
		}
	})
}

// TestCheckpointFiles: signed, written outside the database, read back;
// an edited file and one signed with another key are refused.
func TestCheckpointFiles(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.add(2)
		cp := f.checkpoint()
		if cp.Seq != 2 || cp.Count != 2 || cp.Verify(f.l.PublicKey()) != nil {
			t.Fatalf("checkpoint: %+v", cp)
		}
		dir := t.TempDir()
		path, err := WriteCheckpoint(dir, cp)
		if err != nil {
			t.Fatal(err)
		}
		all, err := ReadCheckpoints(dir)
		if err != nil || len(all) != 1 || all[0].Head != cp.Head {
			t.Fatalf("read back: %+v %v", all, err)
		}
		if err := f.verify(all...); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(b), `"count": 2`, `"count": 1`, 1)), 0o600)
		edited, err := ReadCheckpointFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.verify(edited); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("edited checkpoint: %v", err)
		}
		other, _ := Open(context.Background(), db, []byte(strings.Repeat("k", 32)))
		if err := other.verifyOnly(cp); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("checkpoint checked with another relay's key: %v", err)
		}
		if _, err := ReadCheckpointFile(filepath.Join(dir, "missing.json")); err == nil {
			t.Fatal("missing file read")
		}
		if _, err := ParseCheckpoint([]byte(`{"seq":1,"count":1,"head":"x","at":"2026-01-01T00:00:00Z","signature":"AA==","extra":1}`)); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("unknown field: %v", err)
		}
	})
}

func (l *Log) verifyOnly(c Checkpoint) error { return c.Verify(l.PublicKey()) }

// TestUpgradeAdoptsTheOldHead: a log from before the keyed head verifies
// after the upgrade, once.
func TestUpgradeAdoptsTheOldHead(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.add(2)
		f.exec(`ALTER TABLE audit_head DROP COLUMN mac`)
		l := openLog(t, db)
		if _, err := l.Verify(context.Background()); err != nil {
			t.Fatalf("after upgrade: %v", err)
		}
		f.exec(`UPDATE audit_head SET mac = ''`)
		openLog(t, db)
		if _, err := l.Verify(context.Background()); !errors.Is(err, ErrBroken) {
			t.Fatalf("blanked MAC adopted again: %v", err)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(`{"seq":2,"count":2,"head":"ab","at":"2026-12-03T08:00:00Z","signature":"` + strings.Repeat("A", 86) + `=="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		if c.Count > c.Seq || len(c.Signature) != 64 {
			t.Fatalf("accepted out of range: %+v", c)
		}
		// A parsed checkpoint survives its own round trip.
		again, err := ParseCheckpoint(c.Marshal())
		if err != nil || again.Seq != c.Seq || again.Head != c.Head || !again.At.Equal(c.At) {
			t.Fatalf("round trip: %+v %v", again, err)
		}
	})
}
