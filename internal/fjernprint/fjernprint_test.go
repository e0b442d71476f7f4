package fjernprint

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/fjernprint/fjernprinttest"
	"sendsikkert/internal/letter"
)

// TestSchemaCatchesMistakes proves the validation can fail: a document
// without its required DokumentParametre, with an impossible CPR number
// or an unknown element is refused.
func TestSchemaCatchesMistakes(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(func(w io.Writer) error { _, err := io.WriteString(w, "%PDF"); return err })); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	bad := map[string]string{
		"no DokumentParametre": regexp.MustCompile(`<fjernprint:DokumentParametre>.*</fjernprint:DokumentParametre>`).ReplaceAllString(doc, ""),
		"bad CPR":              strings.Replace(doc, "0707614285", "3213771212", 1),
		"unknown element":      strings.Replace(doc, "<dkal:FilformatNavn>", "<dkal:Ukendt/><dkal:FilformatNavn>", 1),
	}
	for name, d := range bad {
		if d == doc {
			t.Fatalf("%s: tampering changed nothing", name)
		}
		if out, err := fjernprinttest.Run(t, []byte(d)); err == nil {
			t.Errorf("%s: xmllint accepted it\n%s", name, out)
		}
	}
}

func sampleLetter() *letter.Letter {
	return &letter.Letter{
		Sender:    letter.Address{Name: "Demo Kommune", Lines: []string{"Rådhuset", "8800 Viborg"}},
		Recipient: letter.Address{Name: "Jens Fritagesen", Lines: []string{"Testvej 1, 2. tv", "8800 Viborg"}},
		Date:      time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Subject:   "Afgørelse om boligstøtte",
		BodyHTML:  "<p>Kære Jens</p><p>Du får boligstøtte &amp; varmehjælp.</p>",
	}
}

func sample(pdf func(io.Writer) error) *Forsendelse {
	return &Forsendelse{
		ID:   "0f8fad5b-d9cb-469f-a165-70867728950e",
		Type: 265,
		Recipient: Recipient{
			CPR:     "0707614285",
			Name:    "Jens Fritagesen",
			Address: []string{"Testvej 1, 2. tv", "8800 Viborg"},
		},
		Title: "Afgørelse om boligstøtte",
		Date:  time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		PDF:   pdf,
	}
}

func TestWriteValidatesAgainstSchema(t *testing.T) {
	var buf bytes.Buffer
	f := sample(func(w io.Writer) error { return letter.WriteLetter(w, sampleLetter()) })
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	fjernprinttest.Validate(t, buf.Bytes())

	// The content decodes to the PDF the letter renders to.
	var doc struct {
		Data string `xml:"urn:oio:dkal:1.0.0 MeddelelseIndholdData"`
		Type string `xml:"urn:oio:dkal:1.0.0 FilformatNavn"`
		CPR  string `xml:"ForsendelseModtager>AfsendelseModtager>CPRnummerIdentifikator"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	pdf, err := base64.StdEncoding.DecodeString(doc.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || doc.Type != "pdf" || doc.CPR != "0707614285" {
		t.Fatalf("content %q…, type %q, cpr %q", pdf[:min(8, len(pdf))], doc.Type, doc.CPR)
	}
}

func TestWriteVariantsValidate(t *testing.T) {
	small := func(w io.Writer) error { _, err := io.WriteString(w, "%PDF-1.4\n%%EOF\n"); return err }
	cases := map[string]func(f *Forsendelse){
		"company":        func(f *Forsendelse) { f.Recipient.CPR, f.Recipient.CVR = "", "12345674" },
		"no number":      func(f *Forsendelse) { f.Recipient.CPR = "" },
		"no type":        func(f *Forsendelse) { f.Type = 0 },
		"no title, date": func(f *Forsendelse) { f.Title, f.Date = "", time.Time{} },
		"six lines, c/o": func(f *Forsendelse) {
			f.Recipient.Address = []string{"c/o Kommunen", "Lukketvej 3", "Bygning B", "Postboks 12", "7100 Vejle", "Danmark"}
		},
		"abroad": func(f *Forsendelse) {
			f.Recipient.Address, f.Recipient.Country = []string{"Storgatan 1", "SE-111 22 Stockholm"}, "SE"
		},
		"escapes": func(f *Forsendelse) {
			f.Recipient.Name, f.Title = `Ib "Bøf" & <Søn>`, "Svar på <din> ansøgning & mere"
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			f := sample(small)
			change(f)
			var buf bytes.Buffer
			if err := Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			fjernprinttest.Validate(t, buf.Bytes())
		})
	}
}

func TestInvalidLettersWriteNothing(t *testing.T) {
	cases := map[string]func(f *Forsendelse){
		"no id":         func(f *Forsendelse) { f.ID = "" },
		"long id":       func(f *Forsendelse) { f.ID = strings.Repeat("a", 39) },
		"bad cpr":       func(f *Forsendelse) { f.Recipient.CPR = "3213771212" },
		"bad cvr":       func(f *Forsendelse) { f.Recipient.CPR, f.Recipient.CVR = "", "1234" },
		"both":          func(f *Forsendelse) { f.Recipient.CVR = "12345674" },
		"no name":       func(f *Forsendelse) { f.Recipient.Name = " " },
		"no address":    func(f *Forsendelse) { f.Recipient.Address = []string{" "} },
		"long line":     func(f *Forsendelse) { f.Recipient.Address = []string{strings.Repeat("x", 35)} },
		"seven lines":   func(f *Forsendelse) { f.Recipient.Address = strings.Split("a b c d e f g", " ") },
		"control char":  func(f *Forsendelse) { f.Title = "a\x01b" },
		"no pdf":        func(f *Forsendelse) { f.PDF = nil },
		"lower country": func(f *Forsendelse) { f.Recipient.Country = "dk" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			called := false
			f := sample(func(io.Writer) error { called = true; return nil })
			change(f)
			var buf bytes.Buffer
			err := Write(&buf, f)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if buf.Len() != 0 || called {
				t.Fatalf("wrote %d bytes, PDF called %v", buf.Len(), called)
			}
			if strings.Contains(err.Error(), "0707614285") || strings.Contains(err.Error(), "3213771212") {
				t.Fatalf("error holds a CPR number: %v", err)
			}
		})
	}
}

func TestPDFErrorIsReturned(t *testing.T) {
	boom := errors.New("attachment store failed")
	err := Write(io.Discard, sample(func(w io.Writer) error { return boom }))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteElementHasNoDeclaration(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteElement(&buf, sample(func(w io.Writer) error { _, err := w.Write([]byte("%PDF")); return err })); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "<fjernprint:ForsendelseI ") {
		t.Fatalf("starts %q", buf.String()[:40])
	}
}

// BenchmarkWrite20MB streams a 20 MB letter; bytes allocated per op stay
// a small fraction of the letter.
func BenchmarkWrite20MB(b *testing.B) {
	const size = 20 << 20
	chunk := bytes.Repeat([]byte("%PDF-1.7 0123456789abcdef"), 1<<12)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		f := sample(func(w io.Writer) error {
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		})
		if err := Write(io.Discard, f); err != nil {
			b.Fatal(err)
		}
	}
}
