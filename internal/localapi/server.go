package localapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/health"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/mailbox"
	"sendsikkert/internal/maindoc"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/upload"
)

// Relay is what the local API asks of the relay directly; sends go through
// the outbox.
type Relay interface {
	Check(ctx context.Context, inputs []string) (recipient.Report, error)
	ReplyMailboxes(ctx context.Context) (relayapi.MailboxChoices, error)
	Status(ctx context.Context, id string) (relayapi.MessageStatus, error)
	Revoke(ctx context.Context, id string) (relayapi.MessageStatus, error)
}

// Directory answers the portal's lists (the relay's directory API).
type Directory interface {
	Domains(ctx context.Context, q, letter string) ([]directory.Domain, error)
	AddressBook(ctx context.Context, q, letter string) ([]directory.Entry, error)
}

// Server is the local API.
type Server struct {
	Guard  *Guard
	Outbox *outbox.Outbox
	Relay  Relay
	// Uploads holds documents sent in slices (Del sikkert).
	Uploads *upload.Store
	// Printable says whether an attachment can follow a printed letter.
	Printable func(contentType, filename string) bool
	// Enroll joins this PC to a relay with a code from IT (the window's
	// first-run view); nil when the agent cannot.
	Enroll func(ctx context.Context, relayURL, code string) (user string, err error)
	// EnrollToken joins this PC to the relay from policy or --relay with
	// an Entra ID access token (zero-touch enrolment), or reports
	// ErrAlreadyEnrolled or ErrNoRelay; nil when the agent cannot.
	EnrollToken func(ctx context.Context, accessToken string) (user string, err error)
	// AddinConfig fetches the relay's /v1/addin-config (what the pages
	// need for NAA); nil when there is no relay to ask.
	AddinConfig func(ctx context.Context) (hostedaddin.AddinConfig, error)
	// Policy is what IT has locked; it wins over the user's choices.
	Policy policy.Policy
	// Directory, when set, serves the Sikker Mail Portal's searches.
	Directory Directory
	Settings  *settings.Store
	// Demo: the relay is the embedded demo relay. Relay nil means not
	// enrolled: every route that needs the relay answers 503 not_enrolled,
	// and nothing is queued.
	Demo    bool
	Version string
	Log     *slog.Logger
	Now     func() time.Time
	// Extra routes (add-in pages, later issues) go through the same guard.
	Extra []Route
	// Mailbox, when set, is the IMAP mailbox link (account in the
	// settings, secret and status under /api/v1/mailbox/).
	Mailbox *mailbox.Link
	// Health holds the agent's current problems (/healthz "problems").
	Health *health.Board
	// User is the OS account the agent runs as (/healthz "user").
	User string
	// WindowToken is the window's own credential (see window.go); empty
	// means no window can re-enrol through the API.
	WindowToken string
	// Enrolled says whether the agent is enrolled with a relay now; then
	// only the window may enrol it again.
	Enrolled func() bool

	cacheMu sync.Mutex
	cache   map[string]cached
	org     relayapi.OrgPolicy // the relay's policy as last told (smartalert.go)
	orgAt   time.Time

	factsMu    sync.Mutex // one changedSince query at a time (facts.go)
	factsAsked time.Time
	factsSince time.Time
}

type cached struct {
	res recipient.Result
	at  time.Time
}

// checkTTL is how long a check answer stands in for the relay when it is
// away at send time.
const checkTTL = time.Hour

// NewToken makes a CSRF token.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Routes is the route table: every path the agent answers.
func (s *Server) Routes() []Route {
	rs := []Route{
		{Pattern: "GET /{$}", Handler: s.index},
		{Pattern: "GET /healthz", Handler: s.healthz},
		{Pattern: "GET /csrf-token", MaxBody: 1, Handler: s.csrfToken},
		{Pattern: "POST /api/v1/smart-alert/override", MaxBody: 16 << 10, Handler: s.smartAlertOverride},
		{Pattern: "POST /api/v1/recipients/check", MaxBody: 64 << 10, NeedsRelay: true, Handler: s.check},
		{Pattern: "POST /api/v1/messages", MaxBody: relayapi.MaxAttachmentBytes + relayapi.MaxMessagePart + 1<<20, NeedsRelay: true, Handler: s.submit},
		{Pattern: "GET /api/v1/messages", MaxBody: 1, Handler: s.list},
		{Pattern: "GET /api/v1/messages/facts", MaxBody: 1, Handler: s.facts},
		{Pattern: "PUT /api/v1/mobiles", MaxBody: 4 << 10, Handler: s.setMobile},
		{Pattern: "GET /api/v1/messages/{id}", MaxBody: 1, NeedsRelay: true, Handler: s.status},
		{Pattern: "POST /api/v1/messages/{id}/revoke", MaxBody: 1 << 10, NeedsRelay: true, Handler: s.revoke}, // no body is read; "{}" is welcome
		{Pattern: "GET /api/v1/reply-mailboxes", MaxBody: 1, NeedsRelay: true, Handler: s.mailboxes},
		{Pattern: "PUT /api/v1/reply-mailboxes", MaxBody: 4 << 10, NeedsRelay: true, Handler: s.setMailboxes},
		{Pattern: "POST /api/v1/uploads", MaxBody: 4 << 10, NeedsRelay: true, Handler: s.createUpload},
		{Pattern: "PUT /api/v1/uploads/{id}/{index}", MaxBody: upload.MaxSlice, Handler: s.putSlice},
		{Pattern: "GET /api/v1/uploads/{id}", MaxBody: 1, Handler: s.getUpload},
		{Pattern: "POST /api/v1/enroll", MaxBody: 16 << 10, Handler: s.enroll},
		{Pattern: "GET /api/v1/addin-config", MaxBody: 1, Handler: s.addinConfig},
		{Pattern: "GET /api/v1/settings", MaxBody: 1, Handler: s.getSettings},
		{Pattern: "PUT /api/v1/settings", MaxBody: 128 << 10, Handler: s.putSettings},
		{Pattern: "PUT /api/v1/mailbox/secret", MaxBody: 16 << 10, Handler: s.putMailboxSecret},
		{Pattern: "GET /api/v1/mailbox/status", MaxBody: 1, Handler: s.mailboxStatus},
		{Pattern: "GET /api/v1/directory/domains", MaxBody: 1, NeedsRelay: true, Handler: s.domains},
		{Pattern: "GET /api/v1/directory/addressbook", MaxBody: 1, NeedsRelay: true, Handler: s.addressBook},
		{Pattern: "GET /addin/{path...}", MaxBody: 1, Handler: s.addinPage},
		{Pattern: "GET /addin/outlook.xml", MaxBody: 1, Handler: s.outlookManifest},
		{Pattern: "GET /addin/office.xml", MaxBody: 1, Handler: s.officeManifest},
	}
	return append(rs, s.Extra...)
}

// Handler serves the route table behind the guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		if rt.NeedsRelay && s.Relay == nil {
			rt.Handler = s.notEnrolled
		}
		mux.Handle(rt.Pattern, s.Guard.Wrap(rt))
	}
	// Unknown paths get the guard too, then a JSON 404.
	mux.Handle("/", s.Guard.Wrap(Route{Pattern: "GET /", Handler: func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Siden findes ikke.")
	}}))
	return s.Guard.Outer(mux)
}

// NotEnrolledText is what a clerk reads when the agent has no relay.
const NotEnrolledText = "Send sikkert er ikke tilmeldt organisationens relæ på denne pc, så intet kan sendes sikkert herfra. Kontakt IT, og bed om at få pc'en tilmeldt (eller om en tilmeldingskode til Kom i gang i Send sikkert-vinduet)."

// notEnrolled answers every route that needs the relay while the agent is
// not enrolled: nothing is checked, queued or sent.
func (s *Server) notEnrolled(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "not_enrolled", NotEnrolledText)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	// "status" stays "ok" while the agent serves: problems are things a
	// person must know of, not a reason to restart it.
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.Version, "demo": s.Demo, "enrolled": s.Relay != nil && !s.Demo, "outbox": s.Outbox.Pending(), "user": s.User, "problems": s.Health.List()})
}

var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="sendsikkert-csrf" content="{{.Token}}">
<title>Send sikkert</title>
<style>
body{font-family:"Segoe UI",system-ui,sans-serif;margin:2rem;color:#242424;max-width:40rem}
h1{font-size:1.5rem;font-weight:600}
.demo{background:#fff4ce;border:1px solid #c19c00;padding:.5rem 1rem;border-radius:4px}
dt{font-weight:600}dd{margin:0 0 .75rem 0}
</style>
</head>
<body>
<h1>Send sikkert kører</h1>
{{if .Demo}}<p class="demo"><strong>DEMO</strong> – Send sikkert kører i demotilstand. Intet sendes til rigtige modtagere; Digital Post og breve lægges i en mappe på denne pc.</p>{{end}}
{{if .NotEnrolled}}<p class="demo"><strong>Ikke tilmeldt</strong> – {{.NotEnrolled}}</p>{{end}}
<dl>
<dt>Version</dt><dd>{{.Version}}</dd>
<dt>Forsendelser i udbakken</dt><dd>{{.Pending}}</dd>
</dl>
<p>Send sikkert-knapperne i Outlook, Word, Excel og PowerPoint bruger denne tjeneste. Du behøver ikke gøre noget her.</p>
</body>
</html>
`))

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	pending := 0 // a PC waiting for enrolment has no outbox yet
	if s.Outbox != nil {
		pending = s.Outbox.Pending()
	}
	notEnrolled := ""
	if s.Relay == nil && !s.Demo {
		notEnrolled = NotEnrolledText
	}
	indexPage.Execute(w, map[string]any{"Token": s.Guard.Token, "Demo": s.Demo, "NotEnrolled": notEnrolled, "Version": s.Version, "Pending": pending})
}

// down stands in for the registry when the relay cannot be reached, so a
// check still answers every line, honestly: not secure, try again.
type down struct{}

func (down) Lookup(context.Context, recipient.ID) (recipient.Party, error) {
	return recipient.Party{}, relayclient.ErrUnavailable
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var req relayapi.CheckRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Recipients) > relayapi.MaxRecipients {
		writeError(w, http.StatusBadRequest, "too_many_recipients", "Der kan højst kontrolleres 50 modtagere på én gang.")
		return
	}
	if e := relayapi.ValidateMobiles(req.Mobiles); e != nil {
		writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	writeJSON(w, http.StatusOK, s.checkRecipients(r.Context(), req.Recipients, req.Mobiles))
}

// relayCheck asks the relay, with the mobile numbers entered for e-mail
// recipients when there are any and the relay takes them.
func (s *Server) relayCheck(ctx context.Context, inputs []string, mobiles map[string]string) (recipient.Report, error) {
	if mc, ok := s.Relay.(interface {
		CheckMobiles(context.Context, []string, map[string]string) (recipient.Report, error)
	}); ok && len(mobiles) > 0 {
		return mc.CheckMobiles(ctx, inputs, mobiles)
	}
	return s.Relay.Check(ctx, inputs)
}

// checkRecipients asks the relay and remembers the answers for a while.
func (s *Server) checkRecipients(ctx context.Context, inputs []string, mobiles map[string]string) recipient.Report {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rep, err := s.relayCheck(cctx, inputs, mobiles)
	if err != nil || len(rep.Results) != len(inputs) {
		s.Log.Warn("recipient check: relay unavailable", "err", err)
		return recipient.Check(ctx, down{}, inputs, s.now())
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cache == nil {
		s.cache = map[string]cached{}
	}
	for k, c := range s.cache {
		if s.now().Sub(c.at) > checkTTL {
			delete(s.cache, k)
		}
	}
	for _, res := range rep.Results {
		if id := recipient.Parse(res.Input, s.now()); id.Kind != recipient.KindInvalid {
			s.cache[id.Value] = cached{res: res, at: s.now()}
		}
	}
	return rep
}

// recent returns the cached answer for an input, if fresh.
func (s *Server) recent(id recipient.ID) (recipient.Result, bool) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c, ok := s.cache[id.Value]
	if !ok || s.now().Sub(c.at) > checkTTL {
		return recipient.Result{}, false
	}
	c.res.Input = id.Input
	return c.res, true
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_multipart", "Forsendelsen skal sendes som multipart/form-data.")
		return
	}
	req, apiErr, status := relayapi.ReadMessagePart(mr)
	if apiErr != nil {
		writeAPIError(w, status, apiErr)
		return
	}
	st, _ := s.Settings.Get()
	var boxes []relayapi.ReplyMailbox
	if st.Mailboxes != nil {
		boxes = st.Mailboxes.Citizen.Options
	}
	if e := relayapi.Validate(req, boxes, s.now()); e != nil {
		writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	if req.IdempotencyKey == "" {
		// Without a key a retry cannot be recognised; the pages always
		// send one.
		req.IdempotencyKey = "agent-" + uuid.NewString()
	}
	if id, ok := s.Outbox.ByKey(req.IdempotencyKey); ok {
		io.Copy(io.Discard, r.Body)
		s.accepted(w, relayapi.SubmitResponse{ID: id})
		return
	}
	// One letter per recipient per send, and per draft.
	var answer relayapi.SubmitResponse
	req.Recipients, answer.Merged = recipient.Dedupe(req.Recipients, s.now())
	if req.DraftID != "" {
		sent, err := s.Outbox.SentInDraft(req.DraftID, s.now())
		if err != nil {
			s.Log.Error("outbox draft lookup failed", "err", err)
			writeError(w, http.StatusInternalServerError, "outbox", "Send sikkert kunne ikke se, hvem kladden allerede er sendt til. Intet er sendt. Prøv igen.")
			return
		}
		req.Recipients, answer.AlreadySent = recipient.Skip(req.Recipients, sent, s.now())
		if len(req.Recipients) == 0 {
			io.Copy(io.Discard, r.Body)
			writeJSON(w, http.StatusOK, answer)
			return
		}
	}
	req.ReplyMailbox = s.replyMailboxes(req.ReplyMailbox, st)
	checked, e := s.checkForSend(r.Context(), req.Recipients, req.Mobiles)
	if e != nil {
		writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	var printable func(string, string) bool
	for _, c := range checked {
		if c.Channel == recipient.ChannelPrint && req.Fallback == "print" {
			printable = s.Printable
			if printable == nil {
				printable = attachment.Printable
			}
		}
	}
	var uploaded []blobstore.File
	uploadID := req.UploadID
	if uploadID != "" {
		f, e, status := s.takeUpload(uploadID, printable)
		if e != nil {
			writeAPIError(w, status, e)
			return
		}
		uploaded = append(uploaded, f)
		req.UploadID = ""
	}
	files, inline, apiErr, status := s.Outbox.Blobs().ReadAttachments(mr, printable, nil, s.Log)
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
			for _, f := range files {
				s.Outbox.Blobs().Remove(f.Blob)
			}
		}
	}
	// The attachment reader is the relay's too; on the PC its storage
	// failures are the PC's.
	if apiErr != nil && apiErr.Code == "disk_full" {
		apiErr, status = diskFull, http.StatusInsufficientStorage
	} else if apiErr != nil && apiErr.Code == "store_unavailable" {
		apiErr, status = &relayapi.Error{Code: "outbox", Message: "Forsendelsen kunne ikke gemmes på din pc. Intet er sendt. Prøv igen."}, http.StatusInternalServerError
	}
	if apiErr != nil {
		for _, f := range uploaded {
			s.Outbox.Blobs().Remove(f.Blob)
		}
		if status == http.StatusRequestEntityTooLarge {
			// Answer now and drop the connection rather than read the rest.
			w.Header().Set("Connection", "close")
		}
		writeAPIError(w, status, apiErr)
		return
	}
	files = append(uploaded, files...)
	// The body becomes the main document: its pictures embedded, nothing
	// left that loads or runs.
	body := maindoc.Prepare(req.BodyHTML, inline)
	req.BodyHTML = body.HTML
	// The shared document and the attached files are named apart too.
	var names attachment.Names
	for i := range files {
		files[i].Filename = names.Unique(files[i].Filename)
	}
	e2 := &outbox.Entry{
		ID: uuid.NewString(), Created: s.now().UTC(), Message: *req, Files: files, Checked: checked,
		State: outbox.StatePending, NextAttempt: s.now(),
		Events: append([]relayapi.Event{{At: s.now().UTC(), What: "Modtaget af Send sikkert på din pc"}}, noteEvents(s.now().UTC(), body.Notes)...),
	}
	id, added, err := s.Outbox.Add(e2)
	if err != nil {
		for _, f := range files {
			s.Outbox.Blobs().Remove(f.Blob)
		}
		s.Log.Error("outbox add failed", "err", err)
		if errors.Is(err, syscall.ENOSPC) {
			writeAPIError(w, http.StatusInsufficientStorage, diskFull)
			return
		}
		writeError(w, http.StatusInternalServerError, "outbox", "Forsendelsen kunne ikke gemmes på din pc. Intet er sendt. Prøv igen.")
		return
	}
	if uploadID != "" {
		// The outbox holds the document now.
		s.Uploads.Delete(uploadID)
	}
	if !added {
		for _, f := range files {
			s.Outbox.Blobs().Remove(f.Blob)
		}
	}
	masked := make([]string, len(req.Recipients))
	for i, in := range req.Recipients {
		masked[i] = recipient.Parse(in, s.now()).Masked()
	}
	s.Log.Info("message queued", "id", id, "recipients", masked, "attachments", len(files), "merged", len(answer.Merged), "alreadySent", len(answer.AlreadySent))
	answer.ID = id
	answer.Notes = body.Notes
	s.accepted(w, answer)
}

// diskFull is what the clerk is told when this PC's disk is full.
var diskFull = &relayapi.Error{Code: "disk_full", Message: "Der er ikke plads på din pc's disk, så Send sikkert kunne ikke gemme forsendelsen. Intet er sendt. Frigør plads på disken (fx ved at slette store filer eller tømme papirkurven), og prøv igen."}

// checkForSend checks recipients before a message is accepted. With the
// relay away it falls back to answers from a recent check, and to the
// format check alone: the relay checks again before it delivers.
func (s *Server) checkForSend(ctx context.Context, inputs []string, mobiles map[string]string) ([]recipient.Result, *relayapi.Error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rep, err := s.relayCheck(cctx, inputs, mobiles)
	if err == nil && len(rep.Results) == len(inputs) {
		return rep.Results, relayapi.Unacceptable(rep.Results)
	}
	s.Log.Warn("send: relay unavailable for check, using recent answers", "err", err)
	results := make([]recipient.Result, len(inputs))
	for i, in := range inputs {
		id := recipient.Parse(in, s.now())
		if res, ok := s.recent(id); ok {
			results[i] = res
			continue
		}
		res := recipient.Result{Input: in, Kind: id.Kind, Valid: id.Kind != recipient.KindInvalid, Channel: recipient.ChannelNone}
		switch id.Kind {
		case recipient.KindInvalid:
			res.Message = "»" + id.Pretty() + "« " + id.Reason
			return nil, relayapi.Unacceptable([]recipient.Result{res})
		case recipient.KindEmail:
			res.Message = "E-mailadressen " + id.Value + " kan ikke kontrolleres, mens relæet ikke svarer, så der kan ikke sendes sikkert til den nu. Prøv igen om lidt."
			return nil, relayapi.Unacceptable([]recipient.Result{res})
		}
		// Unknown until the relay answers; accepted into the queue.
		res.Secure, res.Message = true, "Kontrolleres, når relæet svarer igen."
		results[i] = res
	}
	if e := relayapi.Unacceptable(results); e != nil {
		return nil, e
	}
	return results, nil
}

// noteEvents records what was removed from the body on the message, so
// the pane and the window's Log show it with the send.
func noteEvents(at time.Time, notes []string) []relayapi.Event {
	var out []relayapi.Event
	for _, n := range notes {
		out = append(out, relayapi.Event{At: at, Kind: relayapi.EventBodyChanged, What: n})
	}
	return out
}

func (s *Server) accepted(w http.ResponseWriter, answer relayapi.SubmitResponse) {
	answer.Status = relayapi.StatusQueued
	writeJSON(w, http.StatusAccepted, answer)
}

// list is the window's Log: the user's sends, newest first.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	items, err := s.Outbox.List(q, 1000)
	if err == nil && s.refreshOpen(r.Context(), items) {
		items, err = s.Outbox.List(q, 1000)
	}
	if err != nil {
		s.Log.Error("outbox list failed", "err", err)
		writeError(w, http.StatusInternalServerError, "outbox", "Loggen kunne ikke læses.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": items})
}

// refreshOpen asks the relay about the newest sends still waiting in a
// secure mailbox, so the Log shows reads and expiries that happened since
// (a done send is otherwise not asked about again, and the agent keeps no
// timer for it). Bounded in number and time: the Log must open at once
// even with the relay away. It reports whether anything changed.
func (s *Server) refreshOpen(ctx context.Context, items []outbox.Item) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	changed, asked := false, 0
	for _, it := range items {
		if !it.Revocable || asked == 20 || ctx.Err() != nil {
			continue
		}
		asked++
		e, err := s.Outbox.Get(it.ID)
		if err != nil {
			continue
		}
		st, err := s.Relay.Status(ctx, e.RelayID)
		if err != nil {
			continue
		}
		if s.refresh(e, st) {
			changed = true
		}
	}
	return changed
}

// entry finds the outbox entry the path's {id} names, answering 404 or
// 500 itself when there is none.
func (s *Server) entry(w http.ResponseWriter, r *http.Request) (*outbox.Entry, bool) {
	e, err := s.Outbox.Get(r.PathValue("id"))
	if errors.Is(err, outbox.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "Forsendelsen findes ikke.")
		return nil, false
	}
	if err != nil {
		s.Log.Error("outbox get failed", "err", err)
		writeError(w, http.StatusInternalServerError, "outbox", "Udbakken kunne ikke læses.")
		return nil, false
	}
	return e, true
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	e, ok := s.entry(w, r)
	if !ok {
		return
	}
	if e.State == outbox.StateHanded {
		// Ask the relay now, so a pane that watches sees progress at once.
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		st, err := s.Relay.Status(ctx, e.RelayID)
		cancel()
		if err == nil {
			s.refresh(e, st)
		}
	}
	writeJSON(w, http.StatusOK, s.Outbox.StatusOf(e))
}

// revoke takes a send back from the recipients' secure mailboxes. The
// relay decides what can be taken back; its refusals reach the clerk in
// its own words.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	e, ok := s.entry(w, r)
	if !ok {
		return
	}
	if e.RelayID == "" {
		writeError(w, http.StatusConflict, "not_at_relay", "Forsendelsen ligger stadig i udbakken på din pc og er ikke sendt videre endnu, så der er intet at trække tilbage. Prøv igen, når den er sendt.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := s.Relay.Revoke(ctx, e.RelayID)
	var refused *relayapi.Error
	switch {
	case errors.As(err, &refused):
		s.Log.Info("revoke refused by the relay", "id", e.ID, "code", refused.Code)
		// The refusal often means the PC's picture is stale (read or
		// expired meanwhile): learn the relay's status for the Log.
		if st, err := s.Relay.Status(ctx, e.RelayID); err == nil {
			s.refresh(e, st)
		}
		writeAPIError(w, http.StatusConflict, refused)
	case err != nil:
		s.Log.Warn("revoke: relay unavailable or failed", "id", e.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Forsendelsen kunne ikke trækkes tilbage lige nu: relæet svarer ikke eller meldte en fejl. Prøv igen om lidt.")
	default:
		s.Log.Info("message revoked", "id", e.ID, "relay_id", e.RelayID)
		s.refresh(e, st)
		writeJSON(w, http.StatusOK, s.Outbox.StatusOf(e))
	}
}

// refresh stores a status the relay gave outside the worker's polling and
// tells the tray and the mailbox link when it changed: the worker will find
// nothing new. It reports whether the status changed.
func (s *Server) refresh(e *outbox.Entry, st relayapi.MessageStatus) bool {
	changed, err := s.Outbox.Refresh(e, st)
	if err != nil {
		s.Log.Error("outbox refresh failed", "id", e.ID, "err", err)
		return false
	}
	if changed && s.Outbox.OnChange != nil {
		s.Outbox.OnChange(s.Outbox.StatusOf(e))
	}
	return changed
}

func (s *Server) mailboxes(w http.ResponseWriter, r *http.Request) {
	mc, ok := s.mailboxChoices(r.Context())
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, og listen over Digitalpost retursvar-postkasser kendes ikke endnu. Prøv igen om lidt.")
		return
	}
	writeJSON(w, http.StatusOK, mc)
}

// mailboxChoices is the relay's list (or the last one seen) with the user's
// own choices selected.
func (s *Server) mailboxChoices(ctx context.Context) (relayapi.MailboxChoices, bool) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	mc, err := s.Relay.ReplyMailboxes(cctx)
	cancel()
	st, _ := s.Settings.Get()
	if err == nil {
		if st.Mailboxes == nil || !sameChoices(*st.Mailboxes, mc) {
			st, _ = s.Settings.Update(func(x *settings.Settings) { x.Mailboxes = &mc })
		}
	} else if st.Mailboxes != nil {
		mc = *st.Mailboxes
	} else {
		return mc, false
	}
	chosen := s.replyMailboxes(relayapi.ReplyChoice{}, st)
	if has(mc.Citizen.Options, chosen.Citizen) {
		mc.Citizen.Selected = chosen.Citizen
	}
	if has(mc.Company.Options, chosen.Company) {
		mc.Company.Selected = chosen.Company
	}
	return mc, true
}

// replyMailboxes is the reply mailboxes in force for a send, the pane and
// the settings: IT's policy over the mailbox asked for over the user's
// saved choice (policy.ReplyMailboxes, the one place of that rule).
func (s *Server) replyMailboxes(asked relayapi.ReplyChoice, st settings.Settings) relayapi.ReplyChoice {
	return relayapi.ReplyChoice(s.Policy.ReplyMailboxes(policy.Reply(asked), policy.Reply{Citizen: st.ReplyCitizen, Company: st.ReplyCompany}))
}

func sameChoices(a, b relayapi.MailboxChoices) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func has(opts []relayapi.ReplyMailbox, id string) bool {
	for _, o := range opts {
		if o.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) setMailboxes(w http.ResponseWriter, r *http.Request) {
	var req relayapi.ReplyChoice
	if !decodeBody(w, r, &req) {
		return
	}
	mc, ok := s.mailboxChoices(r.Context())
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, så valget kan ikke kontrolleres. Prøv igen om lidt.")
		return
	}
	if s.Policy.ReplyRefused(policy.Reply(req)) {
		writeError(w, http.StatusForbidden, "locked_by_policy", "Digitalpost retursvar er låst af IT og kan ikke ændres her.")
		return
	}
	if req.Citizen != "" && !has(mc.Citizen.Options, req.Citizen) {
		writeError(w, http.StatusBadRequest, "bad_reply_mailbox", "Postkassen »"+req.Citizen+"« findes ikke for borgere.")
		return
	}
	if req.Company != "" && !has(mc.Company.Options, req.Company) {
		writeError(w, http.StatusBadRequest, "bad_reply_mailbox", "Postkassen »"+req.Company+"« findes ikke for virksomheder.")
		return
	}
	_, err := s.Settings.Update(func(x *settings.Settings) {
		if req.Citizen != "" {
			x.ReplyCitizen = req.Citizen
		}
		if req.Company != "" {
			x.ReplyCompany = req.Company
		}
	})
	if err != nil {
		s.Log.Error("settings save failed", "err", err)
		writeError(w, http.StatusInternalServerError, "settings", "Valget kunne ikke gemmes.")
		return
	}
	mc, _ = s.mailboxChoices(r.Context())
	writeJSON(w, http.StatusOK, mc)
}

// takeUpload turns a complete sliced upload into an outbox attachment.
func (s *Server) takeUpload(id string, printable func(string, string) bool) (blobstore.File, *relayapi.Error, int) {
	if s.Uploads == nil {
		return blobstore.File{}, &relayapi.Error{Code: "no_uploads", Message: "Denne Send sikkert kan ikke modtage dokumenter i dele."}, http.StatusBadRequest
	}
	info, err := s.Uploads.Get(id)
	if err != nil {
		return blobstore.File{}, &relayapi.Error{Code: "upload_not_found", Message: "Dokumentet blev ikke fundet. Del det igen."}, http.StatusBadRequest
	}
	if !info.Complete() {
		return blobstore.File{}, &relayapi.Error{Code: "upload_incomplete", Message: "Dokumentet er ikke modtaget helt endnu. Vent, til overførslen er færdig."}, http.StatusBadRequest
	}
	// No converter: a document to convert is stored as it is and the
	// relay converts it, so the agent links no typesetter.
	f, err := s.Uploads.Take(id, s.Outbox.Blobs(), nil)
	var refused *upload.RefusedError
	switch {
	case errors.As(err, &refused):
		status := http.StatusUnsupportedMediaType
		if refused.Decision.Code == "attachment_empty" {
			status = http.StatusBadRequest
		}
		return blobstore.File{}, &relayapi.Error{Code: refused.Decision.Code, Message: refused.Decision.Message}, status
	case errors.Is(err, upload.ErrDamaged):
		s.Log.Error("upload take failed: a slice is damaged", "err", err)
		return blobstore.File{}, &relayapi.Error{Code: "upload_damaged", Message: "En del af dokumentet »" + info.Filename + "« er beskadiget på din pc og kan ikke sendes. Intet er sendt. Del dokumentet igen."}, http.StatusUnprocessableEntity
	case errors.Is(err, syscall.ENOSPC):
		return blobstore.File{}, diskFull, http.StatusInsufficientStorage
	case err != nil:
		s.Log.Error("upload take failed", "err", err)
		return blobstore.File{}, &relayapi.Error{Code: "upload", Message: "Dokumentet kunne ikke gemmes i udbakken. Prøv igen."}, http.StatusInternalServerError
	}
	// Judged as it leaves: a converted document is a PDF and prints.
	name, contentType := attachment.LeavesAs(f.Filename, f.ContentType)
	if printable != nil && !printable(contentType, name) {
		s.Outbox.Blobs().Remove(f.Blob)
		return blobstore.File{}, &relayapi.Error{Code: "not_printable", Message: "Dokumentet »" + f.Filename + "« kan ikke udskrives. Send det som PDF for at sende et brev via OneTooX."}, http.StatusBadRequest
	}
	return f, nil, 0
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		writeError(w, http.StatusNotFound, "no_uploads", "Denne Send sikkert kan ikke modtage dokumenter i dele.")
		return
	}
	var req struct {
		Filename    string `json:"filename"`
		ContentType string `json:"contentType"`
		Size        int64  `json:"size"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Size < 0 {
		writeJSON(w, http.StatusBadRequest, fieldError{Code: "bad_field", Field: "size", Message: "Feltet »size« kan ikke være negativt."})
		return
	}
	info, err := s.Uploads.Create(req.Filename, req.ContentType, req.Size)
	if errors.Is(err, upload.ErrTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, relayapi.TooLarge(false))
		return
	}
	if err != nil {
		s.Log.Error("upload create failed", "err", err)
		writeError(w, http.StatusInternalServerError, "upload", "Overførslen kunne ikke startes.")
		return
	}
	writeJSON(w, http.StatusCreated, uploadView(info))
}

func uploadView(i *upload.Info) map[string]any {
	return map[string]any{"id": i.ID, "size": i.Size, "received": i.Received(), "next": i.Next(), "complete": i.Complete()}
}

func (s *Server) putSlice(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		writeError(w, http.StatusNotFound, "no_uploads", "Denne Send sikkert kan ikke modtage dokumenter i dele.")
		return
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_slice", "Ugyldigt delnummer.")
		return
	}
	info, err := s.Uploads.Put(r.PathValue("id"), index, r.Body)
	switch {
	case errors.Is(err, upload.ErrNotFound):
		writeError(w, http.StatusNotFound, "upload_not_found", "Overførslen findes ikke (den udløber efter et døgn). Del dokumentet igen.")
	case errors.Is(err, upload.ErrTooLarge):
		writeAPIError(w, http.StatusRequestEntityTooLarge, relayapi.TooLarge(false))
	case errors.Is(err, upload.ErrBadSlice):
		writeError(w, http.StatusBadRequest, "bad_slice", "Delen er ugyldig eller for stor (højst 4 MB).")
	case err != nil:
		s.Log.Warn("slice not stored", "err", err)
		writeError(w, http.StatusBadRequest, "slice_incomplete", "Delen blev ikke modtaget helt. Send den igen.")
	default:
		writeJSON(w, http.StatusOK, uploadView(info))
	}
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		writeError(w, http.StatusNotFound, "no_uploads", "Denne Send sikkert kan ikke modtage dokumenter i dele.")
		return
	}
	info, err := s.Uploads.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "upload_not_found", "Overførslen findes ikke. Del dokumentet igen.")
		return
	}
	writeJSON(w, http.StatusOK, uploadView(info))
}

// enroll joins the PC to the organisation's relay. A PC not yet enrolled
// sends through it from the answer on (the agent's Enroll takes it up);
// re-enrolling an enrolled PC (the window only) counts from the next start.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	if !s.enrollAllowed(r) {
		writeError(w, http.StatusForbidden, "enroll_window_only", "Send sikkert er allerede tilmeldt et relæ. Tilmeldingen kan kun ændres fra Send sikkert-vinduet eller kommandolinjen.")
		return
	}
	var req struct {
		Relay       string `json:"relay"`
		Code        string `json:"code"`
		AccessToken string `json:"accessToken"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.AccessToken != "" && req.Code == "" {
		s.enrollToken(w, r, req.Relay, req.AccessToken)
		return
	}
	if req.Code == "" || !strings.HasPrefix(req.Relay, "https://") {
		writeError(w, http.StatusBadRequest, "bad_enroll", "Skriv relæets adresse (https://…) og tilmeldingskoden fra IT.")
		return
	}
	if s.Policy.RelayURL != "" && strings.TrimRight(req.Relay, "/") != strings.TrimRight(s.Policy.RelayURL, "/") {
		writeError(w, http.StatusForbidden, "locked_by_policy", "IT har valgt relæet "+s.Policy.RelayURL+". Tilmeld pc'en dér.")
		return
	}
	if s.Enroll == nil {
		writeError(w, http.StatusNotFound, "no_enroll", "Denne Send sikkert kan ikke tilmeldes herfra.")
		return
	}
	// A PC not yet enrolled goes on enrolled at once (the agent takes the
	// enrolment up before answering); an enrolled one changes relay at its
	// next start.
	again := s.Enrolled != nil && s.Enrolled()
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	user, err := s.Enroll(ctx, req.Relay, req.Code)
	var refused interface{ Refusal() (int, string) }
	switch {
	case errors.As(err, &refused):
		_, msg := refused.Refusal()
		writeError(w, http.StatusForbidden, "enroll_refused", "Relæet afviste tilmeldingen: "+msg)
	case err != nil:
		s.Log.Warn("enrolment failed", "err", err)
		writeError(w, http.StatusBadGateway, "enroll_failed", "Tilmeldingen mislykkedes: relæet kunne ikke nås, eller nøgleringen er låst. Intet er ændret.")
	default:
		s.Log.Info("enrolled with the relay", "relay", req.Relay, "user", user)
		msg := "Pc'en er tilmeldt relæet som " + user + ". Send sikkert sender nu gennem relæet."
		if again {
			msg = "Pc'en er tilmeldt relæet som " + user + ". Afslut Send sikkert, og start det igen for at sende gennem det nye relæ."
		}
		writeJSON(w, http.StatusOK, map[string]string{"user": user, "message": msg})
	}
}

// SettingsView is what GET/PUT /api/v1/settings carry: the user's own
// choices. Secrets never pass here.
type SettingsView struct {
	SignatureHTML string               `json:"signatureHtml"`
	Language      string               `json:"language"`
	ReplyMailbox  relayapi.ReplyChoice `json:"replyMailbox"`
	Demo          bool                 `json:"demo"`
	// Locked names the settings IT's policy fixes; the window shows them
	// read-only.
	Locked []string `json:"locked"`
	// SmartAlert is false only when IT turned the CPR Smart Alert off.
	SmartAlert bool `json:"smartAlert"`
	// PolicyRelay is the relay IT's policy names (the MSI's RELAY): the
	// window's Kom i gang page fills it in.
	PolicyRelay string `json:"policyRelay,omitempty"`
	// SmartAlertSendAnyway: the clerk may send anyway what the Smart
	// Alert stopped, with a reason (the relay's policy and this PC's).
	SmartAlertSendAnyway bool `json:"smartAlertSendAnyway"`
	// Mailbox is the IMAP account of the mailbox link (null when none);
	// its password or token never passes here (PUT /api/v1/mailbox/secret).
	Mailbox *settings.MailAccount `json:"mailbox"`
}

// MaxSignature bounds the signature (HTML, images as links).
const MaxSignature = 64 << 10

func (s *Server) view(st settings.Settings) SettingsView {
	lang := st.Language
	if lang == "" {
		lang = "da"
	}
	v := SettingsView{SignatureHTML: st.SignatureHTML, Language: lang, ReplyMailbox: s.replyMailboxes(relayapi.ReplyChoice{}, st),
		Demo: s.Demo, Locked: s.Policy.Locked(), SmartAlert: s.Policy.SmartAlertOn(), PolicyRelay: s.Policy.RelayURL}
	if v.Locked == nil {
		v.Locked = []string{}
	}
	v.Mailbox = st.MailAccount
	return v
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.Settings.Get()
	if err != nil {
		s.Log.Error("settings read failed", "err", err)
		writeError(w, http.StatusInternalServerError, "settings", "Indstillingerne kunne ikke læses.")
		return
	}
	v := s.view(st)
	v.SmartAlertSendAnyway = s.smartAlertPolicy(r.Context()).SendAnyway
	writeJSON(w, http.StatusOK, v)
}

// putSettings changes the fields present in the body.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SignatureHTML *string `json:"signatureHtml"`
		Language      *string `json:"language"`
		// Mailbox: absent leaves the account, null removes it.
		Mailbox json.RawMessage `json:"mailbox"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.SignatureHTML != nil && len(*req.SignatureHTML) > MaxSignature {
		writeError(w, http.StatusRequestEntityTooLarge, "signature_too_large", "Signaturen er for stor (højst 64 KB). Brug links til billeder i stedet for at indsætte dem.")
		return
	}
	if req.Language != nil && *req.Language != "da" && *req.Language != "en" {
		writeError(w, http.StatusBadRequest, "bad_language", "Sproget skal være dansk (da) eller engelsk (en).")
		return
	}
	account, apiErr := mailAccount(req.Mailbox)
	if apiErr != nil {
		writeAPIError(w, http.StatusBadRequest, apiErr)
		return
	}
	st, err := s.Settings.Update(func(x *settings.Settings) {
		if req.SignatureHTML != nil {
			x.SignatureHTML = *req.SignatureHTML
		}
		if req.Language != nil {
			x.Language = *req.Language
		}
		if req.Mailbox != nil {
			x.MailAccount = account
		}
	})
	if err == nil && req.Mailbox != nil && s.Mailbox != nil {
		s.Mailbox.Reconfigure()
	}
	if err != nil {
		s.Log.Error("settings save failed", "err", err)
		writeError(w, http.StatusInternalServerError, "settings", "Indstillingerne kunne ikke gemmes.")
		return
	}
	writeJSON(w, http.StatusOK, s.view(st))
}

func (s *Server) domains(w http.ResponseWriter, r *http.Request) {
	s.directory(w, r, func(ctx context.Context, q, l string) (any, error) {
		d, err := s.Directory.Domains(ctx, q, l)
		return map[string]any{"domains": d}, err
	})
}

func (s *Server) addressBook(w http.ResponseWriter, r *http.Request) {
	s.directory(w, r, func(ctx context.Context, q, l string) (any, error) {
		e, err := s.Directory.AddressBook(ctx, q, l)
		return map[string]any{"entries": e}, err
	})
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, search func(context.Context, string, string) (any, error)) {
	if s.Directory == nil {
		writeError(w, http.StatusServiceUnavailable, "no_directory", "Sikker Mail Portal er ikke tilgængelig.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	out, err := search(ctx, r.URL.Query().Get("q"), r.URL.Query().Get("letter"))
	if err != nil {
		s.Log.Warn("directory search failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, så Sikker Mail Portal kan ikke søge lige nu. Prøv igen om lidt.")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeAPIError(w http.ResponseWriter, status int, e *relayapi.Error) {
	if e.Message == "" {
		e.Message = "Ukendt fejl."
	}
	e.Message = strings.TrimSpace(e.Message)
	writeJSON(w, status, e)
}
