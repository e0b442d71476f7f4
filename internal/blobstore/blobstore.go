// Package blobstore keeps attachment content encrypted at rest, for the
// agent's outbox and the relay's queue alike, and reads a submit's
// attachments into it.
package blobstore

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sendsikkert/internal/vault"
)

// Store keeps attachment content encrypted (vault streams, additional data
// = the blob's name), named by random ids: as files in Dir, or — for a
// store shared by several relay instances — as rows in the database, so
// that every instance can read every blob.
type Store struct {
	Dir string
	Key *vault.Key

	// Backend, when set, keeps blobs somewhere else than files in Dir
	// (the database of a store shared by several relay instances).
	Backend Backend

	// Small, when set, keeps a submit's attachment (ReadAttachments) of
	// at most SmallMax bytes there instead of in a file or a Backend blob
	// of its own: held until the transaction that creates the message
	// naming it, where it rides on that commit's sync, so a small submit
	// costs one fsync instead of three (the file, its folder, the commit)
	// on SQLite, and one transaction instead of two on PostgreSQL. A
	// larger one spills to a file in Dir (or to Backend) as it is written.
	Small    Backend
	SmallMax int
}

// Backend stores encrypted blobs by name.
type Backend interface {
	Create(key *vault.Key, name string) (Writer, error)
	Open(key *vault.Key, name string) (io.ReadCloser, error)
	Remove(name string)
}

// Writer is a blob being written: nothing of it is visible until
// Commit; Abort throws it away.
type Writer interface {
	io.Writer
	Commit() error
	Abort()
}

// ValidName reports whether a blob name is one Create makes.
func ValidName(name string) bool { return validBlobName(name) }

func validBlobName(name string) bool {
	return name != "" && !strings.ContainsAny(name, `/\.`)
}

// Create starts a new blob; Commit on the returned writer makes it durable
// (for blobs in the database: durable together with the next synchronous
// commit, which Create of the message that names it is).
func (b Store) Create() (name string, w Writer, err error) {
	var r [16]byte
	rand.Read(r[:])
	name = hex.EncodeToString(r[:])
	if b.Backend != nil {
		w, err = b.Backend.Create(b.Key, name)
		return name, w, err
	}
	w, err = createBlobFile(b.Key, filepath.Join(b.Dir, name), []byte(name))
	if err != nil {
		return "", nil, err
	}
	return name, w, nil
}

// CreateSmall is Create for a submit's attachments (ReadAttachments): a
// blob of at most SmallMax bytes goes to Small when its writer commits.
// Only for callers that hold no transaction of Small's database (SQLite's
// one writer would wait for itself); every other blob is Create's file.
func (b Store) CreateSmall() (string, Writer, error) {
	if b.Small == nil || b.SmallMax <= 0 {
		return b.Create()
	}
	var r [16]byte
	rand.Read(r[:])
	name := hex.EncodeToString(r[:])
	return name, &smallFirst{b: b, name: name}, nil
}

// blobFile writes an encrypted blob straight under its final name. No
// temporary file and rename are needed: a blob is read only once a
// committed record names it, and it is named only after Commit, so a blob
// cut short by a crash is never read. Skipping the rename spares a
// journal commit per blob, which is most of a submit's cost on ext4.
type blobFile struct {
	f    *os.File
	bw   *bufio.Writer
	enc  io.WriteCloser
	done bool
}

func createBlobFile(key *vault.Key, path string, ad []byte) (*blobFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blobstore: create blob: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	enc, err := key.NewWriter(bw, ad)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &blobFile{f: f, bw: bw, enc: enc}, nil
}

func (b *blobFile) Write(p []byte) (int, error) { return b.enc.Write(p) }

// Commit seals the stream and syncs the file; Store.Sync then makes its
// name durable.
func (b *blobFile) Commit() error {
	b.done = true
	err := b.enc.Close()
	if err == nil {
		err = b.bw.Flush()
	}
	if err == nil {
		err = b.f.Sync()
	}
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(b.f.Name())
		return fmt.Errorf("blobstore: commit blob %s: %w", filepath.Base(b.f.Name()), err)
	}
	return nil
}

func (b *blobFile) Abort() {
	if !b.done {
		b.done = true
		b.f.Close()
		os.Remove(b.f.Name())
	}
}

// Open streams a blob's content.
func (b Store) Open(name string) (io.ReadCloser, error) {
	if !validBlobName(name) {
		return nil, fmt.Errorf("blobstore: bad blob name")
	}
	if b.Small != nil {
		r, err := b.Small.Open(b.Key, name)
		if !errors.Is(err, os.ErrNotExist) {
			return r, err
		}
	}
	if b.Backend != nil {
		return b.Backend.Open(b.Key, name)
	}
	return b.Key.OpenFile(filepath.Join(b.Dir, name), []byte(name))
}

// Remove deletes blobs, ignoring ones already gone.
func (b Store) Remove(names ...string) {
	for _, n := range names {
		if !validBlobName(n) {
			continue
		}
		if b.Small != nil {
			b.Small.Remove(n)
		}
		if b.Backend != nil {
			b.Backend.Remove(n)
			continue
		}
		os.Remove(filepath.Join(b.Dir, n))
	}
}

// Syncer is a Small backend whose commits wait for a later sync: Sync
// makes every blob committed so far durable.
type Syncer interface{ Sync() error }

// Sync makes committed blobs durable: their names in Dir, and what Small
// holds (its own sync, when it has one).
func (b Store) Sync() error {
	if s, ok := b.Small.(Syncer); ok {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("blobstore: sync: %w", err)
		}
	}
	if b.Backend != nil {
		return nil
	}
	return vault.SyncDir(b.Dir)
}

// SyncNames is Sync for the committed blobs names only, for a caller
// whose next step is a synchronous commit to Small's database of the
// record that names them (the relay's submit): the folder is synced when
// one of them is a file, and nothing is when each is kept in Small — that
// commit makes them durable.
func (b Store) SyncNames(names ...string) error {
	if b.Backend != nil {
		return nil
	}
	for _, n := range names {
		if !validBlobName(n) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(b.Dir, n)); err == nil || b.Small == nil {
			return vault.SyncDir(b.Dir)
		}
	}
	return nil
}

// smallFirst holds a blob's content in memory while it is at most
// SmallMax bytes; at Commit it goes to Small. Past SmallMax it spills to
// a blob file (or Backend's blob) and goes on there.
type smallFirst struct {
	b    Store
	name string
	buf  []byte
	file Writer
}

func (w *smallFirst) Write(p []byte) (int, error) {
	if w.file != nil {
		return w.file.Write(p)
	}
	if len(w.buf)+len(p) <= w.b.SmallMax {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	var f Writer
	var err error
	if w.b.Backend != nil {
		f, err = w.b.Backend.Create(w.b.Key, w.name)
	} else {
		f, err = createBlobFile(w.b.Key, filepath.Join(w.b.Dir, w.name), []byte(w.name))
	}
	if err != nil {
		return 0, err
	}
	w.file = f
	if _, err := f.Write(w.buf); err != nil {
		return 0, err
	}
	w.buf = nil
	return f.Write(p)
}

func (w *smallFirst) Commit() error {
	if w.file != nil {
		return w.file.Commit()
	}
	sw, err := w.b.Small.Create(w.b.Key, w.name)
	if err != nil {
		return fmt.Errorf("blobstore: commit blob %s: %w", w.name, err)
	}
	if _, err := sw.Write(w.buf); err != nil {
		sw.Abort()
		return fmt.Errorf("blobstore: commit blob %s: %w", w.name, err)
	}
	w.buf = nil
	return sw.Commit()
}

func (w *smallFirst) Abort() {
	if w.file != nil {
		w.file.Abort()
		return
	}
	w.buf = nil
}
