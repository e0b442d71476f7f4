// Package receipt mails the sender a receipt once a secure send is final:
// who it went to (CPR numbers masked), by which channel, when, and the
// relay's id in the X-Sendsikkert-Id header, so the agent's mailbox link can
// match it to the send. Receipts go through the organisation's SMTP
// smarthost, and only over TLS.
package receipt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
)

// Mailer sends receipts.
type Mailer struct {
	// Addr is the smarthost, host:port.
	Addr string
	// From is the no-reply address.
	From string
	// TLS verifies the smarthost (ServerName defaults to Addr's host).
	TLS *tls.Config
	// Auth, when set, logs in after STARTTLS.
	Auth    smtp.Auth
	Timeout time.Duration
}

// Build makes the receipt mail for m, addressed to to.
func Build(from, to string, m *queue.Message, now time.Time) []byte {
	st := m.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "Kvittering for sikker forsendelse\n\nEmne: %s\nAfsendt: %s\nForsendelses-id: %s\n\nModtagere:\n",
		m.Subject, m.Created.In(copenhagen()).Format("02-01-2006 15:04"), m.ID)
	for _, r := range m.Recipients {
		fmt.Fprintf(&b, "- %s: %s via %s. %s\n", r.ID.Masked(), statusText(r.Status), channelText(string(r.Channel)), r.Message)
	}
	b.WriteString("\nDenne kvittering er sendt automatisk af Send sikkert. Svar ikke på den.\n")
	return Mail(from, "Send sikkert", to, subjectFor(st.Status)+": "+m.Subject, now, b.String(),
		Header{Name: "Message-ID", Value: MessageID(from, m.ID)},
		Header{Name: "X-Sendsikkert-Id", Value: m.ID},
		Header{Name: "X-Sendsikkert-Status", Value: string(st.Status)},
		Header{Name: "Auto-Submitted", Value: "auto-generated"})
}

// MessageID is the Message-ID of the receipt for the message with relay id
// id, sent from from. It is fixed, not random, so that a citizen's reply
// (package inbound) can be threaded to the receipt the clerk holds with
// In-Reply-To and References.
func MessageID(from, id string) string {
	domain := "sendsikkert.invalid"
	if i := strings.LastIndex(from, "@"); i >= 0 {
		domain = from[i+1:]
	}
	return "<receipt-" + id + "@" + domain + ">"
}

// Header is a header field of a Mail.
type Header struct{ Name, Value string }

// Mail is a plain-text mail as the relay sends it through a Mailer (a
// receipt, the secure mailbox's notices): from, shown as fromName, to to,
// with subject and date, a fresh Message-ID on the sender's domain, then
// headers in order and body (its line ends sent as CRLF). A Message-ID
// among headers replaces the fresh one.
func Mail(from, fromName, to, subject string, date time.Time, body string, headers ...Header) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	var id [12]byte
	rand.Read(id[:])
	domain := "sendsikkert.invalid"
	if i := strings.LastIndex(from, "@"); i >= 0 {
		domain = from[i+1:]
	}
	h("From", (&mail.Address{Name: fromName, Address: from}).String())
	h("To", (&mail.Address{Address: to}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", date.Format(time.RFC1123Z))
	msgID := "<" + hex.EncodeToString(id[:]) + "@" + domain + ">"
	for _, x := range headers {
		if strings.EqualFold(x.Name, "Message-ID") {
			msgID = x.Value
		}
	}
	h("Message-ID", msgID)
	for _, x := range headers {
		if !strings.EqualFold(x.Name, "Message-ID") {
			h(x.Name, x.Value)
		}
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes()
}

func subjectFor(status relayapi.Status) string {
	switch status {
	case relayapi.StatusDelivered:
		return "Kvittering – sendt sikkert"
	case relayapi.StatusNeedsFallback:
		return "Kvittering – kræver handling"
	}
	return "Kvittering – ikke leveret"
}

func statusText(s relayapi.Status) string {
	switch s {
	case relayapi.StatusDelivered:
		return "leveret"
	case relayapi.StatusPrinted:
		return "sendt som brev"
	case relayapi.StatusNeedsFallback:
		return "ikke sendt (modtageren er fritaget for Digital Post)"
	case relayapi.StatusFailed:
		return "ikke leveret"
	}
	return string(s)
}

func channelText(c string) string {
	switch c {
	case "digitalpost":
		return "Digital Post"
	case "print":
		return "OneTooX (brev)"
	case "tunnelmail":
		return "sikker e-mail (Direkte adressering)"
	case "securemailbox":
		return "sikker mailboks"
	}
	return c
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}

// ErrNoTLS means the smarthost offered no STARTTLS; the receipt is not sent
// in clear.
var ErrNoTLS = errors.New("receipt: smarthost offers no STARTTLS")

// Send delivers one receipt.
func (mr *Mailer) Send(ctx context.Context, to string, msg []byte) error {
	return mr.SendAll(ctx, []string{to}, msg)
}

// SendAll delivers one mail to several recipients (To and Cc) in one
// transaction: the smarthost accepts it for all of them or for none.
func (mr *Mailer) SendAll(ctx context.Context, rcpts []string, msg []byte) error {
	return mr.SendStream(ctx, rcpts, func(w io.Writer) error {
		_, err := w.Write(msg)
		return err
	})
}

// SendStream is SendAll with the mail written by write as it goes out, so a
// large one is never held in memory. If write fails, the connection is
// dropped before the end of DATA: the smarthost keeps nothing, and the
// error (wrapping write's) is returned.
func (mr *Mailer) SendStream(ctx context.Context, rcpts []string, write func(io.Writer) error) error {
	if len(rcpts) == 0 {
		return errors.New("receipt: no recipients")
	}
	timeout := mr.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", mr.Addr)
	if err != nil {
		return fmt.Errorf("receipt: dial %s: %w", mr.Addr, err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(mr.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("receipt: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoTLS
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if mr.TLS != nil {
		cfg = mr.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
	}
	if err := c.StartTLS(cfg); err != nil {
		return fmt.Errorf("receipt: STARTTLS: %w", err)
	}
	if mr.Auth != nil {
		if err := c.Auth(mr.Auth); err != nil {
			return fmt.Errorf("receipt: auth: %w", err)
		}
	}
	if err := c.Mail(mr.From); err != nil {
		return fmt.Errorf("receipt: MAIL FROM: %w", err)
	}
	for _, to := range rcpts {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("receipt: RCPT TO: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("receipt: DATA: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("receipt: DATA: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("receipt: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("receipt: DATA: %w", err)
	}
	return c.Quit()
}
