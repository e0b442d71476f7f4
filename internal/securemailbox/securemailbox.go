// Package securemailbox is the secure mailbox (sikker mailboks) for e-mail
// recipients off the direct-addressing list: the message is kept encrypted
// on the relay; the recipient gets an ordinary mail with a link and no
// content, opens it with a one-time code sent by SMS, reads the message
// and its attachments, and can reply securely. The sender gets a read
// receipt, an alert when it is unread by a deadline, and can revoke it;
// it expires after a configured number of days.
package securemailbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// Limits against guessing.
const (
	CodeDigits    = 6
	CodeLifetime  = 10 * time.Minute
	MaxFailures   = 5                // wrong codes before the box locks
	MaxCodeSends  = 5                // codes sent per CodeWindow
	CodeWindow    = time.Hour        //
	SessionLength = 30 * time.Minute // a reader's session after a right code
	MaxReplyBytes = 64 << 10
	MaxReplies    = 20
)

// Messages is the part of the relay's store the mailbox uses: it reads a
// message's sender, reply choice and read deadline, and adds events under
// a lease (queue.Modify).
type Messages = queue.Records

// Service is the secure mailbox: a delivery channel, the recipient's pages
// (Handler) and the sweeper (Run).
type Service struct {
	Store    *Store
	Blobs    blobstore.Store
	Messages Messages
	Mail     Mailer
	// From sends notifications, receipts and replies.
	From string
	SMS  SMS
	// BaseURL is where the recipient pages are served, e.g.
	// https://relay.kommune.dk (links are BaseURL/m/TOKEN).
	BaseURL string
	// Org names the sender to the recipient.
	Org queue.Organisation
	// ReplyTo maps reply-mailbox ids to e-mail addresses; a reply goes to
	// the chosen mailbox's address, else to the sender.
	ReplyTo map[string]string
	// ExpiryDays is how long a message can be read (default 30).
	ExpiryDays int
	Audit      queue.Auditor
	// Book, when set, learns every correspondent who replies securely (the
	// portal's Adressebog is updated on every send and receive).
	Book directory.Book
	// Key keys CSRF tokens (32 bytes).
	Key      []byte
	Log      *slog.Logger
	Now      func() time.Time
	Interval time.Duration // sweeper period, default a minute
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) audit(ctx context.Context, b *Box, action, outcome string) {
	if s.Audit == nil {
		return
	}
	id := recipient.ID{Input: b.Recipient, Kind: recipient.KindEmail, Value: b.Recipient}
	if err := s.Audit.Record(ctx, b.Sender, action, id, string(recipient.ChannelSecureMailbox), outcome, b.MessageID); err != nil {
		s.log().Error("securemailbox audit failed", "action", action, "err", err)
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Deliver keeps the message in the mailbox and mails the recipient the
// link. A retry finds the box made before and only resends what failed.
func (s *Service) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	if d.Party.Mobile == "" {
		return delivery.Receipt{}, fmt.Errorf("securemailbox: no mobile number for %s: %w", d.Recipient.Value, delivery.ErrPermanent)
	}
	now := s.now().UTC()
	days := s.ExpiryDays
	if days <= 0 {
		days = 30
	}
	b := &Box{
		ID: uuid.NewString(), MessageID: d.MessageID, MemoUUID: d.MemoUUID, Token: randomToken(32),
		Recipient: d.Recipient.Value, Mobile: d.Party.Mobile, OrgName: d.Sender.Name,
		Subject: d.Subject, BodyHTML: d.BodyHTML, Created: now, Expires: now.AddDate(0, 0, days), State: StateWaiting,
	}
	if m, err := s.Messages.Get(ctx, d.MessageID); err == nil {
		b.Sender = m.Sender
		b.Deadline = m.ReadDeadline
		if q := m.Question; q != nil {
			b.Question, b.AnswerHash = q.Question, hashSecret("answer:"+b.ID, normalizeAnswer(q.Answer))
		}
		box := m.Reply.Citizen
		if box == "" {
			box = s.Org.DefaultCitizen
		}
		b.ReplyTo = s.ReplyTo[box]
		if b.ReplyTo == "" && strings.Contains(m.Sender, "@") {
			b.ReplyTo = m.Sender
		}
	} else {
		return delivery.Receipt{}, fmt.Errorf("securemailbox: message %s: %w", d.MessageID, err)
	}
	for _, a := range d.Attachments {
		f, err := s.copyBlob(a)
		if err != nil {
			s.removeFiles(b.Attachments)
			return delivery.Receipt{}, err
		}
		b.Attachments = append(b.Attachments, f)
	}
	if err := s.Blobs.Sync(); err != nil {
		s.removeFiles(b.Attachments)
		return delivery.Receipt{}, fmt.Errorf("securemailbox: sync blobs: %w", err)
	}
	stored, created, err := s.Store.Create(ctx, b)
	if err != nil {
		s.removeFiles(b.Attachments)
		return delivery.Receipt{}, err
	}
	if !created {
		s.removeFiles(b.Attachments)
		b = stored
	} else {
		s.audit(ctx, b, "mailbox-store", "stored")
	}
	if !b.Notified {
		if err := s.Mail.Send(ctx, b.Recipient, notification(s.From, b, s.link(b.Token))); err != nil {
			return delivery.Receipt{}, fmt.Errorf("securemailbox: notify: %w", err)
		}
		if _, err := s.Store.Update(ctx, "id", b.ID, func(b *Box) error { b.Notified = true; return nil }); err != nil {
			return delivery.Receipt{}, err
		}
		s.audit(ctx, b, "mailbox-notify", "sent")
	}
	return delivery.Receipt{Status: delivery.Delivered, Reference: b.ID}, nil
}

func (s *Service) link(token string) string {
	return strings.TrimRight(s.BaseURL, "/") + "/m/" + token
}

func (s *Service) copyBlob(a delivery.Attachment) (File, error) {
	rc, err := a.Open()
	if err != nil {
		return File{}, fmt.Errorf("securemailbox: open %s: %w", a.Filename, err)
	}
	defer rc.Close()
	name, w, err := s.Blobs.Create()
	if err != nil {
		return File{}, fmt.Errorf("securemailbox: blob: %w", err)
	}
	n, err := io.Copy(w, rc)
	if err != nil {
		w.Abort()
		return File{}, fmt.Errorf("securemailbox: copy %s: %w", a.Filename, err)
	}
	if err := w.Commit(); err != nil {
		return File{}, fmt.Errorf("securemailbox: commit %s: %w", a.Filename, err)
	}
	return File{Filename: a.Filename, ContentType: a.ContentType, Size: n, Blob: name}, nil
}

func (s *Service) removeFiles(fs []File) {
	for _, f := range fs {
		s.Blobs.Remove(f.Blob)
	}
}

// close ends a box for good: its content and files are deleted.
func (s *Service) close(b *Box, state string) []File {
	files := b.Attachments
	b.State, b.BodyHTML, b.Attachments, b.CodeHash, b.Sessions, b.Pending = state, "", nil, "", nil, nil
	return files
}

// eventWait bounds how long an event waits for the message's lease (the
// worker holds it while it delivers; a crashed instance's runs out).
const eventWait = 10 * time.Second

// event adds a step about box b's recipient to the relay message's status.
// It writes the record under a lease of its own (queue.Modify), so that
// it never overwrites what the worker writes at the same time.
func (s *Service) event(ctx context.Context, b *Box, kind relayapi.EventKind, what string) {
	ctx, cancel := context.WithTimeout(ctx, eventWait)
	defer cancel()
	ev := relayapi.Event{At: s.now().UTC(), Kind: kind, Recipient: strings.ToLower(strings.TrimSpace(b.Recipient)), What: what}
	err := queue.Modify(ctx, s.Messages, b.MessageID, "securemailbox/"+uuid.NewString(), func(m *queue.Message) error {
		m.Events = append(m.Events, ev)
		return nil
	})
	if err != nil {
		s.log().Warn("securemailbox: event not recorded", "id", b.MessageID, "kind", kind, "err", err)
	}
}

// Revoke takes a relay message's boxes back: their content is deleted and
// the link answers that the message is withdrawn. It reports how many
// boxes it closed.
func (s *Service) Revoke(ctx context.Context, messageID string) (int, error) {
	ids, err := s.Store.ByMessage(ctx, messageID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		var files []File
		b, err := s.Store.Update(ctx, "id", id, func(b *Box) error {
			if !b.Open() {
				return errClosed
			}
			files = s.close(b, StateRevoked)
			return nil
		})
		if errors.Is(err, errClosed) {
			continue
		}
		if err != nil {
			return n, err
		}
		s.removeFiles(files)
		s.audit(ctx, b, "mailbox-revoke", StateRevoked)
		s.event(ctx, b, relayapi.EventMailboxRevoked, "Trukket tilbage fra sikker mailboks til "+b.Recipient)
		n++
	}
	return n, nil
}

var errClosed = errors.New("securemailbox: closed")

// Run sends unread-by-deadline alerts and expires boxes until ctx ends.
func (s *Service) Run(ctx context.Context) {
	every := s.Interval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep handles the boxes that are due now.
func (s *Service) Sweep(ctx context.Context) {
	ids, err := s.Store.Due(ctx, s.now())
	if err != nil {
		s.log().Error("securemailbox sweep failed", "err", err)
		return
	}
	for _, id := range ids {
		now := s.now()
		var files []File
		var alert bool
		b, err := s.Store.Update(ctx, "id", id, func(b *Box) error {
			switch {
			case !b.Open():
				return errClosed
			case !now.Before(b.Expires):
				files = s.close(b, StateExpired)
			case b.State == StateWaiting && !b.Deadline.IsZero() && !now.Before(b.Deadline) && !b.Alerted:
				// Claimed here, mailed below: no mail is sent while the
				// record is locked.
				b.Alerted, alert = true, true
			default:
				return errClosed
			}
			return nil
		})
		if errors.Is(err, errClosed) {
			continue
		}
		if err != nil {
			s.log().Warn("securemailbox sweep", "box", id, "err", err)
			continue
		}
		if alert {
			if !strings.Contains(b.Sender, "@") {
				// No address to mail; the status event still tells.
			} else if err := s.Mail.Send(ctx, b.Sender, deadlineAlert(s.From, b)); err != nil {
				s.log().Warn("securemailbox unread alert not sent, will retry", "box", id, "err", err)
				s.Store.Update(ctx, "id", id, func(b *Box) error { b.Alerted = false; return nil })
				continue
			}
			s.audit(ctx, b, "mailbox-unread-alert", "sent")
			s.event(ctx, b, relayapi.EventMailboxUnreadAlert, "Ikke læst inden fristen af "+b.Recipient+" – afsenderen er advaret")
		} else {
			s.removeFiles(files)
			s.audit(ctx, b, "mailbox-expire", StateExpired)
			s.event(ctx, b, relayapi.EventMailboxExpired, "Udløbet i sikker mailboks for "+b.Recipient)
		}
	}
}

// csrf is the form token for a box (and session, once there is one).
func (s *Service) csrf(token, session string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("csrf\x00" + token + "\x00" + session))
	return hex.EncodeToString(m.Sum(nil))
}

// normalizeAnswer ignores case and spacing.
func normalizeAnswer(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func hashSecret(kind, v string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + v))
	return hex.EncodeToString(h[:])
}

func contextTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}
