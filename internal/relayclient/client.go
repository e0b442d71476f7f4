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
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

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
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 16<<20)
	if resp.StatusCode >= 500 {
		io.Copy(io.Discard, body)
		return resp.StatusCode, fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	if resp.StatusCode >= 400 {
		var e relayapi.Error
		if err := json.NewDecoder(body).Decode(&e); err != nil || e.Code == "" {
			return resp.StatusCode, &relayapi.Error{Code: "relay_error", Message: fmt.Sprintf("Relæet svarede med fejl %d.", resp.StatusCode)}
		}
		return resp.StatusCode, &e
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%w: bad answer: %v", ErrUnavailable, err)
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
			return fmt.Errorf("open attachment: %w", err)
		}
		_, err = io.Copy(pw, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
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
