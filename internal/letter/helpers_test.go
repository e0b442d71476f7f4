package letter

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleLetter is a realistic case letter with Danish letters in every part.
func sampleLetter() *Letter {
	return &Letter{
		Sender:    Address{Name: "Demo Kommune", Lines: []string{"Borgerservice", "Rådhuspladsen 1", "8800 Viborg"}},
		Recipient: Address{Name: "Jens Fritagesen", Lines: []string{"Testvej 1", "8800 Viborg"}},
		Date:      time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC),
		Subject:   "Afgørelse om økonomisk hjælp",
		BodyHTML: `<p class=MsoNormal>Kære Jens Fritagesen</p><p class=MsoNormal>&nbsp;</p>` +
			`<p class=MsoNormal>Vi har behandlet din ansøgning om <b>økonomisk hjælp</b> til tandbehandling. ` +
			`Søren Ærø på Åbyhøj får café-tilskud.</p><p class=MsoNormal>&nbsp;</p>` +
			`<p class=MsoNormal>Med venlig hilsen<br>Anne Sagsbehandler</p>`,
	}
}

// shownText is one laid-out line of a cover page, as it is drawn.
type shownText struct {
	x, y, size float64
	text       string
	role       role
}

// layoutText lays the letter out and returns each page's lines.
func layoutText(t *testing.T, l *Letter) [][]shownText {
	t.Helper()
	pages, err := layoutCover(l)
	if err != nil {
		t.Fatalf("layoutCover: %v", err)
	}
	var out [][]shownText
	for _, p := range pages {
		var lines []shownText
		for _, pl := range p.lines {
			lines = append(lines, shownText{x: pl.x, y: pl.y, size: pl.size, text: pl.String(), role: pl.role})
		}
		out = append(out, lines)
	}
	return out
}

// findText returns the lines whose text contains s.
func findText(texts []shownText, s string) []shownText {
	var out []shownText
	for _, t := range texts {
		if strings.Contains(t.text, s) {
			out = append(out, t)
		}
	}
	return out
}

// memAttachment is an attachment served from memory.
func memAttachment(name, contentType string, data []byte) Attachment {
	return Attachment{Filename: name, ContentType: contentType, Open: func() (io.ReadCloser, error) {
		return readSeekNopCloser{bytes.NewReader(data)}, nil
	}}
}

// streamAttachment is an attachment whose reader cannot seek.
func streamAttachment(name, contentType string, data []byte) Attachment {
	return Attachment{Filename: name, ContentType: contentType, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(struct{ io.Reader }{bytes.NewReader(data)}), nil
	}}
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

// render writes l and returns the PDF.
func render(t *testing.T, l *Letter) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Render(&buf, l)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes(), st
}
