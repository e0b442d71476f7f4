package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func testKey(t testing.TB) *Key {
	k, err := New(NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := testKey(t)
	ct, err := k.Seal([]byte("hemmelig"), []byte("id-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("hemmelig")) {
		t.Fatal("plaintext visible")
	}
	if pt, err := k.Open(ct, []byte("id-1")); err != nil || string(pt) != "hemmelig" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := k.Open(ct, []byte("id-2")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other id: %v", err)
	}
	if _, err := k.Derive("x").Open(ct, []byte("id-1")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("derived key opened: %v", err)
	}
}

// TestSealJSON: a record round-trips; under another id it is corrupt,
// not silently another record.
func TestSealJSON(t *testing.T) {
	k := testKey(t)
	type rec struct{ ID, Name string }
	sealed, err := k.SealJSON(rec{"m1", "Jens"}, []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}
	var got rec
	if err := k.OpenJSON(sealed, []byte("m1"), &got); err != nil || got != (rec{"m1", "Jens"}) {
		t.Fatalf("%+v %v", got, err)
	}
	if err := k.OpenJSON(sealed, []byte("m2"), &got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("under another id: %v", err)
	}
}

func TestStreamRoundTrip(t *testing.T) {
	k := testKey(t)
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, 3*chunkSize + 17} {
		data := make([]byte, size)
		rand.Read(data)
		var buf bytes.Buffer
		w, _ := k.NewWriter(&buf, []byte("ad"))
		// Odd write sizes cross chunk borders.
		for p := data; len(p) > 0; {
			n := min(len(p), 1000+size%7)
			w.Write(p[:n])
			p = p[n:]
		}
		w.Close()
		enc := buf.Bytes()
		r, err := k.NewReader(bytes.NewReader(enc), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: round trip failed: %v", size, err)
		}
		// Truncation at any chunk border, or by one byte, is detected.
		for _, cut := range []int{len(enc) - 1, headerSize + sealedChunk, headerSize} {
			if cut >= len(enc) || cut < headerSize {
				continue
			}
			r, err := k.NewReader(bytes.NewReader(enc[:cut]), []byte("ad"))
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("size %d cut %d: %v", size, cut, err)
			}
		}
		// A flipped bit is detected.
		bad := append([]byte(nil), enc...)
		bad[len(bad)-3] ^= 1
		r, _ = k.NewReader(bytes.NewReader(bad), []byte("ad"))
		if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("size %d: flipped bit: %v", size, err)
		}
	}
}

func TestFileCommitAbort(t *testing.T) {
	k := testKey(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "blob")
	f, err := k.Create(p, []byte("blob"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("indhold"))
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("file visible before commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if bytes.Contains(raw, []byte("indhold")) {
		t.Fatal("plaintext on disk")
	}
	rc, err := k.OpenFile(p, []byte("blob"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "indhold" {
		t.Fatalf("got %q", got)
	}
	g, _ := k.Create(filepath.Join(dir, "other"), nil)
	g.Write([]byte("x"))
	g.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("abort left files: %v", entries)
	}
}

func BenchmarkStream(b *testing.B) {
	k := testKey(b)
	data := make([]byte, 8<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w, _ := k.NewWriter(io.Discard, nil)
		w.Write(data)
		w.Close()
	}
}

// BenchmarkFileRead reads a 32 MiB encrypted file through OpenFile (by
// chunk, seekable) and through the plain stream reader, for comparison.
func BenchmarkFileRead(b *testing.B) {
	k := testKey(b)
	p := filepath.Join(b.TempDir(), "blob")
	f, _ := k.Create(p, nil)
	f.Write(make([]byte, 32<<20))
	if err := f.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("OpenFile", func(b *testing.B) {
		b.SetBytes(32 << 20)
		for b.Loop() {
			rc, _ := k.OpenFile(p, nil)
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	})
	b.Run("NewReader", func(b *testing.B) {
		b.SetBytes(32 << 20)
		for b.Loop() {
			f, _ := os.Open(p)
			r, _ := k.NewReader(f, nil)
			io.Copy(io.Discard, r)
			f.Close()
		}
	})
}

// TestFileSeek reads encrypted files at random places, as a PDF merge
// does, and still refuses a cut-off, a changed or a foreign file.
func TestFileSeek(t *testing.T) {
	k := testKey(t)
	dir := t.TempDir()
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, 3*chunkSize + 17} {
		data := make([]byte, size)
		rand.Read(data)
		p := filepath.Join(dir, "blob")
		f, _ := k.Create(p, []byte("ad"))
		f.Write(data)
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		rc, err := k.OpenFile(p, []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		rs := rc.(io.ReadSeeker)
		if end, err := rs.Seek(0, io.SeekEnd); err != nil || end != int64(size) {
			t.Fatalf("size %d: SeekEnd = %d, %v", size, end, err)
		}
		// Backwards and forwards across chunk borders.
		for _, off := range []int{size / 2, 0, size - 1, chunkSize - 3, chunkSize + 5, 2*chunkSize - 1} {
			if off < 0 || off >= size {
				continue
			}
			rs.Seek(int64(off), io.SeekStart)
			buf := make([]byte, 10)
			n, err := io.ReadFull(rs, buf)
			want := data[off:min(off+10, size)]
			if !bytes.Equal(buf[:n], want) || (err != nil && n != len(want)) {
				t.Fatalf("size %d at %d: got %x want %x (%v)", size, off, buf[:n], want, err)
			}
		}
		rs.Seek(0, io.SeekStart)
		if got, err := io.ReadAll(rs); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read after seeks: %v", size, err)
		}
		rc.Close()
		rc, _ = k.OpenFile(p, []byte("other"))
		if _, err := io.ReadAll(rc); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("size %d: other additional data read: %v", size, err)
		}
		rc.Close()

		// Cut back to a chunk border: reading to the end fails.
		enc, _ := os.ReadFile(p)
		for _, cut := range []int{len(enc) - 1, headerSize + sealedChunk, headerSize + 2*sealedChunk, headerSize} {
			if cut >= len(enc) {
				continue
			}
			os.WriteFile(p, enc[:cut], 0o600)
			rc, err := k.OpenFile(p, []byte("ad"))
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("size %d cut %d: %v", size, cut, err)
			}
		}
		bad := append([]byte(nil), enc...)
		bad[len(bad)-3] ^= 1
		os.WriteFile(p, bad, 0o600)
		rc, _ = k.OpenFile(p, []byte("ad"))
		if _, err := io.ReadAll(rc); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("size %d: flipped bit: %v", size, err)
		}
		rc.Close()
	}
}
