package upload

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

type fixture struct {
	s     *Store
	db    *bolt.DB
	dir   string
	blobs blobstore.Store
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _ := vault.New(vault.NewRandomKey())
	s, err := Open(db, filepath.Join(dir, "uploads"), key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, db: db, dir: dir, now: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	s.Now = func() time.Time { return f.now }
	os.MkdirAll(filepath.Join(dir, "blobs"), 0o700)
	f.blobs = blobstore.Store{Dir: filepath.Join(dir, "blobs"), Key: key.Derive("blobs")}
	return f
}

// TestSlices: a document arrives in slices, out of order, one of them
// twice (a retry after a dropped connection); Take joins them in order.
func TestSlices(t *testing.T) {
	f := newFixture(t)
	// A .docx is a ZIP: Take judges the document by its content.
	doc := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("Afgørelse i sag 42. "), 1000)...) // 21,004 bytes
	parts := [][]byte{doc[:8000], doc[8000:16000], doc[16000:]}
	i, err := f.s.Create(`C:\Users\anna\Afgørelse.docx`, "", int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	if i.Filename != "Afgørelse.docx" || i.ContentType == "" || i.Next() != 0 || i.Complete() {
		t.Fatalf("created %+v", i)
	}
	for _, n := range []int{2, 0, 0} {
		if i, err = f.s.Put(i.ID, n, bytes.NewReader(parts[n])); err != nil {
			t.Fatalf("put %d: %v", n, err)
		}
	}
	if i.Next() != 1 || i.Received() != int64(len(parts[0])+len(parts[2])) || i.Complete() {
		t.Fatalf("after 2, 0, 0: next %d received %d", i.Next(), i.Received())
	}
	if _, err := f.s.Take(i.ID, f.blobs, nil); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Take of an incomplete upload: %v", err)
	}
	if i, err = f.s.Put(i.ID, 1, bytes.NewReader(parts[1])); err != nil || !i.Complete() {
		t.Fatalf("put 1: %v %+v", err, i)
	}
	got, err := f.s.Get(i.ID)
	if err != nil || !got.Complete() {
		t.Fatalf("Get: %v", err)
	}
	file, err := f.s.Take(i.ID, f.blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if file.Filename != "Afgørelse.docx" || file.Size != int64(len(doc)) {
		t.Fatalf("file %+v", file)
	}
	rc, err := f.blobs.Open(file.Blob)
	if err != nil {
		t.Fatal(err)
	}
	joined, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(joined, doc) {
		t.Fatal("joined document differs")
	}
	// Slices are kept encrypted.
	b, _ := os.ReadFile(filepath.Join(f.dir, "uploads", i.ID, "0"))
	if bytes.Contains(b, []byte("Afgørelse i sag")) {
		t.Fatal("slice stored in clear")
	}
	if err := f.s.Delete(i.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Get(i.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "uploads", i.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("slices left after Delete")
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"negative size", func() error { _, err := f.s.Create("a.pdf", "application/pdf", -1); return err }, ErrTooLarge},
		{"over the attachment limit", func() error {
			_, err := f.s.Create("a.pdf", "application/pdf", relayapi.MaxAttachmentBytes+1)
			return err
		}, ErrTooLarge},
		{"unknown upload", func() error { _, err := f.s.Put("nope", 0, strings.NewReader("x")); return err }, ErrNotFound},
		{"negative index", func() error { _, err := f.s.Put("nope", -1, strings.NewReader("x")); return err }, ErrBadSlice},
		{"index past the last", func() error { _, err := f.s.Put("nope", MaxSlices, strings.NewReader("x")); return err }, ErrBadSlice},
		{"take unknown", func() error { _, err := f.s.Take("nope", f.blobs, nil); return err }, ErrNotFound},
	}
	for _, tt := range tests {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	i, _ := f.s.Create("a.pdf", "application/pdf", 10)
	if _, err := f.s.Put(i.ID, 0, bytes.NewReader(make([]byte, MaxSlice+1))); !errors.Is(err, ErrBadSlice) {
		t.Errorf("slice over MaxSlice: %v", err)
	}
	if _, err := f.s.Put(i.ID, 0, strings.NewReader("0123456789A")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("more than the declared size: %v", err)
	}
	if _, err := f.s.Put(i.ID, 0, io.MultiReader(strings.NewReader("01"), failing{})); err == nil {
		t.Error("a slice cut short was stored")
	}
	if i, _ := f.s.Get(i.ID); i.Received() != 0 {
		t.Errorf("refused slices were recorded: %d bytes", i.Received())
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestExpire: uploads no message took are dropped after a day; damaged
// ones too.
func TestExpire(t *testing.T) {
	f := newFixture(t)
	old, _ := f.s.Create("old.pdf", "application/pdf", 1)
	f.now = f.now.Add(TTL - time.Hour)
	fresh, _ := f.s.Create("fresh.pdf", "application/pdf", 1)
	f.now = f.now.Add(2 * time.Hour)
	f.s.Expire()
	if _, err := f.s.Get(old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old upload kept: %v", err)
	}
	if _, err := f.s.Get(fresh.ID); err != nil {
		t.Fatalf("fresh upload dropped: %v", err)
	}
	// A record another key sealed cannot be read, and is dropped.
	f.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(fresh.ID), []byte("garbage")) })
	if _, err := f.s.Get(fresh.ID); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("damaged record: %v", err)
	}
	f.s.Expire()
	if _, err := f.s.Get(fresh.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("damaged upload kept: %v", err)
	}
}

// TestTakeDamagedSlice: a slice damaged on disk is an error, not a
// document with a hole.
func TestTakeDamagedSlice(t *testing.T) {
	f := newFixture(t)
	i, _ := f.s.Create("a.pdf", "application/pdf", 5)
	f.s.Put(i.ID, 0, strings.NewReader("%PDF-"))
	p := filepath.Join(f.dir, "uploads", i.ID, "0")
	b, _ := os.ReadFile(p)
	b[len(b)-2] ^= 1
	os.WriteFile(p, b, 0o600)
	if _, err := f.s.Take(i.ID, f.blobs, nil); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Take of a damaged slice: %v, want ErrDamaged", err)
	}
	if left, _ := os.ReadDir(f.blobs.Dir); len(left) != 0 {
		t.Fatalf("%d blobs left by a failed Take", len(left))
	}
	os.Remove(p)
	if _, err := f.s.Take(i.ID, f.blobs, nil); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Take of a missing slice: %v, want ErrDamaged", err)
	}
}
