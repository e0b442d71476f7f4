// Package digitalpost delivers messages as Digital Post: a MeMo 1.2 message
// per recipient. Folder is the demo channel; it writes each message to a
// folder instead of Serviceplatformen.
package digitalpost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/maindoc"
	"sendsikkert/internal/memo"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/vault"
)

// Folder writes DIR/<messageUUID>.xml.
type Folder struct{ Dir string }

// Message builds the MeMo message for a delivery. The body is the
// MainDocument as HTML: it is what the clerk wrote, it stays readable and
// searchable in the citizen's mailbox, and it costs no conversion; a PDF
// would only be a picture of the same text.
func Message(d *delivery.Delivery) *memo.Message {
	idType := "CPR"
	if d.Recipient.Kind == recipient.KindCVR {
		idType = "CVR"
	}
	// Prepared at submit already (maindoc is idempotent); again here for
	// messages queued before, so no MeMo carries a script or a reference
	// that loads from outside.
	body := maindoc.Prepare(d.BodyHTML, nil).HTML
	m := &memo.Message{
		UUID:           d.MemoUUID,
		Label:          d.Subject,
		Created:        d.Created,
		Reply:          d.ContactPointID != "",
		Sender:         memo.Party{ID: d.Sender.CVR, IDType: "CVR", Label: d.Sender.Name},
		ContactPointID: d.ContactPointID,
		Recipient:      memo.Party{ID: d.Recipient.Value, IDType: idType},
		Main: memo.Document{
			Filename:       "brev.html",
			EncodingFormat: "text/html",
			Language:       "da",
			Label:          d.Subject,
			Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(htmlDocument(d.Subject, body))), nil
			},
		},
	}
	// Names were cleaned at submit; cleaning them again here covers
	// messages queued before NgDP's file-name rules were known to us.
	var names attachment.Names
	for i, a := range d.Attachments {
		name := names.Unique(attachment.CleanName(a.Filename, i))
		m.Additional = append(m.Additional, memo.Document{
			Filename:       name,
			EncodingFormat: a.ContentType,
			Language:       "da",
			Label:          name,
			Open:           a.Open,
		})
	}
	return m
}

// htmlDocument makes the clerk's HTML fragment a complete document.
func htmlDocument(title, body string) string {
	if strings.Contains(strings.ToLower(body), "<html") {
		return body
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"da\"><head><meta charset=\"utf-8\"><title>")
	b.WriteString(escape(title))
	b.WriteString("</title></head><body>")
	b.WriteString(body)
	b.WriteString("</body></html>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// Deliver writes the message atomically; a retry overwrites the same file.
func (f Folder) Deliver(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return delivery.Receipt{}, fmt.Errorf("digitalpost: %w", err)
	}
	name := d.MemoUUID + ".xml"
	err := vault.WriteFile(filepath.Join(f.Dir, name), 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		if err := memo.Write(bw, Message(d)); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return delivery.Receipt{}, fmt.Errorf("digitalpost: write %s: %w", name, err)
	}
	return delivery.Receipt{Status: delivery.Delivered, Reference: name}, nil
}
