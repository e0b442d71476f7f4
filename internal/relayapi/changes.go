package relayapi

import "time"

// Read and replied are later facts about a copy that was delivered: a
// delivered status is final for delivery, and "Læst" and "Besvaret"
// arrive as events afterwards. The agent learns them in one batched query
// (POST /v1/messages/changes) while the Log or a pane is open, and at most
// every 15 minutes otherwise, never per message.

// ReadFact and RepliedFact report what an event kind tells.
func (k EventKind) ReadFact() bool    { return k == EventMailboxRead }
func (k EventKind) RepliedFact() bool { return k == EventReplied || k == EventMailboxReply }

// MaxChangesIDs bounds one query.
const MaxChangesIDs = 1000

// ChangesRequest asks which of the sender's messages learned something
// after Since.
type ChangesRequest struct {
	IDs   []string  `json:"ids"`
	Since time.Time `json:"changedSince"`
}

// Changes answers a ChangesRequest: the messages with new facts, and Now,
// the relay's time, to pass as the next Since.
type Changes struct {
	Now      time.Time      `json:"now"`
	Messages []MessageFacts `json:"messages"`
}

// Facts are the later facts about a send: when it was first read and
// replied to ("Læst", "Besvaret"). A delivered status is final for
// delivery; these arrive afterwards, as events. It is the answer's item
// of GET /api/v1/messages/facts, from the agent and from the relay.
type Facts struct {
	ID      string     `json:"id"`
	Read    *time.Time `json:"read,omitempty"`
	Replied *time.Time `json:"replied,omitempty"`
}

// MessageFacts are a message's read and replied facts: the first time any
// recipient read it and replied, and per recipient.
type MessageFacts struct {
	ID         string           `json:"id"`
	Read       *time.Time       `json:"read,omitempty"`
	Replied    *time.Time       `json:"replied,omitempty"`
	Recipients []RecipientFacts `json:"recipients,omitempty"`
}

// RecipientFacts are one recipient's: Recipient as in Event.Recipient.
type RecipientFacts struct {
	Recipient string     `json:"recipient"`
	Read      *time.Time `json:"read,omitempty"`
	Replied   *time.Time `json:"replied,omitempty"`
}

// FactsOf gathers the read and replied facts among events, counting only
// events after since; ok is false when there are none.
func FactsOf(id string, events []Event, since time.Time) (f MessageFacts, ok bool) {
	f.ID = id
	byRecipient := map[string]int{}
	earliest := func(p **time.Time, at time.Time) {
		if *p == nil || at.Before(**p) {
			t := at
			*p = &t
		}
	}
	for _, e := range events {
		if !e.At.After(since) || !(e.Kind.ReadFact() || e.Kind.RepliedFact()) {
			continue
		}
		ok = true
		i, seen := byRecipient[e.Recipient]
		if !seen {
			i = len(f.Recipients)
			byRecipient[e.Recipient] = i
			f.Recipients = append(f.Recipients, RecipientFacts{Recipient: e.Recipient})
		}
		if e.Kind.ReadFact() {
			earliest(&f.Read, e.At)
			earliest(&f.Recipients[i].Read, e.At)
		} else {
			earliest(&f.Replied, e.At)
			earliest(&f.Recipients[i].Replied, e.At)
		}
	}
	return f, ok
}
