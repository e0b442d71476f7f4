package outbox

import (
	"fmt"
	"sort"

	"sendsikkert/internal/relayapi"

	bolt "go.etcd.io/bbolt"
)

// bucketEvents holds events that reach an entry from outside the worker
// (receipts and replies followed by the mailbox link). They live beside the
// entry rather than in it: the worker loads an entry, talks to the relay
// for up to seconds and writes the whole entry back, so an event written
// into the record meanwhile would be lost. Here nothing but AddEvent
// writes, and StatusOf merges the two.
var bucketEvents = []byte("outbox-events")

// AddEvent records ev on entry id, durably, and tells OnChange. An event
// whose text the entry already has is not added twice (a receipt read
// again after a reconnect); added reports whether it was new.
func (o *Outbox) AddEvent(id string, ev relayapi.Event) (added bool, err error) {
	e, err := o.Get(id)
	if err != nil {
		return false, err
	}
	o.mu.Lock()
	err = o.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketEvents)
		if err != nil {
			return err
		}
		evs, err := o.sideEvents(b, id)
		if err != nil {
			return err
		}
		for _, x := range append(evs, e.Events...) {
			if x.What == ev.What {
				return nil
			}
		}
		evs = append(evs, ev)
		sealed, err := o.key.SealJSON(evs, []byte("events/"+id))
		if err != nil {
			return err
		}
		added = true
		return b.Put([]byte(id), sealed)
	})
	o.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("outbox: add event to %s: %w", id, err)
	}
	if added && o.OnChange != nil {
		o.OnChange(o.StatusOf(e))
	}
	return added, nil
}

func (o *Outbox) sideEvents(b *bolt.Bucket, id string) ([]relayapi.Event, error) {
	sealed := b.Get([]byte(id))
	if sealed == nil {
		return nil, nil
	}
	var evs []relayapi.Event
	if err := o.key.OpenJSON(sealed, []byte("events/"+id), &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// StatusOf is e's status with the events added from outside (AddEvent).
func (o *Outbox) StatusOf(e *Entry) relayapi.MessageStatus {
	st := e.Status()
	var evs []relayapi.Event
	o.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketEvents); b != nil {
			evs, _ = o.sideEvents(b, e.ID)
		}
		return nil
	})
	if len(evs) == 0 {
		return st
	}
	st.Events = append(st.Events, evs...)
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].At.Before(st.Events[j].At) })
	return st
}
