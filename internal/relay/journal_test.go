package relay

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/directory/sqlbook"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/queue/sqlstore"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// countingAudit is the real audit log, counting the transactions the
// relay asks of it; fail, when set, makes RecordTx fail after writing its
// rows, as a commit that cannot be made would.
type countingAudit struct {
	*audit.Log
	mu       sync.Mutex
	all, txs int
	rows     []int
	fail     bool
}

func (c *countingAudit) RecordAll(ctx context.Context, rows []queue.AuditRow) error {
	c.mu.Lock()
	c.all++
	c.rows = append(c.rows, len(rows))
	c.mu.Unlock()
	return c.Log.RecordAll(ctx, rows)
}

func (c *countingAudit) RecordTx(ctx context.Context, tx *sql.Tx, rows []queue.AuditRow) error {
	c.mu.Lock()
	c.txs++
	fail := c.fail
	c.mu.Unlock()
	if err := c.Log.RecordTx(ctx, tx, rows); err != nil {
		return err
	}
	if fail {
		return errors.New("disk full")
	}
	return nil
}

// jointRelay is a relay whose store and audit log share one database
// (SQLite, or PostgreSQL when pg), as `sendsikkert-relay serve` opens
// them.
func jointRelay(t *testing.T, pg bool, setup ...func(*Server, *queue.Worker, *database.DB)) (*countingAudit, *sqlstore.SQLStore, string) {
	t.Helper()
	ctx := context.Background()
	key, _ := vault.New(vault.NewRandomKey())
	var store *sqlstore.SQLStore
	var db *database.DB
	var err error
	if pg {
		var dsn string
		db, dsn = databasetest.PostgresDSN(t)
		store, err = sqlstore.OpenPostgres(ctx, dsn, key)
	} else {
		dir := t.TempDir()
		store, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "relay.sqlite"), filepath.Join(dir, "blobs"), key)
		if err == nil {
			db, err = database.Open(ctx, "", dir, "relay.sqlite")
		}
		if err == nil {
			t.Cleanup(func() { db.Close() })
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), db, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	a := &countingAudit{Log: l}
	_, _, ts := testRelay(t, func(s *Server, w *queue.Worker) {
		s.Store, w.Store = store, store
		s.Audit, w.Audit = a, a
		s.AuditInStore, w.AuditInStore = true, true
		for _, f := range setup {
			f(s, w, db)
		}
	})
	t.Cleanup(func() { store.Close() })
	return a, store, ts.URL
}

func eachDB(t *testing.T, f func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { f(t, false) })
	t.Run("postgres", func(t *testing.T) { f(t, true) })
}

func countActions(t *testing.T, l *audit.Log) map[string]int {
	t.Helper()
	if _, err := l.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := l.Search(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.Action]++
	}
	return n
}

// TestCheckOneAuditTransaction: a check of several recipients writes its
// rows in one transaction, before it answers.
func TestCheckOneAuditTransaction(t *testing.T) {
	eachDB(t, testCheckOneAuditTransaction)
}

func testCheckOneAuditTransaction(t *testing.T, pg bool) {
	a, _, url := jointRelay(t, pg)
	c := &relayclient.Client{BaseURL: url, Token: "tok"}
	if _, err := c.Check(context.Background(), []string{"2211771212", "0101011234", "a@b.dk"}); err != nil {
		t.Fatal(err)
	}
	if a.all != 1 || len(a.rows) != 1 || a.rows[0] != 3 {
		t.Fatalf("%d audit transactions with %v rows, want one with 3", a.all, a.rows)
	}
	if n := countActions(t, a.Log); n["lookup"] != 3 {
		t.Fatalf("rows %v, want 3 lookups", n)
	}
}

// TestSubmitCommitsWithItsAuditRows: the message and its submit rows are
// one transaction; when it cannot commit, neither is kept and the sender
// is told to try again (503); a repeated key writes no second row; the
// worker's delivery row commits with the record that marks it delivered.
func TestSubmitCommitsWithItsAuditRows(t *testing.T) {
	eachDB(t, testSubmitCommitsWithItsAuditRows)
}

func testSubmitCommitsWithItsAuditRows(t *testing.T, pg bool) {
	a, store, url := jointRelay(t, pg)
	a.fail = true
	resp, e := rawSubmit(t, url, "k-1")
	if resp.StatusCode != 503 {
		t.Fatalf("%d %+v, want 503", resp.StatusCode, e)
	}
	if _, ok, _ := store.ByKey(context.Background(), "anna", "k-1"); ok {
		t.Fatal("message kept though its audit rows were not")
	}
	if n := countActions(t, a.Log); n["submit"] != 0 {
		t.Fatalf("rows %v kept without their message", n)
	}

	a.mu.Lock()
	a.fail = false
	a.mu.Unlock()
	c := &relayclient.Client{BaseURL: url, Token: "tok"}
	msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "k-2"}
	r1, err := c.Submit(context.Background(), msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(context.Background(), msg, nil); err != nil {
		t.Fatal(err)
	}
	if a.all != 0 {
		t.Fatalf("%d audit transactions apart from the store's", a.all)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := store.Get(context.Background(), r1.ID)
		if err == nil && m.Done() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v %v", m, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := countActions(t, a.Log); n["submit"] != 1 || n["deliver"] != 1 {
		t.Fatalf("rows %v, want one submit and one deliver", n)
	}
}

// TestSubmitTouchesTheBookInItsCommit: an e-mail recipient's address-book
// row commits with the message and its audit rows, or not at all.
func TestSubmitTouchesTheBookInItsCommit(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		var book *sqlbook.Book
		a, _, url := jointRelay(t, pg, func(s *Server, w *queue.Worker, db *database.DB) {
			var err error
			if book, err = sqlbook.Open(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			s.Book = book
			ch := &countingChannel{seen: map[string]int{}}
			s.Channels[recipient.ChannelSecureMailbox] = ch
			w.Channels[recipient.ChannelSecureMailbox] = ch
		})
		c := &relayclient.Client{BaseURL: url, Token: "tok"}
		msg := func(key string) *relayapi.MessageRequest {
			return &relayapi.MessageRequest{Recipients: []string{"borger@example.dk"}, Mobiles: map[string]string{"borger@example.dk": "12345678"},
				Subject: "Hej", IdempotencyKey: key}
		}
		a.mu.Lock()
		a.fail = true
		a.mu.Unlock()
		if _, err := c.Submit(context.Background(), msg("k-1"), nil); err == nil {
			t.Fatal("accepted though the commit failed")
		}
		if e, _ := book.Search(context.Background(), "borger", "", 10); len(e) != 0 {
			t.Fatalf("address book touched without the message: %+v", e)
		}
		a.mu.Lock()
		a.fail = false
		a.mu.Unlock()
		if _, err := c.Submit(context.Background(), msg("k-2"), nil); err != nil {
			t.Fatal(err)
		}
		if e, _ := book.Search(context.Background(), "borger", "", 10); len(e) != 1 || e[0].Mobile != "+4512345678" {
			t.Fatalf("address book %+v", e)
		}
	})
}
