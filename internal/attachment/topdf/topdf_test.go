package topdf

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/attachment"
)

func TestPrepareConverts(t *testing.T) {
	now := time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ name, declared, content, want string }{
		{"noter.txt", "text/plain", "Kære Jens\n\nSøren Ærø på Åbyhøj – 100 €", "Søren Ærø på Åbyhøj – 100 €"},
		{"README.md", "", "# Overskrift\n\nEt *vigtigt* punkt.\n\n- en\n- to", "vigtigt"},
		{"side.html", "text/html", "<html><head><script>alert(1)</script></head><body><p>Hej <b>Jens</b></p><img src=\"https://sporing.example/p.gif\"></body></html>", "Hej Jens"},
		{"latin1.txt", "", "K\xe6re J\xf8rgen", "Kære Jørgen"},
		{"Videresendt.eml", "message/rfc822", "From: Anne Sagsbehandler <anne@kommune.dk>\r\nTo: jens@example.dk\r\nSubject: =?iso-8859-1?q?Afg=F8relse?=\r\n" +
			"Date: Thu, 12 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=E6re Jens, her er afg=F8relsen.\r\n" +
			"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"bilag.pdf\"\r\n\r\n%PDF-1.4\r\n--b--\r\n",
			"Afgørelse Fra: Anne Sagsbehandler <anne@kommune.dk> Til: jens@example.dk Dato: 12-03-2026 10:00 Vedhæftet: bilag.pdf Kære Jens, her er afgørelsen."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, r, err := attachment.Prepare(tt.name, tt.declared, strings.NewReader(tt.content), 0, now, Convert)
			if err != nil || d.Action != attachment.ConvertPDF || r == nil {
				t.Fatalf("Prepare: %+v %v", d, err)
			}
			pdf, _ := io.ReadAll(r)
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("not a PDF: %.40q", pdf)
			}
			if bytes.Contains(pdf, []byte("alert")) || bytes.Contains(pdf, []byte("sporing.example")) {
				t.Error("the script or the remote image reached the PDF")
			}
			pdftotext, err := exec.LookPath("pdftotext")
			if err != nil {
				if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
					t.Fatal("pdftotext not found (Debian package poppler-utils)")
				}
				return
			}
			path := filepath.Join(t.TempDir(), "x.pdf")
			os.WriteFile(path, pdf, 0o600)
			out, err := exec.Command(pdftotext, "-enc", "UTF-8", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			if text := strings.Join(strings.Fields(string(out)), " "); !strings.Contains(text, tt.want) {
				t.Errorf("PDF text lacks %q:\n%s", tt.want, text)
			}
		})
	}
	// A refused file is not read on and yields no content.
	d, r, err := attachment.Prepare("x.exe", "", strings.NewReader("MZ..."), 0, now, Convert)
	if err != nil || d.Action != attachment.Refuse || r != nil {
		t.Errorf("exe: %+v %v %v", d, r, err)
	}
	// A kept file comes back whole, head included.
	body := append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), bytes.Repeat([]byte("x"), 20000)...)
	d, r, err = attachment.Prepare("a.pdf", "", bytes.NewReader(body), 0, now, Convert)
	if err != nil || d.Action != attachment.Keep {
		t.Fatal(d, err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, body) {
		t.Errorf("kept file changed: %d bytes, want %d", len(got), len(body))
	}
	// Text too large to convert is refused, not half-converted.
	d, r, err = attachment.Prepare("stor.txt", "", io.MultiReader(strings.NewReader("a"), strings.NewReader(strings.Repeat("a", attachment.MaxConvertBytes+10))), 0, now, Convert)
	if err != nil || d.Action != attachment.Refuse || r != nil || d.Code != "attachment_too_large_to_convert" {
		t.Errorf("large text: %+v %v", d, err)
	}
}
