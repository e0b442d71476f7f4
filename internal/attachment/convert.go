package attachment

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"path"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"golang.org/x/text/encoding/charmap"

	"sendsikkert/internal/letter"
)

// MaxConvertBytes bounds a file we convert: text this long is already
// thousands of pages, and the whole of it is held in memory to set it.
const MaxConvertBytes = 5 << 20

// ErrTooLargeToConvert is returned for a text file over MaxConvertBytes.
var ErrTooLargeToConvert = errors.New("attachment: too large to convert to PDF")

// Convert writes the PDF a ConvertPDF decision promises: the file's text
// set in the letter's typeface on A4 pages, titled with the file's name.
// Plain text keeps its lines; Markdown and HTML keep their paragraphs,
// headings, lists, bold and italic. Images, scripts, styles and anything
// an HTML file would load from elsewhere are left out: the PDF is text.
func Convert(w io.Writer, d Decision, r io.Reader, created time.Time) error {
	if d.Action != ConvertPDF || d.Format == nil {
		return fmt.Errorf("attachment: %s is not for conversion", d.Filename)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxConvertBytes+1))
	if err != nil {
		return fmt.Errorf("attachment: read %s: %w", d.Filename, err)
	}
	if len(data) > MaxConvertBytes {
		return ErrTooLargeToConvert
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if d.eightBit {
		if data, err = charmap.Windows1252.NewDecoder().Bytes(data); err != nil {
			return fmt.Errorf("attachment: decode %s: %w", d.Filename, err)
		}
	}
	var body string
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
	default:
		return fmt.Errorf("attachment: no conversion for %s", d.Format.ID)
	}
	title := strings.TrimSuffix(d.Filename, path.Ext(d.Filename))
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
