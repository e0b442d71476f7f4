// Package relay is the organisation's gateway: it looks recipients up,
// accepts messages durably, and delivers them through channels. The same
// code runs in-process in the agent's demo mode and as sendsikkert-relay.
// Its HTTP API is described in openapi.yaml beside this file.
package relay

import (
	"time"

	"sendsikkert/internal/recipient"
)

// Limits of one message: those of Digital Post.
const (
	MaxAttachments     = 10
	MaxAttachmentBytes = 104_333_312 // 99.5 MiB in all
	MaxSubjectRunes    = 256         // the MeMo label
	MaxRecipients      = 50
	MaxMessagePart     = 8 << 20 // the JSON part: subject, HTML body, ...
)

// CheckRequest asks for a recipient check.
type CheckRequest struct {
	Recipients []string `json:"recipients"`
	// Mobiles are mobile numbers entered for e-mail recipients, by
	// address: with one, an address off the direct-addressing list can
	// be reached by the secure mailbox.
	Mobiles map[string]string `json:"mobiles,omitempty"`
}

// MessageRequest is the "message" part of a submit.
type MessageRequest struct {
	Recipients     []string    `json:"recipients"`
	Subject        string      `json:"subject"`
	BodyHTML       string      `json:"bodyHtml"`
	ReplyMailbox   ReplyChoice `json:"replyMailbox"`
	IdempotencyKey string      `json:"idempotencyKey"`
	Fallback       string      `json:"fallback,omitempty"`
	// Mobiles are mobile numbers for e-mail recipients, by address (the
	// secure mailbox's one-time code goes there).
	Mobiles map[string]string `json:"mobiles,omitempty"`
	// UploadID names a document sent in slices to the agent
	// (POST /api/v1/uploads); the agent turns it into an attachment before
	// the message leaves the PC.
	UploadID string `json:"uploadId,omitempty"`
	// ReadDeadline, optional: the sender is alerted when a
	// secure-mailbox recipient has not read the message by then.
	ReadDeadline *time.Time `json:"readDeadline,omitempty"`
	// Question, optional: secure-mailbox recipients must also answer it
	// (something only they know) before the message opens.
	Question    *SecurityQuestion `json:"securityQuestion,omitempty"`
	Attachments []FileInfo        `json:"-"`
}

// SecurityQuestion is a question only the recipient can answer; the
// answer is compared without regard to case and spacing.
type SecurityQuestion struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// ReplyChoice names the chosen reply mailboxes by id.
type ReplyChoice struct {
	Citizen string `json:"citizen"`
	Company string `json:"company"`
}

// FileInfo describes an attachment.
type FileInfo struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// SubmitResponse answers a submit.
type SubmitResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Message and recipient states.
const (
	StatusQueued        = "queued"
	StatusSending       = "sending"
	StatusDelivered     = "delivered"
	StatusPrinted       = "printed"
	StatusNeedsFallback = "needs-fallback"
	StatusFailed        = "failed"
)

// Status is a message's state.
type Status struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Recipients []RecipientStatus `json:"recipients"`
	Events     []Event           `json:"events"`
	// RepliedAt, when set, is when the first reply to the message came
	// (Digital Post, SF1606): the Log and the tray show "Besvaret".
	RepliedAt time.Time `json:"repliedAt,omitzero"`
}

// RecipientStatus is one recipient's state.
type RecipientStatus struct {
	Input   string            `json:"input"`
	Channel recipient.Channel `json:"channel"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
}

// Event is one step in a message's life, worded for the clerk.
type Event struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// What the secure mailbox records on a message about one recipient's copy,
// each followed by the recipient's address as recipient.Parse gives it.
// The agent reads them to tell whether a copy can still be taken back.
const (
	EventMailboxRead    = "Læst i sikker mailboks af "
	EventMailboxRevoked = "Trukket tilbage fra sikker mailboks til "
	// EventReplied is recorded when a recipient's reply arrives.
	EventReplied        = "Besvaret via Digital Post af "
	EventMailboxExpired = "Udløbet i sikker mailboks for "
)

// MailboxChoices lists the reply mailboxes.
type MailboxChoices struct {
	Citizen MailboxGroup `json:"citizen"`
	Company MailboxGroup `json:"company"`
}

// MailboxGroup is the options for one kind of recipient.
type MailboxGroup struct {
	Options  []ReplyMailbox `json:"options"`
	Selected string         `json:"selected"`
}

// Error is every error body.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
	// Recipients names the recipients a 400 is about.
	Recipients []recipient.Result `json:"recipients,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Summarize derives a message's status from its recipients': failed if any
// failed, else needs-fallback if any needs one, else delivered once all are
// delivered or printed; otherwise sending once any has left, else queued.
func Summarize(rs []RecipientStatus) string {
	var failed, fallback, done, sending int
	for _, r := range rs {
		switch r.Status {
		case StatusFailed:
			failed++
		case StatusNeedsFallback:
			fallback++
		case StatusDelivered, StatusPrinted:
			done++
		case StatusSending:
			sending++
		}
	}
	switch {
	case failed > 0:
		return StatusFailed
	case fallback > 0:
		return StatusNeedsFallback
	case len(rs) > 0 && done == len(rs):
		return StatusDelivered
	case done > 0 || sending > 0:
		return StatusSending
	}
	return StatusQueued
}

// Final reports whether a status will not change any more.
func Final(status string) bool {
	switch status {
	case StatusDelivered, StatusPrinted, StatusFailed, StatusNeedsFallback:
		return true
	}
	return false
}
