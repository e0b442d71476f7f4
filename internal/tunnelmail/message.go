package tunnelmail

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"sendsikkert/internal/delivery"
)

// WriteMessage writes d as an RFC 5322 message from from to its recipient:
// the HTML body and the attachments in a multipart/mixed, attachments
// streamed in base64 as they are read. The Message-ID comes from the
// delivery's MemoUUID, so a retried delivery is recognisably the same mail.
func WriteMessage(w io.Writer, from string, d *delivery.Delivery) error {
	bw := bufio.NewWriter(w)
	domain := "sendsikkert.invalid"
	if i := strings.LastIndex(from, "@"); i >= 0 {
		domain = from[i+1:]
	}
	mw := multipart.NewWriter(bw)
	h := func(k, v string) { fmt.Fprintf(bw, "%s: %s\r\n", k, v) }
	created := d.Created
	if created.IsZero() {
		created = time.Now()
	}
	h("From", (&mail.Address{Name: d.Sender.Name, Address: from}).String())
	h("To", (&mail.Address{Address: d.Recipient.Value}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", d.Subject))
	h("Date", created.Format(time.RFC1123Z))
	h("Message-ID", "<"+d.MemoUUID+"@"+domain+">")
	h("X-Sendsikkert-Id", d.MessageID)
	h("MIME-Version", "1.0")
	h("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	bw.WriteString("\r\n")

	body, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/html; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(body)
	html := d.BodyHTML
	if !strings.Contains(strings.ToLower(html), "<html") {
		html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" + html + "</body></html>"
	}
	if _, err := io.WriteString(qp, html); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	for _, a := range d.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		part, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.Filename})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return err
		}
		rc, err := a.Open()
		if err != nil {
			return fmt.Errorf("tunnelmail: open attachment %s: %w", a.Filename, err)
		}
		lw := &lineWriter{w: part}
		enc := base64.NewEncoder(base64.StdEncoding, lw)
		_, err = io.Copy(enc, rc)
		rc.Close()
		if err == nil {
			err = enc.Close()
		}
		if err == nil {
			err = lw.end()
		}
		if err != nil {
			return fmt.Errorf("tunnelmail: attachment %s: %w", a.Filename, err)
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// lineWriter breaks base64 into 76-character lines.
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		n += k
		l.col += k
		p = p[k:]
		if l.col == 76 {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

func (l *lineWriter) end() error {
	if l.col == 0 {
		return nil
	}
	_, err := l.w.Write([]byte("\r\n"))
	return err
}
