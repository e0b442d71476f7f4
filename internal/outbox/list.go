package outbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
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
// recipient contains q (any case); at most limit. It walks the time index
// and opens entries only until the page is full: a first page costs the
// same with 50,000 sends kept as with 1,000 (a search for something rare
// reads further, as it must).
func (o *Outbox) List(q string, limit int) ([]Item, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	items := []Item{}
	var ferr error
	err := o.newestIDs(func(id string) bool {
		e, err := o.Get(id)
		if errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotFound) {
			return true // damaged: reported by Problems once the worker sets it aside
		}
		if err != nil {
			ferr = err
			return false
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
			return true
		}
		items = append(items, it)
		return limit <= 0 || len(items) < limit
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	return items, nil
}
