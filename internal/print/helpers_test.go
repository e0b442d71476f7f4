package print

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"sendsikkert/internal/letter"
)

// sampleLetter is a realistic case letter with Danish letters in every part.
func sampleLetter() *letter.Letter {
	return &letter.Letter{
		Sender:    letter.Address{Name: "Demo Kommune", Lines: []string{"Borgerservice", "Rådhuspladsen 1", "8800 Viborg"}},
		Recipient: letter.Address{Name: "Jens Fritagesen", Lines: []string{"Testvej 1", "8800 Viborg"}},
		Date:      time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC),
		Subject:   "Afgørelse om økonomisk hjælp",
		BodyHTML:  `<p>Kære Jens Fritagesen</p><p>Vi har behandlet din ansøgning om <b>økonomisk hjælp</b>.</p>`,
	}
}

// attachmentPDF is a real one-page PDF to merge.
func attachmentPDF(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := letter.WriteDocument(&buf, "Bilag", "<p>Bilag side 1</p>", time.Time{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func memAttachment(name, contentType string, data []byte) letter.Attachment {
	return letter.Attachment{Filename: name, ContentType: contentType, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

func pdfcpuPages(t *testing.T, pdf []byte) int {
	t.Helper()
	model.ConfigPath = "disable"
	n, err := api.PageCount(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatalf("pdfcpu cannot read the PDF: %v", err)
	}
	return n
}
