package relay

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/attachment/topdf"
	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/maindoc"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/upload"
)

// Server is the relay's HTTP API. Accepted messages go to Store, where
// the queue's worker (queue.Worker) delivers them.
type Server struct {
	Store    queue.Store
	Registry recipient.Registry
	Org      queue.Organisation
	// Channels by recipient channel. A recipient whose channel has none
	// cannot be accepted.
	Channels map[recipient.Channel]delivery.Channel
	// Printable says whether an attachment can follow a printed letter.
	Printable func(contentType, filename string) bool
	// Authenticate names the sender of a request, or refuses it
	// (AuthDevice routes).
	Authenticate DeviceAuth
	// Partner accepts Beskedfordeler's certificate (AuthPartner routes).
	Partner func(*http.Request) bool
	Log     *slog.Logger
	Now     func() time.Time
	Version string
	// Audit, when set, records every lookup and submit (the LOG module).
	// A lookup or submit that cannot be recorded is refused (503).
	Audit queue.Auditor
	// AuditInStore says Audit (and Book, when it is the SQL address book)
	// is kept in Store's own database: a submit's message, audit rows and
	// address-book rows then commit in one transaction.
	AuditInStore bool
	// Queued, when set, is told of every message accepted (the worker's
	// Wake), so that delivery starts at once.
	Queued func()
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
	// Policy is the organisation's policy for every clerk's PC
	// (GET /v1/policy).
	Policy relayapi.OrgPolicy
	// Entra, when set, verifies the hosted add-in's bearer tokens and
	// turns on the page API (/api/v1/…, AuthEntra): the agent's local API
	// paths and JSON, for pages served by the relay.
	Entra func(*http.Request) (entra.Principal, error)
	// Uploads, when set, keeps the hosted add-in's documents sent in
	// slices (/api/v1/uploads, Del sikkert); in the relay's store
	// (upload.OpenShared) so that every instance sees them.
	Uploads *upload.Store
	// Limit rate limits each Entra user (NewUserLimit when nil).
	Limit     *UserLimit
	limitOnce sync.Once
	// Choices keeps Entra users' reply-mailbox choices (PUT
	// /api/v1/reply-mailboxes) in the relay's store, so that a restart or
	// another instance behind the load balancer keeps them. When nil, Store
	// is asked (a store that keeps them); a relay with neither cannot save
	// a choice and says so.
	Choices queue.ReplyChoices

	// Parts served by other packages, each on its route of the table when
	// set: enrolment (POST /v1/enroll, its one-time code is the
	// credential), metrics, the audit log (auditors only: the handler
	// checks the role, the table the device), receipts, the secure
	// mailbox's recipient pages (/m/) and Beskedfordeler's status messages.
	Enrol          http.Handler
	Metrics        http.Handler
	AuditLog       http.Handler
	Receipts       http.Handler
	MailboxPages   http.Handler
	StatusMessages http.Handler
	// AddinSite serves the hosted add-in's public parts (hostedAddin):
	// its pages, the allowed-origins file and /v1/addin-config.
	AddinSite http.Handler
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

// audit records one row, logging a failure.
func (s *Server) audit(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	err := s.journal().Record(ctx, []queue.AuditRow{{User: user, Action: action, ID: id, Channel: channel, Outcome: outcome, MessageID: messageID}})
	if err != nil {
		s.log().Error("audit record failed", "action", action, "err", err)
	}
	return err
}

func (s *Server) journal() queue.Journal {
	return queue.Journal{Store: s.Store, Audit: s.Audit, Joint: s.AuditInStore}
}

// DeviceAuth names the sender of a device's request. It returns an error
// wrapping ErrUnauthenticated when the caller is not (or no longer) a known
// device — answered 401, final for the agent — and any other error when it
// could not tell, because its own store failed: answered 503, so the agent
// tries again. A relay whose database is down must never call an enrolled
// device unknown: the agent would give up every message it holds.
type DeviceAuth func(*http.Request) (user string, err error)

// ErrUnauthenticated is a DeviceAuth's refusal of the caller itself.
var ErrUnauthenticated = errors.New("relay: caller is not an enrolled device")

// BearerAuth accepts requests carrying "Authorization: Bearer token" as user.
func BearerAuth(token, user string) DeviceAuth {
	want := []byte("Bearer " + token)
	return func(r *http.Request) (string, error) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return user, nil
		}
		return "", ErrUnauthenticated
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

// Routes is the relay's route table: every route it serves, each with
// how its caller is authenticated. Parts not set are left out.
func (s *Server) Routes() []Route {
	routes := []Route{
		{"GET /healthz", AuthPublic, http.HandlerFunc(s.health)},
		{"GET /openapi.yaml", AuthPublic, http.HandlerFunc(serveOpenAPI)},
		{"POST /v1/recipients/check", AuthDevice, http.HandlerFunc(s.check)},
		{"GET /v1/reply-mailboxes", AuthDevice, http.HandlerFunc(s.mailboxes)},
		{"POST /v1/messages", AuthDevice, http.HandlerFunc(s.submit)},
		{"GET /v1/messages/{id}", AuthDevice, http.HandlerFunc(s.status)},
		{"POST /v1/messages/{id}/revoke", AuthDevice, http.HandlerFunc(s.revoke)},
		{"GET /v1/directory/domains", AuthDevice, http.HandlerFunc(s.domains)},
		{"GET /v1/directory/addressbook", AuthDevice, http.HandlerFunc(s.addressBook)},
		{"GET /v1/policy", AuthDevice, http.HandlerFunc(s.policy)},
		{"PUT /v1/directory/mobiles", AuthDevice, http.HandlerFunc(s.setMobile)},
		{"POST /v1/messages/changes", AuthDevice, http.HandlerFunc(s.changes)},
		{"POST /v1/audit/smart-alert-override", AuthDevice, http.HandlerFunc(s.smartAlertOverride)},
	}
	routes = append(routes, s.pageRoutes()...)
	for _, p := range []struct {
		pattern string
		auth    Auth
		h       http.Handler
	}{
		{"POST /v1/enroll", AuthPublic, s.Enrol},
		// Prometheus scrapes metrics.listen; here only a device.
		{"GET /metrics", AuthDevice, s.Metrics},
		{"GET /v1/audit", AuthDevice, s.AuditLog},
		{"GET /v1/messages/{id}/receipt", AuthDevice, s.Receipts},
		{"/m/", AuthPublic, s.MailboxPages},
		{"POST /beskedfordeler/PostStatusBeskedModtag", AuthPartner, s.StatusMessages},
		{"/addin/", AuthPublic, s.AddinSite},
		{"GET /.well-known/microsoft-officeaddins-allowed.json", AuthPublic, s.AddinSite},
		{"GET /v1/addin-config", AuthPublic, s.AddinSite},
	} {
		if p.h != nil {
			routes = append(routes, Route{p.pattern, p.auth, p.h})
		}
	}
	return routes
}

// pageRoutes are the page API for the hosted add-in: the paths and JSON of
// the agent's local API (so the same pages work against either), answered
// by the same handlers as the devices' API, for an Entra user.
func (s *Server) pageRoutes() []Route {
	if s.Entra == nil {
		return nil
	}
	return []Route{
		{"POST /api/v1/recipients/check", AuthEntra, http.HandlerFunc(s.check)},
		{"POST /api/v1/messages", AuthEntra, http.HandlerFunc(s.submit)},
		{"GET /api/v1/messages/{id}", AuthEntra, http.HandlerFunc(s.status)},
		{"POST /api/v1/messages/{id}/revoke", AuthEntra, http.HandlerFunc(s.revoke)},
		{"GET /api/v1/reply-mailboxes", AuthEntra, http.HandlerFunc(s.mailboxes)},
		{"PUT /api/v1/reply-mailboxes", AuthEntra, http.HandlerFunc(s.setMailboxes)},
		{"POST /api/v1/uploads", AuthEntra, http.HandlerFunc(s.createUpload)},
		{"PUT /api/v1/uploads/{id}/{index}", AuthEntra, http.HandlerFunc(s.putSlice)},
		{"GET /api/v1/uploads/{id}", AuthEntra, http.HandlerFunc(s.getUpload)},
		{"GET /api/v1/directory/domains", AuthEntra, http.HandlerFunc(s.domains)},
		{"GET /api/v1/directory/addressbook", AuthEntra, http.HandlerFunc(s.addressBook)},
		{"GET /api/v1/messages/facts", AuthEntra, http.HandlerFunc(s.facts)},
		{"POST /api/v1/smart-alert/override", AuthEntra, http.HandlerFunc(s.smartAlertOverride)},
		{"PUT /api/v1/mobiles", AuthEntra, http.HandlerFunc(s.setMobile)},
		{"GET /api/v1/settings", AuthEntra, http.HandlerFunc(s.pageSettings)},
	}
}

func (s *Server) guard() Guard {
	s.limitOnce.Do(func() {
		if s.Limit == nil {
			s.Limit = NewUserLimit()
		}
	})
	return Guard{Device: s.Authenticate, Partner: s.Partner, Entra: s.Entra, Limit: s.Limit, Log: s.log()}
}

// Handler serves the whole route table.
func (s *Server) Handler() http.Handler { return s.guard().Handler(s.Routes()) }

// HandlerFor serves the routes authenticated by one of auths only: a
// listener of its own (Beskedfordeler's) offers nothing else.
func (s *Server) HandlerFor(auths ...Auth) http.Handler {
	var rs []Route
	for _, r := range s.Routes() {
		if slices.Contains(auths, r.Auth) {
			rs = append(rs, r)
		}
	}
	return s.guard().Handler(rs)
}

// HandlerOf serves the routes of the table keep chooses, behind the same
// guard: a listener of its own (the hosted add-in's) offers nothing else.
func (s *Server) HandlerOf(keep func(Route) bool) http.Handler {
	var rs []Route
	for _, r := range s.Routes() {
		if keep(r) {
			rs = append(rs, r)
		}
	}
	return s.guard().Handler(rs)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.Version})
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(OpenAPI)
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var req relayapi.CheckRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return
	}
	if len(req.Recipients) > relayapi.MaxRecipients {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "too_many_recipients", Message: fmt.Sprintf("Der kan højst kontrolleres %d modtagere på én gang.", relayapi.MaxRecipients)})
		return
	}
	if e := relayapi.ValidateMobiles(req.Mobiles); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	rep := recipient.CheckMail(r.Context(), s.Registry, s.mail(req.Mobiles), req.Recipients, s.now())
	// One transaction for all the recipients (shared with concurrent
	// checks), and the answer only once it is durable.
	rows := make([]queue.AuditRow, 0, len(rep.Results))
	for _, res := range rep.Results {
		rows = append(rows, queue.AuditRow{User: User(r), Action: "lookup", ID: recipient.Parse(res.Input, s.now()), Channel: string(res.Channel), Outcome: lookupOutcome(res)})
	}
	if err := s.journal().Record(r.Context(), rows); err != nil {
		s.log().Error("audit record failed", "action", "lookup", "err", err)
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "audit", Message: "Relæets log kan ikke skrives, så opslaget er ikke foretaget. Prøv igen."})
		return
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
			WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "directory", Message: "Adressebogen kan ikke læses lige nu. Prøv igen om lidt."})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

func (s *Server) mailboxes(w http.ResponseWriter, r *http.Request) {
	mc, err := s.mailboxChoices(r)
	if err != nil {
		s.fail(w, "reply choice", err)
		return
	}
	writeJSON(w, http.StatusOK, mc)
}

// choices is where Entra users' reply-mailbox choices are kept, nil when
// nowhere.
func (s *Server) choices() queue.ReplyChoices {
	if s.Choices != nil {
		return s.Choices
	}
	c, _ := s.Store.(queue.ReplyChoices)
	return c
}

// savedChoice is an Entra user's saved reply-mailbox choice; zero for a
// device's user (the agent keeps that choice on the PC) and where nothing
// is saved.
func (s *Server) savedChoice(r *http.Request) (relayapi.ReplyChoice, error) {
	c := s.choices()
	if c == nil || !entraCaller(r) {
		return relayapi.ReplyChoice{}, nil
	}
	return c.ReplyChoice(r.Context(), Owner(r))
}

// mailboxChoices is the organisation's reply mailboxes with its defaults
// selected, or an Entra user's own choices where made (and still offered).
func (s *Server) mailboxChoices(r *http.Request) (relayapi.MailboxChoices, error) {
	mc := relayapi.MailboxChoices{
		Citizen: relayapi.MailboxGroup{Options: s.Org.ReplyMailboxes, Selected: s.Org.DefaultCitizen},
		Company: relayapi.MailboxGroup{Options: s.Org.ReplyMailboxes, Selected: s.Org.DefaultCompany},
	}
	c, err := s.savedChoice(r)
	if err != nil {
		return mc, err
	}
	if hasMailbox(s.Org.ReplyMailboxes, c.Citizen) {
		mc.Citizen.Selected = c.Citizen
	}
	if hasMailbox(s.Org.ReplyMailboxes, c.Company) {
		mc.Company.Selected = c.Company
	}
	return mc, nil
}

// setMailboxes saves an Entra user's reply-mailbox choices (the agent
// keeps a device user's on the PC) in the relay's store before it
// answers.
func (s *Server) setMailboxes(w http.ResponseWriter, r *http.Request) {
	var req relayapi.ReplyChoice
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return
	}
	for _, id := range []string{req.Citizen, req.Company} {
		if id != "" && !hasMailbox(s.Org.ReplyMailboxes, id) {
			WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_reply_mailbox", Message: "Postkassen »" + id + "« findes ikke."})
			return
		}
	}
	store := s.choices()
	if store == nil {
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "no_reply_choices", Message: "Relæet kan ikke gemme dit valg af postkasse. Kontakt IT."})
		return
	}
	if _, err := store.SetReplyChoice(r.Context(), Owner(r), req); err != nil {
		s.fail(w, "set reply choice", err)
		return
	}
	mc, err := s.mailboxChoices(r)
	if err != nil {
		s.fail(w, "reply choice", err)
		return
	}
	writeJSON(w, http.StatusOK, mc)
}

func hasMailbox(opts []relayapi.ReplyMailbox, id string) bool {
	for _, o := range opts {
		if o.ID == id {
			return true
		}
	}
	return false
}

// senderID is what a message records as its owner besides Sender: the
// Entra owner, or nothing for a device (whose user owns it).
func senderID(r *http.Request) string {
	if o := Owner(r); o != User(r) {
		return o
	}
	return ""
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil || m.Owner() != Owner(r) {
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			s.log().Error("status lookup failed", "err", err)
			WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "store_unavailable", Message: "Relæets lager svarer ikke lige nu. Prøv igen om lidt."})
			return
		}
		WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "not_found", Message: "Forsendelsen findes ikke."})
		return
	}
	writeJSON(w, http.StatusOK, m.Status())
}

// revoke withdraws a message from the secure mailbox, for its sender only.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil || m.Owner() != Owner(r) {
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			s.fail(w, "revoke lookup", err)
			return
		}
		WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "not_found", Message: "Forsendelsen findes ikke."})
		return
	}
	if s.Revoke == nil {
		WriteError(w, http.StatusConflict, &relayapi.Error{Code: "not_revocable", Message: "Forsendelsen kan ikke trækkes tilbage: relæet har ingen sikker mailboks."})
		return
	}
	n, err := s.Revoke(r.Context(), m.ID)
	if err != nil {
		s.log().Error("revoke failed", "id", m.ID, "err", err)
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "store_unavailable", Message: "Forsendelsen kunne ikke trækkes tilbage lige nu. Prøv igen om lidt."})
		return
	}
	if n == 0 {
		WriteError(w, http.StatusConflict, &relayapi.Error{Code: "not_revocable", Message: "Der er intet at trække tilbage: forsendelsen ligger ikke (længere) i en sikker mailboks."})
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
	user := User(r)
	r.Body = http.MaxBytesReader(w, r.Body, relayapi.MaxAttachmentBytes+relayapi.MaxMessagePart+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_multipart", Message: "Forsendelsen skal sendes som multipart/form-data."})
		return
	}
	req, apiErr, status := relayapi.ReadMessagePart(mr)
	if apiErr != nil {
		WriteError(w, status, apiErr)
		return
	}
	if req.IdempotencyKey == "" {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "idempotency_key_missing", Message: "Forsendelsen mangler en idempotensnøgle."})
		return
	}
	if e := relayapi.Validate(req, s.Org.ReplyMailboxes, s.now()); e != nil {
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
	// One letter per recipient per send, and per draft — also a draft
	// sent from classic Outlook and again from Outlook on the web.
	var answer relayapi.SubmitResponse
	req.Recipients, answer.Merged = recipient.Dedupe(req.Recipients, s.now())
	var draftIDs []string
	if req.DraftID != "" {
		var sent map[string]bool
		var err error
		draftIDs, sent, err = s.sentInDraft(ctx, user, req.DraftID)
		if err != nil {
			s.fail(w, "draft lookup", err)
			return
		}
		req.Recipients, answer.AlreadySent = recipient.Skip(req.Recipients, sent, s.now())
		if len(req.Recipients) == 0 {
			// Nothing new: the answer is the draft's latest message.
			io.Copy(io.Discard, r.Body)
			last, err := s.Store.Get(ctx, draftIDs[len(draftIDs)-1])
			if err != nil {
				s.fail(w, "draft message", err)
				return
			}
			answer.ID, answer.Status = last.ID, last.Status().Status
			writeJSON(w, http.StatusOK, answer)
			return
		}
	}
	mail := s.mail(req.Mobiles)
	rep := recipient.CheckMail(ctx, s.Registry, mail, req.Recipients, s.now())
	if e := relayapi.Unacceptable(rep.Results); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	// A hosted page that names no reply mailbox gets its user's saved
	// choice, as the agent fills in its user's (the worker falls back to
	// the organisation's default).
	saved, err := s.savedChoice(r)
	if err != nil {
		s.fail(w, "reply choice", err)
		return
	}
	if req.ReplyMailbox.Citizen == "" && hasMailbox(s.Org.ReplyMailboxes, saved.Citizen) {
		req.ReplyMailbox.Citizen = saved.Citizen
	}
	if req.ReplyMailbox.Company == "" && hasMailbox(s.Org.ReplyMailboxes, saved.Company) {
		req.ReplyMailbox.Company = saved.Company
	}
	m := &queue.Message{
		ID: messageID(req.IdempotencyKey), Sender: user, SenderID: senderID(r), IdempotencyKey: req.IdempotencyKey, DraftID: req.DraftID, Created: s.now().UTC(),
		Subject: req.Subject, BodyHTML: req.BodyHTML, Reply: req.ReplyMailbox, Fallback: req.Fallback,
	}
	if req.ReadDeadline != nil {
		m.ReadDeadline = req.ReadDeadline.UTC()
	}
	m.Question = req.Question
	printing := false
	for i, res := range rep.Results {
		id := recipient.Parse(req.Recipients[i], s.now())
		st := queue.RecipientState{Input: res.Input, ID: id, Channel: res.Channel, Status: relayapi.StatusQueued, Message: res.Message, MemoUUID: uuid.NewString()}
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
				st.Status = relayapi.StatusNeedsFallback
				st.Message = res.Message + " Vælg »Send som brev via OneTooX« for at sende et brev."
			}
		} else if s.Channels[res.Channel] == nil {
			WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "recipient_rejected", Message: "Relæet kan ikke levere til " + res.Input + "."})
			return
		}
		m.Recipients = append(m.Recipients, st)
	}
	var printable func(string, string) bool
	if printing {
		printable = s.Printable
	}
	var uploaded []blobstore.File
	if req.UploadID != "" {
		// A document sent in slices first (the hosted add-in's Del
		// sikkert); devices' agents never send an uploadId on.
		if Owner(r) == User(r) {
			WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "no_uploads", Message: "Relæet kan ikke modtage dokumenter i dele."})
			return
		}
		f, e, st := s.takeUpload(r, req.UploadID, printable)
		if e != nil {
			WriteError(w, st, e)
			return
		}
		uploaded = append(uploaded, f)
	}
	files, inline, apiErr, status := s.Store.Blobs().ReadAttachments(mr, printable, topdf.Convert, s.log())
	if apiErr == nil && len(uploaded) > 0 {
		// The sliced document counts against the same limits.
		var total int64
		for _, f := range append(files, uploaded...) {
			total += f.Size
		}
		if len(files)+len(uploaded) > relayapi.MaxAttachments {
			apiErr, status = relayapi.TooLarge(true), http.StatusRequestEntityTooLarge
		} else if total > relayapi.MaxAttachmentBytes {
			apiErr, status = relayapi.TooLarge(false), http.StatusRequestEntityTooLarge
		}
		if apiErr != nil {
			s.removeBlobs(files)
		}
	}
	if apiErr != nil {
		s.removeBlobs(uploaded)
		WriteError(w, status, apiErr)
		return
	}
	files = append(uploaded, files...)
	// The shared document and the attached files are named apart too.
	var names attachment.Names
	for i := range files {
		files[i].Filename = names.Unique(files[i].Filename)
	}
	m.Attachments = files
	// The body becomes the main document: its pictures embedded, nothing
	// left that loads or runs (the agent did this already; it is
	// idempotent, and case systems call the relay directly).
	body := maindoc.Prepare(m.BodyHTML, inline)
	m.BodyHTML = body.HTML
	blobs := make([]string, len(files))
	for i, f := range files {
		blobs[i] = f.Blob
	}
	if err := s.Store.Blobs().SyncNames(blobs...); err != nil {
		s.removeBlobs(files)
		s.fail(w, "sync blobs", err)
		return
	}
	m.Events = []relayapi.Event{{At: m.Created, Kind: relayapi.EventReceived, What: "Modtaget af relæet"}}
	for _, n := range body.Notes {
		m.Events = append(m.Events, relayapi.Event{At: m.Created, Kind: relayapi.EventBodyChanged, What: n})
	}
	// The submit's rows and the message commit together (one fsync) when
	// the log is in the store's database; otherwise the rows go first:
	// what the log cannot record does not happen (the sender tries again
	// with the same key).
	rows := func(m *queue.Message) []queue.AuditRow {
		rows := make([]queue.AuditRow, 0, len(m.Recipients))
		for _, r := range m.Recipients {
			rows = append(rows, queue.AuditRow{User: user, Action: "submit", ID: r.ID, Channel: string(r.Channel), Outcome: string(r.Status), MessageID: m.ID})
		}
		return rows
	}
	// Every send keeps the address book current, with the mobile number
	// the clerk gave, so the next send needs none: in the same commit when
	// the book is in the store's database.
	var touchTx func(*sql.Tx) error
	if bt, ok := s.Book.(interface {
		TouchTx(context.Context, *sql.Tx, directory.Entry) error
	}); ok {
		touchTx = func(tx *sql.Tx) error {
			for _, r := range m.Recipients {
				if r.ID.Kind == recipient.KindEmail {
					if err := bt.TouchTx(ctx, tx, directory.Entry{Email: r.ID.Value, Mobile: r.Party.Mobile, LastSeen: s.now()}); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	j := s.journal()
	id, created, touched, auditErr, err := j.Create(ctx, m, rows, touchTx)
	if errors.Is(err, queue.ErrIDTaken) {
		m.ID = uuid.NewString()
		id, created, touched, auditErr, err = j.Create(ctx, m, rows, touchTx)
	}
	touched = touched && touchTx != nil
	if auditErr != nil {
		s.log().Error("audit record failed", "action", "submit", "err", auditErr)
		s.removeBlobs(files)
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "audit", Message: "Relæets log kan ikke skrives, så forsendelsen er ikke modtaget. Den bliver sendt igen om lidt."})
		return
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
	if len(uploaded) > 0 {
		// The message holds the document now.
		if err := s.Uploads.Delete(req.UploadID); err != nil {
			s.log().Warn("upload not deleted after the send", "err", err)
		}
	}
	for _, r := range m.Recipients {
		if r.ID.Kind == recipient.KindEmail && s.Book != nil && !touched {
			s.Book.Touch(ctx, directory.Entry{Email: r.ID.Value, Mobile: r.Party.Mobile, LastSeen: s.now()})
		}
	}
	s.log().Info("message accepted", "id", id, "sender", user, "recipients", maskedList(m.Recipients), "attachments", len(files))
	if s.Queued != nil {
		s.Queued()
	}
	answer.ID, answer.Status, answer.Notes = id, m.Status().Status, body.Notes
	writeJSON(w, http.StatusAccepted, answer)
}

// sentInDraft lists the sender's messages from a draft and the recipients
// (recipient.ID.Key) they were accepted for: any state but failed or
// needs-fallback.
func (s *Server) sentInDraft(ctx context.Context, sender, draftID string) ([]string, map[string]bool, error) {
	ids, err := s.Store.DraftMessages(ctx, sender, draftID)
	if err != nil {
		return nil, nil, err
	}
	sent := map[string]bool{}
	for _, id := range ids {
		m, err := s.Store.Get(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		for _, rs := range m.Recipients {
			if rs.Status.Accepted() {
				sent[rs.ID.Key()] = true
			}
		}
	}
	return ids, sent, nil
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
	writeJSON(w, http.StatusOK, relayapi.SubmitResponse{ID: id, Status: m.Status().Status})
}

func (s *Server) removeBlobs(files []blobstore.File) {
	for _, f := range files {
		s.Store.Blobs().Remove(f.Blob)
	}
}

// fail answers a failure of the relay's own storage: never the sender's
// fault, so never a 4xx the agent would take as final.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.log().Error("relay "+what+" failed", "err", err)
	e, status := relayapi.StorageFailure(err)
	WriteError(w, status, e)
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

func maskedList(rs []queue.RecipientState) []string {
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

// decodeStrict reads a JSON body of at most limit bytes into v, refusing
// unknown fields; on failure it has answered 400 and returns false.
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return false
	}
	return true
}

// WriteError writes the JSON error body.
func WriteError(w http.ResponseWriter, status int, e *relayapi.Error) {
	if (status == http.StatusServiceUnavailable || status == http.StatusInsufficientStorage) && w.Header().Get("Retry-After") == "" {
		// The relay's own trouble: the agent waits this long, then tries
		// again with the same idempotency key.
		w.Header().Set("Retry-After", strconv.Itoa(int(relayapi.StorageRetryAfter.Seconds())))
	}
	writeJSON(w, status, e)
}
