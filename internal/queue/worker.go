package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/sched"
)

// Worker delivers queued messages through channels. Several workers
// (one per relay instance) may share one store: leases keep them apart.
type Worker struct {
	Store Store
	Org   Organisation
	// Channels by recipient channel; a recipient whose channel has none
	// fails.
	Channels map[recipient.Channel]delivery.Channel
	// Audit, when set, records every delivery outcome; AuditInStore says
	// it is kept in Store's own database, so an outcome's row commits with
	// the record that persists it.
	Audit        Auditor
	AuditInStore bool
	// OnDone, when set, is called once a message is final (receipts).
	OnDone func(*Message)
	// Follower, when set, tells what became of deliveries a channel only
	// had accepted (Digital Post's status messages).
	Follower delivery.Follower
	// FollowInterval, when set, replaces the growing pause between status
	// questions (tests).
	FollowInterval time.Duration
	// Lease is how long the worker holds a message it works on
	// (DefaultLease when zero); Instance names this relay instance in
	// its leases (the host name when empty).
	Lease    time.Duration
	Instance string
	Log      *slog.Logger
	Now      func() time.Time

	wakeOnce sync.Once
	wake     chan struct{}
	holdOff  sched.HoldOff // owned by Run
}

// Auditor records what the relay did; package audit implements it.
type Auditor interface {
	Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error
}

// Wake tells the worker that a message was queued, so it need not wait
// for its next due time.
func (s *Worker) Wake() {
	select {
	case s.wakeup() <- struct{}{}:
	default:
	}
}

func (s *Worker) wakeup() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

func (s *Worker) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Worker) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// audit notes an outcome's row; it is written with the next persist of
// the message (see process).
func (s *Worker) audit(rows *[]AuditRow, user, action string, id recipient.ID, channel, outcome, messageID string) {
	if s.Audit == nil {
		return
	}
	*rows = append(*rows, AuditRow{User: user, Action: action, ID: id, Channel: channel, Outcome: outcome, MessageID: messageID})
}

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
func (s *Worker) follow(ctx context.Context, m *Message, r *RecipientState, rows *[]AuditRow) bool {
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
		r.Status, r.Message = relayapi.StatusDelivered, relayapi.SentText(r.Channel, relayapi.StatusDelivered, r.ID.Masked())+"."
		m.Events = append(m.Events, relayapi.Event{At: now, Kind: relayapi.EventDelivered, What: "Leveret som Digital Post til " + r.ID.Masked()})
	case delivery.Printed:
		r.Status, r.Message = relayapi.StatusPrinted, relayapi.SentText(r.Channel, relayapi.StatusPrinted, r.ID.Masked())+": brevet er udskrevet og sendt med posten."
		m.Events = append(m.Events, relayapi.Event{At: now, Kind: relayapi.EventPrinted, What: "Sendt som brev til " + r.ID.Masked()})
	case delivery.Failed:
		r.Status, r.Message = relayapi.StatusFailed, "Digital Post kunne ikke levere forsendelsen."
		m.Events = append(m.Events, relayapi.Event{At: now, Kind: relayapi.EventFailed, What: "Levering til " + r.ID.Masked() + " mislykkedes"})
	default:
		if age := s.now().Sub(m.Created); age > 14*24*time.Hour {
			s.log().Warn("no delivery status after 14 days", "id", m.ID, "recipient", r.ID.Masked())
		}
		return false
	}
	s.audit(rows, m.Sender, string(st), r.ID, string(r.Channel), string(r.Status), m.ID)
	s.log().Info("delivery status", "id", m.ID, "recipient", r.ID.Masked(), "status", r.Status)
	if f, ok := s.Follower.(interface{ Forget(string) error }); ok {
		f.Forget(r.Reference)
	}
	return true
}

// DefaultLease is how long an instance holds a message it works on before
// another instance may take it over; it is renewed as each recipient's
// outcome is persisted, so it only has to outlast one delivery.
const DefaultLease = 5 * time.Minute

func (s *Worker) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

// instanceName names this worker as a lease owner: unique per Run, so a
// restarted instance does not mistake its predecessor's leases for its own.
func (s *Worker) instanceName() string {
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
func (s *Worker) Run(ctx context.Context) {
	wake := s.wakeup()
	s.holdOff = sched.HoldOff{}
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
		if !sched.SleepUntil(ctx, next, wake) {
			return
		}
	}
}

// A store failing for a moment (PostgreSQL restarted, SQLite locked by
// another process, a full disk) must not cost an outcome the worker holds:
// without its record the message waits out its lease and is delivered
// again, and the clerk hears nothing for minutes. update retries the write
// for up to persistRetryFor real time, within the lease.
var persistRetryFirst, persistRetryFor = 500 * time.Millisecond, time.Minute

func (s *Worker) update(ctx context.Context, m *Message, l Lease, leaseEnd time.Time, rows []AuditRow) error {
	j := Journal{Store: s.Store, Audit: s.Audit, Joint: s.AuditInStore}
	if _, _, joint := j.joint(); !joint || len(rows) == 0 {
		// Apart from the store the rows go first, once, whatever the
		// retries below do; jointly they ride in each attempt, rolled
		// back with a failed one.
		if err := j.Record(ctx, rows); err != nil {
			s.log().Error("audit record failed", "id", m.ID, "err", err)
		}
		rows = nil
	}
	giveUp := time.Now().Add(min(persistRetryFor, leaseEnd.Sub(s.now())/2))
	for wait := persistRetryFirst; ; wait = min(2*wait, 10*time.Second) {
		_, err := j.Update(ctx, m, l, rows)
		if err == nil || errors.Is(err, ErrLeaseLost) || ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			return err
		}
		s.log().Warn("relay update failed, will retry", "id", m.ID, "in", wait, "err", err)
		if !sched.SleepUntil(ctx, time.Now().Add(wait), nil) {
			return err
		}
	}
}

// process delivers what is due of one message, which owner has claimed
// until leaseEnd; false means its record could not be read or written. The
// record is read after the claim, so a recipient whose delivery another
// instance persisted is never delivered again.
func (s *Worker) process(ctx context.Context, id, owner string, leaseEnd time.Time) bool {
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
	// rows are the audit rows of outcomes not yet persisted: they commit
	// with the record (or, with the log elsewhere, just before it).
	var rows []AuditRow
	persist := func(release bool) (ok, readable bool) {
		l := Lease{Owner: owner}
		if !release && !m.Done() {
			l.Until = s.now().Add(s.lease())
		}
		err := s.update(ctx, m, l, leaseEnd, rows)
		rows = nil
		if err != nil {
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
		if r.Status == relayapi.StatusSending {
			// The channel accepted it earlier; ask what became of it.
			if s.follow(ctx, m, r, &rows) {
				if ok, readable := persist(false); !ok {
					return readable
				}
			} else {
				waiting = true
			}
			continue
		}
		if r.Status != relayapi.StatusQueued {
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
			r.Status, r.Message = relayapi.StatusFailed, "Relæet har ingen kanal til denne modtager."
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
		if box, ok := org.Mailbox(mb); ok {
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
			r.Status, r.Reference = relayapi.StatusSending, rec.Reference
			r.Message = "Modtaget af Digital Post – afventer kvittering for levering."
			m.Events = append(m.Events, relayapi.Event{At: s.now().UTC(), Kind: relayapi.EventAccepted, What: "Afleveret til Digital Post for " + r.ID.Masked() + " – afventer kvittering"})
			s.log().Info("accepted by channel", "id", m.ID, "recipient", r.ID.Masked(), "channel", r.Channel, "ref", rec.Reference)
			s.audit(&rows, m.Sender, "accept", r.ID, string(r.Channel), "accepted", m.ID)
			waiting = true
		case err == nil:
			r.Status, r.Reference = relayapi.Status(rec.Status), rec.Reference
			what, kind := "Leveret som Digital Post til "+r.ID.Masked(), relayapi.EventDelivered
			switch {
			case rec.Status == delivery.Printed:
				r.Message = relayapi.SentText(r.Channel, r.Status, r.ID.Masked()) + ": brevet er sendt til udskrivning og forsendelse."
				what, kind = "Sendt som brev via OneTooX til "+r.ID.Masked(), relayapi.EventPrinted
			case r.Channel == recipient.ChannelTunnelmail:
				r.Message = relayapi.SentText(r.Channel, r.Status, r.ID.Masked()) + "."
				what = "Sendt krypteret (tunnelmail) til " + r.ID.Masked()
			case r.Channel == recipient.ChannelSecureMailbox:
				r.Message = relayapi.SentText(r.Channel, r.Status, r.ID.Masked()) + " (sikker mailboks)."
				what = "Link til sikker mailboks sendt til " + r.ID.Masked()
			default:
				r.Message = relayapi.SentText(r.Channel, r.Status, r.ID.Masked()) + "."
			}
			m.Events = append(m.Events, relayapi.Event{At: s.now().UTC(), Kind: kind, What: what})
			s.log().Info("delivered", "id", m.ID, "recipient", r.ID.Masked(), "channel", r.Channel, "ref", rec.Reference)
			s.audit(&rows, m.Sender, "deliver", r.ID, string(r.Channel), string(r.Status), m.ID)
		case errors.Is(err, delivery.ErrPermanent) || m.Attempts+1 >= MaxAttempts:
			r.Status, r.Message = relayapi.StatusFailed, relayapi.FailText(r.Channel, errors.Is(err, delivery.ErrPermanent))
			// A channel that can say why (tunnelmail's refusals) does so.
			var why interface{ Why() string }
			if errors.As(err, &why) {
				r.Message = "Forsendelsen kunne ikke leveres. " + why.Why()
			}
			m.Events = append(m.Events, relayapi.Event{At: s.now().UTC(), Kind: relayapi.EventFailed, What: "Levering til " + r.ID.Masked() + " mislykkedes"})
			s.log().Error("delivery failed for good", "id", m.ID, "recipient", r.ID.Masked(), "err", err)
			s.audit(&rows, m.Sender, "fail", r.ID, string(r.Channel), string(relayapi.StatusFailed), m.ID)
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
