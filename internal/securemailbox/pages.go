package securemailbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/relayapi"
)

//go:embed web
var web embed.FS

var page = template.Must(template.ParseFS(web, "web/page.html"))

const csp = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type view struct {
	Title, Org, Notice, Error, View string
	Base, CSRF, MobileEnd           string
	Subject, Created, Question      string
	Files                           []fileView
}

type fileView struct {
	Index      int
	Name, Size string
}

// Handler serves the recipient's pages under /m/.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /m/static/style.css", func(w http.ResponseWriter, r *http.Request) {
		b, _ := web.ReadFile("web/style.css")
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
	mux.HandleFunc("GET /m/static/icon.svg", func(w http.ResponseWriter, r *http.Request) {
		b, _ := web.ReadFile("web/icon.svg")
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(b)
	})
	mux.HandleFunc("GET /m/{token}", s.open)
	mux.HandleFunc("POST /m/{token}/code", s.sendCode)
	mux.HandleFunc("POST /m/{token}/verify", s.verify)
	mux.HandleFunc("POST /m/{token}/answer", s.answer)
	mux.HandleFunc("GET /m/{token}/read", s.read)
	mux.HandleFunc("GET /m/{token}/body", s.body)
	mux.HandleFunc("GET /m/{token}/files/{i}", s.file)
	mux.HandleFunc("POST /m/{token}/reply", s.reply)
	return headers(mux)
}

func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			// Forms only from our own pages.
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
				http.Error(w, "Forespørgslen kom ikke fra den sikre mailboks.", http.StatusForbidden)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxReplyBytes+4096)
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Service) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page.Execute(w, v)
}

// update changes b in the store; when the store fails before it could
// read the record, b is returned as it was, so the page can still answer.
func (s *Service) update(ctx context.Context, b *Box, f func(*Box) error) (*Box, error) {
	nb, err := s.Store.Update(ctx, "id", b.ID, f)
	if nb == nil {
		nb = b
	}
	return nb, err
}

// box finds the link's box; a closed or unknown one is answered here.
func (s *Service) box(w http.ResponseWriter, r *http.Request) (*Box, bool) {
	token := r.PathValue("token")
	b, err := s.Store.ByToken(r.Context(), token)
	if errors.Is(err, ErrNotFound) || len(token) < 40 {
		s.render(w, http.StatusNotFound, view{Title: "Beskeden findes ikke", Error: "Linket er ikke gyldigt. Kontrollér, at du har kopieret hele linket fra mailen."})
		return nil, false
	}
	if err != nil {
		s.log().Error("securemailbox lookup failed", "err", err)
		s.render(w, http.StatusServiceUnavailable, view{Title: "Prøv igen senere", Error: "Den sikre mailboks svarer ikke lige nu. Prøv igen om lidt."})
		return nil, false
	}
	switch b.State {
	case StateRevoked:
		s.render(w, http.StatusGone, view{Title: "Beskeden er trukket tilbage", Org: b.OrgName, Error: "Afsenderen har trukket beskeden tilbage. Den kan ikke længere læses."})
		return nil, false
	case StateExpired:
		s.render(w, http.StatusGone, view{Title: "Beskeden er udløbet", Org: b.OrgName, Error: "Beskeden kunne kun læses i en begrænset periode og er nu slettet. Kontakt afsenderen, hvis du har brug for den."})
		return nil, false
	case StateLocked:
		s.render(w, http.StatusLocked, view{Title: "Beskeden er låst", Org: b.OrgName, Error: "Der er indtastet en forkert kode for mange gange, så beskeden er låst. Kontakt afsenderen for at få den sendt igen."})
		return nil, false
	}
	return b, true
}

const cookieName = "sm_session"

func (s *Service) session(r *http.Request, b *Box) (string, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	until, ok := b.Sessions[hashSecret("session", c.Value)]
	return c.Value, ok && s.now().Before(until)
}

func (s *Service) base(r *http.Request) string { return "/m/" + r.PathValue("token") }

func (s *Service) codeView(r *http.Request, b *Box, notice, msg string) view {
	return view{Title: "Du har fået en sikker besked", Org: b.OrgName, View: "code", Base: s.base(r), CSRF: s.csrf(r.PathValue("token"), ""),
		MobileEnd: b.Mobile[len(b.Mobile)-2:], Notice: notice, Error: msg}
}

func (s *Service) open(w http.ResponseWriter, r *http.Request) {
	b, ok := s.box(w, r)
	if !ok {
		return
	}
	if _, ok := s.session(r, b); ok {
		http.Redirect(w, r, s.base(r)+"/read", http.StatusSeeOther)
		return
	}
	if sess, ok := s.pending(r, b); ok {
		s.render(w, http.StatusOK, s.questionView(r, b, sess, ""))
		return
	}
	s.render(w, http.StatusOK, s.codeView(r, b, "", ""))
}

func (s *Service) pending(r *http.Request, b *Box) (string, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	until, ok := b.Pending[hashSecret("session", c.Value)]
	return c.Value, ok && s.now().Before(until)
}

func (s *Service) questionView(r *http.Request, b *Box, sess, msg string) view {
	return view{Title: "Kontrolspørgsmål", Org: b.OrgName, View: "question", Base: s.base(r), CSRF: s.csrf(r.PathValue("token"), sess),
		Question: b.Question, Error: msg}
}

// answer checks the answer to the question; wrong answers count with
// wrong codes towards the lock.
func (s *Service) answer(w http.ResponseWriter, r *http.Request) {
	b, ok := s.box(w, r)
	if !ok {
		return
	}
	sess, ok := s.pending(r, b)
	if !ok {
		s.render(w, http.StatusUnauthorized, s.codeView(r, b, "", "Din session er udløbet. Send en ny kode."))
		return
	}
	if !s.checkCSRF(r, sess) {
		s.render(w, http.StatusForbidden, s.questionView(r, b, sess, "Siden var for gammel. Prøv igen."))
		return
	}
	given := normalizeAnswer(r.PostFormValue("answer"))
	now := s.now()
	h := hashSecret("session", sess)
	var outcome string
	b, err := s.update(r.Context(), b, func(b *Box) error {
		if _, ok := b.Pending[h]; !ok || b.State == StateLocked {
			outcome = "gone"
			return errClosed
		}
		if subtle.ConstantTimeCompare([]byte(hashSecret("answer:"+b.ID, given)), []byte(b.AnswerHash)) != 1 {
			b.Failures++
			outcome = "wrong"
			if b.Failures >= MaxFailures {
				b.State, b.CodeHash, b.Sessions, b.Pending = StateLocked, "", nil, nil
				outcome = "locked"
			}
			return nil
		}
		delete(b.Pending, h)
		if b.Sessions == nil {
			b.Sessions = map[string]time.Time{}
		}
		b.Sessions[h], b.Failures, outcome = now.Add(SessionLength), 0, "right"
		return nil
	})
	if err != nil && !errors.Is(err, errClosed) {
		s.log().Error("securemailbox answer failed", "err", err)
		s.render(w, http.StatusServiceUnavailable, s.questionView(r, b, sess, "Svaret kunne ikke kontrolleres. Prøv igen om lidt."))
		return
	}
	switch outcome {
	case "gone":
		s.render(w, http.StatusUnauthorized, s.codeView(r, b, "", "Din session er udløbet. Send en ny kode."))
	case "wrong":
		s.audit(r.Context(), b, "mailbox-open-failed", "wrong-answer")
		s.render(w, http.StatusUnauthorized, s.questionView(r, b, sess, fmt.Sprintf("Svaret er forkert. Du har %d forsøg tilbage.", MaxFailures-b.Failures)))
	case "locked":
		s.audit(r.Context(), b, "mailbox-locked", StateLocked)
		s.event(r.Context(), b, relayapi.EventMailboxLocked, "Sikker mailboks låst efter forkerte svar for "+b.Recipient)
		s.render(w, http.StatusLocked, view{Title: "Beskeden er låst", Org: b.OrgName, Error: "Der er svaret forkert for mange gange, så beskeden er låst. Kontakt afsenderen for at få den sendt igen."})
	default:
		s.audit(r.Context(), b, "mailbox-open", "right-answer")
		http.Redirect(w, r, s.base(r)+"/read", http.StatusSeeOther)
	}
}

func (s *Service) checkCSRF(r *http.Request, session string) bool {
	want := s.csrf(r.PathValue("token"), session)
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) == 1
}

// codeForm finds the box of a form posted from the code page (send a
// code, give it) and checks the form's CSRF token; what fails is answered
// here.
func (s *Service) codeForm(w http.ResponseWriter, r *http.Request) (*Box, bool) {
	b, ok := s.box(w, r)
	if !ok {
		return nil, false
	}
	if !s.checkCSRF(r, "") {
		s.render(w, http.StatusForbidden, s.codeView(r, b, "", "Siden var for gammel. Prøv igen."))
		return nil, false
	}
	return b, true
}

func (s *Service) sendCode(w http.ResponseWriter, r *http.Request) {
	b, ok := s.codeForm(w, r)
	if !ok {
		return
	}
	code := randomCode()
	now := s.now()
	limited := false
	b, err := s.update(r.Context(), b, func(b *Box) error {
		var recent []time.Time
		for _, t := range b.CodeSends {
			if now.Sub(t) < CodeWindow {
				recent = append(recent, t)
			}
		}
		b.CodeSends = recent
		if len(recent) >= MaxCodeSends {
			limited = true
			return errClosed
		}
		b.CodeSends = append(b.CodeSends, now)
		b.CodeHash, b.CodeExpires = hashSecret("code:"+b.ID, code), now.Add(CodeLifetime)
		return nil
	})
	if limited {
		s.audit(r.Context(), b, "mailbox-code-limited", "refused")
		s.render(w, http.StatusTooManyRequests, s.codeView(r, b, "", "Der er sendt for mange koder. Vent en time, og prøv igen."))
		return
	}
	if err != nil {
		s.log().Error("securemailbox code failed", "err", err)
		s.render(w, http.StatusServiceUnavailable, s.codeView(r, b, "", "Koden kunne ikke sendes. Prøv igen om lidt."))
		return
	}
	text := fmt.Sprintf("Din kode til den sikre besked fra %s er %s. Koden gælder i %d minutter. Del den ikke med andre.", b.OrgName, code, int(CodeLifetime.Minutes()))
	if err := s.SMS.Send(r.Context(), b.Mobile, text); err != nil {
		s.log().Error("securemailbox SMS failed", "err", err)
		s.render(w, http.StatusServiceUnavailable, s.codeView(r, b, "", "Koden kunne ikke sendes på SMS. Prøv igen om lidt."))
		return
	}
	s.audit(r.Context(), b, "mailbox-code-sent", "sent")
	s.render(w, http.StatusOK, s.codeView(r, b, "Koden er sendt til din mobil. Den gælder i 10 minutter.", ""))
}

func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

func (s *Service) verify(w http.ResponseWriter, r *http.Request) {
	b, ok := s.codeForm(w, r)
	if !ok {
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	now := s.now()
	session := randomToken(32)
	var outcome string
	b, err := s.update(r.Context(), b, func(b *Box) error {
		if b.State == StateLocked {
			outcome = "locked"
			return errClosed
		}
		right := b.CodeHash != "" && now.Before(b.CodeExpires) &&
			subtle.ConstantTimeCompare([]byte(hashSecret("code:"+b.ID, code)), []byte(b.CodeHash)) == 1
		if !right {
			b.Failures++
			outcome = "wrong"
			if b.Failures >= MaxFailures {
				b.State, b.CodeHash, b.Sessions = StateLocked, "", nil
				outcome = "locked"
			}
			return nil
		}
		// Single use. With a question the session waits for its answer;
		// the failures count on until then.
		b.CodeHash, outcome = "", "right"
		sessions := &b.Sessions
		if b.AnswerHash != "" {
			sessions, outcome = &b.Pending, "question"
		} else {
			b.Failures = 0
		}
		if *sessions == nil {
			*sessions = map[string]time.Time{}
		}
		for k, until := range *sessions {
			if now.After(until) {
				delete(*sessions, k)
			}
		}
		(*sessions)[hashSecret("session", session)] = now.Add(SessionLength)
		return nil
	})
	if err != nil && !errors.Is(err, errClosed) {
		s.log().Error("securemailbox verify failed", "err", err)
		s.render(w, http.StatusServiceUnavailable, s.codeView(r, b, "", "Koden kunne ikke kontrolleres. Prøv igen om lidt."))
		return
	}
	switch outcome {
	case "wrong":
		s.audit(r.Context(), b, "mailbox-open-failed", "wrong-code")
		left := MaxFailures - b.Failures
		s.render(w, http.StatusUnauthorized, s.codeView(r, b, "", fmt.Sprintf("Koden er forkert eller udløbet. Du har %d forsøg tilbage.", left)))
	case "locked":
		s.audit(r.Context(), b, "mailbox-locked", StateLocked)
		s.event(r.Context(), b, relayapi.EventMailboxLocked, "Sikker mailboks låst efter forkerte koder for "+b.Recipient)
		s.render(w, http.StatusLocked, view{Title: "Beskeden er låst", Org: b.OrgName, Error: "Der er indtastet en forkert kode for mange gange, så beskeden er låst. Kontakt afsenderen for at få den sendt igen."})
	default:
		next := s.base(r) + "/read"
		if outcome == "question" {
			s.audit(r.Context(), b, "mailbox-code-ok", "right-code")
			next = s.base(r)
		} else {
			s.audit(r.Context(), b, "mailbox-open", "right-code")
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: session, Path: s.base(r), HttpOnly: true,
			Secure: r.TLS != nil || strings.HasPrefix(s.BaseURL, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: int(SessionLength.Seconds())})
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// reader checks the session for a content page.
func (s *Service) reader(w http.ResponseWriter, r *http.Request) (*Box, string, bool) {
	b, ok := s.box(w, r)
	if !ok {
		return nil, "", false
	}
	sess, ok := s.session(r, b)
	if !ok {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/read") {
			http.Redirect(w, r, s.base(r), http.StatusSeeOther)
		} else {
			s.render(w, http.StatusUnauthorized, s.codeView(r, b, "", "Din session er udløbet. Send en ny kode."))
		}
		return nil, "", false
	}
	return b, sess, true
}

func (s *Service) read(w http.ResponseWriter, r *http.Request) {
	b, sess, ok := s.reader(w, r)
	if !ok {
		return
	}
	if b.ReadAt.IsZero() {
		now := s.now().UTC()
		first := false
		nb, err := s.Store.Update(r.Context(), "id", b.ID, func(b *Box) error {
			if b.ReadAt.IsZero() {
				b.ReadAt, b.State, first = now, StateRead, true
			}
			return nil
		})
		if err == nil && first {
			b = nb
			s.audit(r.Context(), b, "mailbox-read", StateRead)
			s.event(r.Context(), b, relayapi.EventMailboxRead, "Læst i sikker mailboks af "+b.Recipient)
			if strings.Contains(b.Sender, "@") {
				go func(b Box) {
					ctx, cancel := contextTimeout()
					defer cancel()
					if err := s.Mail.Send(ctx, b.Sender, readReceipt(s.From, &b)); err != nil {
						s.log().Error("securemailbox read receipt not sent", "id", b.MessageID, "err", err)
					}
				}(*b)
			}
		}
	}
	v := s.readView(r, b, sess)
	s.render(w, http.StatusOK, v)
}

func (s *Service) readView(r *http.Request, b *Box, sess string) view {
	v := view{Title: "Sikker besked", Org: b.OrgName, View: "read", Base: s.base(r), CSRF: s.csrf(r.PathValue("token"), sess),
		Subject: b.Subject, Created: b.Created.In(copenhagen()).Format("02-01-2006 15:04")}
	for i, f := range b.Attachments {
		v.Files = append(v.Files, fileView{Index: i, Name: f.Filename, Size: size(f.Size)})
	}
	return v
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " kB"
	}
	return strconv.FormatInt(n, 10) + " byte"
}

// body serves the clerk's HTML in a sandboxed frame: no scripts, no
// outside resources.
func (s *Service) body(w http.ResponseWriter, r *http.Request) {
	b, _, ok := s.reader(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!DOCTYPE html><html lang=\"da\"><head><meta charset=\"utf-8\"></head><body>"+b.BodyHTML+"</body></html>")
}

func (s *Service) file(w http.ResponseWriter, r *http.Request) {
	b, _, ok := s.reader(w, r)
	if !ok {
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(b.Attachments) {
		http.NotFound(w, r)
		return
	}
	f := b.Attachments[i]
	rc, err := s.Blobs.Open(f.Blob)
	if err != nil {
		s.log().Error("securemailbox attachment", "err", err)
		http.Error(w, "Bilaget kan ikke læses lige nu.", http.StatusServiceUnavailable)
		return
	}
	defer rc.Close()
	s.audit(r.Context(), b, "mailbox-download", "file")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	io.Copy(w, rc)
}

func (s *Service) reply(w http.ResponseWriter, r *http.Request) {
	b, sess, ok := s.reader(w, r)
	if !ok {
		return
	}
	v := s.readView(r, b, sess)
	if !s.checkCSRF(r, sess) {
		v.Error = "Siden var for gammel. Prøv igen."
		s.render(w, http.StatusForbidden, v)
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	switch {
	case text == "" || !utf8.ValidString(text):
		v.Error = "Skriv et svar."
		s.render(w, http.StatusBadRequest, v)
		return
	case b.ReplyTo == "":
		v.Error = "Afsenderen kan ikke modtage svar her. Kontakt afsenderen på anden vis."
		s.render(w, http.StatusConflict, v)
		return
	case b.Replies >= MaxReplies:
		v.Error = "Der er sendt for mange svar på denne besked."
		s.render(w, http.StatusTooManyRequests, v)
		return
	}
	if err := s.Mail.Send(r.Context(), b.ReplyTo, replyMail(s.From, b, text)); err != nil {
		s.log().Error("securemailbox reply not sent", "err", err)
		v.Error = "Dit svar kunne ikke sendes lige nu. Prøv igen om lidt."
		s.render(w, http.StatusServiceUnavailable, v)
		return
	}
	s.Store.Update(r.Context(), "id", b.ID, func(b *Box) error { b.Replies++; return nil })
	s.audit(r.Context(), b, "mailbox-reply", "sent")
	if s.Book != nil && strings.Contains(b.Recipient, "@") {
		s.Book.Touch(r.Context(), directory.Entry{Email: b.Recipient, Description: "Svarede via sikker mailboks", LastSeen: s.now()})
	}
	s.event(r.Context(), b, relayapi.EventMailboxReply, "Svar modtaget via sikker mailboks fra "+b.Recipient)
	v.Notice = "Dit svar er sendt sikkert til " + b.OrgName + "."
	s.render(w, http.StatusOK, v)
}
