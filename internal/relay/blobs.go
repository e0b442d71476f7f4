package relay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sendsikkert/internal/vault"
)

// Blobs keeps attachment content encrypted (vault streams, additional data
// = the blob's name), named by random ids: as files in Dir, or — for a
// store shared by several relay instances — as rows in the database, so
// that every instance can read every blob.
type Blobs struct {
	Dir string
	Key *vault.Key

	db *sqlBlobs // set for blobs kept in the database
}

// BlobWriter is a blob being written: nothing of it is visible until
// Commit; Abort throws it away.
type BlobWriter interface {
	io.Writer
	Commit() error
	Abort()
}

func validBlobName(name string) bool {
	return name != "" && !strings.ContainsAny(name, `/\.`)
}

// Create starts a new blob; Commit on the returned writer makes it durable
// (for blobs in the database: durable together with the next synchronous
// commit, which Create of the message that names it is).
func (b Blobs) Create() (name string, w BlobWriter, err error) {
	var r [16]byte
	rand.Read(r[:])
	name = hex.EncodeToString(r[:])
	if b.db != nil {
		w, err = b.db.create(b.Key, name)
		return name, w, err
	}
	f, err := b.Key.Create(filepath.Join(b.Dir, name), []byte(name))
	if err != nil {
		return "", nil, err
	}
	return name, f, nil
}

// Open streams a blob's content.
func (b Blobs) Open(name string) (io.ReadCloser, error) {
	if !validBlobName(name) {
		return nil, fmt.Errorf("relay: bad blob name")
	}
	if b.db != nil {
		return b.db.open(b.Key, name)
	}
	return b.Key.OpenFile(filepath.Join(b.Dir, name), []byte(name))
}

// Remove deletes blobs, ignoring ones already gone.
func (b Blobs) Remove(names ...string) {
	for _, n := range names {
		if !validBlobName(n) {
			continue
		}
		if b.db != nil {
			b.db.remove(n)
		} else {
			os.Remove(filepath.Join(b.Dir, n))
		}
	}
}

// Sync makes committed blob names durable.
func (b Blobs) Sync() error {
	if b.db != nil {
		return nil
	}
	return vault.SyncDir(b.Dir)
}
