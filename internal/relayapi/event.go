package relayapi

import (
	"encoding/json"
	"strings"
	"time"
)

// Event is one step in a message's life: What is worded for the clerk,
// Kind says what happened for code. Recipient, when set, names the
// recipient the step is about as recipient.Parse gives it (an e-mail
// address in lower case for the secure mailbox's events).
type Event struct {
	At        time.Time `json:"at"`
	Kind      EventKind `json:"kind,omitempty"`
	Recipient string    `json:"recipient,omitempty"`
	What      string    `json:"what"`
}

// EventKind names what an event records. Events written before kinds
// existed, and steps nothing depends on, have none.
type EventKind string

// Event kinds.
const (
	EventReceived  EventKind = "received"  // the relay accepted the message
	EventAccepted  EventKind = "accepted"  // a channel took a copy; its fate follows
	EventDelivered EventKind = "delivered" // a copy arrived electronically
	EventPrinted   EventKind = "printed"   // a copy went as a letter
	EventFailed    EventKind = "failed"    // a copy failed for good

	// The secure mailbox's events about one recipient's copy: after any
	// of read, revoked and expired the copy can no longer be taken back.
	EventMailboxRead        EventKind = "mailbox-read"
	EventMailboxRevoked     EventKind = "mailbox-revoked"
	EventMailboxExpired     EventKind = "mailbox-expired"
	EventMailboxLocked      EventKind = "mailbox-locked"
	EventMailboxReply       EventKind = "mailbox-reply"
	EventMailboxUnreadAlert EventKind = "mailbox-unread-alert"

	// EventReplied: a recipient answered through Digital Post (package
	// inbound); Recipient is the masked sender of the reply.
	EventReplied EventKind = "replied"
)

// ClosesMailboxCopy reports whether, after this kind of event, the
// recipient's secure-mailbox copy cannot be taken back any more.
func (k EventKind) ClosesMailboxCopy() bool {
	switch k {
	case EventMailboxRead, EventMailboxRevoked, EventMailboxExpired:
		return true
	}
	return false
}

// legacyMailboxEvents are the Danish openings by which records written
// before events had kinds told the secure mailbox's closing events; the
// recipient's address followed. They are read once, when such a record is
// decoded, and never written again.
var legacyMailboxEvents = []struct {
	prefix string
	kind   EventKind
}{
	{"Læst i sikker mailboks af ", EventMailboxRead},
	{"Trukket tilbage fra sikker mailboks til ", EventMailboxRevoked},
	{"Udløbet i sikker mailboks for ", EventMailboxExpired},
}

// UnmarshalJSON reads an event, giving an old one without a kind the kind
// and recipient its wording carried (records and relays from before kinds).
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = Event(p)
	if e.Kind != "" {
		return nil
	}
	for _, l := range legacyMailboxEvents {
		if addr, ok := strings.CutPrefix(e.What, l.prefix); ok {
			e.Kind = l.kind
			if e.Recipient == "" {
				e.Recipient = strings.ToLower(strings.TrimSpace(addr))
			}
			return nil
		}
	}
	return nil
}
