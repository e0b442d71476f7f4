package upload

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/vault"
)

// boltRecords keeps states in the agent's bbolt database; bbolt's single
// writer makes Update atomic.
type boltRecords struct{ db *bolt.DB }

func (b boltRecords) Create(id string, sealed []byte) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(id), sealed) })
}

func (b boltRecords) Get(id string) ([]byte, error) {
	var sealed []byte
	b.db.View(func(tx *bolt.Tx) error {
		sealed = append([]byte(nil), tx.Bucket(bucket).Get([]byte(id))...)
		return nil
	})
	if len(sealed) == 0 {
		return nil, ErrNotFound
	}
	return sealed, nil
}

func (b boltRecords) Update(id string, f func([]byte) ([]byte, error)) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		old := tx.Bucket(bucket).Get([]byte(id))
		if old == nil {
			return ErrNotFound
		}
		sealed, err := f(append([]byte(nil), old...))
		if err != nil {
			return err
		}
		return tx.Bucket(bucket).Put([]byte(id), sealed)
	})
}

func (b boltRecords) Delete(id string) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(id)) })
}

func (b boltRecords) IDs() ([]string, error) {
	var ids []string
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

// slices keeps slice content. ref is what the record keeps to find a
// slice again ("" where the id and index name it).
type slices interface {
	prepare(id string) error
	create(id string, index int) (ref string, w blobstore.Writer, err error)
	open(id string, index int, ref string) (io.ReadCloser, error)
	remove(id string, refs ...string)
	drop(id string) error
}

// fileSlices keeps slices as encrypted files dir/id/index (the agent): a
// retried slice replaces the file when committed.
type fileSlices struct {
	dir string
	key *vault.Key
}

func (f fileSlices) path(id string, index int) string {
	return filepath.Join(f.dir, id, strconv.Itoa(index))
}

func (f fileSlices) prepare(id string) error { return os.MkdirAll(filepath.Join(f.dir, id), 0o700) }

func (f fileSlices) create(id string, index int) (string, blobstore.Writer, error) {
	w, err := f.key.Create(f.path(id, index), []byte(id+"/"+strconv.Itoa(index)))
	return "", w, err
}

func (f fileSlices) open(id string, index int, _ string) (io.ReadCloser, error) {
	return f.key.OpenFile(f.path(id, index), []byte(id+"/"+strconv.Itoa(index)))
}

func (f fileSlices) remove(string, ...string) {}

func (f fileSlices) drop(id string) error { return os.RemoveAll(filepath.Join(f.dir, id)) }

// blobSlices keeps each slice as a blob of its own (the relay's blob
// store: rows of its PostgreSQL database, or its blob folder with SQLite).
type blobSlices struct{ blobs blobstore.Store }

func (b blobSlices) prepare(string) error { return nil }

func (b blobSlices) create(string, int) (string, blobstore.Writer, error) {
	name, w, err := b.blobs.Create()
	if err != nil {
		return "", nil, err
	}
	return name, syncedWriter{w, b.blobs}, nil
}

// syncedWriter makes a committed blob's name durable (a blob folder's
// directory entry) before the record names it.
type syncedWriter struct {
	blobstore.Writer
	blobs blobstore.Store
}

func (w syncedWriter) Commit() error {
	if err := w.Writer.Commit(); err != nil {
		return err
	}
	return w.blobs.Sync()
}

func (b blobSlices) open(_ string, _ int, ref string) (io.ReadCloser, error) {
	if ref == "" {
		return nil, errors.New("no blob recorded")
	}
	return b.blobs.Open(ref)
}

func (b blobSlices) remove(_ string, refs ...string) { b.blobs.Remove(refs...) }

func (b blobSlices) drop(string) error { return nil }
