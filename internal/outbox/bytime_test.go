package outbox

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/relayapi"
)

func addPlain(t *testing.T, h *harness, subject string) {
	t.Helper()
	e := &Entry{ID: "id-" + subject, Created: h.clock.now(), State: StatePending, NextAttempt: h.clock.now(),
		Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: subject, IdempotencyKey: "key-" + subject}}
	if _, added, err := h.ob.Add(e); err != nil || !added {
		t.Fatalf("add %s: %v %v", subject, added, err)
	}
}

// TestListByTime: the Log's page comes from the time index, newest first,
// across the index's read pages; a search stops once the page is full;
// an entry gone from the outbox is left out.
func TestListByTime(t *testing.T) {
	h := newHarness(t)
	const n = 600
	for i := range n {
		addPlain(t, h, fmt.Sprintf("sag %03d", i))
		h.clock.add(time.Second)
	}
	items, err := h.ob.List("", 0)
	if err != nil || len(items) != n {
		t.Fatalf("%d items, %v", len(items), err)
	}
	for i, it := range items {
		if want := fmt.Sprintf("sag %03d", n-1-i); it.Subject != want {
			t.Fatalf("item %d is %q, want %q", i, it.Subject, want)
		}
	}
	items, _ = h.ob.List("", 10)
	if len(items) != 10 || items[0].Subject != "sag 599" || items[9].Subject != "sag 590" {
		t.Fatalf("first page %+v", items)
	}
	items, _ = h.ob.List("SAG 1", 5)
	if len(items) != 5 || items[0].Subject != "sag 199" {
		t.Fatalf("search %+v", items)
	}
	h.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketEntries).Delete([]byte("id-sag 599")) })
	if items, _ := h.ob.List("", 1); len(items) != 1 || items[0].Subject != "sag 598" {
		t.Fatalf("after a removal %+v", items)
	}
}

// TestTimeIndexBuiltForOlderOutbox: an outbox written by an agent without
// the index gets it when opened.
func TestTimeIndexBuiltForOlderOutbox(t *testing.T) {
	h := newHarness(t)
	for _, s := range []string{"a", "b", "c"} {
		addPlain(t, h, s)
		h.clock.add(time.Minute)
	}
	h.db.Update(func(tx *bolt.Tx) error {
		tx.DeleteBucket(bucketByTime)
		return tx.DeleteBucket(bucketMeta)
	})
	ob, err := Open(h.db, filepath.Join(h.dir, "outbox"), h.key)
	if err != nil {
		t.Fatal(err)
	}
	items, err := ob.List("", 0)
	if err != nil || len(items) != 3 || items[0].Subject != "c" || items[2].Subject != "a" {
		t.Fatalf("%+v %v", items, err)
	}
}
