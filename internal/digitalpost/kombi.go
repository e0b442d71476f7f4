package digitalpost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/fjernprint"
	"sendsikkert/internal/memo"
)

// EntityKombiPostAfsend is the entity ID a token for SF1601
// KombiPostAfsend is issued for (the STS request's AppliesTo).
const EntityKombiPostAfsend = "http://entityid.kombit.dk/service/kombipostafsend/1"

// KombiValg is the KombiValgKode of a KombiPostAfsend request: which way
// the message goes.
type KombiValg string

const (
	// ValgDigitalPost: only as Digital Post (a memo:Message).
	ValgDigitalPost KombiValg = "Digital Post"
	// ValgFysiskPost: only as a printed letter (a fjernprint:ForsendelseI).
	ValgFysiskPost KombiValg = "Fysisk Post"
	// ValgAutomatisk: Digital Post when the recipient can receive it,
	// else the letter; the request carries both.
	ValgAutomatisk KombiValg = "Automatisk Valg"
)

// ParseKombiValg accepts the three codes as written in the SF1601
// documentation, case and spacing forgiven; "" is Digital Post.
func ParseKombiValg(s string) (KombiValg, error) {
	switch strings.ToLower(strings.Join(strings.Fields(s), " ")) {
	case "", "digital post":
		return ValgDigitalPost, nil
	case "fysisk post":
		return ValgFysiskPost, nil
	case "automatisk valg":
		return ValgAutomatisk, nil
	}
	return "", fmt.Errorf("digitalpost: KombiValgKode %q (Digital Post, Fysisk Post or Automatisk Valg)", s)
}

// Authorizer gives the Authorization header for a service and forgets a
// token the service refused. *serviceplatformen.TokenSource is one.
type Authorizer interface {
	Authorization(ctx context.Context, entityID string) (string, error)
	Invalidate(entityID string)
}

// Kombi calls SF1601 KombiPostAfsend: POST …/KombiPostAfsend_1/kombi
// with a kombi_request document
//
//	<kombi_request>
//	  <KombiValgKode>Digital Post | Fysisk Post | Automatisk Valg</KombiValgKode>
//	  <memo:Message …>…</memo:Message>                      (Digital Post)
//	  <fjernprint:ForsendelseISamling>
//	    <fjernprint:ForsendelseI>…</fjernprint:ForsendelseI> (Fysisk Post)
//	  </fjernprint:ForsendelseISamling>
//	</kombi_request>
//
// over mutual TLS with a holder-of-key access token, x-TransaktionsId and
// x-TransaktionsTid. The body is written while it is sent (an io.Pipe), so
// a 100 MB attachment never sits in memory.
type Kombi struct {
	// HTTP presents the organisation's certificate (mutual TLS).
	HTTP *http.Client
	// Tokens gives the holder-of-key access token.
	Tokens Authorizer
	// URL is …/service/KombiPostAfsend_1/kombi.
	URL string
	// Timeout bounds a call with an empty body (default 60 s); MinRate is
	// the slowest upload, in bytes per second, a call is allowed on top
	// (default 256 KiB/s), so a 100 MB message gets about seven minutes.
	Timeout time.Duration
	MinRate int64
	Now     func() time.Time
}

// Request is one KombiPostAfsend call.
type Request struct {
	Valg KombiValg
	// Message is the Digital Post (Digital Post, Automatisk Valg).
	Message *memo.Message
	// Letter is the printed letter (Fysisk Post, Automatisk Valg).
	Letter *fjernprint.Forsendelse
	// Size is about how many bytes of documents the request carries,
	// before base64; it stretches the timeout.
	Size int64
}

// Reply is what the service said to an accepted request.
type Reply struct {
	// TransactionID is the x-TransaktionsId sent; TransmissionID the
	// service's own id of the transmission, when it gave one.
	TransactionID  string
	TransmissionID string
	HTTPStatus     int
}

// Error is a refused or failed call. It wraps delivery.ErrPermanent when
// retrying cannot help (a 4xx other than 401, 408 and 429; a request that
// cannot be written; an answer that says Result false). Reason never holds
// a full CPR number.
type Error struct {
	HTTPStatus int
	Reason     string
	Permanent  bool
	Err        error
}

func (e *Error) Error() string {
	s := "digitalpost: kombipostafsend"
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.Permanent {
		out = append(out, delivery.ErrPermanent)
	}
	return out
}

func (k *Kombi) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Kombi) timeout(size int64) time.Duration {
	base, rate := k.Timeout, k.MinRate
	if base <= 0 {
		base = 60 * time.Second
	}
	if rate <= 0 {
		rate = 256 << 10
	}
	// base64 makes the body a third larger than the documents.
	return base + time.Duration(size*4/3/rate)*time.Second
}

// Send posts the request. A 2xx answer is acceptance, not delivery: the
// outcome comes later as a status message (see StatusBook). 409 Conflict
// (the messageUUID was taken before: a retry of a request whose answer
// was lost) is acceptance too.
func (k *Kombi) Send(ctx context.Context, req Request) (Reply, error) {
	if err := req.check(); err != nil {
		return Reply{}, err
	}
	for attempt := 1; ; attempt++ {
		rep, err := k.send(ctx, req)
		var e *Error
		if attempt == 1 && errors.As(err, &e) && e.HTTPStatus == http.StatusUnauthorized {
			// The token may have been revoked or expired early: once,
			// get a new one and send again (the body is written anew).
			k.Tokens.Invalidate(EntityKombiPostAfsend)
			continue
		}
		return rep, err
	}
}

func (r *Request) check() error {
	perm := func(err error) error { return &Error{Permanent: true, Reason: "request cannot be written", Err: err} }
	switch r.Valg {
	case ValgDigitalPost:
		if r.Message == nil || r.Letter != nil {
			return perm(errors.New("Digital Post carries a message and no letter"))
		}
	case ValgFysiskPost:
		if r.Letter == nil || r.Message != nil {
			return perm(errors.New("Fysisk Post carries a letter and no message"))
		}
	case ValgAutomatisk:
		if r.Message == nil {
			return perm(errors.New("Automatisk Valg needs the message"))
		}
	default:
		return perm(fmt.Errorf("KombiValgKode %q", r.Valg))
	}
	if r.Message != nil {
		if err := r.Message.Validate(); err != nil {
			return perm(err)
		}
	}
	if r.Letter != nil {
		if err := r.Letter.Validate(); err != nil {
			return perm(err)
		}
	}
	return nil
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 256 << 10

func (k *Kombi) send(ctx context.Context, req Request) (Reply, error) {
	auth, err := k.Tokens.Authorization(ctx, EntityKombiPostAfsend)
	if err != nil {
		return Reply{}, &Error{Reason: "no access token", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, k.timeout(req.Size))
	defer cancel()

	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := writeKombi(pw, &req)
		pw.CloseWithError(err)
		written <- err
	}()
	// However the exchange ends, the writer is stopped and waited for, so
	// every document it opened is closed before Send returns.
	finish := func() error {
		pr.CloseWithError(errAborted)
		return <-written
	}

	txID := uuid.NewString()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, k.URL, pr)
	if err != nil {
		finish()
		return Reply{}, &Error{Permanent: true, Reason: "bad URL", Err: err}
	}
	hr.Header.Set("Authorization", auth)
	hr.Header.Set("x-TransaktionsId", txID)
	hr.Header.Set("x-TransaktionsTid", k.now().UTC().Format("2006-01-02T15:04:05Z"))
	hr.Header.Set("Content-Type", "application/xml; charset=utf-8")
	hr.Header.Set("Accept", "application/xml")
	resp, err := k.HTTP.Do(hr)
	if err != nil {
		werr := finish()
		if werr != nil && !errors.Is(werr, errAborted) && !errors.Is(werr, io.ErrClosedPipe) {
			// Writing failed first (an attachment could not be read); the
			// transport only saw the body end early.
			return Reply{}, writeError(werr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is not news
		}
		reason := "no answer"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			reason = "timed out"
		}
		return Reply{}, &Error{Reason: reason, Err: err}
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	werr := finish()
	status := resp.StatusCode
	rep := Reply{TransactionID: txID, HTTPStatus: status}
	if (status < 200 || status >= 300) && werr != nil && !errors.Is(werr, errAborted) && !errors.Is(werr, io.ErrClosedPipe) {
		// Writing failed (an attachment could not be read) and the
		// service refused what it got: the cause is ours.
		return rep, writeError(werr)
	}

	switch {
	case status >= 200 && status < 300:
		if werr != nil {
			// The service answered before it had the whole body: whatever
			// it accepted is not what we meant to send.
			return rep, &Error{HTTPStatus: status, Reason: "answered before the request was complete", Err: werr}
		}
		if rerr != nil {
			return rep, &Error{HTTPStatus: status, Reason: "answer cut off", Err: rerr}
		}
		a, err := parseAnswer(body)
		if err != nil {
			// A proxy's page or a truncated answer: the message may or
			// may not have been taken. Retry: the same messageUUID lets
			// Digital Post recognise it.
			return rep, &Error{HTTPStatus: status, Reason: "malformed answer", Err: err}
		}
		if a.result == "false" {
			return rep, &Error{HTTPStatus: status, Permanent: true, Reason: "refused: " + a.reason()}
		}
		rep.TransmissionID = a.transmissionID
		return rep, nil
	case status == http.StatusConflict:
		// The messageUUID is known already: an earlier attempt got
		// through though its answer was lost. That is acceptance; the
		// status messages say the rest.
		return rep, nil
	case status == http.StatusUnauthorized:
		return rep, &Error{HTTPStatus: status, Reason: "token refused"}
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return rep, &Error{HTTPStatus: status, Reason: reasonOf(body)}
	default:
		return rep, &Error{HTTPStatus: status, Permanent: true, Reason: reasonOf(body)}
	}
}

var errAborted = errors.New("request ended")

func writeError(err error) error {
	// A letter that cannot be rendered or a message that cannot be
	// written stays so; a store that failed to read may recover.
	perm := errors.Is(err, fjernprint.ErrInvalid) || isUnprintable(err)
	return &Error{Permanent: perm, Reason: "writing the request failed", Err: err}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// writeKombi writes the kombi_request document.
func writeKombi(w io.Writer, req *Request) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var err error
	put := func(s string) {
		if err == nil {
			_, err = bw.WriteString(s)
		}
	}
	put(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<kombi_request>\n<KombiValgKode>")
	if err == nil {
		err = xml.EscapeText(bw, []byte(req.Valg))
	}
	put("</KombiValgKode>\n")
	if err != nil {
		return err
	}
	if req.Message != nil {
		if err := memo.Write(&dropDeclaration{w: bw}, req.Message); err != nil {
			return err
		}
	}
	if req.Letter != nil {
		put(`<fjernprint:ForsendelseISamling xmlns:fjernprint="` + fjernprint.Namespace + `">`)
		if err != nil {
			return err
		}
		if err := fjernprint.WriteElement(bw, req.Letter); err != nil {
			return err
		}
		put("</fjernprint:ForsendelseISamling>\n")
	}
	put("</kombi_request>\n")
	if err != nil {
		return err
	}
	return bw.Flush()
}

// memoDeclaration is what memo.Write starts with; inside kombi_request the
// message is an element, and an XML declaration there is an error.
const memoDeclaration = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// dropDeclaration passes what is written on, less the leading XML
// declaration.
type dropDeclaration struct {
	w    io.Writer
	seen int
}

func (d *dropDeclaration) Write(p []byte) (int, error) {
	n := 0
	if d.seen < len(memoDeclaration) {
		k := min(len(p), len(memoDeclaration)-d.seen)
		if string(p[:k]) != memoDeclaration[d.seen:d.seen+k] {
			return 0, errors.New("digitalpost: MeMo message does not start with the expected XML declaration")
		}
		d.seen += k
		p, n = p[k:], k
	}
	m, err := d.w.Write(p)
	return n + m, err
}

// answer is what is read of a KombiPostAfsend answer: any elements with
// these local names, wherever they are.
type answer struct {
	result, transmissionID, errorID, errorText string
}

func (a answer) reason() string {
	s := strings.TrimSpace(strings.Join(strings.Fields(a.errorID+" "+a.errorText), " "))
	if s == "" {
		s = "Result false"
	}
	return scrub(s)
}

// parseAnswer reads an answer body. Empty is fine (several clients see
// only a status); anything else must be well-formed XML.
func parseAnswer(body []byte) (answer, error) {
	var a answer
	if len(bytes.TrimSpace(body)) == 0 {
		return a, nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []string
	root := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return answer{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, strings.ToLower(t.Name.Local))
			root = true
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return answer{}, errors.New("text outside the document element")
				}
				continue
			}
			v := strings.TrimSpace(string(t))
			switch stack[len(stack)-1] {
			case "result":
				a.result = strings.ToLower(v)
			case "transmissionid":
				a.transmissionID = v
			case "fejlid", "fejlkode":
				a.errorID = v
			case "fejltekst", "advistekst":
				if a.errorText == "" {
					a.errorText = v
				}
			}
		}
	}
	if !root {
		return answer{}, errors.New("no document element")
	}
	return a, nil
}

// reasonOf makes a short, CPR-free reason of a refusal's body: the error
// text of an XML or JSON answer, else its first line.
func reasonOf(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "refused"
	}
	var s string
	if body[0] == '{' {
		var j map[string]any
		if json.Unmarshal(body, &j) == nil {
			for _, k := range []string{"message", "Message", "error_description", "detail", "error", "title", "FejlTekst"} {
				if v, ok := j[k].(string); ok && v != "" {
					s = v
					break
				}
			}
		}
	} else if body[0] == '<' {
		a, err := parseAnswer(body)
		if err == nil {
			s = strings.TrimSpace(a.errorID + " " + a.errorText)
		}
		if s == "" {
			s = firstText(body, "errortext", "faultstring", "message", "detail", "title", "h1")
		}
	}
	if s == "" {
		s = string(body)
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			s = s[:i]
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return scrub(s)
}

// firstText is the text of the first element with one of the local names.
func firstText(body []byte, names ...string) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	var cur string
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur = strings.ToLower(t.Name.Local)
		case xml.CharData:
			for _, n := range names {
				if cur == n {
					if v := strings.TrimSpace(string(t)); v != "" {
						return v
					}
				}
			}
		}
	}
}

var cprRun = regexp.MustCompile(`\b(\d{6})-?\d{4}\b`)

// scrub masks anything that looks like a CPR number: reasons are logged.
func scrub(s string) string { return cprRun.ReplaceAllString(s, "$1-xxxx") }
