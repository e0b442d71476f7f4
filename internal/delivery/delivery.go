// Package delivery is the contract between the relay's queue and the
// channels that carry a message out (Digital Post, print, ...): one
// Delivery is one message to one recipient.
package delivery

import (
	"context"
	"errors"
	"io"
	"time"

	"sendsikkert/internal/recipient"
)

// Attachment is a file that follows the message; Open streams its content.
type Attachment struct {
	Filename    string
	ContentType string
	Size        int64
	Open        func() (io.ReadCloser, error)
}

// Sender is the organisation a message is sent from.
type Sender struct {
	Name    string
	CVR     string
	Address []string
}

// Delivery is one message to one recipient.
type Delivery struct {
	MessageID string
	// MemoUUID stays the same on every retry of this delivery, so a channel
	// that is asked twice delivers once (Digital Post refuses a repeated
	// messageUUID; the demo channels overwrite the same file).
	MemoUUID       string
	Recipient      recipient.ID
	Party          recipient.Party
	Sender         Sender
	ContactPointID string
	Subject        string
	BodyHTML       string
	Created        time.Time
	Attachments    []Attachment
}

// Status is what became of a delivery.
type Status string

const (
	Delivered Status = "delivered"
	Printed   Status = "printed"
)

// Receipt is a channel's answer.
type Receipt struct {
	Status Status
	// Reference names the delivered thing (a file, a provider's id).
	Reference string
}

// Channel carries deliveries out. An error wrapping ErrPermanent will not
// get better by retrying; any other error is retried with backoff.
type Channel interface {
	Deliver(ctx context.Context, d *Delivery) (Receipt, error)
}

// ErrPermanent marks errors that retrying cannot fix.
var ErrPermanent = errors.New("permanent delivery failure")
