package memo

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Test parties use the fictitious numbers of the official MeMo examples.
const (
	testUUID         = "0f8fad5b-d9cb-469f-a165-70867728950e"
	testCPR          = "2211771212"
	testCVR          = "12345678"
	testContactPoint = "241d39f6-998e-4929-b198-ccacbbf4b330"
)

var testCreated = time.Date(2025, 3, 14, 13, 37, 42, 123456789, time.FixedZone("CET", 3600))

// bytesDoc returns a document whose Open serves data.
func bytesDoc(filename, format string, data []byte) Document {
	return Document{
		Filename:       filename,
		EncodingFormat: format,
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		},
	}
}

// pdfish is a few bytes that look like a PDF; the schema only sees base64.
func pdfish(title string) []byte {
	return []byte("%PDF-1.7\n% " + title + "\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n\x00\xff\xfe")
}

// cprMessage is the full case: citizen recipient, reply mailbox, reply
// allowed, an HTML letter and two attachments.
func cprMessage() *Message {
	main := bytesDoc("brev.html", "text/html", []byte("<!DOCTYPE html><html lang=\"da\"><body><p>Kære Mette &amp; familie,</p><p>Vedlagt afgørelsen.</p></body></html>"))
	main.Label = "Afgørelse om børnehaveplads"
	a1 := bytesDoc("afgørelse.pdf", "application/pdf", pdfish("afgørelse"))
	a1.Label = "Afgørelse"
	a2 := bytesDoc("vejledning.pdf", "application/pdf", pdfish("vejledning"))
	a2.Language = "en"
	return &Message{
		UUID:           testUUID,
		Label:          "Svar på din ansøgning",
		Created:        testCreated,
		Reply:          true,
		Sender:         Party{ID: testCVR, IDType: IDTypeCVR, Label: "Aalborg Kommune"},
		ContactPointID: testContactPoint,
		Recipient:      Party{ID: testCPR, IDType: IDTypeCPR, Label: "Mette Hansen"},
		Main:           main,
		Additional:     []Document{a1, a2},
	}
}

// cvrMessage is the minimal company case: no label for the recipient, no
// contact point, no reply, a plain-text letter.
func cvrMessage() *Message {
	return &Message{
		UUID:      "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		Label:     "Kvittering for indberetning",
		Created:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Sender:    Party{ID: testCVR, IDType: IDTypeCVR, Label: "Styrelsen"},
		Recipient: Party{ID: "87654321", IDType: IDTypeCVR},
		Main:      bytesDoc("kvittering.txt", "text/plain", []byte("Tak for din indberetning.\n")),
	}
}

func write(t testing.TB, m *Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, m); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *Message)
		want   error
	}{
		{"nil message", nil, ErrMissing},
		{"empty UUID", func(m *Message) { m.UUID = "" }, ErrMissing},
		{"garbage UUID", func(m *Message) { m.UUID = "not-a-uuid" }, ErrInvalidUUID},
		{"upper-case UUID", func(m *Message) { m.UUID = strings.ToUpper(testUUID) }, ErrInvalidUUID},
		{"UUID without dashes", func(m *Message) { m.UUID = strings.ReplaceAll(testUUID, "-", "") }, ErrInvalidUUID},
		{"version 1 UUID", func(m *Message) { m.UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8" }, ErrInvalidUUID},
		{"version 7 UUID", func(m *Message) { m.UUID = "01960d2c-7b3a-7cc2-9d1e-3f6a5b4c3d2e" }, ErrInvalidUUID},
		{"non-RFC 4122 variant", func(m *Message) { m.UUID = "0f8fad5b-d9cb-469f-c165-70867728950e" }, ErrInvalidUUID},
		{"empty label", func(m *Message) { m.Label = "" }, ErrMissing},
		{"blank label", func(m *Message) { m.Label = " \t\n" }, ErrMissing},
		{"label 257 characters", func(m *Message) { m.Label = strings.Repeat("å", 257) }, ErrTooLong},
		{"label with NUL", func(m *Message) { m.Label = "a\x00b" }, ErrInvalidText},
		{"label with form feed", func(m *Message) { m.Label = "a\fb" }, ErrInvalidText},
		{"label invalid UTF-8", func(m *Message) { m.Label = "bl\xe5b\xe6r" }, ErrInvalidText},
		{"zero created", func(m *Message) { m.Created = time.Time{} }, ErrMissing},
		{"recipient CPR 9 digits", func(m *Message) { m.Recipient.ID = "221177121" }, ErrInvalidID},
		{"recipient CPR with dash", func(m *Message) { m.Recipient.ID = "221177-1212" }, ErrInvalidID},
		{"recipient CPR 10 chars with dash", func(m *Message) { m.Recipient.ID = "221177-121" }, ErrInvalidID},
		{"recipient CPR non-ASCII digits", func(m *Message) { m.Recipient.ID = "２２11771212" }, ErrInvalidID},
		{"recipient CVR 10 digits", func(m *Message) { m.Recipient.IDType = IDTypeCVR }, ErrInvalidID},
		{"recipient CPR 8 digits", func(m *Message) { m.Recipient.ID = testCVR }, ErrInvalidID},
		{"recipient empty ID", func(m *Message) { m.Recipient.ID = "" }, ErrMissing},
		{"recipient unknown ID type", func(m *Message) { m.Recipient.IDType = "SE" }, ErrUnknownIDType},
		{"recipient lower-case ID type", func(m *Message) { m.Recipient.IDType = "cpr" }, ErrUnknownIDType},
		{"recipient empty ID type", func(m *Message) { m.Recipient.IDType = "" }, ErrMissing},
		{"recipient label too long", func(m *Message) { m.Recipient.Label = strings.Repeat("x", 257) }, ErrTooLong},
		{"sender bad CVR", func(m *Message) { m.Sender.ID = "1234567" }, ErrInvalidID},
		{"sender unknown ID type", func(m *Message) { m.Sender.IDType = "P-nummer" }, ErrUnknownIDType},
		{"sender without label", func(m *Message) { m.Sender.Label = "" }, ErrMissing},
		{"contact point too long", func(m *Message) { m.ContactPointID = strings.Repeat("1", 257) }, ErrTooLong},
		{"missing main document", func(m *Message) { m.Main = Document{} }, ErrNoMainDocument},
		{"main without Open", func(m *Message) { m.Main.Open = nil }, ErrNoOpen},
		{"main without filename", func(m *Message) { m.Main.Filename = "" }, ErrMissing},
		{"main without encoding format", func(m *Message) { m.Main.EncodingFormat = "" }, ErrMissing},
		{"main encoding format without slash", func(m *Message) { m.Main.EncodingFormat = "pdf" }, ErrInvalidEncodingFormat},
		{"main encoding format extension", func(m *Message) { m.Main.EncodingFormat = ".pdf" }, ErrInvalidEncodingFormat},
		{"main language three letters", func(m *Message) { m.Main.Language = "dan" }, ErrInvalidLanguage},
		{"main language upper case", func(m *Message) { m.Main.Language = "DA" }, ErrInvalidLanguage},
		{"main label too long", func(m *Message) { m.Main.Label = strings.Repeat("ø", 257) }, ErrTooLong},
		{"additional without Open", func(m *Message) { m.Additional[1].Open = nil }, ErrNoOpen},
		{"additional filename too long", func(m *Message) { m.Additional[0].Filename = strings.Repeat("a", 253) + ".pdf" }, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *Message
			opened := 0
			if tt.mutate != nil {
				m = cprMessage()
				// Count opens to prove validation happens before streaming.
				for _, d := range append([]*Document{&m.Main}, &m.Additional[0], &m.Additional[1]) {
					open := d.Open
					d.Open = func() (io.ReadCloser, error) { opened++; return open() }
				}
				tt.mutate(m)
			}
			var buf bytes.Buffer
			err := Write(&buf, m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Write error = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "memo: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if strings.Contains(err.Error(), testCPR[:6]) {
				t.Errorf("error %q leaks the CPR number", err)
			}
			if buf.Len() != 0 {
				t.Errorf("invalid message wrote %d bytes", buf.Len())
			}
			if opened != 0 {
				t.Errorf("invalid message opened %d documents", opened)
			}
		})
	}
}

func TestValidLimits(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *Message)
	}{
		{"label exactly 256 Danish characters (512 bytes)", func(m *Message) { m.Label = strings.Repeat("æ", 256) }},
		{"recipient without label", func(m *Message) { m.Recipient.Label = "" }},
		{"no contact point", func(m *Message) { m.ContactPointID = "" }},
		{"no additional documents", func(m *Message) { m.Additional = nil }},
		{"media type with parameter", func(m *Message) { m.Main.EncodingFormat = "text/html; charset=utf-8" }},
		{"label with tab, newline and CR", func(m *Message) { m.Label = "a\tb\nc\rd" }},
		{"label with emoji", func(m *Message) { m.Label = "Husk 📎 bilag" }},
		{"main with only Open", func(m *Message) { m.Main.Label = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := cprMessage()
			tt.mutate(m)
			if err := m.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			out := write(t, m)
			got := parse(t, out)
			if got.Header.Label != m.Label {
				t.Errorf("label = %q, want %q", got.Header.Label, m.Label)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	m := cprMessage()
	m.Label = `Afgørelse <&> "æøå" 'ÆØÅ' ]]> slut`
	m.Sender.Label = "Sønderborg & Æbeltoft <Kommune>"
	m.Recipient.Label = "Åse Ørsted-Æblegaard"
	m.Main.Filename = "brev <1> & æ.html"
	m.Main.Label = "</memo:label><memo:evil/>"

	out := write(t, m)
	for _, want := range []string{
		"Afgørelse &lt;&amp;&gt; &#34;æøå&#34; &#39;ÆØÅ&#39; ]]&gt; slut",
		"Sønderborg &amp; Æbeltoft &lt;Kommune&gt;",
		"Åse Ørsted-Æblegaard",
		"&lt;/memo:label&gt;&lt;memo:evil/&gt;",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if bytes.Contains(out, []byte("<memo:evil")) {
		t.Error("label text became markup")
	}

	got := parse(t, out)
	for _, c := range []struct{ field, got, want string }{
		{"label", got.Header.Label, m.Label},
		{"sender label", got.Header.Sender.Label, m.Sender.Label},
		{"recipient label", got.Header.Recipient.Label, m.Recipient.Label},
		{"main filename", got.Body.Main.File.Filename, m.Main.Filename},
		{"main label", got.Body.Main.Label, m.Main.Label},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
}

// CR, LF and tab must survive a parse: a raw CR would be normalised away by
// the reader, so it has to be written as a character reference.
func TestWhitespaceSurvives(t *testing.T) {
	m := cprMessage()
	m.Label = "linje 1\r\nlinje 2\tslut"
	if got := parse(t, write(t, m)).Header.Label; got != m.Label {
		t.Errorf("label = %q, want %q", got, m.Label)
	}
}

func TestHeaderAndBody(t *testing.T) {
	got := parse(t, write(t, cprMessage()))
	h := got.Header
	checks := []struct{ field, got, want string }{
		{"memoVersion", got.Version, "1.2"},
		{"messageType", h.MessageType, "DIGITALPOST"},
		{"messageUUID", h.UUID, testUUID},
		{"reply", h.Reply, "true"},
		{"senderID", h.Sender.ID, testCVR},
		{"sender idType", h.Sender.IDType, "CVR"},
		{"contactPointID", h.Sender.ContactPoint.ID, testContactPoint},
		{"recipientID", h.Recipient.ID, testCPR},
		{"recipient idType", h.Recipient.IDType, "CPR"},
		{"createdDateTime", got.Body.Created, "2025-03-14T12:37:42Z"},
		{"main encodingFormat", got.Body.Main.File.EncodingFormat, "text/html"},
		{"main language", got.Body.Main.File.Language, "da"},
		{"additional 2 language", got.Body.Additional[1].File.Language, "en"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if n := len(got.Body.Additional); n != 2 {
		t.Fatalf("%d AdditionalDocument elements, want 2", n)
	}

	got = parse(t, write(t, cvrMessage()))
	if got.Header.Reply != "false" {
		t.Errorf("reply = %q, want false", got.Header.Reply)
	}
	if got.Header.Sender.ContactPoint != nil {
		t.Error("ContactPoint written without a contact point ID")
	}
	if got.Header.Recipient.HasLabel {
		t.Error("recipient label written although empty")
	}
	if got.Body.Main.HasLabel {
		t.Error("main document label written although empty")
	}
}

func TestContentRoundTrip(t *testing.T) {
	big := make([]byte, 5<<20+7) // not a multiple of 3, so padding is exercised
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0xff}},
		{"two bytes", []byte{0x00, 0x01}},
		{"three bytes", []byte("abc")},
		{"markup and Danish text", []byte("<p>Kære & ]]> æøå</p>\r\n")},
		{"5 MB random", big},
	}
	m := cprMessage()
	m.Additional = nil
	for _, tt := range tests {
		m.Additional = append(m.Additional, bytesDoc(tt.name+".bin", "application/octet-stream", tt.data))
	}
	got := parse(t, write(t, m))
	if len(got.Body.Additional) != len(tests) {
		t.Fatalf("%d additional documents, want %d", len(got.Body.Additional), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := got.Body.Additional[i].File
			if f.Filename != tt.name+".bin" {
				t.Errorf("filename = %q", f.Filename)
			}
			decoded, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				t.Fatalf("decode content: %v", err)
			}
			if sha256.Sum256(decoded) != sha256.Sum256(tt.data) {
				t.Errorf("content differs: got %d bytes, want %d", len(decoded), len(tt.data))
			}
		})
	}
}

// TestStreaming shows the content reaches w while the document is still
// being read, i.e. Write does not collect a document before encoding it.
func TestStreaming(t *testing.T) {
	const size = 8 << 20
	var out countingWriter
	r := &probeReader{remaining: size, onLast: func() int64 { return out.n }}
	m := cprMessage()
	m.Additional = []Document{{
		Filename:       "stor.pdf",
		EncodingFormat: "application/pdf",
		Open:           func() (io.ReadCloser, error) { return r, nil },
	}}
	if err := Write(&out, m); err != nil {
		t.Fatal(err)
	}
	if !r.closed {
		t.Error("document not closed")
	}
	// By the last read, all but the final chunk (and the buffers) must have
	// been written as base64: 4/3 of the bytes read so far.
	if min := int64(size) * 4 / 3 / 2; r.writtenAtLast < min {
		t.Errorf("only %d bytes written before the last read of an %d byte document", r.writtenAtLast, size)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

type probeReader struct {
	remaining     int
	onLast        func() int64
	writtenAtLast int64
	closed        bool
}

func (r *probeReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.remaining)
	r.remaining -= n
	if r.remaining == 0 {
		r.writtenAtLast = r.onLast()
	}
	for i := range p[:n] {
		p[i] = byte(i)
	}
	return n, nil
}

func (r *probeReader) Close() error { r.closed = true; return nil }

func TestDocumentErrors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		doc       func(*trackingReader) Document
		want      error
		wantWhere string
		wantClose bool
	}{
		{
			name: "open fails",
			doc: func(*trackingReader) Document {
				d := bytesDoc("b.pdf", "application/pdf", nil)
				d.Open = func() (io.ReadCloser, error) { return nil, errBoom }
				return d
			},
			want: errBoom, wantWhere: "additional document 2: open",
		},
		{
			name: "open returns nil reader",
			doc: func(*trackingReader) Document {
				d := bytesDoc("b.pdf", "application/pdf", nil)
				d.Open = func() (io.ReadCloser, error) { return nil, nil }
				return d
			},
			want: ErrNoOpen, wantWhere: "additional document 2",
		},
		{
			name: "read fails half-way",
			doc: func(tr *trackingReader) Document {
				tr.Reader = io.MultiReader(strings.NewReader("partial"), &failingReader{errBoom})
				d := bytesDoc("b.pdf", "application/pdf", nil)
				d.Open = func() (io.ReadCloser, error) { return tr, nil }
				return d
			},
			want: errBoom, wantWhere: "additional document 2: copy content", wantClose: true,
		},
		{
			name: "close fails",
			doc: func(tr *trackingReader) Document {
				tr.Reader = strings.NewReader("whole")
				tr.closeErr = errBoom
				d := bytesDoc("b.pdf", "application/pdf", nil)
				d.Open = func() (io.ReadCloser, error) { return tr, nil }
				return d
			},
			want: errBoom, wantWhere: "additional document 2: close", wantClose: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &trackingReader{}
			m := cprMessage()
			m.Additional[1] = tt.doc(tr)
			err := Write(io.Discard, m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Write error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantWhere) {
				t.Errorf("error %q does not say %q", err, tt.wantWhere)
			}
			if tr.closed != tt.wantClose {
				t.Errorf("closed = %v, want %v", tr.closed, tt.wantClose)
			}
		})
	}
}

func TestWriterError(t *testing.T) {
	errFull := errors.New("disk full")
	err := Write(&failingWriter{after: 100, err: errFull}, cprMessage())
	if !errors.Is(err, errFull) {
		t.Fatalf("Write error = %v, want %v", err, errFull)
	}
}

type trackingReader struct {
	io.Reader
	closeErr error
	closed   bool
}

func (r *trackingReader) Close() error { r.closed = true; return r.closeErr }

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

type failingWriter struct {
	after int
	err   error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		return w.after, w.err
	}
	w.after -= len(p)
	return len(p), nil
}

// TestGolden pins the exact bytes, so a change in element order or layout is
// a visible diff; the golden files are also validated by TestSchema.
func TestGolden(t *testing.T) {
	for name, m := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			got := write(t, m)
			path := filepath.Join("testdata", name+".xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update after checking the diff)\ngot:\n%s", path, got)
			}
		})
	}
}

func goldenMessages() map[string]*Message {
	return map[string]*Message{"cpr_full": cprMessage(), "cvr_minimal": cvrMessage()}
}

// --- schema validation with xmllint ---

// requireTools skips a test that needs an external tool, unless CI demands
// that the tools be there.
func requireTools(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set SENDSIKKERT_REQUIRE_TOOLS=1 to fail instead)", args...)
}

// xmllint returns a function that validates a file against MeMo 1.2.
func xmllint(t testing.TB) func(file string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		requireTools(t, "xmllint not on PATH (apt-get install libxml2-utils)")
	}
	schema := schemas.MeMo12()
	if _, err := os.Stat(schema); err != nil {
		requireTools(t, "MeMo schema not found: %v", err)
	}
	return func(file string) (string, error) {
		out, err := exec.Command(bin, "--noout", "--schema", schema, file).CombinedOutput()
		return string(out), err
	}
}

func TestSchema(t *testing.T) {
	validate := xmllint(t)
	dir := t.TempDir()
	for name, m := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(file, write(t, m), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := validate(file); err != nil {
				t.Fatalf("xmllint: %v\n%s", err, out)
			}
			if out, err := validate(filepath.Join("testdata", name+".xml")); err != nil {
				t.Errorf("golden file: xmllint: %v\n%s", err, out)
			}
		})
	}
}

// TestSchemaOfficialExamples checks the xmllint invocation itself: the
// examples published with the schema must validate.
func TestSchemaOfficialExamples(t *testing.T) {
	validate := xmllint(t)
	files, err := filepath.Glob(filepath.Join(schemas.MeMoExamples(), "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no official examples found: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if out, err := validate(file); err != nil {
				t.Fatalf("xmllint: %v\n%s", err, out)
			}
		})
	}
}

// TestSchemaRejects proves the schema check has teeth: each mutation breaks
// a rule Write relies on, and xmllint must refuse it.
func TestSchemaRejects(t *testing.T) {
	validate := xmllint(t)
	good := string(write(t, cprMessage()))
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("generated message lacks %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	tests := []struct {
		name   string
		mutate func(string) string
	}{
		{"reply after Sender", func(s string) string {
			s = replace(s, "\n\t\t<memo:reply>true</memo:reply>", "")
			return replace(s, "</memo:Sender>", "</memo:Sender>\n\t\t<memo:reply>true</memo:reply>")
		}},
		{"version 7 UUID", func(s string) string { return replace(s, testUUID, "01960d2c-7b3a-7cc2-9d1e-3f6a5b4c3d2e") }},
		{"sender without label", func(s string) string { return replace(s, "<memo:label>Aalborg Kommune</memo:label>", "") }},
		{"date-time with offset", func(s string) string { return replace(s, "2025-03-14T12:37:42Z", "2025-03-14T13:37:42+01:00") }},
		{"label 257 characters", func(s string) string { return replace(s, "Svar på din ansøgning", strings.Repeat("æ", 257)) }},
		{"three-letter language", func(s string) string { return replace(s, "<memo:language>da<", "<memo:language>dan<") }},
		{"wrong namespace", func(s string) string { return replace(s, Namespace, "https://DigitalPost.dk/MeMo-2") }},
		// libxml2 skips characters outside the base64 alphabet (so "!" would
		// pass), but it does count the length; the round-trip tests decode
		// with encoding/base64 to catch the rest.
		{"content of wrong length", func(s string) string { return replace(s, "<memo:content>", "<memo:content>A") }},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("mutation%d.xml", i))
			if err := os.WriteFile(file, []byte(tt.mutate(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := validate(file); err == nil {
				t.Fatalf("xmllint accepted it:\n%s", out)
			}
		})
	}
}

// --- parsing the output back ---

type parsedMessage struct {
	XMLName xml.Name `xml:"https://DigitalPost.dk/MeMo-1 Message"`
	Version string   `xml:"memoVersion,attr"`
	Header  struct {
		MessageType string      `xml:"messageType"`
		UUID        string      `xml:"messageUUID"`
		Label       string      `xml:"label"`
		Reply       string      `xml:"reply"`
		Sender      parsedParty `xml:"Sender"`
		Recipient   parsedParty `xml:"Recipient"`
	} `xml:"MessageHeader"`
	Body struct {
		Created    string           `xml:"createdDateTime"`
		Main       parsedDocument   `xml:"MainDocument"`
		Additional []parsedDocument `xml:"AdditionalDocument"`
	} `xml:"MessageBody"`
}

type parsedParty struct {
	ID           string `xml:"senderID"`
	RecipientID  string `xml:"recipientID"`
	IDType       string `xml:"idType"`
	Label        string `xml:"label"`
	HasLabel     bool
	ContactPoint *struct {
		ID string `xml:"contactPointID"`
	} `xml:"ContactPoint"`
}

func (p *parsedParty) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain parsedParty
	var v struct {
		plain
		LabelPtr *string `xml:"label"`
	}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	*p = parsedParty(v.plain)
	if p.ID == "" {
		p.ID = p.RecipientID
	}
	if v.LabelPtr != nil {
		p.Label, p.HasLabel = *v.LabelPtr, true
	}
	return nil
}

type parsedDocument struct {
	Label    string
	HasLabel bool
	File     struct {
		EncodingFormat string `xml:"encodingFormat"`
		Filename       string `xml:"filename"`
		Language       string `xml:"language"`
		Content        string `xml:"content"`
	}
}

func (p *parsedDocument) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var v struct {
		Label *string `xml:"label"`
		Files []struct {
			EncodingFormat string `xml:"encodingFormat"`
			Filename       string `xml:"filename"`
			Language       string `xml:"language"`
			Content        string `xml:"content"`
		} `xml:"File"`
	}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	if len(v.Files) != 1 {
		return errors.New("want exactly one File per document")
	}
	p.File = v.Files[0]
	if v.Label != nil {
		p.Label, p.HasLabel = *v.Label, true
	}
	return nil
}

func parse(t testing.TB, out []byte) parsedMessage {
	t.Helper()
	var m parsedMessage
	if err := xml.Unmarshal(out, &m); err != nil {
		t.Fatalf("parse output: %v", err)
	}
	return m
}

// --- benchmark ---

// patternReader serves size bytes from a fixed random block, so the
// benchmark input takes no memory beyond that block.
type patternReader struct {
	block     []byte
	remaining int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.block)
	}
	r.remaining -= int64(n)
	return n, nil
}

func (r *patternReader) Close() error { return nil }

// BenchmarkWrite100MB writes a message with a 100 MB attachment to
// io.Discard. B/op shows that memory does not grow with the attachment.
func BenchmarkWrite100MB(b *testing.B) {
	const size = 100 << 20
	block := make([]byte, 64<<10)
	rng := mathrand.NewChaCha8([32]byte{})
	_, _ = rng.Read(block)
	m := cprMessage()
	m.Additional = []Document{{
		Filename:       "sagsakt.pdf",
		EncodingFormat: "application/pdf",
		Open: func() (io.ReadCloser, error) {
			return &patternReader{block: block, remaining: size}, nil
		},
	}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}
