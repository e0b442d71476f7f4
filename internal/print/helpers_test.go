package print

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
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

var streamRE = regexp.MustCompile(`/Filter /FlateDecode /Length (\d+) >>\nstream\n`)

// contentStreams inflates the Flate streams of a PDF written by docWriter,
// in file order; for a cover letter these are the pages' content streams.
func contentStreams(t *testing.T, pdf []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range streamRE.FindAllSubmatchIndex(pdf, -1) {
		n, _ := strconv.Atoi(string(pdf[m[2]:m[3]]))
		zr, err := zlib.NewReader(bytes.NewReader(pdf[m[1] : m[1]+n]))
		if err != nil {
			t.Fatalf("inflate: %v", err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("inflate: %v", err)
		}
		out = append(out, data)
	}
	return out
}

// shownText is one BT…ET text object parsed back from a content stream.
type shownText struct {
	x, y, size float64
	text       string
}

var (
	textObjRE = regexp.MustCompile(`BT (-?[\d.]+) (-?[\d.]+) Td((?: /F\d (?:[\d.]+) Tf \((?:\\.|[^\\)])*\) Tj)+) ET`)
	showRE    = regexp.MustCompile(`/F\d ([\d.]+) Tf \(((?:\\.|[^\\)])*)\) Tj`)
)

// parseText reads the text objects docWriter wrote into a content stream.
func parseText(content []byte) []shownText {
	var out []shownText
	for _, m := range textObjRE.FindAllSubmatch(content, -1) {
		x, _ := strconv.ParseFloat(string(m[1]), 64)
		y, _ := strconv.ParseFloat(string(m[2]), 64)
		st := shownText{x: x, y: y}
		var raw []byte
		for _, s := range showRE.FindAllSubmatch(m[3], -1) {
			st.size, _ = strconv.ParseFloat(string(s[1]), 64)
			raw = append(raw, unescapePDF(s[2])...)
		}
		st.text = decodeWinAnsi(raw)
		out = append(out, st)
	}
	return out
}

func unescapePDF(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			i++
			switch b[i] {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			default:
				out = append(out, b[i])
			}
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// findText returns the text objects whose text contains s.
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
