package inbound

import (
	"context"
	"errors"
	"io"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	"sendsikkert/internal/recipient"
)

// lease is how long one instance holds a message it works on; a crashed
// instance's messages are taken over when it runs out.
const lease = 5 * time.Minute

// Run delivers accepted messages and alerts IT about quarantined ones
// until ctx ends. owner names this instance in leases.
func (s *Service) Run(ctx context.Context, owner string) {
	for {
		s.Tick(ctx, owner)
		select {
		case <-ctx.Done():
			return
		case <-s.wakeup():
		case <-time.After(2 * time.Second):
		}
	}
}

// Tick does one round of work: every due message is tried once.
func (s *Service) Tick(ctx context.Context, owner string) {
	for _, state := range []string{StatePending, StateQuarantined} {
		ids, err := s.Store.Claim(ctx, state, owner, s.now(), lease, 20)
		if err != nil {
			s.Log.Error("inbound: claim", "err", err)
			return
		}
		for _, id := range ids {
			if state == StatePending {
				s.deliver(ctx, id)
			} else {
				s.alertIT(ctx, id)
			}
		}
	}
}

func (s *Service) retryAfter(attempts int) time.Duration {
	d := s.Retry
	if d <= 0 {
		d = 30 * time.Second
	}
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func (s *Service) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 48
}

// deliver mails one accepted message to its reply mailbox.
func (s *Service) deliver(ctx context.Context, id string) {
	row, err := s.Store.Get(ctx, id)
	if err != nil {
		s.Log.Error("inbound: load", "id", id, "err", err)
		return
	}
	if row.State != StatePending {
		return
	}
	d, err := s.prepare(ctx, row)
	if err == nil {
		err = s.Mail.SendStream(ctx, append([]string{d.To}, d.Cc...), d.write)
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			err = undeliverable("the smarthost refused the mail: %d %s", te.Code, te.Msg)
		}
	}
	now := s.now()
	switch {
	case err == nil:
		row.State, row.Delivered, row.LastError = StateDelivered, now.UTC(), ""
		if err := s.Store.Update(ctx, row); err != nil {
			// The mail has gone; the next round sends it again with the
			// same Message-ID. Better twice than lost.
			s.Log.Error("inbound: record delivery", "id", id, "err", err)
			return
		}
		outcome, user := "new", ""
		if d.Letter != nil {
			outcome, user = "correlated", d.Letter.Sender
			// Stamped when it is recorded, not when the reply came: a
			// "changed since" query over the sent messages' events then
			// never misses a reply whose mail was retried for a while.
			if err := s.Letters.Replied(ctx, d.Letter.MessageID, now, recipient.Parse(row.Header.SenderID, now)); err != nil {
				s.Log.Error("inbound: mark sent message replied", "id", d.Letter.MessageID, "err", err)
			}
		}
		s.audit(ctx, user, ActionDelivered, recipient.Parse(row.Header.SenderID, now), outcome, row.ID)
		s.audit(ctx, user, ActionMailbox, recipient.ID{}, row.Mailbox, row.ID)
		s.count("sendsikkert_relay_inbound_delivered_total", "correlation="+outcome, "mailbox="+row.Mailbox)
		s.Log.Info("inbound: reply mailed", "id", id, "mailbox", row.Mailbox, "correlation", outcome)
	case errors.Is(err, errUndeliverable) || row.Attempts+1 >= s.maxAttempts():
		s.quarantine(ctx, row, err)
	default:
		row.Attempts++
		row.LastError = redact(err.Error())
		row.NextAttempt = now.Add(s.retryAfter(row.Attempts))
		if uerr := s.Store.Update(ctx, row); uerr != nil {
			s.Log.Error("inbound: record retry", "id", id, "err", uerr)
		}
		s.Log.Warn("inbound: mail not sent, will retry", "id", id, "attempt", row.Attempts, "next", row.NextAttempt, "err", redact(err.Error()))
	}
}

// prepare works out where the message goes and reads its files.
func (s *Service) prepare(ctx context.Context, row *Row) (*delivery, error) {
	d := &delivery{From: s.From, Header: row.Header, Received: row.Received}
correlate:
	for _, rd := range row.Header.Replies {
		for _, u := range []string{rd.MessageUUID, rd.ReplyUUID} {
			if u == "" || normUUID(u) == normUUID(row.Header.MessageUUID) {
				continue
			}
			msgID, ok, err := s.Store.SentMessage(ctx, u)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			l, ok, err := s.Letters.Letter(ctx, msgID, u)
			if err != nil {
				return nil, err
			}
			if ok {
				d.Letter, d.ReplyData = &l, rd
				break correlate
			}
		}
	}
	var mb Mailbox
	var ok bool
	if d.Letter != nil {
		mb, ok = s.mailbox(d.Letter.Mailbox, d.ReplyData.ContactPointID)
	} else {
		for _, rd := range row.Header.Replies {
			if mb, ok = s.mailbox("", rd.ContactPointID); ok {
				d.ReplyData = rd
				break
			}
		}
		if !ok {
			mb, ok = s.mailbox("", row.Header.RecipientContactPoint)
		}
	}
	if !ok {
		return nil, undeliverable("no reply mailbox matches the message (contact point %q)", contactPoints(row.Header))
	}
	if mb.DeliverTo == "" {
		return nil, undeliverable("reply mailbox %q has no deliverTo address", mb.ID)
	}
	d.To = mb.DeliverTo
	if d.Letter != nil {
		d.Threaded = s.threadID(d.Letter.MessageID)
		if mb.CcSender && strings.Contains(d.Letter.Sender, "@") && !strings.EqualFold(d.Letter.Sender, mb.DeliverTo) {
			d.Cc = []string{d.Letter.Sender}
		}
		row.Correlated = d.Letter.MessageID
	}
	row.Mailbox, row.DeliverTo = mb.ID, mb.DeliverTo
	blob := row.Blob
	d.Open = func() (io.ReadCloser, error) { return s.Blobs.Open(blob) }
	return d, nil
}

func contactPoints(h Header) string {
	var cps []string
	for _, rd := range h.Replies {
		if rd.ContactPointID != "" {
			cps = append(cps, rd.ContactPointID)
		}
	}
	if h.RecipientContactPoint != "" {
		cps = append(cps, h.RecipientContactPoint)
	}
	return strings.Join(cps, ", ")
}

func (s *Service) threadID(messageID string) string {
	if s.ThreadID != nil {
		return s.ThreadID(messageID)
	}
	return ""
}

// quarantine keeps a message that cannot be delivered and tells IT.
func (s *Service) quarantine(ctx context.Context, row *Row, why error) {
	row.State, row.Reason = StateQuarantined, redact(why.Error())
	row.NextAttempt = s.now()
	if err := s.Store.Update(ctx, row); err != nil {
		s.Log.Error("inbound: quarantine", "id", row.ID, "err", err)
		return
	}
	s.audit(ctx, "", ActionQuarantine, recipient.ID{}, StateQuarantined, row.ID)
	s.count("sendsikkert_relay_inbound_quarantined_total")
	s.Log.Error("inbound: message quarantined", "id", row.ID, "reason", row.Reason)
	s.alertIT(ctx, row.ID)
}

// alertIT mails IT about a quarantined message, once.
func (s *Service) alertIT(ctx context.Context, id string) {
	row, err := s.Store.Get(ctx, id)
	if err != nil || row.State != StateQuarantined || row.Alerted {
		return
	}
	if len(s.AlertTo) == 0 {
		s.Log.Warn("inbound: quarantined message and no inbound.alertTo to tell", "id", id)
		row.Alerted = true
	} else if err := s.Mail.SendStream(ctx, s.AlertTo, func(w io.Writer) error {
		_, err := w.Write(alert(s.From, s.AlertTo, row, s.now()))
		return err
	}); err != nil {
		row.Attempts++
		row.NextAttempt = s.now().Add(s.retryAfter(row.Attempts))
		s.Log.Error("inbound: IT alert not sent, will retry", "id", id, "err", err)
	} else {
		row.Alerted = true
		s.Log.Info("inbound: IT alerted about quarantined message", "id", id)
	}
	if err := s.Store.Update(ctx, row); err != nil {
		s.Log.Error("inbound: record alert", "id", id, "err", err)
	}
}

var cprLike = regexp.MustCompile(`\b(\d{6})-?\d{4}\b`)

// redact masks anything that looks like a CPR number (DDMMYY-xxxx) in a
// text bound for a log, a record or IT's alert.
func redact(s string) string { return cprLike.ReplaceAllString(s, "$1-xxxx") }
