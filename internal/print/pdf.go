package print

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
)

// A4 portrait in PDF points (1/72 inch).
const (
	pageWidth  = 595.28
	pageHeight = 841.89
	mm         = 72 / 25.4
)

// docWriter writes a PDF of our own pages (cover letter, image pages) in one
// pass: objects are written as soon as they are complete, so an image
// stream goes from its reader to the output without being held in memory.
// Only the cross-reference offsets are kept.
type docWriter struct {
	out     *bufio.Writer
	n       int64   // bytes written so far
	offsets []int64 // offsets[id] is where object id starts; 0 = not written
	err     error

	catalogID int
	pagesID   int
	fontIDs   [4]int
	pageIDs   []int
}

func newDocWriter(w io.Writer) *docWriter {
	d := &docWriter{out: bufio.NewWriterSize(w, 64<<10), offsets: []int64{0}}
	// The binary comment marks the file as binary for transfer tools.
	d.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	d.catalogID = d.alloc()
	d.pagesID = d.alloc()
	for i := range d.fontIDs {
		d.fontIDs[i] = d.alloc()
	}
	return d
}

func (d *docWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.out.Write(p)
	d.n += int64(n)
	if err != nil {
		d.err = err
	}
	return n, err
}

func (d *docWriter) printf(format string, args ...any) {
	fmt.Fprintf(d, format, args...)
}

// alloc reserves an object number.
func (d *docWriter) alloc() int {
	d.offsets = append(d.offsets, 0)
	return len(d.offsets) - 1
}

// begin starts object id at the current offset.
func (d *docWriter) begin(id int) {
	d.offsets[id] = d.n
	d.printf("%d 0 obj\n", id)
}

func (d *docWriter) end() { d.printf("\nendobj\n") }

// object writes a complete non-stream object.
func (d *docWriter) object(id int, body string) {
	d.begin(id)
	d.printf("%s", body)
	d.end()
}

// stream writes a stream object whose data is in memory.
func (d *docWriter) stream(id int, dict string, data []byte) {
	d.begin(id)
	d.printf("<< %s /Length %d >>\nstream\n", dict, len(data))
	_, _ = d.Write(data)
	d.printf("\nendstream")
	d.end()
}

// streamFrom copies a stream of unknown length from r, with its /Length
// as an indirect object written after it.
func (d *docWriter) streamFrom(id int, dict string, r io.Reader) error {
	lengthID := d.alloc()
	d.begin(id)
	d.printf("<< %s /Length %d 0 R >>\nstream\n", dict, lengthID)
	start := d.n
	if _, err := io.Copy(d, r); err != nil {
		if d.err != nil {
			return d.err
		}
		return err
	}
	length := d.n - start
	d.printf("\nendstream")
	d.end()
	d.object(lengthID, strconv.FormatInt(length, 10))
	return d.err
}

// flate compresses a content stream.
func flate(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// fontResources is the /Font dictionary every page shares.
func (d *docWriter) fontResources() string {
	var b bytes.Buffer
	b.WriteString("/Font <<")
	for i, id := range d.fontIDs {
		fmt.Fprintf(&b, " /%s %d 0 R", font(i).resourceName(), id)
	}
	b.WriteString(" >>")
	return b.String()
}

// page writes a page with the given content stream and extra resources.
func (d *docWriter) page(content []byte, xobjects string) {
	contentID := d.alloc()
	d.stream(contentID, "/Filter /FlateDecode", flate(content))
	pageID := d.alloc()
	res := d.fontResources()
	if xobjects != "" {
		res += " /XObject << " + xobjects + " >>"
	}
	d.object(pageID, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << %s >> /Contents %d 0 R >>",
		d.pagesID, num(pageWidth), num(pageHeight), res, contentID))
	d.pageIDs = append(d.pageIDs, pageID)
}

// finish writes the shared objects, the page tree, the cross-reference
// table and the trailer, and flushes.
func (d *docWriter) finish() error {
	for i, id := range d.fontIDs {
		// WinAnsiEncoding is the one standard encoding that has æ ø å and
		// the other Latin-1 letters at the codes we write.
		d.object(id, fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", baseFonts[i]))
	}
	var kids bytes.Buffer
	for i, id := range d.pageIDs {
		if i > 0 {
			kids.WriteByte(' ')
		}
		fmt.Fprintf(&kids, "%d 0 R", id)
	}
	d.object(d.pagesID, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(d.pageIDs)))
	d.object(d.catalogID, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", d.pagesID))
	infoID := d.alloc()
	d.object(infoID, "<< /Producer (Send sikkert) >>")

	xref := d.n
	d.printf("xref\n0 %d\n0000000000 65535 f \n", len(d.offsets))
	for _, off := range d.offsets[1:] {
		d.printf("%010d 00000 n \n", off)
	}
	d.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(d.offsets), d.catalogID, infoID, xref)
	if d.err != nil {
		return d.err
	}
	return d.out.Flush()
}

// num formats a coordinate compactly with at most two decimals.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		return "0"
	}
	return s
}
