package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/vault"
)

// blobRowSize is how much of an encrypted stream one row holds.
const blobRowSize = 1 << 20

// sqlBlobs keeps blobs in relay_blob_chunks: the encrypted stream (the same
// vault stream as a blob file) cut into numbered rows. A blob is written in
// one transaction, so a half-written blob never exists.
type sqlBlobs struct {
	s *SQLStore
	// db writes the blobs: on PostgreSQL a pool whose commits do not
	// wait for the disk (synchronous_commit=off); nil for the store's own.
	db *sql.DB
}

// Small blobs of a submit, below this, are kept in the database
// rather than as files (blobstore.Store.Small): a 64 KiB attachment costs
// a part of the message's commit instead of a file's and a folder's fsync.
const smallBlobMax = 256 << 10

// heldBlobs is a relay's blobstore.Store.Small: a submit's small
// attachment, encrypted, is held in memory when its writer commits and
// inserted in the transaction that creates the message naming it
// (CreateWith), so message and attachments are durable in one commit. A
// submit that fails removes what it held (Remove); a crash loses only
// what no message names yet, acknowledged to nobody. On PostgreSQL a
// held blob reaches no other instance before its message does, and none
// reads it before then.
type heldBlobs struct {
	s    *SQLStore
	mu   sync.Mutex
	held map[string][]byte
	// backend: the store's blobs have a Backend (PostgreSQL), which
	// removes their rows; without one (SQLite) Remove does.
	backend bool
}

func (h *heldBlobs) Create(key *vault.Key, name string) (blobstore.Writer, error) {
	w := &heldWriter{h: h, name: name}
	var err error
	w.enc, err = key.NewWriter(&w.buf, []byte(name))
	if err != nil {
		return nil, err
	}
	return w, nil
}

type heldWriter struct {
	h    *heldBlobs
	name string
	buf  bytes.Buffer
	enc  io.WriteCloser
}

func (w *heldWriter) Write(p []byte) (int, error) { return w.enc.Write(p) }

func (w *heldWriter) Commit() error {
	if err := w.enc.Close(); err != nil {
		return fmt.Errorf("relay: commit blob %s: %w", w.name, err)
	}
	w.h.mu.Lock()
	w.h.held[w.name] = w.buf.Bytes()
	w.h.mu.Unlock()
	return nil
}

func (w *heldWriter) Abort() {}

// Open reads a held blob from memory, any other from its rows.
func (h *heldBlobs) Open(key *vault.Key, name string) (io.ReadCloser, error) {
	h.mu.Lock()
	data, ok := h.held[name]
	h.mu.Unlock()
	if !ok {
		return (&sqlBlobs{s: h.s}).Open(key, name)
	}
	dec, err := key.NewReader(bytes.NewReader(data), []byte(name))
	if err != nil {
		return nil, fmt.Errorf("relay: blob %s: %w", name, err)
	}
	return io.NopCloser(dec), nil
}

func (h *heldBlobs) Remove(name string) {
	h.mu.Lock()
	_, ok := h.held[name]
	delete(h.held, name)
	h.mu.Unlock()
	if !ok && !h.backend {
		(&sqlBlobs{s: h.s}).Remove(name)
	}
}

// Sync (blobstore.Store.Sync, for a caller that commits no message) makes
// what is held durable on its own: rows inserted in a synchronous commit.
func (h *heldBlobs) Sync() error {
	h.mu.Lock()
	names := make([]string, 0, len(h.held))
	for n := range h.held {
		names = append(names, n)
	}
	h.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	ctx := context.Background()
	tx, err := h.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("relay: sync blobs: %w", err)
	}
	defer tx.Rollback()
	if err := h.insertTx(ctx, tx, names); err != nil {
		return fmt.Errorf("relay: sync blobs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("relay: sync blobs: %w", err)
	}
	h.forget(names)
	return nil
}

// insertTx inserts the held blobs among names in tx (the others are
// files, or rows already). A concurrent Sync may have inserted one
// already: the same bytes, kept once.
func (h *heldBlobs) insertTx(ctx context.Context, tx *sql.Tx, names []string) error {
	for _, n := range names {
		h.mu.Lock()
		data, ok := h.held[n]
		h.mu.Unlock()
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, h.s.q(`INSERT INTO relay_blob_chunks (blob, seq, data) VALUES (?, 0, ?) ON CONFLICT DO NOTHING`), n, data); err != nil {
			return fmt.Errorf("blob %s: %w", n, err)
		}
	}
	return nil
}

// heldBlob is a held blob's name and encrypted bytes.
type heldBlob struct {
	name string
	data []byte
}

// get returns the held blobs among names (the others are files, or rows
// already), leaving them held.
func (h *heldBlobs) get(names []string) []heldBlob {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []heldBlob
	for _, n := range names {
		if data, ok := h.held[n]; ok {
			out = append(out, heldBlob{n, data})
		}
	}
	return out
}

// forget drops names, committed as rows, from what is held.
func (h *heldBlobs) forget(names []string) {
	h.mu.Lock()
	for _, n := range names {
		delete(h.held, n)
	}
	h.mu.Unlock()
}

// Create starts a blob. Its rows commit without waiting for the disk
// (synchronous_commit off): PostgreSQL's WAL is one sequence, so the
// synchronous commit of the message that names the blob (Create, which
// comes after) flushes the blob's rows too. The blob is thus durable by
// the time the message is acknowledged, for one WAL flush instead of two.
// A blob whose message never commits is an orphan, as a blob file is.
func (b *sqlBlobs) Create(key *vault.Key, name string) (blobstore.Writer, error) {
	w := &sqlBlobWriter{s: b.s, db: b.db, name: name}
	if w.db == nil {
		w.db = b.s.db
	}
	var err error
	w.enc, err = key.NewWriter(&w.rows, []byte(name))
	if err != nil {
		return nil, err
	}
	w.rows.flush = w.insert
	return w, nil
}

// rowBuffer gathers encrypted bytes and hands them on a row at a time.
type rowBuffer struct {
	buf   bytes.Buffer
	flush func([]byte) error
}

func (r *rowBuffer) Write(p []byte) (int, error) {
	r.buf.Write(p)
	for r.buf.Len() >= blobRowSize {
		if err := r.flush(r.buf.Next(blobRowSize)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// sqlBlobWriter writes a blob's rows. A blob of one row (up to
// blobRowSize, most attachments) is one INSERT, its own transaction; a
// longer one opens a transaction at its first row and commits at the end.
type sqlBlobWriter struct {
	s    *SQLStore
	db   *sql.DB
	tx   *sql.Tx // from the first of several rows
	name string
	enc  io.WriteCloser
	rows rowBuffer
	seq  int
	done bool
}

func (w *sqlBlobWriter) insert(data []byte) error {
	ctx := context.Background()
	if w.tx == nil {
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("relay: blob %s: %w", w.name, err)
		}
		if w.db == w.s.db && w.s.pg {
			// The store's own pool syncs its commits.
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				tx.Rollback()
				return fmt.Errorf("relay: blob %s: %w", w.name, err)
			}
		}
		w.tx = tx
	}
	_, err := w.tx.ExecContext(ctx, w.s.q(`INSERT INTO relay_blob_chunks (blob, seq, data) VALUES (?, ?, ?)`), w.name, w.seq, data)
	w.seq++
	return err
}

func (w *sqlBlobWriter) Write(p []byte) (int, error) { return w.enc.Write(p) }

func (w *sqlBlobWriter) Commit() error {
	w.done = true
	err := w.enc.Close()
	switch {
	case err != nil:
	case w.tx == nil && w.db != w.s.db:
		// One row: one statement, one round trip, through the pool
		// that commits unsynced.
		_, err = w.db.ExecContext(context.Background(), w.s.q(`INSERT INTO relay_blob_chunks (blob, seq, data) VALUES (?, ?, ?)`), w.name, 0, w.rows.buf.Bytes())
	default:
		if w.rows.buf.Len() > 0 || w.tx == nil {
			err = w.insert(w.rows.buf.Bytes())
		}
		if err == nil {
			err = w.tx.Commit()
		}
	}
	if err != nil {
		if w.tx != nil {
			w.tx.Rollback()
		}
		return fmt.Errorf("relay: commit blob %s: %w", w.name, err)
	}
	return nil
}

func (w *sqlBlobWriter) Abort() {
	if !w.done {
		w.done = true
		if w.tx != nil {
			w.tx.Rollback()
		}
	}
}

// open streams a blob, reading one row at a time.
func (b *sqlBlobs) Open(key *vault.Key, name string) (io.ReadCloser, error) {
	r := &sqlBlobReader{s: b.s, name: name}
	if err := r.load(); err != nil {
		return nil, err
	}
	if r.rest == nil {
		return nil, fmt.Errorf("relay: blob %s: %w", name, os.ErrNotExist)
	}
	dec, err := key.NewReader(r, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("relay: blob %s: %w", name, err)
	}
	return io.NopCloser(dec), nil
}

type sqlBlobReader struct {
	s    *SQLStore
	name string
	seq  int
	rest []byte
	eof  bool
}

func (r *sqlBlobReader) load() error {
	var data []byte
	err := r.s.db.QueryRow(r.s.q(`SELECT data FROM relay_blob_chunks WHERE blob = ? AND seq = ?`), r.name, r.seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		r.eof = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: blob %s: %w", r.name, err)
	}
	r.seq++
	r.rest = data
	return nil
}

func (r *sqlBlobReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		if err := r.load(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func (b *sqlBlobs) Remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.s.db.ExecContext(ctx, b.s.q(`DELETE FROM relay_blob_chunks WHERE blob = ?`), name)
}
