package vault

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Streams are cut into chunks, each sealed on its own with a nonce made of a
// random per-stream prefix, the chunk's counter and a flag for the last
// chunk (the STREAM construction). Reordering, dropping or cutting off
// chunks therefore fails authentication.
const (
	chunkSize   = 64 << 10
	magic       = "SSv1"
	prefixSize  = 7
	headerSize  = len(magic) + prefixSize
	sealedChunk = chunkSize + 16
)

type streamWriter struct {
	k      *Key
	w      io.Writer
	ad     []byte
	prefix [prefixSize]byte
	n      uint32
	buf    []byte
	out    []byte
	closed bool
}

// NewWriter returns a writer that encrypts to w. Close must be called to
// write the final chunk; without it the stream is unreadable.
func (k *Key) NewWriter(w io.Writer, additionalData []byte) (io.WriteCloser, error) {
	sw := &streamWriter{k: k, w: w, ad: append([]byte(nil), additionalData...), buf: make([]byte, 0, chunkSize), out: make([]byte, 0, sealedChunk)}
	if _, err := rand.Read(sw.prefix[:]); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	if _, err := w.Write(append([]byte(magic), sw.prefix[:]...)); err != nil {
		return nil, err
	}
	return sw, nil
}

func (s *streamWriter) nonce(last bool) []byte {
	var nonce [12]byte
	copy(nonce[:], s.prefix[:])
	binary.BigEndian.PutUint32(nonce[prefixSize:], s.n)
	if last {
		nonce[11] = 1
	}
	return nonce[:]
}

func (s *streamWriter) flush(last bool) error {
	if s.n == ^uint32(0) {
		return errors.New("vault: stream too long")
	}
	s.out = s.k.aead.Seal(s.out[:0], s.nonce(last), s.buf, s.ad)
	s.buf = s.buf[:0]
	s.n++
	_, err := s.w.Write(s.out)
	return err
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("vault: write after close")
	}
	written := 0
	for len(p) > 0 {
		// Keep a full chunk buffered until more data arrives, so the last
		// chunk is always the one Close seals with the final flag.
		if len(s.buf) == chunkSize {
			if err := s.flush(false); err != nil {
				return written, err
			}
		}
		c := copy(s.buf[len(s.buf):chunkSize], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
		written += c
	}
	return written, nil
}

func (s *streamWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush(true)
}

type streamReader struct {
	k      *Key
	br     *bufio.Reader
	ad     []byte
	prefix [prefixSize]byte
	n      uint32
	in     []byte
	plain  []byte
	rest   []byte
	done   bool
	err    error
}

// NewReader decrypts a stream made by NewWriter. It returns ErrCorrupt (at
// the point it is found) for a changed, reordered or truncated stream.
func (k *Key) NewReader(r io.Reader, additionalData []byte) (io.Reader, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrCorrupt
		}
		return nil, err
	}
	if string(h[:len(magic)]) != magic {
		return nil, ErrCorrupt
	}
	sr := &streamReader{k: k, br: bufio.NewReaderSize(r, sealedChunk+1), ad: append([]byte(nil), additionalData...), in: make([]byte, sealedChunk), plain: make([]byte, 0, chunkSize)}
	copy(sr.prefix[:], h[len(magic):])
	return sr, nil
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.rest) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.next()
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// next opens one sealed chunk; it is the last one when nothing follows it.
func (s *streamReader) next() {
	n, err := io.ReadFull(s.br, s.in)
	last := false
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	case err != nil:
		s.err = err
		return
	default:
		if _, perr := s.br.Peek(1); errors.Is(perr, io.EOF) {
			last = true
		} else if perr != nil {
			s.err = perr
			return
		}
	}
	var nonce [12]byte
	copy(nonce[:], s.prefix[:])
	binary.BigEndian.PutUint32(nonce[prefixSize:], s.n)
	if last {
		nonce[11] = 1
	}
	pt, err := s.k.aead.Open(s.plain[:0], nonce[:], s.in[:n], s.ad)
	if err != nil {
		s.err = ErrCorrupt
		return
	}
	s.n++
	s.rest, s.done = pt, last
}

// File writes an encrypted file atomically: nothing appears at path until
// Commit, which fsyncs the data before renaming it into place.
type File struct {
	f    *os.File
	enc  io.WriteCloser
	bw   *bufio.Writer
	path string
	size int64
}

// Create starts an encrypted file at path.
func (k *Key) Create(path string, additionalData []byte) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("vault: create %s: %w", filepath.Base(path), err)
	}
	bw := bufio.NewWriterSize(f, sealedChunk*2)
	enc, err := k.NewWriter(bw, additionalData)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{f: f, enc: enc, bw: bw, path: path}, nil
}

func (f *File) Write(p []byte) (int, error) {
	n, err := f.enc.Write(p)
	f.size += int64(n)
	return n, err
}

// Size is the number of plaintext bytes written so far.
func (f *File) Size() int64 { return f.size }

// Commit seals, syncs and renames the file into place.
func (f *File) Commit() error {
	err := f.enc.Close()
	if err == nil {
		err = f.bw.Flush()
	}
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.f.Name())
		return fmt.Errorf("vault: commit %s: %w", filepath.Base(f.path), err)
	}
	return nil
}

// Abort throws the file away.
func (f *File) Abort() {
	f.f.Close()
	os.Remove(f.f.Name())
}

// OpenFile opens an encrypted file for reading. The reader also seeks:
// chunks have a fixed sealed size, so any one can be found and opened on
// its own, and the last one is known from the file's length (cutting the
// file off still fails, as the new last chunk lacks the final flag). A PDF
// merge reads that way instead of copying the plaintext to a temporary
// file.
func (k *Key) OpenFile(path string, additionalData []byte) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", filepath.Base(path), err)
	}
	r, err := k.newSeekReader(f, additionalData)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: open %s: %w", filepath.Base(path), err)
	}
	return r, nil
}

// seekReader decrypts a stream in a file by chunk, wherever it is asked.
type seekReader struct {
	k       *Key
	f       *os.File
	ad      []byte
	prefix  [prefixSize]byte
	chunks  int64 // number of sealed chunks, at least one
	size    int64 // plaintext length
	pos     int64
	cur     int64 // index of the chunk in plain, -1 for none
	in      []byte
	plain   []byte
	lastErr error
}

func (k *Key) newSeekReader(f *os.File, additionalData []byte) (*seekReader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrCorrupt
		}
		return nil, err
	}
	if string(h[:len(magic)]) != magic {
		return nil, ErrCorrupt
	}
	body := st.Size() - int64(headerSize)
	chunks := (body + sealedChunk - 1) / sealedChunk
	if chunks == 0 || body-(chunks-1)*sealedChunk < 16 {
		return nil, ErrCorrupt
	}
	r := &seekReader{k: k, f: f, ad: append([]byte(nil), additionalData...), chunks: chunks,
		size: body - chunks*16, cur: -1, in: make([]byte, sealedChunk), plain: make([]byte, 0, chunkSize)}
	copy(r.prefix[:], h[len(magic):])
	return r, nil
}

// load opens chunk i into plain.
func (r *seekReader) load(i int64) error {
	off := int64(headerSize) + i*sealedChunk
	n := int64(sealedChunk)
	if i == r.chunks-1 {
		n = int64(headerSize) + r.size + r.chunks*16 - off
	}
	if _, err := r.f.ReadAt(r.in[:n], off); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrCorrupt // the file shrank under us
		}
		return err
	}
	var nonce [12]byte
	copy(nonce[:], r.prefix[:])
	binary.BigEndian.PutUint32(nonce[prefixSize:], uint32(i))
	if i == r.chunks-1 {
		nonce[11] = 1
	}
	pt, err := r.k.aead.Open(r.plain[:0], nonce[:], r.in[:n], r.ad)
	if err != nil {
		r.cur = -1
		return ErrCorrupt
	}
	r.plain, r.cur = pt, i
	return nil
}

func (r *seekReader) Read(p []byte) (int, error) {
	if r.lastErr != nil {
		return 0, r.lastErr
	}
	if r.pos >= r.size {
		// An empty or fully read stream still proves its last chunk, so a
		// file cut back to a chunk boundary is never read as complete.
		if r.cur != r.chunks-1 {
			if err := r.load(r.chunks - 1); err != nil {
				r.lastErr = err
				return 0, err
			}
		}
		return 0, io.EOF
	}
	i := r.pos / chunkSize
	if i != r.cur {
		if err := r.load(i); err != nil {
			r.lastErr = err
			return 0, err
		}
	}
	n := copy(p, r.plain[r.pos-i*chunkSize:])
	r.pos += int64(n)
	return n, nil
}

func (r *seekReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	case io.SeekStart:
	default:
		return 0, errors.New("vault: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("vault: seek before start")
	}
	r.pos = offset
	return offset, nil
}

func (r *seekReader) Close() error { return r.f.Close() }
