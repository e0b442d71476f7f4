// Package outbox is the agent's durable queue. A message accepted from the
// add-in is written here (record sealed, attachments as encrypted blobs,
// fsynced) before the add-in hears "queued"; a worker then hands it to the
// relay with the entry's id as idempotency key and follows its status. A
// crash or SIGKILL at any point leaves either nothing (not yet acknowledged)
// or an entry that is handed over exactly once: the relay recognises the
// key on a retry.
//
// Storage is bbolt rather than SQLite: a single-writer key/value file with
// fsync on commit is all an outbox needs, it is pure Go, starts instantly
// and adds next to nothing to the agent's idle memory.
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

var (
	bucketEntries = []byte("outbox")
	bucketKeys    = []byte("outbox-keys")
	bucketQueue   = []byte("outbox-queue")
)

// States of an entry.
const (
	StatePending = "pending" // stored here, not yet accepted by the relay
	StateHanded  = "handed"  // the relay has it; its status is followed
	StateDone    = "done"    // final
)

// Entry is one message in the outbox.
type Entry struct {
	ID          string                  `json:"id"`
	Created     time.Time               `json:"created"`
	Message     relayapi.MessageRequest `json:"message"`
	Files       []blobstore.File        `json:"files"`
	Checked     []recipient.Result      `json:"checked,omitempty"`
	State       string                  `json:"state"`
	RelayID     string                  `json:"relayId,omitempty"`
	Relay       *relayapi.MessageStatus `json:"relay,omitempty"`
	Events      []relayapi.Event        `json:"events"`
	Attempts    int                     `json:"attempts"`
	NextAttempt time.Time               `json:"nextAttempt"`
	Failure     *relayapi.Error         `json:"failure,omitempty"`
}

// Status is the entry as the local API shows it.
func (e *Entry) Status() relayapi.MessageStatus {
	st := relayapi.MessageStatus{ID: e.ID, Events: append([]relayapi.Event(nil), e.Events...)}
	switch {
	case e.Relay != nil:
		st.Recipients = e.Relay.Recipients
		st.Events = append(st.Events, e.Relay.Events...)
		st.RepliedAt = e.Relay.RepliedAt
	default:
		for i, in := range e.Message.Recipients {
			rs := relayapi.RecipientStatus{Input: in, Status: relayapi.StatusQueued}
			if i < len(e.Checked) {
				c := e.Checked[i]
				rs.Channel, rs.Message = c.Channel, c.Message
				if c.Channel == recipient.ChannelPrint && e.Message.Fallback != "print" {
					rs.Status = relayapi.StatusNeedsFallback
				}
			}
			if e.Failure != nil {
				rs.Status, rs.Message = relayapi.StatusFailed, e.Failure.Message
			}
			st.Recipients = append(st.Recipients, rs)
		}
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].At.Before(st.Events[j].At) })
	st.Status = relayapi.Summarize(st.Recipients)
	return st
}

// Relay is what the outbox needs of a relay.
type Relay interface {
	Submit(ctx context.Context, msg *relayapi.MessageRequest, files []relayclient.Upload) (relayapi.SubmitResponse, error)
	Status(ctx context.Context, id string) (relayapi.MessageStatus, error)
}

// Outbox is the queue.
type Outbox struct {
	db    *bolt.DB
	key   *vault.Key
	blobs blobstore.Store
	mu    sync.Mutex // one writer of entries at a time
	wake  chan struct{}
	// OnChange is called after an entry's status changed (tray, notices).
	OnChange func(relayapi.MessageStatus)
}

// ErrNotFound is returned for an unknown id.
var ErrNotFound = errors.New("outbox: entry not found")

// ErrDamaged is returned for a record that cannot be opened: damaged on
// disk, or sealed with another key.
var ErrDamaged = errors.New("outbox: record damaged")

// decode opens a stored record: the sealed JSON of an Entry bound to its
// id. Anything else is ErrDamaged, never a panic.
func (o *Outbox) decode(id string, sealed []byte) (*Entry, error) {
	var e Entry
	if err := o.key.OpenJSON(sealed, []byte(id), &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if e.ID != id {
		return nil, fmt.Errorf("%w: record names %q", ErrDamaged, e.ID)
	}
	return &e, nil
}

// Open prepares the outbox in db, keeping blobs under dir.
func Open(db *bolt.DB, dir string, key *vault.Key) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketKeys, bucketQueue, bucketByTime, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: init: %w", err)
	}
	o := &Outbox{
		db: db, key: key.Derive("outbox/records"),
		blobs: blobstore.Store{Dir: filepath.Join(dir, "blobs"), Key: key.Derive("outbox/blobs")},
		wake:  make(chan struct{}, 1),
	}
	if err := db.Update(o.buildTimeIndex); err != nil {
		return nil, fmt.Errorf("outbox: time index: %w", err)
	}
	return o, nil
}

// Blobs is where attachments wait for the relay.
func (o *Outbox) Blobs() blobstore.Store { return o.blobs }

func idemKey(k string) []byte { h := sha256.Sum256([]byte(k)); return h[:] }

// A queue value: when the entry is next due, when it was created (for the
// order of sending and the long-wait count, without opening the sealed
// record) and its state. Values of 8 bytes (next only) come from older
// agents.
func queueValue(e *Entry) []byte {
	v := make([]byte, 17)
	binary.BigEndian.PutUint64(v[0:], uint64(e.NextAttempt.UnixNano()))
	binary.BigEndian.PutUint64(v[8:], uint64(e.Created.UnixNano()))
	if e.State == StateHanded {
		v[16] = 'h'
	} else {
		v[16] = 'p'
	}
	return v
}

type queued struct {
	id      string
	next    time.Time
	created time.Time
	handed  bool
}

func parseQueued(k, v []byte) (queued, bool) {
	if len(v) < 8 {
		return queued{}, false
	}
	q := queued{id: string(k), next: time.Unix(0, int64(binary.BigEndian.Uint64(v)))}
	q.created = q.next
	if len(v) >= 17 {
		q.created = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:])))
		q.handed = v[16] == 'h'
	}
	return q, true
}

func (o *Outbox) put(tx *bolt.Tx, e *Entry) error {
	sealed, err := o.key.SealJSON(e, []byte(e.ID))
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketEntries).Put([]byte(e.ID), sealed); err != nil {
		return err
	}
	if err := tx.Bucket(bucketByTime).Put(timeKey(e), nil); err != nil {
		return err
	}
	q := tx.Bucket(bucketQueue)
	if e.State == StateDone {
		return q.Delete([]byte(e.ID))
	}
	return q.Put([]byte(e.ID), queueValue(e))
}

// Add stores a new entry durably unless its idempotency key was used
// before; then it returns the first entry's id and added=false.
func (o *Outbox) Add(e *Entry) (id string, added bool, err error) {
	if err := o.blobs.Sync(); err != nil {
		return "", false, fmt.Errorf("outbox: sync blobs: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	id, added = e.ID, true
	err = o.db.Update(func(tx *bolt.Tx) error {
		k := idemKey(e.Message.IdempotencyKey)
		if v := tx.Bucket(bucketKeys).Get(k); v != nil {
			id, added = string(v), false
			return nil
		}
		if err := tx.Bucket(bucketKeys).Put(k, []byte(e.ID)); err != nil {
			return err
		}
		if err := noteDraft(tx, e.Message.DraftID, e.ID); err != nil {
			return err
		}
		return o.put(tx, e)
	})
	if err != nil {
		return "", false, fmt.Errorf("outbox: add %s: %w", e.ID, err)
	}
	if added {
		o.Wake()
	}
	return id, added, nil
}

// ByKey finds an entry by idempotency key.
func (o *Outbox) ByKey(key string) (string, bool) {
	var id string
	o.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketKeys).Get(idemKey(key)))
		return nil
	})
	return id, id != ""
}

// Get loads an entry.
func (o *Outbox) Get(id string) (*Entry, error) {
	var sealed []byte
	err := o.db.View(func(tx *bolt.Tx) error {
		sealed = append([]byte(nil), tx.Bucket(bucketEntries).Get([]byte(id))...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: get %s: %w", id, err)
	}
	if len(sealed) == 0 {
		return nil, ErrNotFound
	}
	e, err := o.decode(id, sealed)
	if err != nil {
		return nil, fmt.Errorf("outbox: get %s: %w", id, err)
	}
	return e, nil
}

func (o *Outbox) update(e *Entry) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.db.Update(func(tx *bolt.Tx) error { return o.put(tx, e) }); err != nil {
		return fmt.Errorf("outbox: update %s: %w", e.ID, err)
	}
	return nil
}

// Pending counts entries not yet final (the tray shows it).
func (o *Outbox) Pending() int {
	n := 0
	o.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketQueue).Stats().KeyN
		return nil
	})
	return n
}

// due lists entries whose time has come, oldest first (so that after an
// outage they leave in the order they were sent), and tells when the next
// one's comes (zero when the queue is empty).
func (o *Outbox) due(now time.Time, limit int) (ids []string, next time.Time) {
	var all []queued
	o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			q, ok := parseQueued(k, v)
			if !ok {
				return nil
			}
			if !q.next.After(now) {
				all = append(all, q)
			} else if next.IsZero() || q.next.Before(next) {
				next = q.next
			}
			return nil
		})
	})
	sort.Slice(all, func(i, j int) bool {
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.Before(all[j].created)
		}
		return all[i].id < all[j].id
	})
	for _, q := range all[:min(len(all), limit)] {
		ids = append(ids, q.id)
	}
	return ids, next
}

// Waiting describes the messages not yet handed to the relay.
type Waiting struct {
	// Count is how many wait on this PC.
	Count int
	// Long are those waiting longer than LongWait, oldest first: shown to
	// the clerk and counted for IT, never dropped.
	Long []string
	// Oldest is when the oldest waiting message was accepted.
	Oldest time.Time
}

// Waiting counts the messages still on this PC at now. The age is the
// PC's own: the relay's clock plays no part, so a relay whose clock is off
// neither hides nor hastens a long wait.
func (o *Outbox) Waiting(now time.Time) Waiting {
	var w Waiting
	var long []queued
	o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			q, ok := parseQueued(k, v)
			if !ok || q.handed {
				return nil
			}
			w.Count++
			if w.Oldest.IsZero() || q.created.Before(w.Oldest) {
				w.Oldest = q.created
			}
			if now.Sub(q.created) > LongWait {
				long = append(long, q)
			}
			return nil
		})
	})
	sort.Slice(long, func(i, j int) bool { return long[i].created.Before(long[j].created) })
	for _, q := range long {
		w.Long = append(w.Long, q.id)
	}
	return w
}

// Wake makes the worker look at the queue now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
