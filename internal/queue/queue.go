// Package queue is the relay's durable record of accepted messages: the
// record, the Store that keeps it (bbolt here, SQLite and PostgreSQL in
// queue/sqlstore), the lease that lets several relay instances share one
// store, and the Worker that delivers queued messages through channels.
package queue

import (
	"context"
	"errors"
	"time"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// Message is the relay's record of one accepted message. The store keeps it
// encrypted; it holds personal data.
type Message struct {
	ID string `json:"id"`
	// Sender is the clerk as shown, in receipts and in the audit log: a
	// device's user, or an Entra user's preferred_username.
	Sender string `json:"sender"`
	// SenderID, set for Entra users ("entra:TID/OID"), is who owns the
	// message; empty for devices, whose Sender owns it.
	SenderID       string `json:"senderId,omitempty"`
	IdempotencyKey string `json:"idempotencyKey"`
	// DraftID names the draft the sender sent this from (an Outlook item,
	// a document); the store finds a draft's messages by sender and it.
	DraftID  string               `json:"draftId,omitempty"`
	Created  time.Time            `json:"created"`
	Subject  string               `json:"subject"`
	BodyHTML string               `json:"bodyHtml"`
	Reply    relayapi.ReplyChoice `json:"reply"`
	Fallback string               `json:"fallback,omitempty"`
	// ReadDeadline, when set, is when the sender wants to hear that a
	// secure-mailbox recipient has not read the message.
	ReadDeadline time.Time `json:"readDeadline,omitzero"`
	// Question, when set, guards the secure mailbox besides the code.
	Question    *relayapi.SecurityQuestion `json:"securityQuestion,omitempty"`
	Attachments []blobstore.File           `json:"attachments"`
	Recipients  []RecipientState           `json:"recipients"`
	Events      []relayapi.Event           `json:"events"`
	Attempts    int                        `json:"attempts"`
	NextAttempt time.Time                  `json:"nextAttempt"`
}

// Owner is who may see and revoke the message: SenderID, else Sender.
func (m *Message) Owner() string {
	if m.SenderID != "" {
		return m.SenderID
	}
	return m.Sender
}

// RecipientState is one recipient of a message.
type RecipientState struct {
	Input     string            `json:"input"`
	ID        recipient.ID      `json:"id"`
	Party     recipient.Party   `json:"party"`
	Channel   recipient.Channel `json:"channel"`
	Status    relayapi.Status   `json:"status"`
	Message   string            `json:"message"`
	MemoUUID  string            `json:"memoUuid"`
	Reference string            `json:"reference,omitempty"`
}

// Status is the message's state as the API shows it.
func (m *Message) Status() relayapi.MessageStatus {
	s := relayapi.MessageStatus{ID: m.ID, Events: m.Events}
	for _, r := range m.Recipients {
		s.Recipients = append(s.Recipients, relayapi.RecipientStatus{Input: r.Input, Channel: r.Channel, Status: r.Status, Message: r.Message})
	}
	s.Status = relayapi.Summarize(s.Recipients)
	for _, e := range m.Events {
		if e.Kind == relayapi.EventReplied && (s.RepliedAt.IsZero() || e.At.Before(s.RepliedAt)) {
			s.RepliedAt = e.At
		}
	}
	return s
}

// Done reports whether no recipient waits for delivery any more.
func (m *Message) Done() bool {
	for _, r := range m.Recipients {
		if !r.Status.Final() {
			return false
		}
	}
	return true
}

// ErrNotFound is returned for an unknown message id.
var ErrNotFound = errors.New("queue: message not found")

// ErrIDTaken is returned by Create when the message id is in use.
var ErrIDTaken = errors.New("queue: message id taken")

// ErrLeaseLost is returned by Update when another instance has claimed the
// message since this one did: the caller must stop working on it.
var ErrLeaseLost = errors.New("queue: lease on message lost to another instance")

// ErrLeaseHeld is returned by Acquire while someone else holds an
// unexpired lease on the message.
var ErrLeaseHeld = errors.New("queue: message leased by another owner")

// Lease is one owner's claim on a message (a relay instance's worker, or
// the secure mailbox adding an event): while it runs, nobody else writes
// the message. An instance that crashes leaves its leases to expire, and
// the messages are then taken over.
type Lease struct {
	Owner string
	// Until is when the lease ends; zero releases it.
	Until time.Time
}

// Store keeps messages durably. Create and Update return only once the
// change is on disk.
//
// Several relay instances may share one store (PostgreSQL). Every write
// to an existing record holds its lease: the worker claims due messages
// with Claim, others take one message with Acquire, and each writes back
// with Update under that lease, so no write overwrites another's.
type Store interface {
	// Create stores m unless the sender already used m.IdempotencyKey; then
	// it returns the first message's id and created=false. ErrIDTaken
	// means m.ID belongs to another message.
	Create(ctx context.Context, m *Message) (id string, created bool, err error)
	// ByKey finds a message by the sender's idempotency key.
	ByKey(ctx context.Context, sender, key string) (id string, ok bool, err error)
	// DraftMessages lists the messages the sender created from a draft
	// (Message.DraftID), oldest first.
	DraftMessages(ctx context.Context, sender, draftID string) ([]string, error)
	Get(ctx context.Context, id string) (*Message, error)
	// Update writes m back; it succeeds only while lease.Owner still holds
	// m (ErrLeaseLost otherwise, ErrNotFound for an unknown id), and sets
	// the lease to lease.Until, or releases it when that is zero. A done
	// message leaves the queue.
	Update(ctx context.Context, m *Message, lease Lease) error
	// Acquire leases one message, done or not, to owner until until,
	// unless another owner holds an unexpired lease on it at now
	// (ErrLeaseHeld). An owner may acquire again what it holds.
	Acquire(ctx context.Context, id, owner string, now, until time.Time) error
	// Claim leases to owner, until now+lease, up to limit messages that are
	// not done, whose next attempt is at or before now, and that nobody
	// holds an unexpired lease on. next is the earliest time after now at
	// which another message becomes claimable: a retry falling due or a
	// lease running out (zero if none). A store only one process can open
	// (bbolt, SQLite) drops all leases when it is opened: they belong to a
	// process that is gone.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (ids []string, next time.Time, err error)
	// Blobs is where attachments are kept.
	Blobs() blobstore.Store
	Close() error
}
