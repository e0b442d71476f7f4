package outbox

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// The time index: one key per entry, its creation time (big-endian
// nanoseconds) then its id, no value. The Log reads it newest first and
// opens only the entries of the page it shows, so its cost does not grow
// with the number of sends kept.
var (
	bucketByTime = []byte("outbox-bytime")
	bucketMeta   = []byte("outbox-meta")
	metaByTime   = []byte("bytime-built")
)

func timeKey(e *Entry) []byte {
	k := make([]byte, 8, 8+len(e.ID))
	binary.BigEndian.PutUint64(k, uint64(e.Created.UnixNano()))
	return append(k, e.ID...)
}

// buildTimeIndex fills the index once, from an outbox of an older agent
// that had none; entries that cannot be opened are left out (the Log
// skips them anyway).
func (o *Outbox) buildTimeIndex(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaByTime) != nil {
		return nil
	}
	idx := tx.Bucket(bucketByTime)
	err := tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
		e, err := o.decode(string(k), v)
		if err != nil {
			return nil
		}
		return idx.Put(timeKey(e), nil)
	})
	if err != nil {
		return err
	}
	return meta.Put(metaByTime, []byte{1})
}

// newestIDs returns ids from the time index, newest first, calling more
// with each until it says stop.
func (o *Outbox) newestIDs(each func(id string) (more bool)) error {
	var ids []string
	// Read the keys in pages, so no transaction stays open while entries
	// are decrypted.
	const page = 256
	var from []byte
	for {
		ids = ids[:0]
		err := o.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketByTime).Cursor()
			var k []byte
			if from == nil {
				k, _ = c.Last()
			} else {
				c.Seek(from)
				k, _ = c.Prev()
			}
			for ; k != nil && len(ids) < page; k, _ = c.Prev() {
				if len(k) > 8 {
					ids = append(ids, string(k[8:]))
				}
				from = append(from[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !each(id) {
				return nil
			}
		}
		if len(ids) < page {
			return nil
		}
	}
}
