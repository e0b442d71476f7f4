package outbox

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/vault"
)

// FuzzOutboxRecord decodes outbox records as a damaged or foreign store
// may hold them: the sealed JSON of an entry (fuzzed before sealing, so
// the decoder behind the seal is reached) and the queue's clear value.
// Whatever they hold: no panic; a record that decodes names its own id and
// survives a round trip; anything else is ErrDamaged.
func FuzzOutboxRecord(f *testing.F) {
	good, _ := json.Marshal(Entry{ID: "id-1", Created: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), State: StatePending})
	f.Add(good, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte(`{"id":"id-1","state":"handed","relay":{"status":"delivered","recipients":[{"status":"failed"}]}}`), bytes.Repeat([]byte{1}, 17))
	f.Add([]byte(`{"id":"other"}`), []byte{})
	f.Add([]byte(`{"id":"id-1","files":[{"blob":"../../etc/passwd"}],"attempts":-5}`), []byte("short"))
	f.Add([]byte(`null`), bytes.Repeat([]byte{0xff}, 17))
	f.Add([]byte(`{"id":"id-1","created":"not a time"}`), []byte{})

	dir := f.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	key, _ := vault.New(bytes.Repeat([]byte{3}, 32))
	o, err := Open(db, filepath.Join(dir, "outbox"), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, plain, queue []byte) {
		sealed, err := o.key.Seal(plain, []byte("id-1"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := o.decode("id-1", sealed)
		if err == nil {
			if e.ID != "id-1" {
				t.Fatalf("decoded a record naming %q", e.ID)
			}
			again, err := o.key.SealJSON(e, []byte("id-1"))
			if err != nil {
				t.Fatal(err)
			}
			e2, err := o.decode("id-1", again)
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("round trip: %v", err)
			}
			_ = e.Status() // never panics on what decoded
		}
		// Sealed for another id: never accepted.
		if _, err := o.decode("id-2", sealed); err == nil {
			t.Fatal("a record sealed for id-1 opened as id-2")
		}
		if q, ok := parseQueued([]byte("id-1"), queue); ok != (len(queue) >= 8) || (ok && q.id != "id-1") {
			t.Fatalf("parseQueued(%x) = %+v %v", queue, q, ok)
		}
	})
}
