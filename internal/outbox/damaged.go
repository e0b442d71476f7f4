package outbox

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/health"
)

// bucketDamaged keeps records that could not be opened, as they were,
// with what little is known of them in clear. They leave the queue (the
// worker would fail on them forever) but are never deleted: IT may still
// recover them with the right key.
var bucketDamaged = []byte("outbox-damaged")

// ProblemRecordDamaged is the code of damaged records on /healthz.
const ProblemRecordDamaged = "outbox_record_damaged"

type damagedRecord struct {
	Sealed  []byte    `json:"sealed"`
	Created time.Time `json:"created,omitzero"`
	Handed  bool      `json:"handed"`
	At      time.Time `json:"at"`
	Cause   string    `json:"cause"`
}

// SetAside moves the record id, which cannot be opened, out of the queue
// into the damaged records. It reports whether it did.
func (o *Outbox) SetAside(id string, cause error, now time.Time) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	moved := false
	err := o.db.Update(func(tx *bolt.Tx) error {
		sealed := tx.Bucket(bucketEntries).Get([]byte(id))
		if sealed == nil {
			return nil
		}
		if _, err := o.decode(id, sealed); err == nil {
			return nil // readable after all
		}
		rec := damagedRecord{Sealed: append([]byte(nil), sealed...), At: now.UTC(), Cause: cause.Error()}
		if q, ok := parseQueued([]byte(id), tx.Bucket(bucketQueue).Get([]byte(id))); ok {
			rec.Created, rec.Handed = q.created.UTC(), q.handed
		}
		b, err := tx.CreateBucketIfNotExists(bucketDamaged)
		if err != nil {
			return err
		}
		v, _ := json.Marshal(rec)
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketQueue).Delete([]byte(id)); err != nil {
			return err
		}
		moved = true
		return tx.Bucket(bucketEntries).Delete([]byte(id))
	})
	if err != nil {
		return false, fmt.Errorf("outbox: set %s aside: %w", id, err)
	}
	return moved, nil
}

// Problems reports the records set aside: how many, and when each was
// accepted (their subjects are sealed with them).
func (o *Outbox) Problems() []health.Problem {
	var recs []damagedRecord
	var ids []string
	o.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDamaged)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r damagedRecord
			if json.Unmarshal(v, &r) == nil {
				recs, ids = append(recs, r), append(ids, string(k))
			}
			return nil
		})
	})
	if len(recs) == 0 {
		return nil
	}
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return recs[order[a]].Created.Before(recs[order[b]].Created) })
	n := fmt.Sprintf("%d forsendelser", len(recs))
	if len(recs) == 1 {
		n = "1 forsendelse"
	}
	p := health.Problem{Code: ProblemRecordDamaged,
		Message: n + " i udbakken kan ikke læses (beskadiget, eller låst med en anden nøgle) og er lagt til side uden at være sendt videre, medmindre relæet allerede havde dem. Se tidspunkterne, og send dem igen. Kontakt IT."}
	for _, i := range order[:min(len(order), 20)] {
		p.Affected = append(p.Affected, health.Affected{ID: ids[i], Created: recs[i].Created})
	}
	return []health.Problem{p}
}
