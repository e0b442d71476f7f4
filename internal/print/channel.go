package print

import (
	"context"
	"errors"
	"fmt"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/letter"
)

// Printer takes one letter job: the demo hot folder, later an IPP queue or
// fjernprint.
type Printer interface {
	Print(ctx context.Context, job Job) error
}

// Channel delivers to citizens exempt from Digital Post by printing a
// letter: the clerk's body as the cover letter with the address in the
// envelope window, the attachments after it.
type Channel struct{ Printer Printer }

// Deliver implements delivery.Channel. The job is named by the delivery's
// MemoUUID, so a retry replaces the same letter instead of adding one.
func (c Channel) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	if len(d.Party.Address) == 0 {
		return delivery.Receipt{}, fmt.Errorf("print: no postal address for the recipient: %w", delivery.ErrPermanent)
	}
	l := &letter.Letter{
		Sender:    letter.Address{Name: d.Sender.Name, Lines: d.Sender.Address},
		Recipient: letter.Address{Name: d.Party.Name, Lines: d.Party.Address},
		Date:      d.Created,
		Subject:   d.Subject,
		BodyHTML:  d.BodyHTML,
	}
	for _, a := range d.Attachments {
		if !attachment.Printable(a.ContentType, a.Filename) {
			return delivery.Receipt{}, fmt.Errorf("print: attachment %d cannot be printed: %w", len(l.Attachments)+1, delivery.ErrPermanent)
		}
		l.Attachments = append(l.Attachments, letter.Attachment{Filename: a.Filename, ContentType: a.ContentType, Open: a.Open})
	}
	job := Job{Name: d.MemoUUID, MessageID: d.MessageID, Letter: l}
	if err := c.Printer.Print(ctx, job); err != nil {
		if errors.Is(err, ErrUnprintable) {
			// The letter itself is wrong (address, attachment): retrying
			// prints nothing better.
			return delivery.Receipt{}, fmt.Errorf("%w: %w", err, delivery.ErrPermanent)
		}
		return delivery.Receipt{}, err
	}
	return delivery.Receipt{Status: delivery.Printed, Reference: job.Name + ".pdf"}, nil
}
