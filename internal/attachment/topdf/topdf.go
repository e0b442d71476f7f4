// Package topdf converts the text formats Digital Post does not take
// (plain text, Markdown, HTML, an attached e-mail) to PDF, set by the
// letter typesetter: attachment.Decide says ConvertPDF, Convert does it.
// Only the relay links it (an attachment.Converter passed to
// attachment.Prepare); the agent forwards such a file as it is.
package topdf

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"path"
	"strings"
	"time"

	// Mails from Danish Outlook are often Windows-1252 or ISO 8859-1.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/yuin/goldmark"
	"golang.org/x/text/encoding/charmap"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/letter"
)

// Convert writes the PDF a ConvertPDF decision promises: the file's text
// set in the letter's typeface on A4 pages, titled with the file's name.
// Plain text keeps its lines; Markdown and HTML keep their paragraphs,
// headings, lists, bold and italic. Images, scripts, styles and anything
// an HTML file would load from elsewhere are left out: the PDF is text.
func Convert(w io.Writer, d attachment.Decision, r io.Reader, created time.Time) error {
	if d.Action != attachment.ConvertPDF || d.Format == nil {
		return fmt.Errorf("attachment: %s is not for conversion", d.Filename)
	}
	data, err := io.ReadAll(io.LimitReader(r, attachment.MaxConvertBytes+1))
	if err != nil {
		return fmt.Errorf("attachment: read %s: %w", d.Filename, err)
	}
	if len(data) > attachment.MaxConvertBytes {
		return attachment.ErrTooLargeToConvert
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if d.EightBit {
		if data, err = charmap.Windows1252.NewDecoder().Bytes(data); err != nil {
			return fmt.Errorf("attachment: decode %s: %w", d.Filename, err)
		}
	}
	var body string
	title := strings.TrimSuffix(d.Filename, path.Ext(d.Filename))
	switch d.Format.ID {
	case "text":
		body = textHTML(string(data))
	case "markdown":
		var buf bytes.Buffer
		// goldmark's default leaves raw HTML in Markdown out ("<!-- raw
		// HTML omitted -->"), which is what we want: the text is the point.
		if err := goldmark.Convert(data, &buf); err != nil {
			return fmt.Errorf("attachment: Markdown %s: %w", d.Filename, err)
		}
		body = buf.String()
	case "html":
		body = string(data)
	case "eml":
		var err error
		if title, body, err = mailHTML(data); err != nil {
			return fmt.Errorf("attachment: e-mail %s: %w", d.Filename, err)
		}
	default:
		return fmt.Errorf("attachment: no conversion for %s", d.Format.ID)
	}
	if _, err := letter.WriteDocument(w, title, body, created); err != nil {
		return fmt.Errorf("attachment: convert %s: %w", d.Filename, err)
	}
	return nil
}

// textHTML keeps plain text's lines and its blank lines as paragraph
// breaks, and lets long lines wrap.
func textHTML(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	for _, para := range strings.Split(s, "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(html.EscapeString(strings.ReplaceAll(line, "\t", "    ")))
		}
		b.WriteString("</p>")
	}
	return b.String()
}

// mailHTML reads a mail (RFC 5322, as Outlook hands over an attached item)
// into a title — its subject — and a body: who sent it to whom and when,
// then its HTML body, or its plain text when it has no HTML. Its own
// attachments are named, not included: they are not what the clerk chose
// to send.
func mailHTML(data []byte) (title, body string, err error) {
	mr, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil && mr == nil {
		return "", "", err
	}
	defer mr.Close()
	h := mr.Header
	title, _ = h.Subject()
	if strings.TrimSpace(title) == "" {
		title = "E-mail"
	}
	var b strings.Builder
	field := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			b.WriteString("<b>" + label + ":</b> " + html.EscapeString(value) + "<br>")
		}
	}
	from, _ := h.AddressList("From")
	to, _ := h.AddressList("To")
	cc, _ := h.AddressList("Cc")
	field("Fra", addresses(from))
	field("Til", addresses(to))
	field("Cc", addresses(cc))
	if date, err := h.Date(); err == nil && !date.IsZero() {
		field("Dato", date.Format("02-01-2006 15:04"))
	}
	var htmlBody, textBody string
	var attached []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break // io.EOF, or a part we cannot read: keep what we have
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			content, _ := io.ReadAll(io.LimitReader(p.Body, attachment.MaxConvertBytes))
			switch {
			case ct == "text/html" && htmlBody == "":
				htmlBody = string(content)
			case ct == "text/plain" && textBody == "":
				textBody = string(content)
			}
		case *mail.AttachmentHeader:
			if name, _ := ph.Filename(); name != "" {
				attached = append(attached, attachment.CleanName(name, len(attached)))
			}
		}
	}
	if len(attached) > 0 {
		field("Vedhæftet", strings.Join(attached, ", "))
	}
	b.WriteString("<hr>")
	switch {
	case htmlBody != "":
		b.WriteString(htmlBody)
	default:
		b.WriteString(textHTML(textBody))
	}
	return title, b.String(), nil
}

func addresses(list []*mail.Address) string {
	var out []string
	for _, a := range list {
		if a.Name != "" {
			out = append(out, a.Name+" <"+a.Address+">")
		} else {
			out = append(out, a.Address)
		}
	}
	return strings.Join(out, ", ")
}
