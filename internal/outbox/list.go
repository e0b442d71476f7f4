package outbox

import (
	"errors"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Item is one line of the user's log of secure sends.
type Item struct {
	ID         string    `json:"id"`
	Created    time.Time `json:"created"`
	Subject    string    `json:"subject"`
	Recipients []string  `json:"recipients"`
	Status     string    `json:"status"`
	// Revocable and Revoked: see Revocable.
	Revocable bool `json:"revocable"`
	Revoked   bool `json:"revoked"`
	// Read is when the send was first read (the secure mailbox's
	// "Læst"); RepliedAt when the recipient answered ("Besvaret").
	Read *time.Time `json:"read,omitempty"`
	// RepliedAt is when the recipient answered (Digital Post): the Log
	// shows "Besvaret" with the time.
	RepliedAt time.Time `json:"repliedAt,omitzero"`
}

// List returns the user's sends, newest first, whose subject or a
// recipient contains q (any case); at most limit.
func (o *Outbox) List(q string, limit int) ([]Item, error) {
	var ids []string
	o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	q = strings.ToLower(strings.TrimSpace(q))
	items := []Item{}
	for _, id := range ids {
		e, err := o.Get(id)
		if errors.Is(err, ErrDamaged) {
			continue // reported by Problems once the worker sets it aside
		}
		if err != nil {
			return nil, err
		}
		st := o.StatusOf(e)
		it := Item{ID: e.ID, Created: e.Created, Subject: e.Message.Subject, Recipients: e.Message.Recipients, Status: string(st.Status), RepliedAt: st.RepliedAt}
		f := FactsOf(st)
		it.Read = f.Read
		if it.RepliedAt.IsZero() && f.Replied != nil {
			it.RepliedAt = *f.Replied // the secure mailbox's reply
		}
		// Only a send the relay has can be taken back.
		if e.RelayID != "" {
			it.Revocable, it.Revoked = Revocable(st)
		}
		if q != "" && !strings.Contains(strings.ToLower(it.Subject+" "+strings.Join(it.Recipients, " ")), q) {
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Created.After(items[j].Created) })
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items, nil
}
