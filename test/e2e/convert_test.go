package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestConvertedAtRelay: the agent links no typesetter. Text, Markdown,
// HTML and an attached e-mail are judged at the agent's submit, stored
// and forwarded as they are, and converted to PDF by the relay, so what
// reaches Digital Post is the PDF it was before, under the converted
// name. A text too large to convert is refused at once, while the clerk
// waits, and nothing is queued.
func TestConvertedAtRelay(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Stor tekst", "bodyHtml": "x", "idempotencyKey": "convert-big"},
		file{"stor.txt", "text/plain", func() io.Reader { return strings.NewReader(strings.Repeat("a", 5<<20+1)) }})
	if code != 415 || out["error"] != "attachment_too_large_to_convert" || !strings.Contains(fmt.Sprint(out["message"]), "»stor.txt«") {
		t.Fatalf("too large to convert: %d %v", code, out)
	}
	code, out = a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Noter", "bodyHtml": "<p>Se noterne</p>", "idempotencyKey": "convert-1"},
		file{"noter.txt", "text/plain", text("Kære Jens\n\nHer er noterne.")},
		file{"README.md", "", text("# Overskrift\n\nEt *vigtigt* punkt.")},
		file{"side", "text/html", text("<p>Hej <b>Jens</b></p>")},
		file{"Videresendt.eml", "message/rfc822", text("From: a@kommune.dk\r\nSubject: Hej\r\n\r\nTekst")})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	if st := a.waitFinal(out["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	files := memoFiles(t, data)
	if len(files) != 1 {
		t.Fatalf("MeMo files: %v", files)
	}
	m := readMemo(t, files[0])
	var got []string
	for _, d := range m.Additional {
		got = append(got, d.Filename)
		if !strings.HasPrefix(d.Head, "%PDF-") {
			t.Errorf("%s reached Digital Post as %q, not a PDF", d.Filename, d.Head)
		}
	}
	if want := "noter.pdf README.pdf side.pdf Videresendt.pdf"; strings.Join(got, " ") != want {
		t.Errorf("attachments %q, want %q", got, want)
	}
}
