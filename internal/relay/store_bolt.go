package relay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

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
	blobs Blobs
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
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("relay store: init: %w", err)
	}
	s := &BoltStore{db: db, key: key.Derive("relay/records"), blobs: Blobs{Dir: filepath.Join(dir, "blobs"), Key: key.Derive("relay/blobs")}}
	return s, nil
}

func keyOf(sender, key string) []byte {
	h := sha256.Sum256([]byte(sender + "\x00" + key))
	return h[:]
}

func (s *BoltStore) put(tx *bolt.Tx, m *Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sealed, err := s.key.Seal(b, []byte(m.ID))
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketMessages).Put([]byte(m.ID), sealed); err != nil {
		return err
	}
	q := tx.Bucket(bucketQueue)
	if m.Done() {
		return q.Delete([]byte(m.ID))
	}
	var at [8]byte
	binary.BigEndian.PutUint64(at[:], uint64(m.NextAttempt.UnixNano()))
	return q.Put([]byte(m.ID), at[:])
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
		return s.put(tx, m)
	})
	if err != nil {
		return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, err)
	}
	return id, created, nil
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
	b, err := s.key.Open(sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("relay store: get %s: %w", id, err)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("relay store: get %s: %w", id, err)
	}
	return &m, nil
}

func (s *BoltStore) Update(_ context.Context, m *Message) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return s.put(tx, m) }); err != nil {
		return fmt.Errorf("relay store: update %s: %w", m.ID, err)
	}
	return nil
}

func (s *BoltStore) Due(_ context.Context, now time.Time, limit int) (ids []string, next time.Time, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			at := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			if !at.After(now) {
				if len(ids) < limit {
					ids = append(ids, string(k))
				}
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
			return nil
		})
	})
	return ids, next, err
}

func (s *BoltStore) Blobs() Blobs { return s.blobs }

func (s *BoltStore) Close() error { return s.db.Close() }

// Blobs keeps attachment content as encrypted files named by random ids.
type Blobs struct {
	Dir string
	Key *vault.Key
}

// Create starts a new blob; Commit on the returned file makes it durable.
func (b Blobs) Create() (name string, f *vault.File, err error) {
	var r [16]byte
	rand.Read(r[:])
	name = hex.EncodeToString(r[:])
	f, err = b.Key.Create(filepath.Join(b.Dir, name), []byte(name))
	return name, f, err
}

// Open streams a blob's content.
func (b Blobs) Open(name string) (io.ReadCloser, error) {
	if strings.ContainsAny(name, `/\.`) || name == "" {
		return nil, fmt.Errorf("relay: bad blob name")
	}
	return b.Key.OpenFile(filepath.Join(b.Dir, name), []byte(name))
}

// Remove deletes blobs, ignoring ones already gone.
func (b Blobs) Remove(names ...string) {
	for _, n := range names {
		if n != "" && !strings.ContainsAny(n, `/\.`) {
			os.Remove(filepath.Join(b.Dir, n))
		}
	}
}

// Sync makes committed blob names durable.
func (b Blobs) Sync() error { return vault.SyncDir(b.Dir) }
