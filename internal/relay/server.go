package relay

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/recipient"
)

// Server is the relay: its HTTP API and its delivery worker.
type Server struct {
	Store    Store
	Registry recipient.Registry
	Org      Organisation
	// Channels by recipient channel. A recipient whose channel has none
	// cannot be accepted.
	Channels map[recipient.Channel]delivery.Channel
	// Printable says whether an attachment can follow a printed letter.
	Printable func(contentType, filename string) bool
	// Authenticate names the sender of a request, or refuses it.
	Authenticate func(*http.Request) (user string, ok bool)
	Log          *slog.Logger
	Now          func() time.Time
	Version      string
	// Audit, when set, records every lookup, submit and delivery outcome
	// (the LOG module). A submit that cannot be recorded is refused.
	Audit Auditor
	// OnDone, when set, is called once a message is final (receipts).
	OnDone func(*Message)
	// Follower, when set, tells what became of deliveries a channel only
	// had accepted (Digital Post's status messages).
	Follower delivery.Follower
	// FollowInterval, when set, replaces the growing pause between status
	// questions (tests).
	FollowInterval time.Duration
	// Domains and Book answer the Sikker Mail Portal's lists.
	Domains *directory.Domains
	Book    directory.Book
	// KnownMobile, when set, gives a mobile number known for an e-mail
	// address, so the clerk need not type it for the secure mailbox.
	KnownMobile func(ctx context.Context, address string) string
	// Revoke, when set, takes a message back from the secure mailbox
	// (POST /v1/messages/{id}/revoke); it reports how many recipients'
	// copies it withdrew.
	Revoke func(ctx context.Context, messageID string) (int, error)
	// Lease is how long the worker holds a message it works on
	// (DefaultLease when zero); Instance names this relay instance in
	// its leases (the host name when empty).
	Lease    time.Duration
	Instance string

	wakeOnce sync.Once
	wake     chan struct{}
	holdOff  HoldOff // owned by Run
}

// knownMobile looks a mobile number up: the configured function, else the
// address book.
func (s *Server) knownMobile() func(ctx context.Context, address string) string {
	if s.KnownMobile != nil {
		return s.KnownMobile
	}
	if s.Book == nil {
		return nil
	}
	return func(ctx context.Context, address string) string { return directory.MobileOf(ctx, s.Book, address) }
}

// Auditor records what the relay did; package audit implements it.
type Auditor interface {
	Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error
}

func (s *Server) audit(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	if s.Audit == nil {
		return nil
	}
	err := s.Audit.Record(ctx, user, action, id, channel, outcome, messageID)
	if err != nil {
		s.log().Error("audit record failed", "action", action, "err", err)
	}
	return err
}

// BearerAuth accepts requests carrying "Authorization: Bearer token" as user.
func BearerAuth(token, user string) func(*http.Request) (string, bool) {
	want := []byte("Bearer " + token)
	return func(r *http.Request) (string, bool) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return user, true
		}
		return "", false
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) wakeup() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// Handler is the relay's HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.Version})
	})
	mux.HandleFunc("POST /v1/recipients/check", s.auth(s.check))
	mux.HandleFunc("GET /v1/reply-mailboxes", s.auth(s.mailboxes))
	mux.HandleFunc("POST /v1/messages", s.auth(s.submit))
	mux.HandleFunc("GET /v1/messages/{id}", s.auth(s.status))
	mux.HandleFunc("POST /v1/messages/{id}/revoke", s.auth(s.revoke))
	mux.HandleFunc("GET /v1/directory/domains", s.auth(s.domains))
	mux.HandleFunc("GET /v1/directory/addressbook", s.auth(s.addressBook))
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
	})
	return mux
}

type userKey struct{}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := "", false
		if s.Authenticate != nil {
			user, ok = s.Authenticate(r)
		}
		if !ok {
			WriteError(w, http.StatusUnauthorized, &Error{Code: "unauthorized", Message: "Relæet kender ikke denne afsender."})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	}
}

func userOf(r *http.Request) string { u, _ := r.Context().Value(userKey{}).(string); return u }

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var req CheckRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, &Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return
	}
	if len(req.Recipients) > MaxRecipients {
		WriteError(w, http.StatusBadRequest, &Error{Code: "too_many_recipients", Message: fmt.Sprintf("Der kan højst kontrolleres %d modtagere på én gang.", MaxRecipients)})
		return
	}
	if e := ValidateMobiles(req.Mobiles); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	rep := recipient.CheckMail(r.Context(), s.Registry, s.mail(req.Mobiles), req.Recipients, s.now())
	for _, res := range rep.Results {
		if err := s.audit(r.Context(), userOf(r), "lookup", recipient.Parse(res.Input, s.now()), string(res.Channel), lookupOutcome(res), ""); err != nil {
			WriteError(w, http.StatusServiceUnavailable, &Error{Code: "audit", Message: "Relæets log kan ikke skrives, så opslaget er ikke foretaget. Prøv igen."})
			return
		}
	}
	for i := range rep.Results {
		// A channel this relay cannot deliver on is not secure here.
		if res := &rep.Results[i]; res.Secure && s.Channels[res.Channel] == nil {
			res.Secure, res.Channel = false, recipient.ChannelNone
			res.Message += " Relæet kan ikke levere til denne modtager."
		}
	}
	writeJSON(w, http.StatusOK, recipient.Summarize(rep.Results))
}

// mail is how this relay reaches e-mail addresses: tunnelmail to domains on
// the direct-addressing list, the secure mailbox to others with a mobile
// number, each only when the relay has the channel.
func (s *Server) mail(mobiles map[string]string) *recipient.Mail {
	m := &recipient.Mail{
		Tunnelmail:    s.Channels[recipient.ChannelTunnelmail] != nil && s.Domains != nil,
		SecureMailbox: s.Channels[recipient.ChannelSecureMailbox] != nil,
		Known:         s.knownMobile(),
		Mobiles:       map[string]string{},
	}
	if s.Domains != nil {
		m.Direct = s.Domains.Has
	}
	for k, v := range mobiles {
		m.Mobiles[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return m
}

// DirectoryLimit bounds a portal search's answer.
const DirectoryLimit = 500

func (s *Server) domains(w http.ResponseWriter, r *http.Request) {
	out := []directory.Domain{}
	if s.Domains != nil {
		out = s.Domains.Search(r.URL.Query().Get("q"), r.URL.Query().Get("letter"), DirectoryLimit)
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out})
}

func (s *Server) addressBook(w http.ResponseWriter, r *http.Request) {
	out := []directory.Entry{}
	if s.Book != nil {
		var err error
		if out, err = s.Book.Search(r.Context(), r.URL.Query().Get("q"), r.URL.Query().Get("letter"), DirectoryLimit); err != nil {
			s.log().Error("address book search failed", "err", err)
			WriteError(w, http.StatusInternalServerError, &Error{Code: "directory", Message: "Adressebogen kan ikke læses lige nu."})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

func (s *Server) mailboxes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, MailboxChoices{
		Citizen: MailboxGroup{Options: s.Org.ReplyMailboxes, Selected: s.Org.DefaultCitizen},
		Company: MailboxGroup{Options: s.Org.ReplyMailboxes, Selected: s.Org.DefaultCompany},
	})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil || m.Sender != userOf(r) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.log().Error("status lookup failed", "err", err)
			WriteError(w, http.StatusInternalServerError, &Error{Code: "store", Message: "Relæets lager svarer ikke."})
			return
		}
		WriteError(w, http.StatusNotFound, &Error{Code: "not_found", Message: "Forsendelsen findes ikke."})
		return
	}
	writeJSON(w, http.StatusOK, m.Status())
}

// revoke withdraws a message from the secure mailbox, for its sender only.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil || m.Sender != userOf(r) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.fail(w, "revoke lookup", err)
			return
		}
		WriteError(w, http.StatusNotFound, &Error{Code: "not_found", Message: "Forsendelsen findes ikke."})
		return
	}
	if s.Revoke == nil {
		WriteError(w, http.StatusConflict, &Error{Code: "not_revocable", Message: "Forsendelsen kan ikke trækkes tilbage: relæet har ingen sikker mailboks."})
		return
	}
	n, err := s.Revoke(r.Context(), m.ID)
	if err != nil {
		s.log().Error("revoke failed", "id", m.ID, "err", err)
		WriteError(w, http.StatusInternalServerError, &Error{Code: "store", Message: "Forsendelsen kunne ikke trækkes tilbage. Prøv igen."})
		return
	}
	if n == 0 {
		WriteError(w, http.StatusConflict, &Error{Code: "not_revocable", Message: "Der er intet at trække tilbage: forsendelsen ligger ikke (længere) i en sikker mailboks."})
		return
	}
	if m, err = s.Store.Get(r.Context(), m.ID); err != nil {
		s.fail(w, "revoke status", err)
		return
	}
	writeJSON(w, http.StatusOK, m.Status())
}

// submit accepts a message: the "message" JSON part first, then the
// attachments, streamed into encrypted blobs. Only once the message and its
// blobs are on disk is it acknowledged.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := userOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, MaxAttachmentBytes+MaxMessagePart+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		WriteError(w, http.StatusBadRequest, &Error{Code: "bad_multipart", Message: "Forsendelsen skal sendes som multipart/form-data."})
		return
	}
	req, apiErr, status := ReadMessagePart(mr)
	if apiErr != nil {
		WriteError(w, status, apiErr)
		return
	}
	if req.IdempotencyKey == "" {
		WriteError(w, http.StatusBadRequest, &Error{Code: "idempotency_key_missing", Message: "Forsendelsen mangler en idempotensnøgle."})
		return
	}
	if e := Validate(req, s.Org.ReplyMailboxes, s.now()); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	if id, ok, err := s.Store.ByKey(ctx, user, req.IdempotencyKey); err != nil {
		s.fail(w, "idempotency lookup", err)
		return
	} else if ok {
		s.duplicate(w, r, id)
		return
	}
	mail := s.mail(req.Mobiles)
	rep := recipient.CheckMail(ctx, s.Registry, mail, req.Recipients, s.now())
	if e := Unacceptable(rep.Results); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	m := &Message{
		ID: messageID(req.IdempotencyKey), Sender: user, IdempotencyKey: req.IdempotencyKey, Created: s.now().UTC(),
		Subject: req.Subject, BodyHTML: req.BodyHTML, Reply: req.ReplyMailbox, Fallback: req.Fallback,
	}
	if req.ReadDeadline != nil {
		m.ReadDeadline = req.ReadDeadline.UTC()
	}
	m.Question = req.Question
	printing := false
	for i, res := range rep.Results {
		id := recipient.Parse(req.Recipients[i], s.now())
		st := RecipientState{Input: res.Input, ID: id, Channel: res.Channel, Status: StatusQueued, Message: res.Message, MemoUUID: uuid.NewString()}
		if id.Kind == recipient.KindEmail {
			st.Party = recipient.Party{Found: true}
			if res.Channel == recipient.ChannelSecureMailbox {
				st.Party.Mobile = mail.Mobile(ctx, id.Value)
			}
		} else {
			st.Party, _ = s.Registry.Lookup(ctx, id)
		}
		if res.Channel == recipient.ChannelPrint {
			if req.Fallback == "print" && s.Channels[recipient.ChannelPrint] != nil {
				printing = true
			} else {
				st.Status = StatusNeedsFallback
				st.Message = res.Message + " Vælg »Send som brev via OneTooX« for at sende et brev."
			}
		} else if s.Channels[res.Channel] == nil {
			WriteError(w, http.StatusBadRequest, &Error{Code: "recipient_rejected", Message: "Relæet kan ikke levere til " + res.Input + "."})
			return
		}
		m.Recipients = append(m.Recipients, st)
	}
	var printable func(string, string) bool
	if printing {
		printable = s.Printable
	}
	files, apiErr, status := s.Store.Blobs().ReadAttachments(mr, printable, s.log())
	if apiErr != nil {
		WriteError(w, status, apiErr)
		return
	}
	m.Attachments = files
	if err := s.Store.Blobs().Sync(); err != nil {
		s.removeBlobs(files)
		s.fail(w, "sync blobs", err)
		return
	}
	m.Events = []Event{{At: m.Created, What: "Modtaget af relæet"}}
	id, created, err := s.Store.Create(ctx, m)
	if errors.Is(err, ErrIDTaken) {
		m.ID = uuid.NewString()
		id, created, err = s.Store.Create(ctx, m)
	}
	if err != nil {
		s.removeBlobs(files)
		s.fail(w, "create", err)
		return
	}
	if !created {
		// Another request with the same key won the race.
		s.removeBlobs(files)
		s.duplicate(w, r, id)
		return
	}
	for _, r := range m.Recipients {
		s.audit(ctx, user, "submit", r.ID, string(r.Channel), r.Status, id)
		if r.ID.Kind == recipient.KindEmail && s.Book != nil {
			// Every send keeps the address book current, with the mobile
			// number the clerk gave, so the next send needs none.
			s.Book.Touch(ctx, directory.Entry{Email: r.ID.Value, Mobile: r.Party.Mobile, LastSeen: s.now()})
		}
	}
	s.log().Info("message accepted", "id", id, "sender", user, "recipients", maskedList(m.Recipients), "attachments", len(files))
	select {
	case s.wakeup() <- struct{}{}:
	default:
	}
	writeJSON(w, http.StatusAccepted, SubmitResponse{ID: id, Status: m.Status().Status})
}

// messageID keeps one id for a message end to end: a sender (the agent)
// whose idempotency key is a UUID, as the agent's own message id is, gets
// that UUID as the relay's id too, so the clerk's id, the relay's logs and
// the receipts name the same message. Anything else gets a fresh UUID.
func messageID(key string) string {
	if u, err := uuid.Parse(key); err == nil && u.Version() == 4 && u.String() == key {
		return key
	}
	return uuid.NewString()
}

// duplicate answers a repeated idempotency key with the first message. The
// rest of the body is read and dropped so the client sees the answer
// rather than a broken connection; this happens only on retries.
func (s *Server) duplicate(w http.ResponseWriter, r *http.Request, id string) {
	io.Copy(io.Discard, r.Body)
	m, err := s.Store.Get(r.Context(), id)
	if err != nil {
		s.fail(w, "get duplicate", err)
		return
	}
	writeJSON(w, http.StatusOK, SubmitResponse{ID: id, Status: m.Status().Status})
}

func (s *Server) removeBlobs(files []StoredFile) {
	for _, f := range files {
		s.Store.Blobs().Remove(f.Blob)
	}
}

func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.log().Error("relay "+what+" failed", "err", err)
	WriteError(w, http.StatusInternalServerError, &Error{Code: "store", Message: "Relæet kunne ikke gemme forsendelsen. Prøv igen."})
}

// ReadMessagePart reads the first part, which must be the "message" JSON.
func ReadMessagePart(mr *multipart.Reader) (*MessageRequest, *Error, int) {
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "message" {
		return nil, &Error{Code: "message_missing", Message: "Forsendelsen skal begynde med delen »message«."}, http.StatusBadRequest
	}
	defer part.Close()
	var req MessageRequest
	lr := &io.LimitedReader{R: part, N: MaxMessagePart + 1}
	if err := json.NewDecoder(lr).Decode(&req); err != nil {
		if lr.N <= 0 {
			return nil, &Error{Code: "message_too_large", Message: "Beskedens tekst er for stor (højst 8 MB)."}, http.StatusRequestEntityTooLarge
		}
		return nil, &Error{Code: "bad_json", Message: "Delen »message« kunne ikke læses som JSON."}, http.StatusBadRequest
	}
	return &req, nil, 0
}

// TooLarge is the 413 for attachments over the Digital Post limits.
func TooLarge(count bool) *Error {
	if count {
		return &Error{Code: "too_many_attachments", Message: fmt.Sprintf("Der er for mange vedhæftede filer. Digital Post tillader højst %d.", MaxAttachments)}
	}
	return &Error{Code: "attachments_too_large", Message: "De vedhæftede filer er for store. Digital Post tillader højst 99,5 MB i alt."}
}

// ReadAttachments streams the remaining "attachment" parts into encrypted
// blobs, enforcing the Digital Post limits as it goes: it answers 413 as
// soon as a limit is crossed, without reading the rest. printable, when
// set, refuses files that cannot follow a printed letter. On error no
// blob is left behind.
func (b Blobs) ReadAttachments(mr *multipart.Reader, printable func(contentType, filename string) bool, log *slog.Logger) ([]StoredFile, *Error, int) {
	var files []StoredFile
	var total int64
	bail := func(e *Error, status int) ([]StoredFile, *Error, int) {
		for _, f := range files {
			b.Remove(f.Blob)
		}
		return nil, e, status
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, nil, 0
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bail(TooLarge(false), http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			return bail(&Error{Code: "bad_multipart", Message: "Forsendelsen blev afbrudt eller kunne ikke læses."}, http.StatusBadRequest)
		}
		if part.FormName() != "attachment" {
			part.Close()
			return bail(&Error{Code: "bad_part", Message: "Ukendt del i forsendelsen: " + part.FormName()}, http.StatusBadRequest)
		}
		if len(files) == MaxAttachments {
			part.Close()
			return bail(TooLarge(true), http.StatusRequestEntityTooLarge)
		}
		name := CleanFilename(part.FileName(), len(files))
		ct := ContentType(part.Header.Get("Content-Type"), name)
		if printable != nil && !printable(ct, name) {
			part.Close()
			return bail(&Error{Code: "not_printable", Message: "Bilaget »" + name + "« kan ikke udskrives. Kun PDF-filer kan følge et brev via OneTooX."}, http.StatusBadRequest)
		}
		blob, f, err := b.Create()
		if err != nil {
			part.Close()
			log.Error("create blob failed", "err", err)
			return bail(&Error{Code: "store", Message: "Relæet kunne ikke gemme bilaget."}, http.StatusInternalServerError)
		}
		n, err := io.Copy(f, io.LimitReader(part, MaxAttachmentBytes-total+1))
		part.Close()
		total += n
		if err == nil && total > MaxAttachmentBytes {
			f.Abort()
			return bail(TooLarge(false), http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			f.Abort()
			if errors.As(err, &mbe) {
				return bail(TooLarge(false), http.StatusRequestEntityTooLarge)
			}
			return bail(&Error{Code: "bad_multipart", Message: "Bilaget »" + name + "« blev ikke modtaget helt."}, http.StatusBadRequest)
		}
		if err := f.Commit(); err != nil {
			log.Error("commit blob failed", "err", err)
			return bail(&Error{Code: "store", Message: "Relæet kunne ikke gemme bilaget."}, http.StatusInternalServerError)
		}
		files = append(files, StoredFile{FileInfo: FileInfo{Filename: name, ContentType: ct, Size: n}, Blob: blob})
	}
}

func lookupOutcome(r recipient.Result) string {
	switch {
	case !r.Valid:
		return "invalid"
	case r.Secure:
		return "secure"
	case r.Channel == recipient.ChannelPrint:
		return "exempt"
	}
	return "not-secure"
}

func maskedList(rs []RecipientState) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID.Masked()
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError writes the JSON error body.
func WriteError(w http.ResponseWriter, status int, e *Error) {
	writeJSON(w, status, e)
}
