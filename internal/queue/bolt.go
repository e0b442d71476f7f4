package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/vault"
)

var (
	bucketMessages = []byte("messages")
	bucketKeys     = []byte("keys")
	bucketQueue    = []byte("queue")
)

// BoltStore is the embedded store: one bbolt file plus a folder of
// encrypted blobs. bbolt commits with fsync, has a single writer and needs
// no server: right for the demo relay inside the agent.
type BoltStore struct {
	db    *bolt.DB
	key   *vault.Key
	blobs blobstore.Store
}

// OpenBolt opens (or creates) the store in dir, encrypting with key.
func OpenBolt(dir string, key *vault.Key) (*BoltStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o700); err != nil {
		return nil, fmt.Errorf("relay store: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "relay.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("relay store: open: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMessages, bucketKeys, bucketQueue} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// bbolt locks its file: leases found now belong to a process that
		// is gone, and its messages are taken over at once.
		q := tx.Bucket(bucketQueue)
		var stale [][]byte
		q.ForEach(func(k, v []byte) error {
			if parseQueueEntry(v).owner != "" {
				stale = append(stale, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range stale {
			e := parseQueueEntry(q.Get(k))
			if e.next.Equal(parked) {
				// A done message leased for a change that never came.
				if err := q.Delete(k); err != nil {
					return err
				}
				continue
			}
			e.owner, e.until = "", time.Time{}
			if err := q.Put(k, e.bytes()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("relay store: init: %w", err)
	}
	s := &BoltStore{db: db, key: key.Derive("relay/records"), blobs: blobstore.Store{Dir: filepath.Join(dir, "blobs"), Key: key.Derive("relay/blobs")}}
	return s, nil
}

// IdempotencyHash is what stores index a sender's idempotency key by.
func IdempotencyHash(sender, key string) []byte { return keyOf(sender, key) }

// DraftHash is the key a store files a sender's draft under.
func DraftHash(sender, draftID string) []byte { return keyOf(sender, "draft\x00"+draftID) }

// bucketDrafts maps DraftHash to the draft's message ids, one a line.
var bucketDrafts = []byte("drafts")

func keyOf(sender, key string) []byte {
	h := sha256.Sum256([]byte(sender + "\x00" + key))
	return h[:]
}

// queueEntry is a queued message's value in the queue bucket: its next
// attempt, then (when leased) the lease's end and owner. Entries written
// before leases existed hold the next attempt alone.
type queueEntry struct {
	next  time.Time
	until time.Time
	owner string
}

func parseQueueEntry(v []byte) queueEntry {
	var e queueEntry
	if len(v) >= 8 {
		e.next = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
	}
	if len(v) >= 16 {
		e.until = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:])))
		e.owner = string(v[16:])
	}
	return e
}

func (e queueEntry) bytes() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(e.next.UnixNano()))
	if e.owner == "" {
		return b
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.until.UnixNano()))
	return append(b, e.owner...)
}

// parked is the next attempt of a queue entry that exists only to hold a
// lease on a done message (Acquire): Claim never finds it due, and it
// leaves the queue when the lease is released.
var parked = time.Unix(0, math.MaxInt64)

// held reports whether someone holds an unexpired lease.
func (e queueEntry) held(now time.Time) bool {
	return e.owner != "" && e.until.After(now)
}

// put writes m; with a lease, only while lease.Owner holds it (Create
// passes none: the message is new).
func (s *BoltStore) put(tx *bolt.Tx, m *Message, lease *Lease) error {
	q := tx.Bucket(bucketQueue)
	cur := q.Get([]byte(m.ID))
	e := parseQueueEntry(cur)
	if lease != nil {
		if cur == nil || e.owner != lease.Owner {
			if tx.Bucket(bucketMessages).Get([]byte(m.ID)) == nil {
				return ErrNotFound
			}
			return ErrLeaseLost
		}
		e.owner, e.until = lease.Owner, lease.Until
		if lease.Until.IsZero() {
			e.owner = ""
		}
	}
	sealed, err := s.key.SealJSON(m, []byte(m.ID))
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketMessages).Put([]byte(m.ID), sealed); err != nil {
		return err
	}
	switch {
	case m.Done() && e.owner == "":
		return q.Delete([]byte(m.ID))
	case m.Done():
		e.next = parked
	default:
		e.next = m.NextAttempt
	}
	return q.Put([]byte(m.ID), e.bytes())
}

func (s *BoltStore) Create(_ context.Context, m *Message) (string, bool, error) {
	id, created := m.ID, true
	err := s.db.Update(func(tx *bolt.Tx) error {
		k := keyOf(m.Sender, m.IdempotencyKey)
		if v := tx.Bucket(bucketKeys).Get(k); v != nil {
			id, created = string(v), false
			return nil
		}
		if tx.Bucket(bucketMessages).Get([]byte(m.ID)) != nil {
			return ErrIDTaken
		}
		if err := tx.Bucket(bucketKeys).Put(k, []byte(m.ID)); err != nil {
			return err
		}
		if m.DraftID != "" {
			d, err := tx.CreateBucketIfNotExists(bucketDrafts)
			if err != nil {
				return err
			}
			dk := DraftHash(m.Sender, m.DraftID)
			ids := string(d.Get(dk))
			if ids != "" {
				ids += "\n"
			}
			if err := d.Put(dk, []byte(ids+m.ID)); err != nil {
				return err
			}
		}
		return s.put(tx, m, nil)
	})
	if err != nil {
		return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, err)
	}
	return id, created, nil
}

// DraftMessages lists the sender's messages from a draft, oldest first.
func (s *BoltStore) DraftMessages(_ context.Context, sender, draftID string) ([]string, error) {
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		if d := tx.Bucket(bucketDrafts); d != nil {
			if v := d.Get(DraftHash(sender, draftID)); len(v) > 0 {
				ids = strings.Split(string(v), "\n")
			}
		}
		return nil
	})
	return ids, err
}

func (s *BoltStore) ByKey(_ context.Context, sender, key string) (string, bool, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketKeys).Get(keyOf(sender, key)); v != nil {
			id = string(v)
		}
		return nil
	})
	return id, id != "", err
}

func (s *BoltStore) Get(_ context.Context, id string) (*Message, error) {
	var sealed []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		sealed = append([]byte(nil), tx.Bucket(bucketMessages).Get([]byte(id))...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("relay store: get %s: %w", id, err)
	}
	if len(sealed) == 0 {
		return nil, ErrNotFound
	}
	return OpenRecord(s.key, id, sealed)
}

// OpenRecord decrypts and decodes a sealed message record (stores share
// one record format: JSON sealed with AES-GCM, bound to the message id).
func OpenRecord(key *vault.Key, id string, sealed []byte) (*Message, error) {
	var m Message
	if err := key.OpenJSON(sealed, []byte(id), &m); err != nil {
		return nil, fmt.Errorf("relay store: get %s: %w", id, err)
	}
	return &m, nil
}

func (s *BoltStore) Update(_ context.Context, m *Message, lease Lease) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMessages).Get([]byte(m.ID)) == nil {
			return ErrNotFound
		}
		return s.put(tx, m, &lease)
	})
	if err != nil {
		return fmt.Errorf("relay store: update %s: %w", m.ID, err)
	}
	return nil
}

// Acquire leases one message. A done message has no queue entry; it gets
// a parked one for as long as the lease is held.
func (s *BoltStore) Acquire(_ context.Context, id, owner string, now, until time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMessages).Get([]byte(id)) == nil {
			return ErrNotFound
		}
		q := tx.Bucket(bucketQueue)
		cur := q.Get([]byte(id))
		e := parseQueueEntry(cur)
		if e.held(now) && e.owner != owner {
			return ErrLeaseHeld
		}
		if cur == nil {
			e.next = parked
		}
		e.owner, e.until = owner, until
		return q.Put([]byte(id), e.bytes())
	})
	if err != nil {
		return fmt.Errorf("relay store: acquire %s: %w", id, err)
	}
	return nil
}

// Claim runs in one bbolt write transaction: bbolt has a single writer, so
// two claims never see the same free message. A read-only scan first
// spares the fsync of a write transaction when nothing is due.
func (s *BoltStore) Claim(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) (ids []string, next time.Time, err error) {
	until := now.Add(lease)
	scan := func(tx *bolt.Tx) (claims [][]byte, next time.Time) {
		tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			e := parseQueueEntry(v)
			if e.next.Equal(parked) {
				return nil
			}
			at := e.next
			if e.held(now) && e.until.After(at) {
				at = e.until
			}
			if !at.After(now) {
				if len(claims) < limit {
					claims = append(claims, bytes.Clone(k))
				}
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
			return nil
		})
		return claims, next
	}
	var claims [][]byte
	s.db.View(func(tx *bolt.Tx) error { claims, next = scan(tx); return nil })
	if len(claims) == 0 {
		return nil, next, nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		claims, next = scan(tx)
		q := tx.Bucket(bucketQueue)
		for _, id := range claims {
			e := parseQueueEntry(q.Get(id))
			e.owner, e.until = owner, until
			if err := q.Put(id, e.bytes()); err != nil {
				return err
			}
			ids = append(ids, string(id))
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
	}
	return ids, next, nil
}

func (s *BoltStore) Blobs() blobstore.Store { return s.blobs }

func (s *BoltStore) Close() error { return s.db.Close() }
