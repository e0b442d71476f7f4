package letter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/vault"
)

// Address is a postal address block as it appears in the envelope window.
type Address struct {
	Name  string
	Lines []string // e.g. {"Testvej 1", "8800 Viborg"}
}

// Attachment is a document that follows the letter in the same envelope.
type Attachment struct {
	Filename    string
	ContentType string
	// Open returns the content. If the reader is also an io.Seeker (an
	// *os.File, a *bytes.Reader) a PDF is read in place; otherwise it is
	// first copied to a temporary file, because merging needs random access.
	Open func() (io.ReadCloser, error)
}

// Letter is one printed letter: a cover letter and its attachments.
type Letter struct {
	Sender      Address // organisation, e.g. Demo Kommune
	Recipient   Address
	Date        time.Time // printed in Danish; zero means now
	Subject     string
	BodyHTML    string       // the clerk's HTML mail body
	Attachments []Attachment // follow the letter, in order
}

// Stats describes a written letter.
type Stats struct {
	Pages      int // all pages in the PDF
	CoverPages int // pages of the cover letter
}

// WriteLetter writes the letter as one PDF to w: first the cover letter
// (sender, the recipient's address placed for a C5 window envelope, date,
// subject, body text converted from HTML to wrapped paragraphs), then every
// attachment's pages. A non-printable attachment is an error (the caller
// checks Printable before accepting the job).
func WriteLetter(w io.Writer, l *Letter) error {
	_, err := Render(w, l)
	return err
}

// Render is WriteLetter that also reports the page counts, which a print
// service needs (sheets per envelope, postage). On error, w may hold part
// of a PDF: write to a temporary file, as HotFolder does.
func Render(w io.Writer, l *Letter) (Stats, error) {
	if l == nil {
		return Stats{}, unprintable(errors.New("letter: no letter"))
	}
	if strings.TrimSpace(l.Sender.Name) == "" {
		return Stats{}, unprintable(errors.New("letter: letter has no sender"))
	}
	cover, err := layoutCover(l)
	if err != nil {
		return Stats{}, err
	}
	kinds := make([]attachment.PrintKind, len(l.Attachments))
	hasPDF := false
	for i, a := range l.Attachments {
		kinds[i] = attachment.PrintKindOf(a.ContentType, a.Filename)
		if kinds[i] == attachment.NotPrintable {
			return Stats{}, unprintable(fmt.Errorf("letter: attachment %q (%s) cannot be printed", a.Filename, a.ContentType))
		}
		if a.Open == nil {
			return Stats{}, unprintable(fmt.Errorf("letter: attachment %q has no content", a.Filename))
		}
		hasPDF = hasPDF || kinds[i] == attachment.PrintPDF
	}
	stats := Stats{CoverPages: len(cover)}

	if !hasPDF {
		// Everything is ours to write: one fpdf document.
		d, err := newDoc(l.Date)
		if err != nil {
			return Stats{}, err
		}
		if err := writeOwnPages(d, cover, l.Attachments); err != nil {
			return Stats{}, err
		}
		if err := d.write(w); err != nil {
			return Stats{}, err
		}
		stats.Pages = d.pages
		return stats, nil
	}

	// PDF attachments are merged: our pages (the cover letter, and images
	// between PDFs) become small PDFs in memory, and the merge appends
	// each part's pages in order.
	var parts []mergePart
	defer func() {
		for _, p := range parts {
			p.close()
		}
	}()
	pending := cover // our cover pages waiting to be written
	var pendingImages []Attachment
	flushOwn := func() error {
		if len(pending) == 0 && len(pendingImages) == 0 {
			return nil
		}
		d, err := newDoc(l.Date)
		if err != nil {
			return err
		}
		if err := writeOwnPages(d, pending, pendingImages); err != nil {
			return err
		}
		data, err := d.bytes()
		if err != nil {
			return err
		}
		name := "cover letter"
		if len(pending) == 0 {
			name = pendingImages[0].Filename
		}
		parts = append(parts, mergePart{name: name, rs: bytes.NewReader(data)})
		pending, pendingImages = nil, nil
		return nil
	}
	for i, a := range l.Attachments {
		if kinds[i] == attachment.PrintImage {
			pendingImages = append(pendingImages, a)
			continue
		}
		if err := flushOwn(); err != nil {
			return Stats{}, err
		}
		p, err := openPDF(a)
		if err != nil {
			return Stats{}, err
		}
		parts = append(parts, p)
	}
	if err := flushOwn(); err != nil {
		return Stats{}, err
	}
	n, err := mergePDFs(w, parts)
	if err != nil {
		return Stats{}, err
	}
	stats.Pages = n
	return stats, nil
}

// writeOwnPages writes cover pages, then one page per image attachment.
func writeOwnPages(d *doc, cover []*coverPage, images []Attachment) error {
	for _, p := range cover {
		d.coverPage(p)
	}
	for _, a := range images {
		if err := writeImageAttachment(d, a); err != nil {
			return err
		}
	}
	if err := d.f.Error(); err != nil {
		return fmt.Errorf("letter: write PDF: %w", err)
	}
	return nil
}

// sniff identifies content by its first bytes.
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.Contains(head, []byte("%PDF-")):
		// The header may follow some junk; readers look in the first 1024 bytes.
		return "pdf"
	}
	return ""
}

func writeImageAttachment(d *doc, a Attachment) error {
	rc, err := a.Open()
	if err != nil {
		return fmt.Errorf("letter: open attachment %q: %w", a.Filename, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	head, _ := br.Peek(1024)
	switch sniff(head) {
	case "jpeg":
		err = writeJPEGPage(d, br)
	case "png":
		err = writePNGPage(d, br)
	default:
		return unprintable(fmt.Errorf("letter: attachment %q is not a JPEG or PNG image", a.Filename))
	}
	if err != nil {
		err = fmt.Errorf("letter: attachment %q: %w", a.Filename, err)
		if badContent(err) {
			return unprintable(err)
		}
		return err
	}
	return nil
}

// mergePart is one PDF to merge, with what to clean up after.
type mergePart struct {
	name    string
	rs      io.ReadSeeker
	closers []func()
}

func (p mergePart) close() {
	for _, c := range p.closers {
		c()
	}
}

// openPDF opens a PDF attachment for random access, checking that it is one.
func openPDF(a Attachment) (mergePart, error) {
	rc, err := a.Open()
	if err != nil {
		return mergePart{}, fmt.Errorf("letter: open attachment %q: %w", a.Filename, err)
	}
	part := mergePart{name: a.Filename, closers: []func(){func() { rc.Close() }}}
	fail := func(err error) (mergePart, error) {
		part.close()
		return mergePart{}, err
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		head := make([]byte, 1024)
		n, err := io.ReadFull(rs, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return fail(fmt.Errorf("letter: read attachment %q: %w", a.Filename, err))
		}
		if sniff(head[:n]) != "pdf" {
			return fail(unprintable(fmt.Errorf("letter: attachment %q is not a PDF", a.Filename)))
		}
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return fail(fmt.Errorf("letter: rewind attachment %q: %w", a.Filename, err))
		}
		part.rs = rs
		return part, nil
	}

	// Not seekable (a database blob, a network body): spool it to a
	// temporary file rather than memory, because the merge holds the
	// parsed document in memory already and attachments can be large.
	// The spool is encrypted with a key that lives only here, so no
	// plaintext reaches the disk and nothing is readable after a crash.
	br := bufio.NewReaderSize(rc, 64<<10)
	head, _ := br.Peek(1024)
	if sniff(head) != "pdf" {
		return fail(unprintable(fmt.Errorf("letter: attachment %q is not a PDF", a.Filename)))
	}
	key, err := vault.New(vault.NewRandomKey())
	if err != nil {
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	dir, err := os.MkdirTemp("", "sendsikkert-print-*")
	if err != nil {
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	part.closers = append(part.closers, func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "spool")
	f, err := key.Create(path, nil)
	if err != nil {
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	if _, err := io.Copy(f, br); err != nil {
		f.Abort()
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	if err := f.Commit(); err != nil {
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	spool, err := key.OpenFile(path, nil)
	if err != nil {
		return fail(fmt.Errorf("letter: spool attachment %q: %w", a.Filename, err))
	}
	// Closers run in order: close the spool before its folder goes.
	part.closers = append([]func(){func() { spool.Close() }}, part.closers...)
	part.rs = spool.(io.ReadSeeker)
	return part, nil
}
