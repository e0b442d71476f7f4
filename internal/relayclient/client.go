// Package relayclient is the agent's client of the relay's HTTP API
// (internal/relay/openapi.yaml); the agent uses it for the embedded demo
// relay and for the organisation's relay alike.
package relayclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// Client talks to a relay.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Token is the bearer token of the demo relay; empty with mTLS.
	Token string
}

// ErrUnavailable wraps failures to reach the relay at all (down, network),
// as opposed to the relay answering with an error.
var ErrUnavailable = errors.New("relay unavailable")

// ErrBadAnswer marks a success answer whose body could not be read (a
// captive portal's page, a body cut short).
var ErrBadAnswer = errors.New("bad answer")

// AnswerError is an answer of the relay that was not a success. It keeps
// what the agent's retry decision needs: the HTTP status, the wait the
// answer asked for (Retry-After) and the relay's own JSON error body when
// the answer carried one — a proxy's page or a truncated body leaves Relay
// nil. It unwraps to Relay for a 4xx with the relay's body (so callers can
// show the relay's Danish reason) and to ErrUnavailable otherwise.
type AnswerError struct {
	StatusCode int
	// RetryAfter is the Retry-After header as a duration (0 when absent
	// or unreadable); an HTTP date is taken relative to the answer's own
	// Date header, so a PC clock that is off does not shorten it.
	RetryAfter time.Duration
	Relay      *relayapi.Error
}

func (e *AnswerError) Error() string {
	if e.Relay != nil {
		return fmt.Sprintf("relay answered HTTP %d: %s", e.StatusCode, e.Relay.Error())
	}
	return fmt.Sprintf("relay answered HTTP %d without its error body", e.StatusCode)
}

func (e *AnswerError) Unwrap() error {
	if e.Relay != nil && e.StatusCode < 500 {
		return e.Relay
	}
	return ErrUnavailable
}

// AttachmentError is an attachment the agent could not read while sending
// it (a damaged or missing file in the outbox): no retry will mend it.
type AttachmentError struct {
	Filename string
	Err      error
}

func (e *AttachmentError) Error() string { return "attachment " + e.Filename + ": " + e.Err.Error() }
func (e *AttachmentError) Unwrap() error { return e.Err }

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date,
// the latter measured from the answer's Date header when there is one.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		now = d
	}
	return max(at.Sub(now), 0)
}

func (c *Client) do(req *http.Request, out any) (int, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ae *AttachmentError
		if errors.As(err, &ae) {
			return 0, ae
		}
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 16<<20)
	if resp.StatusCode >= 400 {
		ae := &AnswerError{StatusCode: resp.StatusCode, RetryAfter: RetryAfter(resp.Header, time.Now())}
		var e relayapi.Error
		// The relay's own refusal is JSON with a code and a message; a
		// proxy's or a portal's page is not, whatever it holds.
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" {
			if json.NewDecoder(body).Decode(&e) == nil && e.Code != "" && e.Message != "" {
				ae.Relay = &e
			}
		}
		io.Copy(io.Discard, body)
		return resp.StatusCode, ae
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%w: %w: %w", ErrUnavailable, ErrBadAnswer, err)
	}
	return resp.StatusCode, nil
}

func (c *Client) url(path string) string { return strings.TrimRight(c.BaseURL, "/") + path }

// Check looks recipients up.
func (c *Client) Check(ctx context.Context, inputs []string) (recipient.Report, error) {
	return c.CheckMobiles(ctx, inputs, nil)
}

// CheckMobiles looks recipients up with mobile numbers entered for e-mail
// addresses (the secure mailbox's one-time code).
func (c *Client) CheckMobiles(ctx context.Context, inputs []string, mobiles map[string]string) (recipient.Report, error) {
	b, _ := json.Marshal(relayapi.CheckRequest{Recipients: inputs, Mobiles: mobiles})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/recipients/check"), bytes.NewReader(b))
	if err != nil {
		return recipient.Report{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var rep recipient.Report
	_, err = c.do(req, &rep)
	return rep, err
}

// ReplyMailboxes lists the organisation's reply mailboxes.
func (c *Client) ReplyMailboxes(ctx context.Context) (relayapi.MailboxChoices, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v1/reply-mailboxes"), nil)
	if err != nil {
		return relayapi.MailboxChoices{}, err
	}
	var mc relayapi.MailboxChoices
	_, err = c.do(req, &mc)
	return mc, err
}

// Status fetches a message's status.
func (c *Client) Status(ctx context.Context, id string) (relayapi.MessageStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v1/messages/"+id), nil)
	if err != nil {
		return relayapi.MessageStatus{}, err
	}
	var st relayapi.MessageStatus
	_, err = c.do(req, &st)
	return st, err
}

// Revoke takes a message back from the recipients' secure mailboxes and
// returns its status after. The relay's refusals (unknown message, nothing
// to take back) come as *relayapi.Error with a Danish message for the clerk.
func (c *Client) Revoke(ctx context.Context, id string) (relayapi.MessageStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/messages/"+url.PathEscape(id)+"/revoke"), nil)
	if err != nil {
		return relayapi.MessageStatus{}, err
	}
	var st relayapi.MessageStatus
	_, err = c.do(req, &st)
	return st, err
}

// Upload is one attachment to submit.
type Upload struct {
	relayapi.FileInfo
	Open func() (io.ReadCloser, error)
}

// Submit streams a message and its attachments to the relay. The body is
// produced while it is sent, so a 100 MB attachment is never in memory.
func (c *Client) Submit(ctx context.Context, msg *relayapi.MessageRequest, files []Upload) (relayapi.SubmitResponse, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeSubmit(mw, msg, files))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/messages"), pr)
	if err != nil {
		pr.Close()
		return relayapi.SubmitResponse{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out relayapi.SubmitResponse
	_, err = c.do(req, &out)
	pr.Close()
	return out, err
}

func writeSubmit(mw *multipart.Writer, msg *relayapi.MessageRequest, files []Upload) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(pw).Encode(msg); err != nil {
		return err
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", multipartDisposition(f.Filename))
		h.Set("Content-Type", f.ContentType)
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return &AttachmentError{Filename: f.Filename, Err: err}
		}
		_, err = io.Copy(pw, attachmentReader{rc, f.Filename})
		rc.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

// attachmentReader marks errors of reading an attachment (a damaged file)
// apart from errors of sending it (the connection).
type attachmentReader struct {
	r    io.Reader
	name string
}

func (a attachmentReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = &AttachmentError{Filename: a.name, Err: err}
	}
	return n, err
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func multipartDisposition(filename string) string {
	return `form-data; name="attachment"; filename="` + quoteEscaper.Replace(filename) + `"`
}

// Domains searches the direct-addressing list.
func (c *Client) Domains(ctx context.Context, q, letter string) ([]directory.Domain, error) {
	var out struct {
		Domains []directory.Domain `json:"domains"`
	}
	err := c.get(ctx, "/v1/directory/domains", q, letter, &out)
	return out.Domains, err
}

// AddressBook searches the address book.
func (c *Client) AddressBook(ctx context.Context, q, letter string) ([]directory.Entry, error) {
	var out struct {
		Entries []directory.Entry `json:"entries"`
	}
	err := c.get(ctx, "/v1/directory/addressbook", q, letter, &out)
	return out.Entries, err
}

func (c *Client) get(ctx context.Context, path, q, letter string, out any) error {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if letter != "" {
		v.Set("letter", letter)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path)+"?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, out)
	return err
}
