// Package relayapi is the relay's wire format: what the agent and case
// systems send to the relay and what it answers (internal/relay/openapi.yaml
// describes it), with the rules both sides apply to it — the Digital Post
// limits, the validation of a message, and what a status means.
package relayapi

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
	// DraftID, optional, names the draft (the Outlook item or the
	// document) the message is sent from; a second send of the same draft
	// skips every recipient it was already accepted for (AlreadySent).
	DraftID  string `json:"draftId,omitempty"`
	Fallback string `json:"fallback,omitempty"`
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
	// ID is the new message; empty when every recipient was skipped as
	// already sent for the draft (nothing new was sent).
	ID     string `json:"id"`
	Status Status `json:"status,omitempty"`
	// AlreadySent names (canonical form) the recipients skipped because
	// this draft was already accepted for them.
	AlreadySent []string `json:"alreadySent,omitempty"`
	// Merged are entries that named a recipient already on the list; the
	// recipient gets one letter.
	Merged []recipient.Merged `json:"merged,omitempty"`
}

// ReplyMailbox is a "Digitalpost retursvar" mailbox: where the recipient's
// reply lands. ContactPointID stays on the relay.
type ReplyMailbox struct {
	ID             string `json:"id"`
	Label          string `json:"label"`
	ContactPointID string `json:"-"`
}

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

// MobileRequest corrects (or, with Mobile "", removes) the mobile number
// remembered for an e-mail recipient. In the answer Mobile is masked
// (+45xxxxxx78), or "" when removed.
type MobileRequest struct {
	Email  string `json:"email"`
	Mobile string `json:"mobile"`
}
