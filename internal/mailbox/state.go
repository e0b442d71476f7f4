package mailbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketCopies = []byte("mailbox-copies")
	bucketState  = []byte("mailbox-state")
)

// Copy states.
const (
	copyPending  = "pending"  // the send will get a copy once delivered
	copyAppended = "appended" // the copy is in the folder
	copyDropped  = "dropped"  // nothing was delivered, or the account went away
)

// copyRecord is one send's copy. It holds ids and random blob names only,
// nothing personal, so it is not sealed.
type copyRecord struct {
	State   string    `json:"state"`
	Blobs   []string  `json:"blobs,omitempty"`
	Created time.Time `json:"created"`
	Done    time.Time `json:"done,omitzero"`
}

// inboxMark is how far INBOX has been read.
type inboxMark struct {
	UIDValidity uint32 `json:"uidValidity"`
	LastUID     uint32 `json:"lastUid"`
}

func (l *Link) record(id string) (copyRecord, bool) {
	var r copyRecord
	var ok bool
	l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCopies).Get([]byte(id)); v != nil {
			ok = json.Unmarshal(v, &r) == nil
		}
		return nil
	})
	return r, ok
}

func (l *Link) putRecord(id string, r copyRecord) error {
	b, _ := json.Marshal(r)
	if err := l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCopies).Put([]byte(id), b) }); err != nil {
		return fmt.Errorf("mailbox: record %s: %w", id, err)
	}
	return nil
}

// pending lists the sends still waiting for their copy.
func (l *Link) pending() []string {
	var ids []string
	l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCopies).ForEach(func(k, v []byte) error {
			var r copyRecord
			if json.Unmarshal(v, &r) == nil && r.State == copyPending {
				ids = append(ids, string(k))
			}
			return nil
		})
	})
	return ids
}

// finish moves a record to its last state and drops the retained blobs.
func (l *Link) finish(id string, r copyRecord, state string) error {
	r.State, r.Done = state, l.now().UTC()
	blobs := r.Blobs
	r.Blobs = nil
	if err := l.putRecord(id, r); err != nil {
		return err
	}
	for _, b := range blobs {
		l.blobs.Remove(b)
	}
	return nil
}

func (l *Link) mark() inboxMark {
	var m inboxMark
	l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketState).Get([]byte("inbox")); v != nil {
			json.Unmarshal(v, &m)
		}
		return nil
	})
	return m
}

func (l *Link) setMark(m inboxMark) error {
	b, _ := json.Marshal(m)
	return l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketState).Put([]byte("inbox"), b) })
}

// Retain keeps the attachments of send id for its copy: called just before
// the outbox hands the send to the relay (after which the outbox deletes
// its own blobs). The files are hard-linked (copied where links fail), so
// this costs no copying of content. Without an account nothing is kept and
// that send gets no copy. Errors are logged, never returned: the send goes
// on regardless.
func (l *Link) Retain(id string) {
	if _, _, err := l.account(); err != nil {
		return
	}
	if _, ok := l.record(id); ok {
		return
	}
	e, err := l.outbox.Get(id)
	if err != nil {
		l.log.Warn("mailbox: cannot keep a copy", "id", id, "err", err)
		return
	}
	src := l.outbox.Blobs()
	r := copyRecord{State: copyPending, Created: l.now().UTC()}
	for _, f := range e.Files {
		if err := linkOrCopy(filepath.Join(src.Dir, f.Blob), filepath.Join(l.blobs.Dir, f.Blob)); err != nil {
			l.log.Warn("mailbox: cannot keep an attachment for the copy", "id", id, "err", err)
			l.fail(fmt.Errorf("keep attachment: %w", err), "Send sikkert kunne ikke gemme en kopi af et bilag til mappen »Sendt sikkert«. Forsendelsen sendes som normalt.")
			return
		}
		r.Blobs = append(r.Blobs, f.Blob)
	}
	if err := l.blobs.Sync(); err != nil {
		l.log.Warn("mailbox: sync kept attachments", "err", err)
	}
	if err := l.putRecord(id, r); err != nil {
		l.log.Warn("mailbox: cannot record the copy", "id", id, "err", err)
		return
	}
	kick(l.retained)
}

func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, os.ErrExist) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
