package relay

import (
	"context"
	"errors"
	"io"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/recipient"
)

// MaxAttempts bounds retries of a delivery that keeps failing; with the
// backoff below that is about a day.
const MaxAttempts = 20

func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 13)
	return min(d, 2*time.Hour)
}

// Run delivers queued messages until ctx ends. Work found on disk at start
// (after a crash) is picked up like new work.
func (s *Server) Run(ctx context.Context) {
	wake := s.wakeup()
	for {
		ids, err := s.Store.Due(ctx, s.now(), 32)
		if err != nil {
			s.log().Error("relay queue scan failed", "err", err)
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			s.process(ctx, id)
		}
		if len(ids) == 32 {
			continue
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *Server) process(ctx context.Context, id string) {
	m, err := s.Store.Get(ctx, id)
	if err != nil {
		s.log().Error("relay load failed", "id", id, "err", err)
		return
	}
	org := s.Org
	var failed bool
	for i := range m.Recipients {
		r := &m.Recipients[i]
		if r.Status != StatusQueued && r.Status != StatusSending {
			continue
		}
		ch := s.Channels[r.Channel]
		if ch == nil {
			r.Status, r.Message = StatusFailed, "Relæet har ingen kanal til denne modtager."
			continue
		}
		d := &delivery.Delivery{
			MessageID: m.ID, MemoUUID: r.MemoUUID, Recipient: r.ID, Party: r.Party,
			Sender: org.Sender, Subject: m.Subject, BodyHTML: m.BodyHTML, Created: m.Created,
		}
		mb := m.Reply.Citizen
		def := org.DefaultCitizen
		if r.ID.Kind == recipient.KindCVR {
			mb, def = m.Reply.Company, org.DefaultCompany
		}
		if mb == "" {
			mb = def
		}
		if box, ok := org.mailbox(mb); ok {
			d.ContactPointID = box.ContactPointID
		}
		for _, f := range m.Attachments {
			blob := f.Blob
			d.Attachments = append(d.Attachments, delivery.Attachment{
				Filename: f.Filename, ContentType: f.ContentType, Size: f.Size,
				Open: func() (io.ReadCloser, error) { return s.Store.Blobs().Open(blob) },
			})
		}
		rec, err := ch.Deliver(ctx, d)
		switch {
		case err == nil:
			r.Status, r.Reference = string(rec.Status), rec.Reference
			what := "Leveret som Digital Post til " + r.ID.Masked()
			if rec.Status == delivery.Printed {
				r.Message = "Brevet er sendt til udskrivning og forsendelse via OneTooX."
				what = "Sendt som brev via OneTooX til " + r.ID.Masked()
			} else {
				r.Message = "Leveret som Digital Post."
			}
			m.Events = append(m.Events, Event{At: s.now().UTC(), What: what})
			s.log().Info("delivered", "id", m.ID, "recipient", r.ID.Masked(), "channel", r.Channel, "ref", rec.Reference)
		case errors.Is(err, delivery.ErrPermanent) || m.Attempts+1 >= MaxAttempts:
			r.Status, r.Message = StatusFailed, "Forsendelsen kunne ikke leveres."
			m.Events = append(m.Events, Event{At: s.now().UTC(), What: "Levering til " + r.ID.Masked() + " mislykkedes"})
			s.log().Error("delivery failed for good", "id", m.ID, "recipient", r.ID.Masked(), "err", err)
		default:
			failed = true
			s.log().Warn("delivery failed, will retry", "id", m.ID, "recipient", r.ID.Masked(), "attempt", m.Attempts+1, "err", err)
		}
		// Persist each outcome at once: a crash now redelivers at most this
		// one recipient, and the channel's idempotency covers that.
		if err := s.Store.Update(ctx, m); err != nil {
			s.log().Error("relay update failed", "id", m.ID, "err", err)
			return
		}
	}
	if failed {
		m.Attempts++
		m.NextAttempt = s.now().Add(backoff(m.Attempts))
	}
	if failed || m.Done() {
		if err := s.Store.Update(ctx, m); err != nil {
			s.log().Error("relay update failed", "id", m.ID, "err", err)
		}
	}
}
