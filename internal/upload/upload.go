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
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/attachment"
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
	// Refs maps index to the slice's blob, for slices kept in a blob
	// store (OpenShared); files are named by index instead.
	Refs map[int]string `json:"refs,omitempty"`
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

// Records keeps uploads' states, sealed, by id: the agent's bbolt
// database, or the relay's SQL store, where every instance behind the load
// balancer reaches the same upload.
type Records interface {
	// Create adds a new record.
	Create(id string, sealed []byte) error
	// Get returns a record, ErrNotFound when there is none.
	Get(id string) ([]byte, error)
	// Update replaces a record with what f makes of it, atomically against
	// every other Update of it (also from another instance); an error from
	// f leaves the record as it was and is returned.
	Update(id string, f func(sealed []byte) ([]byte, error)) error
	// Delete forgets a record; IDs lists them all.
	Delete(id string) error
	IDs() ([]string, error)
}

// Store keeps uploads: their state in Records, slices as encrypted files
// in a folder (the agent) or as blobs of the relay's blob store (shared by
// its instances).
type Store struct {
	records Records
	slices  slices
	key     *vault.Key
	Now     func() time.Time
}

// Open prepares the store: states in db, slices as files in dir.
func Open(db *bolt.DB, dir string, key *vault.Key) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	k := key.Derive("uploads")
	return &Store{records: boltRecords{db}, slices: fileSlices{dir: dir, key: k}, key: k, Now: time.Now}, nil
}

// OpenShared prepares a store whose states are in records and whose
// slices are blobs in blobs: with the relay's PostgreSQL store, a clerk's
// slices may reach any instance, and the message that names the upload
// may be sent to another.
func OpenShared(records Records, blobs blobstore.Store, key *vault.Key) *Store {
	return &Store{records: records, slices: blobSlices{blobs}, key: key.Derive("uploads"), Now: time.Now}
}

func (s *Store) seal(i *Info) ([]byte, error) { return s.key.SealJSON(i, []byte(i.ID)) }

func (s *Store) open(id string, sealed []byte) (*Info, error) {
	var i Info
	if err := s.key.OpenJSON(sealed, []byte(id), &i); err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	return &i, nil
}

// Get returns an upload's state.
func (s *Store) Get(id string) (*Info, error) {
	sealed, err := s.records.Get(id)
	if err != nil {
		return nil, err
	}
	return s.open(id, sealed)
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
	i := &Info{ID: hex.EncodeToString(r[:]), Filename: attachment.CleanName(filename, 0), ContentType: relayapi.ContentType(contentType, filename), Size: size, Created: s.Now().UTC(), Owner: owner, Slices: map[int]int64{}}
	if err := s.slices.prepare(i.ID); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	sealed, err := s.seal(i)
	if err != nil {
		return nil, err
	}
	if err := s.records.Create(i.ID, sealed); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return i, nil
}

// Put stores slice index, replacing an earlier copy (a retried slice).
func (s *Store) Put(id string, index int, body io.Reader) (*Info, error) {
	if index < 0 || index >= MaxSlices {
		return nil, ErrBadSlice
	}
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	ref, f, err := s.slices.create(id, index)
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
	// The slice is committed inside the record's update, once its size
	// is known to fit: before it is recorded (a crash leaves at worst an
	// unrecorded slice the pane sends again), and never over a recorded
	// slice the size check refuses.
	var out *Info
	var old string
	committed := false
	err = s.records.Update(id, func(sealed []byte) ([]byte, error) {
		i, err := s.open(id, sealed)
		if err != nil {
			return nil, err
		}
		if i.Received()-i.Slices[index]+n > i.Size {
			return nil, ErrTooLarge
		}
		if !committed {
			if err := f.Commit(); err != nil {
				return nil, err
			}
			committed = true
		}
		old = i.Refs[index]
		i.Slices[index] = n
		if ref != "" {
			if i.Refs == nil {
				i.Refs = map[int]string{}
			}
			i.Refs[index] = ref
		}
		out = i
		return s.seal(i)
	})
	if err != nil {
		if !committed {
			f.Abort()
		} else if ref != "" {
			s.slices.remove(id, ref)
		}
		return nil, err
	}
	if old != "" && old != ref {
		s.slices.remove(id, old)
	}
	return out, nil
}

// RefusedError is Take's answer for a document Digital Post would not
// take (attachment.Decide refused it); Decision says why, in Danish.
type RefusedError struct{ Decision attachment.Decision }

func (e *RefusedError) Error() string { return "upload: refused: " + e.Decision.Code }

// Take moves a complete upload into blobs as one encrypted file and
// forgets it. The document is judged as a multipart attachment is
// (attachment.Prepare): converted to PDF where Digital Post wants that
// (with convert nil, as on the agent, kept as it is under its
// Decision.Source name for the relay to convert), named after its
// content, or refused with a *RefusedError. A slice that
// cannot be read back is ErrDamaged; the blob store's own write error
// (a full disk) comes back as it is. The caller owns the returned blob.
func (s *Store) Take(id string, blobs blobstore.Store, convert attachment.Converter) (blobstore.File, error) {
	i, err := s.Get(id)
	if err != nil {
		return blobstore.File{}, err
	}
	if !i.Complete() {
		return blobstore.File{}, ErrIncomplete
	}
	idx := make([]int, 0, len(i.Slices))
	for n := range i.Slices {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	content := &sliceReader{s: s, info: i, idx: idx}
	defer content.Close()
	d, body, err := attachment.Prepare(i.Filename, i.ContentType, content, 0, s.Now(), convert)
	if err != nil {
		return blobstore.File{}, err
	}
	if d.Action == attachment.Refuse {
		return blobstore.File{}, &RefusedError{Decision: d}
	}
	name, f, err := blobs.Create()
	if err != nil {
		return blobstore.File{}, err
	}
	sink := &countingWriter{w: f}
	n, err := io.Copy(sink, body)
	if err != nil {
		f.Abort()
		if sink.err != nil {
			return blobstore.File{}, sink.err
		}
		if errors.Is(err, attachment.ErrTooLargeToConvert) {
			return blobstore.File{}, &RefusedError{Decision: d.TooLargeToConvert()}
		}
		return blobstore.File{}, err
	}
	if err := f.Commit(); err != nil {
		return blobstore.File{}, err
	}
	filename, ct := d.Filename, d.ContentType
	if d.Action == attachment.ConvertPDF && convert == nil {
		filename, ct = d.Source, d.Format.MediaType
	}
	return blobstore.File{FileInfo: relayapi.FileInfo{Filename: filename, ContentType: ct, Size: n}, Blob: name}, nil
}

// sliceReader reads an upload's slices in order, opening each when it is
// reached; a slice that cannot be read back is ErrDamaged.
type sliceReader struct {
	s    *Store
	info *Info
	idx  []int
	n    int // the slice being read
	cur  io.ReadCloser
}

func (r *sliceReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.idx) == 0 {
				return 0, io.EOF
			}
			r.n = r.idx[0]
			r.idx = r.idx[1:]
			rc, err := r.s.slices.open(r.info.ID, r.n, r.info.Refs[r.n])
			if err != nil {
				return 0, fmt.Errorf("%w: slice %d: %w", ErrDamaged, r.n, err)
			}
			r.cur = rc
		}
		n, err := r.cur.Read(p)
		if errors.Is(err, io.EOF) {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			return n, fmt.Errorf("%w: slice %d: %w", ErrDamaged, r.n, err)
		}
		return n, nil
	}
}

func (r *sliceReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}

// Delete forgets an upload and its slices.
func (s *Store) Delete(id string) error {
	var refs []string
	if i, err := s.Get(id); err == nil {
		for _, r := range i.Refs {
			refs = append(refs, r)
		}
	}
	if err := s.records.Delete(id); err != nil {
		return fmt.Errorf("upload: delete %s: %w", id, err)
	}
	s.slices.remove(id, refs...)
	return s.slices.drop(id)
}

// Expire drops uploads older than TTL.
func (s *Store) Expire() {
	ids, err := s.records.IDs()
	if err != nil {
		return
	}
	for _, id := range ids {
		if i, err := s.Get(id); err != nil && !errors.Is(err, ErrNotFound) || err == nil && s.Now().Sub(i.Created) > TTL {
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
