package inbound

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"sendsikkert/internal/recipient"
)

// delivery is what one reply mail is made of.
type delivery struct {
	From      string
	To        string
	Cc        []string
	Header    Header
	Letter    *Letter // nil: not correlated, a new message
	ReplyData ReplyData
	Threaded  string // the receipt's Message-ID, when correlated
	Received  time.Time
	// Open reads the stored message, whose files the mail carries.
	Open func() (io.ReadCloser, error)
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}

func domainOf(addr string) string {
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		return addr[i+1:]
	}
	return "sendsikkert.invalid"
}

// replyMessageID is fixed per received message, so a mail sent twice
// (a crash after the smarthost took it, before that was recorded) is
// recognisably the same mail.
func replyMessageID(from, memoUUID string) string {
	return "<reply-" + normUUID(memoUUID) + "@" + domainOf(from) + ">"
}

// write writes the mail to w as it reads the stored message: a text part
// saying what came and from whom, the main document's text as the body
// when it is text, and every file as it came (same bytes, same name, same
// type). An error reading the stored message is undeliverable.
func (d *delivery) write(w io.Writer) error {
	b := &errWriter{w: w}
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	subject := "Ny besked via Digital Post: " + d.Header.Label
	if d.Letter != nil {
		subject = "Svar: " + d.Letter.Subject
	}
	citizen := recipient.Parse(d.Header.SenderID, d.Received)
	h("From", (&mail.Address{Name: "Send sikkert", Address: d.From}).String())
	h("To", (&mail.Address{Address: d.To}).String())
	if len(d.Cc) > 0 {
		var cc []string
		for _, a := range d.Cc {
			cc = append(cc, (&mail.Address{Address: a}).String())
		}
		h("Cc", strings.Join(cc, ", "))
	}
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", d.Received.Format(time.RFC1123Z))
	h("Message-ID", replyMessageID(d.From, d.Header.MessageUUID))
	if d.Threaded != "" {
		h("In-Reply-To", d.Threaded)
		h("References", d.Threaded)
	}
	if d.Letter != nil {
		h("X-Sendsikkert-Reply", "correlated")
		h("X-Sendsikkert-Reply-To-Id", d.Letter.MessageID)
	} else {
		// Not an answer to a letter we know: the mailbox sees a new
		// message, not a thread.
		h("X-Sendsikkert-Reply", "new")
	}
	h("X-Sendsikkert-Memo-Uuid", normUUID(d.Header.MessageUUID))
	if d.ReplyData.CaseID != "" {
		h("X-Sendsikkert-Case-Id", mime.QEncoding.Encode("utf-8", d.ReplyData.CaseID))
	}
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	mw := multipart.NewWriter(b)
	h("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	b.WriteString("\r\n")

	var intro strings.Builder
	from := d.Header.SenderLabel
	if from == "" {
		from = "afsender uden navn"
	}
	fmt.Fprintf(&intro, "Modtaget via Digital Post %s fra %s (%s).\n", d.Received.In(copenhagen()).Format("02-01-2006 15:04"), from, citizen.Masked())
	fmt.Fprintf(&intro, "Emne: %s\n", d.Header.Label)
	if d.Letter != nil {
		fmt.Fprintf(&intro, "Svar på: %s, sendt %s af %s (forsendelses-id %s).\n", d.Letter.Subject, d.Letter.Sent.In(copenhagen()).Format("02-01-2006 15:04"), d.Letter.Sender, d.Letter.MessageID)
	} else {
		intro.WriteString("Beskeden kunne ikke knyttes til en forsendelse fra Send sikkert; den behandles som en ny henvendelse.\n")
	}
	if d.ReplyData.CaseID != "" {
		fmt.Fprintf(&intro, "Sagsnummer: %s\n", d.ReplyData.CaseID)
	}
	intro.WriteString("\nBeskedens dokumenter følger uændret nedenfor.\n")
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"8bit"}})
	pw.Write([]byte(strings.ReplaceAll(intro.String(), "\n", "\r\n")))

	rc, err := d.Open()
	if err != nil {
		return fmt.Errorf("inbound: open stored message: %w", err)
	}
	defer rc.Close()
	i := 0
	err = EachFile(rc, func(f File) error {
		defer func() { i++ }()
		ct := f.EncodingFormat
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "/") {
			ct = "application/octet-stream"
		}
		disp := "attachment"
		if i == 0 && f.Main && (strings.HasPrefix(ct, "text/plain") || strings.HasPrefix(ct, "text/html")) {
			disp = "inline"
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Type", ct)
		hdr.Set("Content-Transfer-Encoding", "base64")
		hdr.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Filename}))
		if f.Language != "" {
			hdr.Set("Content-Language", f.Language)
		}
		pw, _ := mw.CreatePart(hdr)
		// The citizen's base64 as it came, in lines of 76.
		for j := 0; j < len(f.Base64); j += 76 {
			end := min(j+76, len(f.Base64))
			pw.Write(f.Base64[j:end])
			pw.Write([]byte("\r\n"))
		}
		return b.err
	})
	if err != nil && b.err == nil {
		return undeliverable("stored message unreadable: %v", err)
	}
	mw.Close()
	return b.err
}

// errWriter keeps the first write error, so the mail reads like its
// layout rather than like error handling.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) WriteString(s string) { e.Write([]byte(s)) }

// alert is the mail IT gets about a quarantined message: what and why,
// never the content (it is kept, encrypted, on the relay).
func alert(from string, to []string, r *Row, now time.Time) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", (&mail.Address{Name: "Send sikkert", Address: from}).String())
	var tos []string
	for _, a := range to {
		tos = append(tos, (&mail.Address{Address: a}).String())
	}
	h("To", strings.Join(tos, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", "Send sikkert: modtaget Digital Post sat i karantæne"))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<quarantine-"+r.ID+"@"+domainOf(from)+">")
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := fmt.Sprintf(`En besked modtaget via Digital Post (SF1606) kunne ikke leveres og er sat i karantæne.
Den er gemt krypteret på relæet.

Id: %s
Modtaget: %s
Størrelse: %d byte
Årsag: %s

Se alle beskeder i karantæne med: sendsikkert-relay inbound list --state quarantined
`, r.ID, r.Received.In(copenhagen()).Format("02-01-2006 15:04:05"), r.Size, r.Reason)
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}
