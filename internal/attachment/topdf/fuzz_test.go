package topdf

import (
	"bytes"
	"io"
	"testing"
	"time"

	"sendsikkert/internal/attachment"
)

// FuzzConvert: whatever text, Markdown, HTML or e-mail a clerk attaches,
// the relay either writes a PDF or says it could not (a refusal naming
// the file); it never panics. The corpus is in testdata/fuzz/FuzzConvert.
func FuzzConvert(f *testing.F) {
	for _, s := range []struct{ name, content string }{
		{"noter.txt", "Kære Jens\n\nHer er noterne.\r\n\ttabulator"},
		{"latin1.txt", "K\xe6re J\xf8rgen"},
		{"README.md", "# Overskrift\n\nEt *vigtigt* punkt.\n\n- en\n- to\n\n<script>x</script>"},
		{"side.html", "<html><body><h1>Hej</h1><p>a<br>b</p><ul><li>x</li></ul><img src=x></body></html>"},
		{"mail.eml", "From: A <a@b.dk>\r\nSubject: =?iso-8859-1?q?Afg=F8relse?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hej</p>\r\n--b\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\n%PDF\r\n--b--\r\n"},
	} {
		f.Add(s.name, []byte(s.content))
	}
	created := time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name string, content []byte) {
		if len(content) > 16<<10 {
			return // the size limit is Prepare's; keep each run quick
		}
		d, r, err := attachment.Prepare(name, "", bytes.NewReader(content), 0, created, Convert)
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		switch d.Action {
		case attachment.Refuse:
			if r != nil || d.Code == "" || d.Message == "" {
				t.Fatalf("refusal %+v with content", d)
			}
			if d.Code == "attachment_not_converted" && d.Err() == nil {
				t.Fatal("no reason kept for the log")
			}
		case attachment.ConvertPDF:
			pdf, _ := io.ReadAll(r)
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("converted %q to %.20q, not a PDF", name, pdf)
			}
		}
	})
}
