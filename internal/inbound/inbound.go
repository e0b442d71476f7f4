// Package inbound receives Digital Post for the organisation — citizens'
// replies to its letters above all — as the receiving system of KOMBIT's
// SF1606 "Modtag post": Serviceplatformen (or NgDP directly) calls one
// REST operation with each MeMo message, over mutual TLS, and is answered
// at once with accept or reject (docs/inbound.md says what was found of the
// published interface and what was chosen where it says nothing).
//
// A message is accepted only once it is valid against the MeMo schema and
// kept, encrypted, in the relay's database and blobs; a second delivery of
// the same messageUUID is accepted and does nothing. A worker then matches
// it with the letter it answers (MeMo ReplyData against the MeMo UUID the
// relay gave each recipient's copy) and mails it to the reply mailbox's
// address through the smarthost, threaded to the clerk's receipt. What
// cannot be delivered is quarantined, kept, and IT is told.
package inbound

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/xsd"
)

// Path is the operation SF1606 calls (see docs/inbound.md).
const Path = "/ModtagPost_1/memo"

// DefaultMaxBytes bounds one message as received (base64 and all). It is
// a bound for memory, not a Digital Post rule: validation and delivery
// each hold one document's base64 text at a time (encoding/xml reads a
// text node whole). inbound.maxMessageBytes raises it where the relay has
// the memory.
const DefaultMaxBytes = 64 << 20

// Mailbox is a reply mailbox ("Digitalpost retursvar") and where its mail
// goes.
type Mailbox struct {
	ID             string
	Label          string
	ContactPointID string
	// DeliverTo is the address replies to this mailbox are mailed to.
	DeliverTo string
	// CcSender puts the clerk who sent the answered letter in Cc.
	CcSender bool
}

// Letter is what the relay knows of a sent message that a reply answers.
type Letter struct {
	MessageID string
	Sender    string // the clerk's address
	Subject   string
	// Mailbox is the id of the reply mailbox the clerk chose for the
	// recipient whose copy is answered.
	Mailbox string
	Sent    time.Time
}

// Letters finds sent messages and records that one was answered.
type Letters interface {
	Letter(ctx context.Context, messageID, memoUUID string) (Letter, bool, error)
	// Replied records the typed "replied" fact on the sent message.
	Replied(ctx context.Context, messageID string, at time.Time, from recipient.ID) error
}

// Mailer sends one mail to several recipients at once, written as it goes
// out (receipt.Mailer); a failing write leaves nothing at the smarthost.
type Mailer interface {
	SendStream(ctx context.Context, rcpts []string, write func(io.Writer) error) error
}

// Auditor is the relay's audit log.
type Auditor interface {
	Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error
}

// BlobWriter is a blob being written; nothing of it is visible before
// Commit.
type BlobWriter interface {
	io.Writer
	Commit() error
	Abort()
}

// Blobs keeps message content encrypted (the relay's blob store).
type Blobs interface {
	Create() (name string, w BlobWriter, err error)
	Open(name string) (io.ReadCloser, error)
	Sync() error
	Remove(names ...string)
}

// Counter counts for Prometheus.
type Counter func(name string, labels ...string)

// Audit actions of this package; the usage report counts them.
const (
	ActionReceived   = "reply-received"  // outcome accepted, duplicate or quarantined
	ActionDelivered  = "reply-delivered" // outcome correlated or new; user is the clerk answered
	ActionMailbox    = "reply-mailbox"   // outcome is the reply mailbox's id
	ActionQuarantine = "reply-quarantine"
)

// Service is the receiving endpoint and its delivery worker.
type Service struct {
	Schema    *xsd.Schema
	Store     *Store
	Blobs     Blobs
	Letters   Letters
	Mailboxes []Mailbox
	Mail      Mailer
	// From is the relay's sender address (smtp.from).
	From string
	// AlertTo are IT's addresses for quarantine alerts.
	AlertTo  []string
	Audit    Auditor
	Count    Counter
	Log      *slog.Logger
	MaxBytes int64
	Now      func() time.Time
	// ThreadID is the Message-ID of the clerk's receipt for a sent
	// message (receipt.MessageID), which a correlated reply threads to.
	ThreadID func(messageID string) string
	// Retry is the first retry delay (doubled each time, at most an hour).
	Retry time.Duration
	// MaxAttempts before a message that cannot be mailed is quarantined.
	MaxAttempts int

	wakeOnce sync.Once
	wake     chan struct{}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) count(name string, labels ...string) {
	if s.Count != nil {
		s.Count(name, labels...)
	}
}

func (s *Service) audit(ctx context.Context, user, action string, id recipient.ID, outcome, messageID string) {
	if s.Audit == nil {
		return
	}
	if err := s.Audit.Record(ctx, user, action, id, string(recipient.ChannelDigitalPost), outcome, messageID); err != nil {
		s.Log.Error("audit", "action", action, "err", err)
	}
}

// wakeup is the channel a new message pokes the worker through; handler
// and worker may be the first to ask for it at the same time.
func (s *Service) wakeup() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// Answer is the JSON body of every answer of the operation.
type Answer struct {
	// Status is "accepted" or "rejected".
	Status      string `json:"status"`
	MessageUUID string `json:"messageUUID,omitempty"`
	// Duplicate is true when the message had been accepted before.
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

func answer(w http.ResponseWriter, code int, a Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(a)
}

// Handler serves the operation. The caller wraps it in the partner gate
// (partner.Gate.Wrap), which admits only the listed certificates; partner
// is read from the request's verified certificate for the record.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Path, s.receive)
	return mux
}

func (s *Service) receive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if tid := r.Header.Get("X-Transaction-Id"); tid != "" && len(tid) <= 64 {
		w.Header().Set("X-Transaction-Id", tid)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/xml" && mt != "text/xml" {
		answer(w, http.StatusUnsupportedMediaType, Answer{Status: "rejected", Error: "unsupported_media_type", Detail: "send the MeMo message as application/xml"})
		return
	}
	max := s.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if r.ContentLength > max {
		answer(w, http.StatusRequestEntityTooLarge, Answer{Status: "rejected", Error: "too_large"})
		return
	}
	body := http.MaxBytesReader(w, r.Body, max)
	name, bw, err := s.Blobs.Create()
	if err != nil {
		s.Log.Error("inbound: blob", "err", err)
		answer(w, http.StatusServiceUnavailable, Answer{Status: "rejected", Error: "unavailable", Detail: "try again later"})
		return
	}
	counted := &countingWriter{w: bw}
	var h Header
	verr := s.Schema.Validate(io.TeeReader(body, counted), h.visit)
	// Keep the whole message, also what follows the point where
	// validation stopped: a quarantined message is kept as it came.
	_, rerr := io.Copy(counted, body)
	var tooLarge *http.MaxBytesError
	if errors.As(verr, &tooLarge) || errors.As(rerr, &tooLarge) {
		bw.Abort()
		answer(w, http.StatusRequestEntityTooLarge, Answer{Status: "rejected", Error: "too_large"})
		return
	}
	if rerr != nil || verr != nil && !errors.Is(verr, xsd.ErrInvalid) {
		// The connection broke: nothing was received, nothing is kept.
		bw.Abort()
		s.Log.Warn("inbound: read failed", "err", errors.Join(rerr, verr))
		answer(w, http.StatusBadRequest, Answer{Status: "rejected", Error: "read_failed"})
		return
	}
	if err := bw.Commit(); err != nil {
		s.Log.Error("inbound: commit blob", "err", err)
		answer(w, http.StatusServiceUnavailable, Answer{Status: "rejected", Error: "unavailable", Detail: "try again later"})
		return
	}
	if err := s.Blobs.Sync(); err != nil {
		s.Log.Error("inbound: sync blobs", "err", err)
		answer(w, http.StatusServiceUnavailable, Answer{Status: "rejected", Error: "unavailable", Detail: "try again later"})
		return
	}
	rec := &Record{Received: s.now().UTC(), Partner: partnerOf(r), Blob: name, Size: counted.n, Header: h}
	citizen := recipient.Parse(h.SenderID, s.now())
	if verr != nil {
		// Rejected, but kept: IT can see what came and why.
		rec.ID, rec.Reason = "q-"+randomID(), redact("schema: "+verr.Error())
		if _, err := s.Store.Add(ctx, rec, StateQuarantined); err != nil {
			s.Log.Error("inbound: quarantine", "err", err)
		}
		s.Log.Warn("inbound: message rejected and quarantined", "id", rec.ID, "reason", rec.Reason)
		s.audit(ctx, "sf1606", ActionReceived, recipient.ID{}, StateQuarantined, rec.ID)
		s.count("sendsikkert_relay_inbound_messages_total", "outcome=rejected")
		s.poke()
		answer(w, http.StatusBadRequest, Answer{Status: "rejected", Error: "invalid_memo", Detail: rec.Reason})
		return
	}
	rec.ID = normUUID(h.MessageUUID)
	created, err := s.Store.Add(ctx, rec, StatePending)
	if err != nil || !created {
		// This copy is not the one kept (a duplicate's first copy is).
		s.Blobs.Remove(name)
	}
	if err != nil {
		s.Log.Error("inbound: store", "err", err)
		answer(w, http.StatusServiceUnavailable, Answer{Status: "rejected", Error: "unavailable", Detail: "try again later"})
		return
	}
	if !created {
		s.audit(ctx, "sf1606", ActionReceived, citizen, "duplicate", rec.ID)
		s.count("sendsikkert_relay_inbound_messages_total", "outcome=duplicate")
		s.Log.Info("inbound: duplicate delivery accepted, nothing done", "messageUUID", rec.ID)
		answer(w, http.StatusOK, Answer{Status: "accepted", MessageUUID: h.MessageUUID, Duplicate: true})
		return
	}
	s.audit(ctx, "sf1606", ActionReceived, citizen, "accepted", rec.ID)
	s.count("sendsikkert_relay_inbound_messages_total", "outcome=accepted")
	s.Log.Info("inbound: message accepted", "messageUUID", rec.ID, "sender", citizen.Masked(), "bytes", counted.n)
	s.poke()
	answer(w, http.StatusOK, Answer{Status: "accepted", MessageUUID: h.MessageUUID})
}

func (s *Service) poke() {
	select {
	case s.wakeup() <- struct{}{}:
	default:
	}
}

func partnerOf(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return r.TLS.VerifiedChains[0][0].Subject.String()
	}
	return ""
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mailbox finds a reply mailbox by id or, failing that, by contact point.
func (s *Service) mailbox(id, contactPoint string) (Mailbox, bool) {
	for _, m := range s.Mailboxes {
		if id != "" && m.ID == id {
			return m, true
		}
	}
	for _, m := range s.Mailboxes {
		if contactPoint != "" && strings.EqualFold(m.ContactPointID, contactPoint) {
			return m, true
		}
	}
	return Mailbox{}, false
}

// errUndeliverable marks a message no retry will deliver.
var errUndeliverable = errors.New("inbound: undeliverable")

func undeliverable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUndeliverable, fmt.Sprintf(format, args...))
}
