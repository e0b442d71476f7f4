package blobstore

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"

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
		w.Write(bytes.Repeat([]byte("x"), p.size))
	}
	mw.Close()
	return multipart.NewReader(&buf, mw.Boundary())
}

// TestReadAttachments: the Digital Post limits, the part names and the
// print rule, each with its status and code; on every refusal no blob is
// left behind.
func TestReadAttachments(t *testing.T) {
	pdf := func(n int) part { return part{"attachment", "bilag.pdf", "application/pdf", n} }
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
		{"two", []part{pdf(10), {"attachment", "../../etc/notes.txt", "", 3}}, false, 0, "", 2},
		{"ten", many(10), false, 0, "", 10},
		{"eleven", many(11), false, 413, "too_many_attachments", 0},
		{"too large in all", []part{pdf(relayapi.MaxAttachmentBytes / 2), pdf(relayapi.MaxAttachmentBytes/2 + 1)}, false, 413, "attachments_too_large", 0},
		{"exactly the limit", []part{pdf(relayapi.MaxAttachmentBytes / 2), pdf(relayapi.MaxAttachmentBytes / 2)}, false, 0, "", 2},
		{"unknown part", []part{pdf(1), {"other", "x", "", 1}}, false, 400, "bad_part", 0},
		{"printable", []part{pdf(1)}, true, 0, "", 1},
		{"not printable", []part{pdf(1), {"attachment", "brev.docx", "", 1}}, true, 400, "not_printable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testStore(t)
			var printable func(string, string) bool
			if tt.printable {
				printable = relayapi.PrintableAttachment
			}
			files, e, status := s.ReadAttachments(body(t, tt.parts...), printable, slog.New(slog.DiscardHandler))
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

// TestReadAttachmentsCutShort: a body cut off mid-part, or over the
// request's byte limit, is refused and leaves nothing.
func TestReadAttachmentsCutShort(t *testing.T) {
	s := testStore(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("attachment", "a.pdf")
	w.Write(bytes.Repeat([]byte("x"), 1000))
	mr := multipart.NewReader(bytes.NewReader(buf.Bytes()), mw.Boundary()) // no closing boundary
	if _, e, status := s.ReadAttachments(mr, nil, slog.New(slog.DiscardHandler)); status != 400 || e.Code != "bad_multipart" {
		t.Fatalf("cut short: %+v %d", e, status)
	}
	mw.Close()
	rec := httptestRecorder{}
	limited := http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(buf.Bytes())), 500)
	if _, e, status := s.ReadAttachments(multipart.NewReader(limited, mw.Boundary()), nil, slog.New(slog.DiscardHandler)); status != 413 || e.Code != "attachments_too_large" {
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
