package outbox

import (
	"time"

	"sendsikkert/internal/relayapi"
)

// Facts are the later facts about a send: when it was first read and
// replied to ("Læst", "Besvaret"). The pages read the same shape from the
// agent and from the relay's page API, so it lives in relayapi.
type Facts = relayapi.Facts

// FactsOf reads the facts from a status's events.
func FactsOf(st relayapi.MessageStatus) Facts {
	f, _ := relayapi.FactsOf(st.ID, st.Events, time.Time{})
	return Facts{ID: st.ID, Read: f.Read, Replied: f.Replied}
}

// ApplyFacts records the relay's facts for entry id as events, each once
// (AddEvent keeps one of each wording), and reports whether any was new.
func (o *Outbox) ApplyFacts(id string, f relayapi.MessageFacts) (bool, error) {
	e, err := o.Get(id)
	if err != nil {
		return false, err
	}
	known := o.StatusOf(e).Events // the relay's own events, when the worker fetched them
	has := func(read bool, who string) bool {
		for _, ev := range known {
			if ev.Recipient == who && ((read && ev.Kind.ReadFact()) || (!read && ev.Kind.RepliedFact())) {
				return true
			}
		}
		return false
	}
	changed := false
	add := func(at *time.Time, kind relayapi.EventKind, word, who string) error {
		if at == nil || has(kind.ReadFact(), who) {
			return nil
		}
		what := word
		if who != "" {
			what += " af " + who
		}
		added, err := o.AddEvent(id, relayapi.Event{At: *at, Kind: kind, Recipient: who, What: what})
		changed = changed || added
		return err
	}
	rs := f.Recipients
	if len(rs) == 0 {
		rs = []relayapi.RecipientFacts{{Read: f.Read, Replied: f.Replied}}
	}
	for _, r := range rs {
		if err := add(r.Read, relayapi.EventMailboxRead, "Læst", r.Recipient); err != nil {
			return changed, err
		}
		if err := add(r.Replied, relayapi.EventReplied, "Besvaret", r.Recipient); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// Handed lists the entries the relay has, by the relay's id: the ones
// whose later facts are worth asking about, newest first, at most limit.
func (o *Outbox) Handed(limit int) (map[string]string, error) {
	items, err := o.List("", 0)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, it := range items {
		if len(out) == limit {
			break
		}
		e, err := o.Get(it.ID)
		if err != nil {
			return nil, err
		}
		if e.RelayID != "" {
			out[e.RelayID] = e.ID
		}
	}
	return out, nil
}
