package outbox

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// TestSentInDraft: a draft counts as sent to every recipient of its
// entries that is not failed or waiting for a letter — also while the
// entry still waits here — and other drafts are not mixed in.
func TestSentInDraft(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "a.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := vault.New(vault.NewRandomKey())
	o, err := Open(db, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	add := func(id, draft string, failure *relayapi.Error, to ...string) {
		t.Helper()
		e := &Entry{ID: id, Created: now, State: StatePending, Failure: failure,
			Message: relayapi.MessageRequest{Recipients: to, IdempotencyKey: id, DraftID: draft}}
		if _, _, err := o.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	add("e1", "d1", nil, "221177-1212", "DK-12345674")
	add("e2", "d1", &relayapi.Error{Code: "x", Message: "afvist"}, "0707614285")
	add("e3", "d2", nil, "1010101010")
	add("e4", "", nil, "0101011234")
	sent, err := o.SentInDraft("d1", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || !sent["cpr:2211771212"] || !sent["cvr:12345674"] {
		t.Fatalf("sent %v, want the two of e1 (e2 failed)", sent)
	}
	if none, _ := o.SentInDraft("", now); len(none) != 0 {
		t.Fatalf("no draft: %v", none)
	}
}
