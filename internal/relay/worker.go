package relay

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/google/uuid"

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

// followInterval spaces the questions about an accepted delivery: often
// at first (clerks watch the pane), then rarely.
func followInterval(age time.Duration) time.Duration {
	switch {
	case age < 10*time.Minute:
		return 15 * time.Second
	case age < 2*time.Hour:
		return 2 * time.Minute
	}
	return time.Hour
}

// follow asks the Follower about a recipient a channel accepted, and
// reports whether its status changed.
func (s *Server) follow(ctx context.Context, m *Message, r *RecipientState) bool {
	if s.Follower == nil || r.Reference == "" {
		return false
	}
	st, err := s.Follower.Status(ctx, r.Reference)
	if err != nil {
		s.log().Warn("status follow-up failed, will ask again", "id", m.ID, "recipient", r.ID.Masked(), "err", err)
		return false
	}
	now := s.now().UTC()
	switch st {
	case delivery.Delivered:
		r.Status, r.Message = StatusDelivered, "Leveret som Digital Post."
		m.Events = append(m.Events, Event{At: now, What: "Leveret som Digital Post til " + r.ID.Masked()})
	case delivery.Printed:
		r.Status, r.Message = StatusPrinted, "Brevet er udskrevet og sendt med posten."
		m.Events = append(m.Events, Event{At: now, What: "Sendt som brev til " + r.ID.Masked()})
	case delivery.Failed:
		r.Status, r.Message = StatusFailed, "Digital Post kunne ikke levere forsendelsen."
		m.Events = append(m.Events, Event{At: now, What: "Levering til " + r.ID.Masked() + " mislykkedes"})
	default:
		if age := s.now().Sub(m.Created); age > 14*24*time.Hour {
			s.log().Warn("no delivery status after 14 days", "id", m.ID, "recipient", r.ID.Masked())
		}
		return false
	}
	s.audit(ctx, m.Sender, string(st), r.ID, string(r.Channel), r.Status, m.ID)
	s.log().Info("delivery status", "id", m.ID, "recipient", r.ID.Masked(), "status", r.Status)
	if f, ok := s.Follower.(interface{ Forget(string) error }); ok {
		f.Forget(r.Reference)
	}
	return true
}

// HoldOff keeps, in memory, the time before which a queued id is not
// worked on: a worker passes over it until then.
type HoldOff map[string]time.Time

// Holds reports whether id is held off at now; if so, next (when the
// worker is next due, zero for never) is brought forward to the hold's end.
func (h HoldOff) Holds(id string, now time.Time, next *time.Time) bool {
	t, ok := h[id]
	if !ok || !now.Before(t) {
		return false
	}
	if next.IsZero() || t.Before(*next) {
		*next = t
	}
	return true
}

// SleepUntil is a queue worker's rest with nothing to do: it sleeps until
// next (with zero, until woken), a signal on wake or the end of ctx, and
// reports false if ctx ended. An idle worker wakes no CPU.
func SleepUntil(ctx context.Context, next time.Time, wake <-chan struct{}) bool {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(max(time.Until(next), 10*time.Millisecond))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-timer:
	}
	return true
}

// DefaultLease is how long an instance holds a message it works on before
// another instance may take it over; it is renewed as each recipient's
// outcome is persisted, so it only has to outlast one delivery.
const DefaultLease = 5 * time.Minute

func (s *Server) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

// instanceName names this worker as a lease owner: unique per Run, so a
// restarted instance does not mistake its predecessor's leases for its own.
func (s *Server) instanceName() string {
	host, _ := os.Hostname()
	if s.Instance != "" {
		host = s.Instance
	}
	return host + "/" + uuid.NewString()
}

// Run delivers queued messages until ctx ends. It claims due messages
// under a lease, so several instances can share one store; work found at
// start (after a crash) and messages whose owner's lease expired are
// picked up like new work. With nothing due it sleeps until the next retry
// or lease expiry, or a new message.
func (s *Server) Run(ctx context.Context) {
	wake := s.wakeup()
	s.holdOff = HoldOff{}
	owner := s.instanceName()
	for {
		claimed := s.now()
		ids, next, err := s.Store.Claim(ctx, owner, claimed, s.lease(), 32)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log().Error("relay queue claim failed", "err", err)
			next = s.now().Add(5 * time.Second)
		}
		worked := 0
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			if s.holdOff.Holds(id, s.now(), &next) {
				continue
			}
			delete(s.holdOff, id)
			if !s.process(ctx, id, owner, claimed.Add(s.lease())) {
				// A record that cannot be read or written is left for a
				// while rather than retried in a tight loop: its lease is
				// not released, so no instance claims it again before the
				// lease runs out.
				s.holdOff[id] = s.now().Add(30 * time.Second)
			}
			worked++
		}
		if worked > 0 {
			continue
		}
		if !SleepUntil(ctx, next, wake) {
			return
		}
	}
}

// process delivers what is due of one message, which owner has claimed
// until leaseEnd; false means its record could not be read or written. The
// record is read after the claim, so a recipient whose delivery another
// instance persisted is never delivered again.
func (s *Server) process(ctx context.Context, id, owner string, leaseEnd time.Time) bool {
	m, err := s.Store.Get(ctx, id)
	if err != nil {
		s.log().Error("relay load failed", "id", id, "err", err)
		return false
	}
	// persist writes m under the lease: renewed while work remains,
	// released once the message is done or waits for its retry. Losing
	// the lease (another instance took over after it expired) is not an
	// unreadable record: the caller stops without holding the message off.
	held := true
	persist := func(release bool) (ok, readable bool) {
		l := &Lease{Owner: owner}
		if !release && !m.Done() {
			l.Until = s.now().Add(s.lease())
		}
		if err := s.Store.Update(ctx, m, l); err != nil {
			if errors.Is(err, ErrLeaseLost) {
				s.log().Warn("relay lease lost; another instance has the message", "id", m.ID)
				return false, true
			}
			s.log().Error("relay update failed", "id", m.ID, "err", err)
			return false, false
		}
		leaseEnd, held = l.Until, !l.Until.IsZero()
		return true, true
	}
	org := s.Org
	var failed, waiting bool
	for i := range m.Recipients {
		r := &m.Recipients[i]
		if r.Status == StatusSending {
			// The channel accepted it earlier; ask what became of it.
			if s.follow(ctx, m, r) {
				if ok, readable := persist(false); !ok {
					return readable
				}
			} else {
				waiting = true
			}
			continue
		}
		if r.Status != StatusQueued {
			continue
		}
		// A lease half gone is renewed before the next delivery, so that
		// it outlasts it.
		if s.now().After(leaseEnd.Add(-s.lease() / 2)) {
			if ok, readable := persist(false); !ok {
				return readable
			}
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
		case err == nil && rec.Status == delivery.Accepted:
			// Accepted is not delivered: the status follows later.
			r.Status, r.Reference = StatusSending, rec.Reference
			r.Message = "Modtaget af Digital Post – afventer kvittering for levering."
			m.Events = append(m.Events, Event{At: s.now().UTC(), What: "Afleveret til Digital Post for " + r.ID.Masked() + " – afventer kvittering"})
			s.log().Info("accepted by channel", "id", m.ID, "recipient", r.ID.Masked(), "channel", r.Channel, "ref", rec.Reference)
			s.audit(ctx, m.Sender, "accept", r.ID, string(r.Channel), "accepted", m.ID)
			waiting = true
		case err == nil:
			r.Status, r.Reference = string(rec.Status), rec.Reference
			what := "Leveret som Digital Post til " + r.ID.Masked()
			switch {
			case rec.Status == delivery.Printed:
				r.Message = "Brevet er sendt til udskrivning og forsendelse via OneTooX."
				what = "Sendt som brev via OneTooX til " + r.ID.Masked()
			case r.Channel == recipient.ChannelTunnelmail:
				r.Message = "Leveret med tvunget TLS (tunnelmail) til modtagerens mailserver."
				what = "Leveret som tunnelmail til " + r.ID.Masked()
			case r.Channel == recipient.ChannelSecureMailbox:
				r.Message = "Lagt i sikker mailboks; modtageren har fået besked på mail."
				what = "Lagt i sikker mailboks til " + r.ID.Masked()
			default:
				r.Message = "Leveret som Digital Post."
			}
			m.Events = append(m.Events, Event{At: s.now().UTC(), What: what})
			s.log().Info("delivered", "id", m.ID, "recipient", r.ID.Masked(), "channel", r.Channel, "ref", rec.Reference)
			s.audit(ctx, m.Sender, "deliver", r.ID, string(r.Channel), r.Status, m.ID)
		case errors.Is(err, delivery.ErrPermanent) || m.Attempts+1 >= MaxAttempts:
			r.Status, r.Message = StatusFailed, "Forsendelsen kunne ikke leveres."
			// A channel that can say why (tunnelmail's refusals) does so.
			var why interface{ Why() string }
			if errors.As(err, &why) {
				r.Message += " " + why.Why()
			}
			m.Events = append(m.Events, Event{At: s.now().UTC(), What: "Levering til " + r.ID.Masked() + " mislykkedes"})
			s.log().Error("delivery failed for good", "id", m.ID, "recipient", r.ID.Masked(), "err", err)
			s.audit(ctx, m.Sender, "fail", r.ID, string(r.Channel), StatusFailed, m.ID)
		default:
			failed = true
			s.log().Warn("delivery failed, will retry", "id", m.ID, "recipient", r.ID.Masked(), "attempt", m.Attempts+1, "err", err)
		}
		// Persist each outcome at once: a crash now redelivers at most this
		// one recipient, and the channel's idempotency covers that.
		if ok, readable := persist(false); !ok {
			return readable
		}
	}
	if failed {
		m.Attempts++
		m.NextAttempt = s.now().Add(backoff(m.Attempts))
	}
	if waiting {
		every := followInterval(s.now().Sub(m.Created))
		if s.FollowInterval > 0 {
			every = s.FollowInterval
		}
		next := s.now().Add(every)
		if !failed || next.Before(m.NextAttempt) {
			m.NextAttempt = next
		}
	}
	if failed || waiting || held {
		if ok, readable := persist(true); !ok {
			return readable
		}
	}
	if m.Done() && s.OnDone != nil {
		s.OnDone(m)
	}
	return true
}
