package digitalpost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/fjernprint"
	"sendsikkert/internal/letter"
	"sendsikkert/internal/print"
	"sendsikkert/internal/recipient"
)

// Serviceplatformen is the real Digital Post channel: each delivery is one
// SF1601 KombiPostAfsend call. With ValgDigitalPost it sends the MeMo
// message built by Message; with ValgFysiskPost the letter (letter.Render's
// PDF in a fjernprint ForsendelseI, the address from the lookup); with
// ValgAutomatisk both, and Digital Post picks.
//
// The answer is acceptance, not delivery: the Receipt's status is
// delivery.Accepted and its Reference the delivery's MemoUUID, which is
// also the messageUUID and the letter's AfsendelseIdentifikator, and what
// Digital Post's status messages name; a StatusBook follows it from there.
// A retry sends the same MemoUUID, so Digital Post knows it again.
type Serviceplatformen struct {
	Kombi *Kombi
	// Valg is the KombiValgKode (default ValgDigitalPost).
	Valg KombiValg
	// ForsendelseType is the ForsendelseTypeIdentifikator of letters
	// (agreed with KOMBIT); 0 leaves it out.
	ForsendelseType int
}

// Deliver implements delivery.Channel.
func (s *Serviceplatformen) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	valg := s.Valg
	if valg == "" {
		valg = ValgDigitalPost
	}
	req := Request{Valg: valg, Size: deliverySize(d)}
	if valg != ValgFysiskPost {
		req.Message = Message(d)
	}
	if valg == ValgFysiskPost || valg == ValgAutomatisk && len(d.Party.Address) > 0 {
		f, err := Letter(d, s.ForsendelseType)
		if err != nil {
			return delivery.Receipt{}, err
		}
		req.Letter = f
	}
	if valg == ValgAutomatisk && req.Letter != nil {
		req.Size *= 2
	}
	if _, err := s.Kombi.Send(ctx, req); err != nil {
		return delivery.Receipt{}, fmt.Errorf("digitalpost: deliver %s to %s: %w", d.MemoUUID, d.Recipient.Masked(), err)
	}
	return delivery.Receipt{Status: delivery.Accepted, Reference: d.MemoUUID}, nil
}

func deliverySize(d *delivery.Delivery) int64 {
	n := int64(len(d.BodyHTML)) + 4<<10
	for _, a := range d.Attachments {
		n += a.Size
	}
	return n
}

// Letter builds the fjernprint letter for a delivery, the way print.Channel
// lays it out: the clerk's body as the cover letter, the address in the
// envelope window, the attachments after it. The letter is rendered only
// when it is written.
func Letter(d *delivery.Delivery, forsendelseType int) (*fjernprint.Forsendelse, error) {
	if len(d.Party.Address) == 0 {
		return nil, fmt.Errorf("digitalpost: no postal address for the recipient: %w", delivery.ErrPermanent)
	}
	l := &letter.Letter{
		Sender:    letter.Address{Name: d.Sender.Name, Lines: d.Sender.Address},
		Recipient: letter.Address{Name: d.Party.Name, Lines: d.Party.Address},
		Date:      d.Created,
		Subject:   d.Subject,
		BodyHTML:  d.BodyHTML,
	}
	for i, a := range d.Attachments {
		if !attachment.Printable(a.ContentType, a.Filename) {
			return nil, fmt.Errorf("digitalpost: attachment %d cannot be printed: %w", i+1, delivery.ErrPermanent)
		}
		l.Attachments = append(l.Attachments, letter.Attachment{Filename: a.Filename, ContentType: a.ContentType, Open: a.Open})
	}
	f := &fjernprint.Forsendelse{
		ID:        d.MemoUUID,
		Type:      forsendelseType,
		Recipient: fjernprint.Recipient{Name: d.Party.Name, Address: d.Party.Address},
		Title:     truncate(d.Subject, 256),
		Date:      d.Created,
		PDF:       func(w io.Writer) error { return letter.WriteLetter(w, l) },
	}
	switch d.Recipient.Kind {
	case recipient.KindCPR:
		f.Recipient.CPR = d.Recipient.Value
	case recipient.KindCVR:
		f.Recipient.CVR = d.Recipient.Value
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", err, delivery.ErrPermanent)
	}
	return f, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func isUnprintable(err error) bool { return errors.Is(err, print.ErrUnprintable) }

// Fjernprint is a print.Printer that sends each letter through SF1601
// KombiPostAfsend with KombiValgKode "Fysisk Post". A print.Job carries no
// CPR or CVR number, so the ForsendelseI names the recipient by name and
// address only (the schema allows it); the Serviceplatformen channel with
// ValgFysiskPost sends the number too and reports Accepted rather than
// Printed, and is the better choice for the relay.
type Fjernprint struct {
	Kombi           *Kombi
	ForsendelseType int
}

// Print implements print.Printer. A refused letter is reported as
// print.ErrUnprintable, so print.Channel does not retry it.
func (p Fjernprint) Print(ctx context.Context, job print.Job) error {
	if err := print.ValidateName(job.Name); err != nil {
		return err
	}
	if job.Letter == nil {
		return fmt.Errorf("digitalpost: job %s has no letter: %w", job.Name, print.ErrUnprintable)
	}
	l := job.Letter
	f := &fjernprint.Forsendelse{
		ID:        job.Name,
		Type:      p.ForsendelseType,
		Recipient: fjernprint.Recipient{Name: l.Recipient.Name, Address: l.Recipient.Lines},
		Title:     truncate(l.Subject, 256),
		Date:      l.Date,
		PDF:       func(w io.Writer) error { return letter.WriteLetter(w, l) },
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("digitalpost: job %s: %w: %w", job.Name, err, print.ErrUnprintable)
	}
	// Attachment sizes are unknown here: a generous guess for each.
	size := int64(64<<10) + int64(len(l.Attachments))*(8<<20)
	if _, err := p.Kombi.Send(ctx, Request{Valg: ValgFysiskPost, Letter: f, Size: size}); err != nil {
		if errors.Is(err, delivery.ErrPermanent) {
			return fmt.Errorf("digitalpost: job %s: %w: %w", job.Name, err, print.ErrUnprintable)
		}
		return fmt.Errorf("digitalpost: job %s: %w", job.Name, err)
	}
	return nil
}
