// Package upload takes a document in slices, as Office hands it out
// (getFileAsync gives slices of at most 4 MB), so a share from Word, Excel
// or PowerPoint survives a dropped connection: the pane asks which slices
// arrived and sends the next missing one. Each slice is kept encrypted
// until the message that names the upload takes the whole file.
package upload

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// Limits.
const (
	MaxSlice  = 4<<20 + 64<<10 // Office's 4 MB plus slack for other clients
	MaxSlices = 4096
	// TTL: an upload not used by a message is dropped after a day.
	TTL = 24 * time.Hour
)

// Errors the API maps to statuses.
var (
	ErrNotFound   = errors.New("upload: not found")
	ErrTooLarge   = errors.New("upload: over the size limit")
	ErrBadSlice   = errors.New("upload: bad slice")
	ErrIncomplete = errors.New("upload: slices missing")
	// ErrDamaged: a stored slice cannot be read back (damaged on disk).
	ErrDamaged = errors.New("upload: slice damaged")
)

// Info is an upload's state.
type Info struct {
	ID          string    `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	Created     time.Time `json:"created"`
	// Owner, on the relay (hosted add-in), is who may add to and use the
	// upload; empty on the agent, which has one user.
	Owner string `json:"owner,omitempty"`
	// Slices maps index to its length.
	Slices map[int]int64 `json:"slices"`
}

// Received is the sum of the slices' lengths.
func (i *Info) Received() int64 {
	var n int64
	for _, l := range i.Slices {
		n += l
	}
	return n
}

// Next is the first missing slice index.
func (i *Info) Next() int {
	for n := 0; ; n++ {
		if _, ok := i.Slices[n]; !ok {
			return n
		}
	}
}

// Complete reports whether slices 0..n-1 are all there and add up to Size.
func (i *Info) Complete() bool {
	return i.Received() == i.Size && i.Next() == len(i.Slices)
}

var bucket = []byte("uploads")

// Store keeps uploads: their state in the agent's database, slices as
// encrypted files.
type Store struct {
	db  *bolt.DB
	dir string
	key *vault.Key
	mu  sync.Mutex
	Now func() time.Time
}

// Open prepares the store in dir.
func Open(db *bolt.DB, dir string, key *vault.Key) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return &Store{db: db, dir: dir, key: key.Derive("uploads"), Now: time.Now}, nil
}

func (s *Store) put(i *Info) error {
	sealed, err := s.key.SealJSON(i, []byte(i.ID))
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(i.ID), sealed) })
}

// Get returns an upload's state.
func (s *Store) Get(id string) (*Info, error) {
	var sealed []byte
	s.db.View(func(tx *bolt.Tx) error {
		sealed = append([]byte(nil), tx.Bucket(bucket).Get([]byte(id))...)
		return nil
	})
	if len(sealed) == 0 {
		return nil, ErrNotFound
	}
	var i Info
	if err := s.key.OpenJSON(sealed, []byte(id), &i); err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	return &i, nil
}

// Create starts an upload of size bytes.
func (s *Store) Create(filename, contentType string, size int64) (*Info, error) {
	return s.CreateFor("", filename, contentType, size)
}

// CreateFor starts an upload owned by owner.
func (s *Store) CreateFor(owner, filename, contentType string, size int64) (*Info, error) {
	if size < 0 || size > relayapi.MaxAttachmentBytes {
		return nil, ErrTooLarge
	}
	var r [16]byte
	rand.Read(r[:])
	i := &Info{ID: hex.EncodeToString(r[:]), Filename: relayapi.CleanFilename(filename, 0), ContentType: relayapi.ContentType(contentType, filename), Size: size, Created: s.Now().UTC(), Owner: owner, Slices: map[int]int64{}}
	if err := os.MkdirAll(filepath.Join(s.dir, i.ID), 0o700); err != nil {
		return nil, err
	}
	if err := s.put(i); err != nil {
		return nil, err
	}
	return i, nil
}

func (s *Store) slicePath(id string, index int) string {
	return filepath.Join(s.dir, id, strconv.Itoa(index))
}

// Put stores slice index, replacing an earlier copy (a retried slice).
func (s *Store) Put(id string, index int, body io.Reader) (*Info, error) {
	if index < 0 || index >= MaxSlices {
		return nil, ErrBadSlice
	}
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	f, err := s.key.Create(s.slicePath(id, index), []byte(id+"/"+strconv.Itoa(index)))
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(body, MaxSlice+1))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("upload: slice %d: %w", index, err)
	}
	if n > MaxSlice {
		f.Abort()
		return nil, ErrBadSlice
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.Get(id)
	if err != nil {
		f.Abort()
		return nil, err
	}
	old := i.Slices[index]
	if i.Received()-old+n > i.Size {
		f.Abort()
		return nil, ErrTooLarge
	}
	// Persist the slice before recording it: a crash leaves at worst an
	// unrecorded slice the pane sends again.
	if err := f.Commit(); err != nil {
		return nil, err
	}
	i.Slices[index] = n
	if err := s.put(i); err != nil {
		return nil, err
	}
	return i, nil
}

// Take moves a complete upload into blobs as one encrypted file and
// forgets it. The caller owns the returned blob.
func (s *Store) Take(id string, blobs blobstore.Store) (blobstore.File, error) {
	i, err := s.Get(id)
	if err != nil {
		return blobstore.File{}, err
	}
	if !i.Complete() {
		return blobstore.File{}, ErrIncomplete
	}
	name, f, err := blobs.Create()
	if err != nil {
		return blobstore.File{}, err
	}
	idx := make([]int, 0, len(i.Slices))
	for n := range i.Slices {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	for _, n := range idx {
		rc, err := s.key.OpenFile(s.slicePath(id, n), []byte(id+"/"+strconv.Itoa(n)))
		if err != nil {
			f.Abort()
			return blobstore.File{}, fmt.Errorf("%w: slice %d: %w", ErrDamaged, n, err)
		}
		sink := &countingWriter{w: f}
		_, err = io.Copy(sink, rc)
		rc.Close()
		if err != nil {
			f.Abort()
			if sink.err == nil {
				err = fmt.Errorf("%w: slice %d: %w", ErrDamaged, n, err)
			}
			return blobstore.File{}, err
		}
	}
	if err := f.Commit(); err != nil {
		return blobstore.File{}, err
	}
	return blobstore.File{FileInfo: relayapi.FileInfo{Filename: i.Filename, ContentType: i.ContentType, Size: i.Size}, Blob: name}, nil
}

// Delete forgets an upload and its slices.
func (s *Store) Delete(id string) error {
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(id)) })
	return os.RemoveAll(filepath.Join(s.dir, id))
}

// Expire drops uploads older than TTL.
func (s *Store) Expire() {
	var ids []string
	s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	for _, id := range ids {
		if i, err := s.Get(id); err != nil || s.Now().Sub(i.Created) > TTL {
			s.Delete(id)
		}
	}
}

// countingWriter remembers the writer's own error, so a slice that cannot
// be read is told apart from a disk that cannot be written.
type countingWriter struct {
	w   io.Writer
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
