package blobstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/attachment/topdf"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

func testStore(t *testing.T) Store {
	t.Helper()
	k, err := vault.New(vault.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	return Store{Dir: t.TempDir(), Key: k}
}

func TestRoundTripEncrypted(t *testing.T) {
	s := testStore(t)
	name, w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	secret := "CPR 221177-1212 i bilaget"
	io.WriteString(w, secret)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(s.Dir + "/" + name)
	if bytes.Contains(raw, []byte("221177")) {
		t.Fatal("blob stored in clear")
	}
	rc, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != secret {
		t.Fatalf("read %q", got)
	}
	// Another key cannot read it; a renamed blob does not open as another.
	other := testStore(t)
	other.Dir = s.Dir
	if rc, err := other.Open(name); err == nil {
		if _, err := io.ReadAll(rc); err == nil {
			t.Fatal("read with another key")
		}
	}
	s.Remove(name, "../escape", "")
	if _, err := s.Open(name); err == nil {
		t.Fatal("removed blob opens")
	}
}

func TestBlobNames(t *testing.T) {
	s := testStore(t)
	for _, bad := range []string{"", "../x", "a/b", `a\b`, "a.b"} {
		if ValidName(bad) {
			t.Errorf("%q is valid", bad)
		}
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	name, w, _ := s.Create()
	w.Abort()
	w.Abort() // twice is harmless
	if !ValidName(name) {
		t.Errorf("Create made %q", name)
	}
	if _, err := os.Stat(s.Dir + "/" + name); !os.IsNotExist(err) {
		t.Errorf("aborted blob left: %v", err)
	}
	if _, _, err := (Store{Dir: s.Dir + "/missing", Key: s.Key}).Create(); err == nil {
		t.Error("created in a missing folder")
	}
}

type part struct {
	name, filename, contentType string
	size                        int
	head                        string // the first bytes, which say what the file is
}

// body is a multipart submit without the message part (read before).
func body(t *testing.T, parts ...part) *multipart.Reader {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.filename+`"`)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, _ := mw.CreatePart(h)
		w.Write([]byte(p.head))
		w.Write(bytes.Repeat([]byte("x"), max(0, p.size-len(p.head))))
	}
	mw.Close()
	return multipart.NewReader(&buf, mw.Boundary())
}

// TestReadAttachments: the Digital Post limits, the part names and the
// print rule, each with its status and code; on every refusal no blob is
// left behind.
func TestReadAttachments(t *testing.T) {
	pdf := func(n int) part { return part{"attachment", "bilag.pdf", "application/pdf", n, "%PDF-"} }
	many := func(k int) []part {
		var ps []part
		for range k {
			ps = append(ps, pdf(10))
		}
		return ps
	}
	tests := []struct {
		name      string
		parts     []part
		printable bool
		status    int
		code      string
		files     int
	}{
		{"none", nil, false, 0, "", 0},
		{"two", []part{pdf(10), {"attachment", "../../etc/notes.txt", "", 3, ""}}, false, 0, "", 2},
		{"ten", many(10), false, 0, "", 10},
		{"eleven", many(11), false, 413, "too_many_attachments", 0},
		{"too large in all", []part{pdf(relayapi.MaxAttachmentBytes / 2), pdf(relayapi.MaxAttachmentBytes/2 + 1)}, false, 413, "attachments_too_large", 0},
		{"exactly the limit", []part{pdf(relayapi.MaxAttachmentBytes / 2), pdf(relayapi.MaxAttachmentBytes / 2)}, false, 0, "", 2},
		{"unknown part", []part{pdf(1), {"other", "x", "", 1, ""}}, false, 400, "bad_part", 0},
		{"printable", []part{pdf(1)}, true, 0, "", 1},
		{"not printable", []part{pdf(1), {"attachment", "brev.docx", "", 1, "PK\x03\x04"}}, true, 400, "not_printable", 0},
		{"text converts, and prints", []part{{"attachment", "noter.txt", "text/plain", 20, ""}}, true, 0, "", 1},
		{"program", []part{pdf(1), {"attachment", "x.exe", "", 10, "MZ"}}, false, 415, "attachment_executable", 0},
		{"empty", []part{pdf(1), {"attachment", "tom.pdf", "application/pdf", 0, ""}}, false, 400, "attachment_empty", 0},
	}
	// The relay converts (topdf.Convert); the agent judges the same
	// without a converter.
	for _, convert := range []attachment.Converter{topdf.Convert, nil} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/convert=%t", tt.name, convert != nil), func(t *testing.T) {
				s := testStore(t)
				var printable func(string, string) bool
				if tt.printable {
					printable = attachment.Printable
				}
				files, _, e, status := s.ReadAttachments(body(t, tt.parts...), printable, convert, slog.New(slog.DiscardHandler))
				if status != tt.status || (e == nil) != (tt.code == "") || (e != nil && e.Code != tt.code) || len(files) != tt.files {
					t.Fatalf("got %d files, %+v, %d; want %d, %s, %d", len(files), e, status, tt.files, tt.code, tt.status)
				}
				left, _ := os.ReadDir(s.Dir)
				if len(left) != tt.files {
					t.Errorf("%d blobs on disk, want %d", len(left), tt.files)
				}
				for _, f := range files {
					if strings.ContainsAny(f.Filename, `/\`) || f.ContentType == "" || f.Size <= 0 {
						t.Errorf("file %+v", f)
					}
				}
			})
		}
	}
}

// TestReadAttachmentsForwards: without a converter (the agent) a file to
// convert is kept as it is, under a name and type the relay decides the
// same on; the relay, given it, converts it to the PDF the agent promised.
// A file too large to convert is refused at once either way, and a file
// the converter fails on is refused by name with a code the agent gives
// up on.
func TestReadAttachmentsForwards(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	agent := testStore(t)
	files, _, e, _ := agent.ReadAttachments(body(t,
		part{"attachment", "noter", "", 11, "Kære Jens\n"},
		part{"attachment", "noter.pdf", "application/pdf", 10, "%PDF-"},
		part{"attachment", "side.htm", "text/html", 20, "<p>hej</p>"}), attachment.Printable, nil, log)
	if e != nil || len(files) != 3 {
		t.Fatalf("agent: %+v %+v", files, e)
	}
	if f := files[0]; f.Filename != "noter.txt" || f.ContentType != "text/plain" || f.Size != 11 {
		t.Errorf("agent stored %+v, want noter.txt as it is", f)
	}
	if f := files[2]; f.Filename != "side.htm" || f.ContentType != "text/html" {
		t.Errorf("agent stored %+v, want side.htm as it is", f)
	}
	// The agent forwards what it stored, in order, as relayclient does.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="attachment"; filename="`+f.Filename+`"`)
		h.Set("Content-Type", f.ContentType)
		w, _ := mw.CreatePart(h)
		rc, err := agent.Open(f.Blob)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	mw.Close()
	relay := testStore(t)
	got, _, e, _ := relay.ReadAttachments(multipart.NewReader(&buf, mw.Boundary()), attachment.Printable, topdf.Convert, log)
	if e != nil || len(got) != 3 {
		t.Fatalf("relay: %+v %+v", got, e)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Filename+" "+f.ContentType)
	}
	if want := "noter.pdf application/pdf|noter (2).pdf application/pdf|side.pdf application/pdf"; strings.Join(names, "|") != want {
		// The same names the agent gave when it converted itself.
		direct, _, _, _ := testStore(t).ReadAttachments(body(t,
			part{"attachment", "noter", "", 11, "Kære Jens\n"},
			part{"attachment", "noter.pdf", "application/pdf", 10, "%PDF-"},
			part{"attachment", "side.htm", "text/html", 20, "<p>hej</p>"}), nil, topdf.Convert, log)
		t.Errorf("relay named %q; converting at once names %+v", names, direct)
	}
	rc, _ := relay.Open(got[0].Blob)
	pdf, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("relay stored %.20q, not a PDF", pdf)
	}

	big := part{"attachment", "stor.txt", "text/plain", attachment.MaxConvertBytes + 1, "a"}
	for _, convert := range []attachment.Converter{nil, topdf.Convert} {
		s := testStore(t)
		_, _, e, status := s.ReadAttachments(body(t, big), nil, convert, log)
		if status != 415 || e == nil || e.Code != "attachment_too_large_to_convert" || !strings.Contains(e.Message, "»stor.txt«") {
			t.Errorf("too large to convert (convert=%t): %d %+v", convert != nil, status, e)
		}
		if left, _ := os.ReadDir(s.Dir); len(left) != 0 {
			t.Errorf("blobs left: %v", left)
		}
	}
	fail := func(io.Writer, attachment.Decision, io.Reader, time.Time) error { return errors.New("no font") }
	_, _, e, status := testStore(t).ReadAttachments(body(t, part{"attachment", "noter.md", "", 5, "# Hej"}), nil, fail, log)
	if status != 415 || e == nil || e.Code != "attachment_not_converted" || !strings.Contains(e.Message, "»noter.md«") {
		t.Errorf("conversion failed: %d %+v", status, e)
	}
}

// TestReadAttachmentsCutShort: a body cut off mid-part, or over the
// request's byte limit, is refused and leaves nothing.
func TestReadAttachmentsCutShort(t *testing.T) {
	s := testStore(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("attachment", "a.pdf")
	w.Write(bytes.Repeat([]byte("x"), 1000))
	mr := multipart.NewReader(bytes.NewReader(buf.Bytes()), mw.Boundary()) // no closing boundary
	if _, _, e, status := s.ReadAttachments(mr, nil, nil, slog.New(slog.DiscardHandler)); status != 400 || e.Code != "bad_multipart" {
		t.Fatalf("cut short: %+v %d", e, status)
	}
	mw.Close()
	rec := httptestRecorder{}
	limited := http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(buf.Bytes())), 500)
	if _, _, e, status := s.ReadAttachments(multipart.NewReader(limited, mw.Boundary()), nil, nil, slog.New(slog.DiscardHandler)); status != 413 || e.Code != "attachments_too_large" {
		t.Fatalf("over the byte limit: %+v %d", e, status)
	}
	if left, _ := os.ReadDir(s.Dir); len(left) != 0 {
		t.Fatalf("blobs left: %v", left)
	}
}

// httptestRecorder is the ResponseWriter MaxBytesReader wants; nothing is
// written to it.
type httptestRecorder struct{}

func (httptestRecorder) Header() http.Header         { return http.Header{} }
func (httptestRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (httptestRecorder) WriteHeader(int)             {}
