package outbox

import (
	"crypto/sha256"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/recipient"
)

// bucketDrafts maps a draft (hashed draftId) to the entries sent from it,
// so a draft sent again skips the recipients it already went to.
var bucketDrafts = []byte("outbox-drafts")

func draftKey(id string) []byte { h := sha256.Sum256([]byte("draft\x00" + id)); return h[:] }

// noteDraft records, inside Add's transaction, that entry id was sent from
// its draft.
func noteDraft(tx *bolt.Tx, draftID, id string) error {
	if draftID == "" {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketDrafts)
	if err != nil {
		return err
	}
	k := draftKey(draftID)
	ids := string(b.Get(k))
	if ids != "" {
		ids += "\n"
	}
	return b.Put(k, []byte(ids+id))
}

// SentInDraft lists the recipients (by recipient.ID.Key) that draft was
// already accepted for: any state but failed or needs-fallback, also while
// the entry still waits here.
func (o *Outbox) SentInDraft(draftID string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if draftID == "" {
		return out, nil
	}
	var ids []string
	o.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDrafts); b != nil {
			if v := b.Get(draftKey(draftID)); len(v) > 0 {
				ids = strings.Split(string(v), "\n")
			}
		}
		return nil
	})
	for _, id := range ids {
		e, err := o.Get(id)
		if err != nil {
			return nil, err
		}
		for _, r := range o.StatusOf(e).Recipients {
			if !r.Status.Accepted() {
				continue
			}
			if k := recipient.Parse(r.Input, now).Key(); k != "" {
				out[k] = true
			}
		}
	}
	return out, nil
}
