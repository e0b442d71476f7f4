package relay

import (
	"context"
	"errors"
	"time"

	"sendsikkert/internal/recipient"
)

// Message is the relay's record of one accepted message. The store keeps it
// encrypted; it holds personal data.
type Message struct {
	ID             string      `json:"id"`
	Sender         string      `json:"sender"`
	IdempotencyKey string      `json:"idempotencyKey"`
	Created        time.Time   `json:"created"`
	Subject        string      `json:"subject"`
	BodyHTML       string      `json:"bodyHtml"`
	Reply          ReplyChoice `json:"reply"`
	Fallback       string      `json:"fallback,omitempty"`
	// ReadDeadline, when set, is when the sender wants to hear that a
	// secure-mailbox recipient has not read the message.
	ReadDeadline time.Time `json:"readDeadline,omitzero"`
	// Question, when set, guards the secure mailbox besides the code.
	Question    *SecurityQuestion `json:"securityQuestion,omitempty"`
	Attachments []StoredFile      `json:"attachments"`
	Recipients  []RecipientState  `json:"recipients"`
	Events      []Event           `json:"events"`
	Attempts    int               `json:"attempts"`
	NextAttempt time.Time         `json:"nextAttempt"`
	// RepliedAt is the typed "replied" fact: when the first reply to
	// this message arrived (package inbound sets it).
	RepliedAt time.Time `json:"repliedAt,omitzero"`
}

// StoredFile is an attachment kept as an encrypted blob.
type StoredFile struct {
	FileInfo
	Blob string `json:"blob"`
}

// RecipientState is one recipient of a message.
type RecipientState struct {
	Input     string            `json:"input"`
	ID        recipient.ID      `json:"id"`
	Party     recipient.Party   `json:"party"`
	Channel   recipient.Channel `json:"channel"`
	Status    string            `json:"status"`
	Message   string            `json:"message"`
	MemoUUID  string            `json:"memoUuid"`
	Reference string            `json:"reference,omitempty"`
}

// Status is the message's state as the API shows it.
func (m *Message) Status() Status {
	s := Status{ID: m.ID, Events: m.Events, RepliedAt: m.RepliedAt}
	for _, r := range m.Recipients {
		s.Recipients = append(s.Recipients, RecipientStatus{Input: r.Input, Channel: r.Channel, Status: r.Status, Message: r.Message})
	}
	s.Status = Summarize(s.Recipients)
	return s
}

// Done reports whether no recipient waits for delivery any more.
func (m *Message) Done() bool {
	for _, r := range m.Recipients {
		if !Final(r.Status) {
			return false
		}
	}
	return true
}

// ErrNotFound is returned for an unknown message id.
var ErrNotFound = errors.New("relay: message not found")

// ErrIDTaken is returned by Create when the message id is in use.
var ErrIDTaken = errors.New("relay: message id taken")

// ErrLeaseLost is returned by Update when another instance has claimed the
// message since this one did: the caller must stop working on it.
var ErrLeaseLost = errors.New("relay: lease on message lost to another instance")

// Lease is one relay instance's claim on a message: while it runs, no other
// instance claims the message. An instance that crashes leaves its leases
// to expire, and the messages are then taken over.
type Lease struct {
	Owner string
	// Until is when the lease ends; zero releases it.
	Until time.Time
}

// Store keeps messages durably. Create and Update return only once the
// change is on disk.
//
// Several relay instances may share one store (PostgreSQL): each claims
// due messages with Claim, and writes them back with Update under its
// lease, so that no two instances deliver the same message at once.
type Store interface {
	// Create stores m unless the sender already used m.IdempotencyKey; then
	// it returns the first message's id and created=false. ErrIDTaken
	// means m.ID belongs to another message.
	Create(ctx context.Context, m *Message) (id string, created bool, err error)
	// ByKey finds a message by the sender's idempotency key.
	ByKey(ctx context.Context, sender, key string) (id string, ok bool, err error)
	Get(ctx context.Context, id string) (*Message, error)
	// Update writes m back. With a lease it succeeds only while
	// lease.Owner still holds m (ErrLeaseLost otherwise), and sets the lease
	// to lease.Until, or releases it when that is zero; without one the
	// lease is left as it is. A done message leaves the queue.
	Update(ctx context.Context, m *Message, lease *Lease) error
	// Claim leases to owner, until now+lease, up to limit messages that are
	// not done, whose next attempt is at or before now, and that nobody
	// holds an unexpired lease on. next is the earliest time after now at
	// which another message becomes claimable: a retry falling due or a
	// lease running out (zero if none). A store only one process can open
	// (bbolt, SQLite) drops all leases when it is opened: they belong to a
	// process that is gone.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (ids []string, next time.Time, err error)
	// Blobs is where attachments are kept.
	Blobs() Blobs
	Close() error
}
