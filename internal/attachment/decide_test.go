package attachment

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var (
	pdfHead  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")
	jpegHead = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	pngHead  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	zipHead  = []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml")
	oleHead  = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")
	odtHead  = []byte("PK\x03\x04\x14\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.textPK")
	exeHead  = []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00")
	elfHead  = []byte("\x7fELF\x02\x01\x01\x00")
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name, declared string
		head           []byte
		action         Action
		format         string // Format.ID, "" for none
		filename       string
		contentType    string
		code           string
	}{
		{"afgørelse.pdf", "application/pdf", pdfHead, Keep, "pdf", "afgørelse.pdf", "application/pdf", ""},
		// The content decides: a PDF named as a Word file leaves as a PDF.
		{"notat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", pdfHead, Keep, "pdf", "notat.pdf", "application/pdf", ""},
		{"scan", "application/octet-stream", pdfHead, Keep, "pdf", "scan.pdf", "application/pdf", ""},
		{"junk.pdf", "", append([]byte("\x00\x01junk"), pdfHead...), Keep, "pdf", "junk.pdf", "application/pdf", ""},
		{"noter.txt", "", []byte("Filer begynder med %PDF-1.7"), ConvertPDF, "text", "noter.pdf", "application/pdf", ""},
		{"foto.jpg", "image/jpeg", jpegHead, Keep, "jpeg", "foto.jpg", "image/jpeg", ""},
		{"foto.png", "image/png", jpegHead, Keep, "jpeg", "foto.jpg", "image/jpeg", ""},
		{"skærm.png", "", pngHead, Keep, "png", "skærm.png", "image/png", ""},
		{"referat.docx", "application/octet-stream", zipHead, Keep, "docx", "referat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ""},
		{"budget.xlsx", "", zipHead, Keep, "xlsx", "budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ""},
		{"referat", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", zipHead, Keep, "docx", "referat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ""},
		{"brev.odt", "", odtHead, Keep, "odt", "brev.odt", "application/vnd.oasis.opendocument.text", ""},
		{"brev.pdf", "", odtHead, Keep, "odt", "brev.odt", "application/vnd.oasis.opendocument.text", ""},
		{"gammel.doc", "application/msword", oleHead, Keep, "doc", "gammel.doc", "application/msword", ""},
		{"filer.zip", "application/zip", zipHead, Refuse, "zip", "filer.zip", "", "attachment_archive"},
		{"referat.pdf", "application/pdf", zipHead, Refuse, "zip", "referat.pdf", "", "attachment_archive"},
		{"ukendt.doc", "", oleHead[:8], Keep, "doc", "ukendt.doc", "application/msword", ""},
		{"ole.bin", "", oleHead, Refuse, "", "ole.bin", "", "attachment_format"},
		{"setup.msi", "", oleHead, Refuse, "executable", "setup.msi", "", "attachment_executable"},
		// Text is converted to PDF.
		{"noter.txt", "text/plain", []byte("Kære Jens\n\nHer er noterne."), ConvertPDF, "text", "noter.pdf", "application/pdf", ""},
		{"README.md", "text/markdown", []byte("# Overskrift\n\n*punkt*"), ConvertPDF, "markdown", "README.pdf", "application/pdf", ""},
		{"side.html", "text/html", []byte("<p>hej</p>"), ConvertPDF, "html", "side.pdf", "application/pdf", ""},
		{"side", "", []byte("<!DOCTYPE html><html><body>hej</body></html>"), ConvertPDF, "html", "side.pdf", "application/pdf", ""},
		{"notat.docx", "", []byte("bare tekst, ikke Word"), ConvertPDF, "text", "notat.pdf", "application/pdf", ""},
		{"latin1.txt", "", []byte("K\xe6re J\xf8rgen, s\xe5dan."), ConvertPDF, "text", "latin1.pdf", "application/pdf", ""},
		{"Videresendt.eml", "message/rfc822", []byte("From: a@b.dk\r\nSubject: Hej\r\n\r\nTekst"), ConvertPDF, "eml", "Videresendt.pdf", "application/pdf", ""},
		// Text underneath, but not text to read.
		{"brev.rtf", "application/rtf", []byte("{\\rtf1\\ansi Hej}"), Refuse, "rtf", "brev.rtf", "", "attachment_format"},
		{"brev.txt", "text/plain", []byte("{\\rtf1\\ansi Hej}"), Refuse, "rtf", "brev.txt", "", "attachment_format"},
		{"logo.svg", "image/svg+xml", []byte("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"), Refuse, "svg", "logo.svg", "", "attachment_format"},
		// Programs are refused by content and by name, also when the content is text.
		{"faktura.exe", "application/octet-stream", exeHead, Refuse, "executable", "faktura.exe", "", "attachment_executable"},
		{"faktura.pdf", "application/pdf", exeHead, Refuse, "executable", "faktura.pdf", "", "attachment_executable"},
		{"værktøj", "", elfHead, Refuse, "executable", "værktøj", "", "attachment_executable"},
		{"run.bat", "text/plain", []byte("@echo off\r\ndel *.*"), Refuse, "executable", "run.bat", "", "attachment_executable"},
		{"script.txt", "text/plain", []byte("#!/bin/sh\nrm -rf /"), Refuse, "executable", "script.txt", "", "attachment_executable"},
		{"x.pdf", "application/x-msdownload", pdfHead, Refuse, "executable", "x.pdf", "", "attachment_executable"},
		// Empty and unknown files are refused.
		{"tom.pdf", "application/pdf", nil, Refuse, "", "tom.pdf", "", "attachment_empty"},
		{"data.bin", "", []byte("\x00\x01\x02\x03garbage\x00"), Refuse, "", "data.bin", "", "attachment_format"},
		// The name is cleaned on the way.
		{"bilag\u00a0om\u2003sagen.pdf", "application/pdf", pdfHead, Keep, "pdf", "bilag om sagen.pdf", "application/pdf", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.format, func(t *testing.T) {
			d := Decide(tt.name, tt.declared, tt.head, 0)
			gotFormat := ""
			if d.Format != nil {
				gotFormat = d.Format.ID
			}
			if d.Action != tt.action || gotFormat != tt.format || d.Filename != tt.filename || d.Code != tt.code {
				t.Errorf("Decide(%q, %q) = action %d format %q name %q code %q; want %d %q %q %q",
					tt.name, tt.declared, d.Action, gotFormat, d.Filename, d.Code, tt.action, tt.format, tt.filename, tt.code)
			}
			if d.Action != Refuse && d.ContentType != tt.contentType {
				t.Errorf("content type %q, want %q", d.ContentType, tt.contentType)
			}
			if d.Action == Refuse && (!strings.Contains(d.Message, "»"+tt.filename+"«") || d.Message == "") {
				t.Errorf("refusal does not name the file: %q", d.Message)
			}
		})
	}
}

func TestDecisionPrintable(t *testing.T) {
	for _, tt := range []struct {
		name string
		head []byte
		want bool
	}{
		{"a.pdf", pdfHead, true}, {"a.jpg", jpegHead, true}, {"a.png", pngHead, true},
		{"a.txt", []byte("tekst"), true}, // converted to PDF first
		{"a.docx", zipHead, false}, {"a.gif", []byte("GIF89a\x01\x00"), false},
	} {
		if got := Decide(tt.name, "", tt.head, 0).Printable(); got != tt.want {
			t.Errorf("%s printable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The table is consistent: every format has a name, a media type and an
// extension, and no extension belongs to two formats.
func TestFormatsTable(t *testing.T) {
	seen := map[string]string{}
	for _, f := range Formats {
		if f.ID == "" || f.Name == "" || f.MediaType == "" || len(f.Exts) == 0 {
			t.Errorf("incomplete format %+v", f)
		}
		for _, e := range f.Exts {
			if other, ok := seen[e]; ok {
				t.Errorf("extension %s is both %s and %s", e, other, f.ID)
			}
			seen[e] = f.ID
		}
	}
}

// TestPrepareForwards: without a converter (the agent) a file to convert
// is judged as with one and comes back as it is, to be stored under its
// Source name; the relay's Decide on that name, the format's media type
// and the same bytes says the same again, so what the relay converts is
// what the agent judged.
func TestPrepareForwards(t *testing.T) {
	now := time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ name, declared, content, source string }{
		{"noter.txt", "text/plain", "Kære Jens", "noter.txt"},
		{"README.md", "", "# Overskrift", "README.md"},
		{"side", "", "<!DOCTYPE html><html><body>hej</body></html>", "side.html"},
		{"notat.docx", "", "bare tekst, ikke Word", "notat.txt"},
		{"latin1.txt", "", "K\xe6re J\xf8rgen", "latin1.txt"},
		{"Videresendt.eml", "message/rfc822", "From: a@b.dk\r\nSubject: Hej\r\n\r\nTekst", "Videresendt.eml"},
		{"x", "text/markdown", "*punkt*", "x.md"},
	} {
		d, r, err := Prepare(tt.name, tt.declared, strings.NewReader(tt.content), 0, now, nil)
		if err != nil || d.Action != ConvertPDF || r == nil {
			t.Fatalf("%s: %+v %v", tt.name, d, err)
		}
		if got, _ := io.ReadAll(r); string(got) != tt.content {
			t.Errorf("%s: forwarded %q, want it as it is", tt.name, got)
		}
		if d.Source != tt.source || d.Filename == d.Source {
			t.Errorf("%s: source %q (filename %q), want %q", tt.name, d.Source, d.Filename, tt.source)
		}
		again := Decide(d.Source, d.Format.MediaType, []byte(tt.content), 7)
		if again.Action != ConvertPDF || again.Format != d.Format || again.Filename != d.Filename || again.Source != d.Source || again.EightBit != d.EightBit {
			t.Errorf("%s: the relay would decide %+v, the agent decided %+v", tt.name, again, d)
		}
	}
	// Too large to convert: the body fails past the limit, and the
	// refusal is the one the relay would give.
	_, r, err := Prepare("stor.txt", "", io.LimitReader(repeatReader('a'), MaxConvertBytes+10), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrTooLargeToConvert) {
		t.Errorf("large text read on: %v", err)
	}
	// Exactly at the limit passes.
	_, r, _ = Prepare("stor.txt", "", io.LimitReader(repeatReader('a'), MaxConvertBytes), 0, now, nil)
	if n, err := io.Copy(io.Discard, r); err != nil || n != MaxConvertBytes {
		t.Errorf("text at the limit: %d %v", n, err)
	}
	// A converter's failure is a definitive refusal naming the file.
	fail := func(io.Writer, Decision, io.Reader, time.Time) error { return errors.New("font missing") }
	d, r, err := Prepare("noter.txt", "", strings.NewReader("hej"), 0, now, fail)
	if err != nil || r != nil || d.Action != Refuse || d.Code != "attachment_not_converted" || !strings.Contains(d.Message, "»noter.txt«") || d.Err() == nil {
		t.Errorf("failed conversion: %+v %v %v", d, r, err)
	}
	d, r, err = Prepare("stor.txt", "", io.LimitReader(repeatReader('a'), MaxConvertBytes+10), 0, now, fail)
	if err != nil || r != nil || d.Code != "attachment_too_large_to_convert" || !strings.Contains(d.Message, "»stor.txt«") {
		t.Errorf("large text with a converter: %+v %v", d, err)
	}
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func FuzzDecide(f *testing.F) {
	for _, h := range [][]byte{pdfHead, jpegHead, pngHead, zipHead, oleHead, odtHead, exeHead, []byte("tekst"), nil, []byte("K\xe6re")} {
		f.Add("bilag.pdf", "application/pdf", h)
	}
	f.Fuzz(func(t *testing.T, name, declared string, head []byte) {
		d := Decide(name, declared, head, 0)
		switch d.Action {
		case Refuse:
			if d.Code == "" || d.Message == "" {
				t.Fatalf("refusal without code or message: %+v", d)
			}
		case Keep, ConvertPDF:
			if d.Format == nil || d.ContentType == "" || d.Filename == "" {
				t.Fatalf("incomplete decision: %+v", d)
			}
			if d.Format.Action != d.Action {
				t.Fatalf("decision %d for a %s file", d.Action, d.Format.ID)
			}
			if Sniff(head) == "executable" {
				t.Fatalf("an executable passes: %+v", d)
			}
		default:
			t.Fatalf("unknown action %d", d.Action)
		}
		if d.Filename != CleanName(d.Filename, 0) {
			t.Fatalf("name %q is not clean", d.Filename)
		}
		if d.Action == ConvertPDF {
			// The agent forwards it under Source; the relay must decide
			// the same (TestPrepareForwards).
			again := Decide(d.Source, d.Format.MediaType, head, 3)
			if again.Action != ConvertPDF || again.Format != d.Format || again.Filename != d.Filename || again.Source != d.Source || again.EightBit != d.EightBit {
				t.Fatalf("forwarded as %q, %s: the relay would decide %+v, the agent decided %+v", d.Source, d.Format.MediaType, again, d)
			}
		}
	})
}
