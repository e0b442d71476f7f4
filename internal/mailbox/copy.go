package mailbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// Header names of the marked copy (and of the relay's receipts).
const (
	HeaderID         = "X-Sendsikkert-Id"
	HeaderStatus     = "X-Sendsikkert-Status"
	HeaderChannel    = "X-Sendsikkert-Channel"
	HeaderRecipients = "X-Sendsikkert-Recipients"
)

// writeCopy writes the marked copy of e: an RFC 5322 message with the body
// as HTML and every attachment, headers naming the send, its channels and
// its recipients (CPR numbers masked). The output depends on nothing but
// its inputs (no random boundary, no clock), so it can be written once to
// count its size for APPEND and again to send it.
func writeCopy(w io.Writer, e *outbox.Entry, st relayapi.MessageStatus, from string, open func(blob string) (io.ReadCloser, error)) error {
	var h mail.Header
	h.SetDate(e.Created)
	h.SetSubject(e.Message.Subject)
	h.SetMessageID(e.ID + "@sendsikkert.invalid")
	if strings.Contains(from, "@") {
		h.SetAddressList("From", []*mail.Address{{Address: from}})
	} else {
		h.Set("From", "Send sikkert <sendsikkert@sendsikkert.invalid>")
	}
	var to []*mail.Address
	var channels, rcpts []string
	for i, in := range e.Message.Recipients {
		id := recipient.Parse(in, e.Created)
		rs := relayapi.RecipientStatus{Input: in}
		if i < len(st.Recipients) {
			rs = st.Recipients[i]
		}
		name := id.Masked()
		if i < len(e.Checked) && e.Checked[i].Name != "" {
			name = e.Checked[i].Name + " (" + id.Masked() + ")"
		}
		to = append(to, &mail.Address{Name: name + " – " + channelText(string(rs.Channel)), Address: "sikker-post@sendsikkert.invalid"})
		if rs.Channel != "" && !contains(channels, string(rs.Channel)) {
			channels = append(channels, string(rs.Channel))
		}
		rcpts = append(rcpts, fmt.Sprintf("%s (%s, %s)", id.Masked(), rs.Channel, rs.Status))
	}
	h.SetAddressList("To", to)
	h.Set(HeaderID, e.ID)
	h.Set(HeaderStatus, string(st.Status))
	h.Set(HeaderChannel, strings.Join(channels, ", "))
	h.Set(HeaderRecipients, strings.Join(rcpts, ", "))
	h.Set("MIME-Version", "1.0")
	sum := sha256.Sum256([]byte(e.ID))
	h.SetContentType("multipart/mixed", map[string]string{"boundary": "sendsikkert-" + hex.EncodeToString(sum[:12])})

	mw, err := message.CreateWriter(w, h.Header)
	if err != nil {
		return err
	}
	var bh message.Header
	bh.SetContentType("text/html", map[string]string{"charset": "utf-8"})
	bh.Set("Content-Transfer-Encoding", "quoted-printable")
	bh.Set("Content-Disposition", "inline")
	pw, err := mw.CreatePart(bh)
	if err != nil {
		return err
	}
	body := e.Message.BodyHTML
	if body == "" {
		body = "<p></p>"
	}
	if _, err := io.WriteString(pw, body); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	for _, f := range e.Files {
		var ah message.Header
		ct := f.ContentType
		if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
			ct = "application/octet-stream"
		}
		mt, params, _ := mime.ParseMediaType(ct)
		params["name"] = f.Filename
		ah.SetContentType(mt, params)
		ah.SetContentDisposition("attachment", map[string]string{"filename": f.Filename})
		ah.Set("Content-Transfer-Encoding", "base64")
		aw, err := mw.CreatePart(ah)
		if err != nil {
			return err
		}
		r, err := open(f.Blob)
		if err != nil {
			return fmt.Errorf("mailbox: attachment %s: %w", f.Blob, err)
		}
		_, err = io.Copy(aw, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("mailbox: attachment %s: %w", f.Blob, err)
		}
		if err := aw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func channelText(c string) string {
	switch c {
	case string(recipient.ChannelDigitalPost):
		return "Digital Post"
	case string(recipient.ChannelPrint):
		return "brev via OneTooX"
	case string(recipient.ChannelTunnelmail):
		return "sikker e-mail"
	case string(recipient.ChannelSecureMailbox):
		return "sikker postkasse"
	}
	return "sikker forsendelse"
}

// statusText is a receipt's X-Sendsikkert-Status in the clerk's words.
func statusText(s relayapi.Status) string {
	switch s {
	case relayapi.StatusDelivered:
		return "sendt sikkert"
	case relayapi.StatusPrinted:
		return "sendt som brev"
	case relayapi.StatusNeedsFallback:
		return "kræver handling"
	case relayapi.StatusFailed:
		return "ikke leveret"
	}
	return string(s)
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
