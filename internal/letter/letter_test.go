package letter

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

func TestPrintText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"æøåÆØÅ", "æøåÆØÅ"},
		{"cafe\u0301", "café"}, // decomposed é is composed first
		{"5 €", "5 €"},
		{"„citat“ – ok…", "„citat“ – ok…"},
		{"a\u200bb\u00adc\ufeffd", "abcd"}, // zero-width space, soft hyphen and BOM vanish
		{"x\u2009y\u00a0z", "x y z"},       // thin and no-break space
		{"a\x07b", "ab"},                   // control characters
		{"日本", "??"},                       // no glyph in the font: '?', not an empty box
	}
	for _, tt := range tests {
		if got := printText(tt.in); got != tt.want {
			t.Errorf("printText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The widths are Liberation Sans's, which are Helvetica's: "æ" is
	// 889/1000 em, "Å" 667; bold "ø" 611.
	if w := regular.textWidth("æÅ", 10); math.Abs(w-15.56) > 0.01 {
		t.Errorf("width of æÅ at 10pt = %v, want 15.56", w)
	}
	if w := bold.textWidth("ø", 10); math.Abs(w-6.11) > 0.01 {
		t.Errorf("bold width of ø at 10pt = %v, want 6.11", w)
	}
}

func TestHTMLToBlocks(t *testing.T) {
	tests := []struct {
		name string
		html string
		want []string // block texts; a leading "| " marks an empty line before it
	}{
		{"paragraphs", "<p>Et</p><p>To</p>", []string{"Et", "| To"}},
		{"entities", "<p>S&oslash;ren &amp; &AElig;bel&nbsp;&lt;b&gt; &#8364;</p>", []string{"Søren & Æbel\u00a0<b> €"}},
		{"whitespace", "<p>  a \n\t b  </p>", []string{"a b"}},
		{"br", "Hej<br>med<br/>dig", []string{"Hej\nmed\ndig"}},
		{"script and style", "<style>p{color:red}</style><p>synlig</p><script>alert('<p>x</p>')</script>", []string{"synlig"}},
		{"head title", "<html><head><title>Emne</title></head><body>Tekst</body></html>", []string{"Tekst"}},
		{"comments", "a<!-- skjult <p>x</p> -->b", []string{"ab"}},
		{"divs", "<div>linje 1</div><div>linje 2</div><div><br></div><div>efter tom</div>", []string{"linje 1", "linje 2", "| efter tom"}},
		{"list", "<p>Før</p><ul><li>en</li><li>to</li></ul><ol><li>a</li><li>b</li></ol>", []string{"Før", "| • en", "• to", "| 1. a", "2. b"}},
		// Outlook's lines are <p>s without margin: they must not be spaced.
		{"outlook", `<p class=MsoNormal>Kære Jens<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Linje 1<o:p></o:p></p><p class=MsoNormal>Linje 2</p>`,
			[]string{"Kære Jens", "| Linje 1", "Linje 2"}},
		{"bold keeps spaces", "om <b>økonomisk</b> hjælp", []string{"om økonomisk hjælp"}},
		{"attribute with >", `<a href="x>y">link</a>`, []string{"link"}},
		{"lone less-than", "a < b", []string{"a < b"}},
		{"heading", "<h1>Overskrift</h1>brødtekst", []string{"Overskrift", "| brødtekst"}},
		{"paragraphs in items", "<ul><li><p>en</p></li><li></li><li><div>to</div></li></ul><p>efter</p>", []string{"• en", "| • to", "| efter"}},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", []string{"a   b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, b := range htmlToBlocks(tt.html) {
				s := b.text()
				if b.gapBefore {
					s = "| " + s
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n~\n") != strings.Join(tt.want, "\n~\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Bold and italic reach the runs.
	b := htmlToBlocks("a <b>fed <i>skrå</i></b> c")
	var fonts []font
	for _, r := range b[0].runs {
		fonts = append(fonts, r.font)
	}
	if want := []font{regular, bold, bold | italic, regular}; !equalFonts(fonts, want) {
		t.Errorf("fonts %v, want %v (runs %+v)", fonts, want, b[0].runs)
	}
}

func equalFonts(a, b []font) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWrapRuns(t *testing.T) {
	text := strings.Repeat("Æbleskiver og rødgrød med fløde ", 20)
	width := 200.0
	lines := wrapRuns([]run{{text: text}}, 10, width, width)
	if len(lines) < 5 {
		t.Fatalf("expected several lines, got %d", len(lines))
	}
	var words int
	for _, l := range lines {
		tl := textLine{size: 10, pieces: l}
		if w := tl.width(); w > width {
			t.Errorf("line %q is %.1fpt wide, limit %.0f", tl.String(), w, width)
		}
		if s := tl.String(); strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
			t.Errorf("line %q has a space at an edge", s)
		}
		words += len(strings.Fields(tl.String()))
	}
	if words != 20*5 {
		t.Errorf("wrapped text has %d words, want %d", words, 20*5)
	}
	// A word longer than the line is cut, not left to overflow, and starts
	// on the line it follows.
	url := "https://" + strings.Repeat("x", 200)
	long := wrapRuns([]run{{text: "Se " + url}}, 10, 100, 100)
	var joined string
	for i, l := range long {
		tl := textLine{size: 10, pieces: l}
		if w := tl.width(); w > 100 {
			t.Errorf("cut line %.1fpt wide", w)
		}
		if i == 0 && !strings.HasPrefix(tl.String(), "Se https://x") {
			t.Errorf("first line %q", tl.String())
		}
		joined += tl.String()
	}
	if joined != "Se "+url {
		t.Errorf("cut text %q", joined)
	}
}

// The address must sit in the envelope window, whatever else is on the page.
func TestAddressInWindow(t *testing.T) {
	texts := layoutText(t, sampleLetter())[0]
	x0, y0, x1, y1 := addressField()
	inside := func(st shownText) bool {
		w := regular.textWidth(st.text, st.size)
		return st.x >= x0 && st.x+w <= x1 && st.y-st.size*descender >= y0 && st.y+st.size*capHeight <= y1
	}
	for _, want := range []string{"Jens Fritagesen", "Testvej 1", "8800 Viborg"} {
		found := false
		for _, st := range findText(texts, want) {
			if st.text == want && st.role == roleAddress && inside(st) {
				found = true
			}
		}
		if !found {
			t.Errorf("address line %q not inside the window field (%.1f,%.1f)-(%.1f,%.1f); text: %+v", want, x0, y0, x1, y1, findText(texts, want))
		}
	}
	// Nothing but the address and the return line may show in the window.
	for _, st := range texts {
		w := regular.textWidth(st.text, st.size)
		overlaps := st.x < x1 && st.x+w > x0 && st.y-st.size*descender < y1 && st.y+st.size*capHeight > y0
		if overlaps && !inside(st) {
			t.Errorf("%q crosses the window edge", st.text)
		}
		if overlaps && st.text != "Jens Fritagesen" && st.text != "Testvej 1" && st.text != "8800 Viborg" && !strings.HasPrefix(st.text, "Demo Kommune, ") {
			t.Errorf("%q shows through the window", st.text)
		}
	}
	// In millimetres: the field is 20 mm from the left, 50–90 mm from the top.
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(x0/mm, 20) || !near((pageHeight-y1)/mm, 50) || !near((pageHeight-y0)/mm, 90) || !near((x1-x0)/mm, 85) {
		t.Errorf("field is not the documented geometry: %.2f %.2f %.2f %.2f mm", x0/mm, (pageHeight-y1)/mm, (pageHeight-y0)/mm, (x1-x0)/mm)
	}
}

func TestAddressLimits(t *testing.T) {
	l := sampleLetter()
	l.Recipient.Lines = []string{"c/o Hansen", "Testvej 1, 2. th.", "Øster Bjerregrav", "8800 Viborg", "Danmark"}
	if _, err := Render(io.Discard, l); err != nil {
		t.Errorf("six address lines: %v", err)
	}
	l.Recipient.Lines = append(l.Recipient.Lines, "en linje for meget")
	if _, err := Render(io.Discard, l); err == nil {
		t.Error("seven address lines accepted")
	}
	l = sampleLetter()
	l.Recipient.Lines = nil
	if _, err := Render(io.Discard, l); err == nil {
		t.Error("recipient without address accepted")
	}
	// A long name shrinks to fit, and still sits inside the field.
	l = sampleLetter()
	l.Recipient.Name = "Jens Christian Frederik Fritagesen-Østergaard Møller"
	lines, err := layoutAddress(l.Sender, l.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	x0, _, x1, _ := addressField()
	for _, pl := range lines {
		if pl.x < x0 || pl.x+pl.width() > x1 {
			t.Errorf("%q runs out of the field", pl.String())
		}
	}
}

func TestLetterRendersDanish(t *testing.T) {
	pdf, st := render(t, sampleLetter())
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) || !bytes.Contains(pdf[len(pdf)-32:], []byte("%%EOF")) {
		t.Fatal("not a complete PDF")
	}
	if st.Pages != 1 || st.CoverPages != 1 {
		t.Errorf("stats %+v, want one page", st)
	}
	if n := pdfcpuPages(t, pdf); n != 1 {
		t.Errorf("pdfcpu counts %d pages", n)
	}
	var all []string
	for _, page := range layoutText(t, sampleLetter()) {
		for _, tx := range page {
			all = append(all, tx.text)
		}
	}
	// Lines wrap where they wrap; compare the words.
	joined := strings.Join(strings.Fields(strings.Join(all, " ")), " ")
	for _, want := range []string{"Demo Kommune", "Jens Fritagesen", "Afgørelse om økonomisk hjælp", "12. marts 2026", "Kære Jens Fritagesen", "Søren Ærø på Åbyhøj får café-tilskud."} {
		if !strings.Contains(joined, want) {
			t.Errorf("letter lacks %q; it has:\n%s", want, joined)
		}
	}
	// Fonts are embedded TrueType subsets, never the unembedded standard 14.
	if bytes.Contains(pdf, []byte("/Helvetica")) {
		t.Error("the letter names a standard-14 font")
	}
}

func TestLongLetterPages(t *testing.T) {
	l := sampleLetter()
	para := "<p>" + strings.Repeat("Dette er en lang sætning om sagens forløb, som gentages for at fylde siden. ", 12) + "</p>"
	l.BodyHTML = strings.Repeat(para, 12)
	pdf, st := render(t, l)
	if st.Pages < 3 {
		t.Fatalf("long letter has %d pages, want at least 3", st.Pages)
	}
	if n := pdfcpuPages(t, pdf); n != st.Pages {
		t.Errorf("pdfcpu counts %d pages, Render said %d", n, st.Pages)
	}
	pages := layoutText(t, l)
	if len(pages) != st.Pages {
		t.Fatalf("%d laid-out pages for %d pages", len(pages), st.Pages)
	}
	for i, texts := range pages {
		want := "Side " + strconv.Itoa(i+1) + " af " + strconv.Itoa(st.Pages)
		if len(findText(texts, want)) != 1 {
			t.Errorf("page %d lacks %q", i+1, want)
		}
		for _, tx := range texts {
			if tx.y < bodyBottomMM*mm-1 && !strings.HasPrefix(tx.text, "Side ") {
				t.Errorf("page %d: %q is below the bottom margin (y=%.1f)", i+1, tx.text, tx.y)
			}
		}
	}
}

func pdfcpuPages(t *testing.T, pdf []byte) int {
	t.Helper()
	n, err := api.PageCount(bytes.NewReader(pdf), pdfcpuConfig())
	if err != nil {
		t.Fatalf("pdfcpu cannot read the PDF: %v", err)
	}
	return n
}

// attachmentPDF is a PDF of n pages from our own writer, to merge.
func attachmentPDF(t *testing.T, n int) []byte {
	t.Helper()
	d, err := newDoc(time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		d.coverPage(&coverPage{lines: []placedLine{{textLine: textLine{x: 72, y: 700, size: 24, pieces: plain(regular, "Bilag side "+strconv.Itoa(i+1))}}}})
	}
	data, err := d.bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMergePDFAttachments(t *testing.T) {
	l := sampleLetter()
	l.Attachments = []Attachment{
		memAttachment("bilag1.pdf", "application/pdf", attachmentPDF(t, 2)),
		streamAttachment("bilag2.pdf", "application/octet-stream", attachmentPDF(t, 3)), // not seekable: spooled
	}
	pdf, st := render(t, l)
	if st.CoverPages != 1 || st.Pages != 1+2+3 {
		t.Errorf("stats %+v, want 1 cover page and 6 in all", st)
	}
	if n := pdfcpuPages(t, pdf); n != 6 {
		t.Errorf("merged PDF has %d pages, want 6", n)
	}
}

// TestMergeSpoolEncrypted: a PDF attachment that cannot seek is spooled
// to a temporary file for the merge; the spool holds no plaintext and is
// gone afterwards.
func TestMergeSpoolEncrypted(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	data := attachmentPDF(t, 2)
	var seen int
	l := sampleLetter()
	l.Attachments = []Attachment{{Filename: "bilag.pdf", ContentType: "application/pdf", Open: func() (io.ReadCloser, error) {
		return closeHook{Reader: bytes.NewReader(data), close: func() {
			// The merge is done and the spool still exists: look at it.
			filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				seen++
				b, _ := os.ReadFile(p)
				if bytes.Contains(b, []byte("%PDF")) || bytes.Contains(b, []byte("Bilag side")) {
					t.Errorf("plaintext in spool %s", p)
				}
				return nil
			})
		}}, nil
	}}}
	pdf, _ := render(t, l)
	if n := pdfcpuPages(t, pdf); n != 3 {
		t.Errorf("merged PDF has %d pages, want 3", n)
	}
	if seen == 0 {
		t.Fatal("no spool file under TMPDIR: the test looked in the wrong place")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("spool left behind: %v", left)
	}
}

type closeHook struct {
	io.Reader
	close func()
}

func (c closeHook) Close() error { c.close(); return nil }

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{200, uint8(x), uint8(y), uint8(x + y)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageAttachments(t *testing.T) {
	l := sampleLetter()
	l.Attachments = []Attachment{
		memAttachment("foto.jpg", "image/jpeg", testJPEG(t, 640, 480)),
		streamAttachment("skaerm.png", "image/png", testPNG(t, 300, 200)),
	}
	pdf, st := render(t, l)
	if st.Pages != 3 {
		t.Errorf("stats %+v, want 3 pages", st)
	}
	if n := pdfcpuPages(t, pdf); n != 3 {
		t.Errorf("pdfcpu counts %d pages, want 3", n)
	}
	if !bytes.Contains(pdf, []byte("/DCTDecode")) {
		t.Error("JPEG not embedded as DCTDecode")
	}

	// Images between PDFs keep their place.
	l.Attachments = []Attachment{
		memAttachment("a.pdf", "application/pdf", attachmentPDF(t, 1)),
		memAttachment("foto.jpg", "image/jpeg", testJPEG(t, 64, 64)),
		memAttachment("b.pdf", "application/pdf", attachmentPDF(t, 2)),
		memAttachment("skaerm.png", "image/png", testPNG(t, 64, 64)),
	}
	pdf, st = render(t, l)
	if st.Pages != 1+1+1+2+1 {
		t.Errorf("stats %+v, want 6 pages", st)
	}
	if n := pdfcpuPages(t, pdf); n != 6 {
		t.Errorf("pdfcpu counts %d pages, want 6", n)
	}
}

func TestUnprintableAttachments(t *testing.T) {
	tests := []struct {
		name string
		att  Attachment
	}{
		{"docx", memAttachment("bilag.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", []byte("PK\x03\x04"))},
		{"png labelled pdf", memAttachment("bilag.pdf", "application/pdf", testPNG(t, 4, 4))},
		{"text labelled jpeg", memAttachment("foto.jpg", "image/jpeg", []byte("not an image"))},
		{"broken pdf", memAttachment("i-stykker.pdf", "application/pdf", []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage"))},
		{"truncated pdf", memAttachment("halv.pdf", "application/pdf", attachmentPDF(t, 2)[:300])},
		{"open fails", Attachment{Filename: "væk.pdf", ContentType: "application/pdf", Open: func() (io.ReadCloser, error) { return nil, os.ErrNotExist }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := sampleLetter()
			l.Attachments = []Attachment{tt.att}
			_, err := Render(io.Discard, l)
			switch {
			case err == nil:
				t.Error("accepted")
			case !strings.HasPrefix(err.Error(), "letter: "):
				t.Errorf("error without context: %v", err)
			case tt.name != "open fails" && !errors.Is(err, ErrUnprintable):
				t.Errorf("content error not marked ErrUnprintable: %v", err)
			}
		})
	}
	// The open error is wrapped, not swallowed, and not called permanent:
	// the attachment store may work on the next try.
	l := sampleLetter()
	l.Attachments = []Attachment{tests[len(tests)-1].att}
	if _, err := Render(io.Discard, l); !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrUnprintable) {
		t.Errorf("open error: %v", err)
	}
	// So is a failing read in the middle of an image.
	l.Attachments = []Attachment{{Filename: "foto.jpg", ContentType: "image/jpeg", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(testJPEG(t, 64, 64)[:200]), errReader{})), nil
	}}}
	if _, err := Render(io.Discard, l); err == nil || errors.Is(err, ErrUnprintable) {
		t.Errorf("read error: %v", err)
	}
	// An address that does not fit is the letter's fault.
	l = sampleLetter()
	l.Recipient.Lines = []string{"1", "2", "3", "4", "5", "6"}
	if _, err := Render(io.Discard, l); !errors.Is(err, ErrUnprintable) {
		t.Errorf("address error: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// pdfcpu must not create its configuration directory in the user's profile.
func TestNoConfigDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("APPDATA", filepath.Join(home, "AppData"))
	l := sampleLetter()
	l.Attachments = []Attachment{memAttachment("a.pdf", "application/pdf", attachmentPDF(t, 1))}
	render(t, l)
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("created %s in the home directory", e.Name())
	}
}

func TestExifOrientation(t *testing.T) {
	// A JPEG header with an APP1 Exif segment, big-endian TIFF, orientation 6.
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08" + "\x00\x01" + "\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + "\x00\x00\x00\x00")
	seg := append([]byte("Exif\x00\x00"), tiff...)
	jpg := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	jpg = append(jpg, 0xFF, 0xDA, 0, 2)
	if o := exifOrientation(jpg); o != 6 {
		t.Errorf("orientation %d, want 6", o)
	}
	if o := exifOrientation(testJPEG(t, 8, 8)); o != 1 {
		t.Errorf("orientation %d without EXIF, want 1", o)
	}
	// Turned a quarter, a landscape photo is placed as a portrait box.
	if _, _, w, h := imageBox(4000, 3000, 6); w >= h {
		t.Errorf("box for orientation 6 is %.0f×%.0f, want portrait", w, h)
	}
	if _, _, w, h := imageBox(4000, 3000, 1); w <= h {
		t.Errorf("box for orientation 1 is %.0f×%.0f, want landscape", w, h)
	}
}

// BenchmarkRender is one cover letter alone, and one merged with a PDF
// attachment: what a print job costs the relay.
func BenchmarkRender(b *testing.B) {
	t := &testing.T{}
	pdf := attachmentPDF(t, 2)
	for _, tt := range []struct {
		name string
		l    func() *Letter
	}{
		{"letter", sampleLetter},
		{"with-pdf", func() *Letter {
			l := sampleLetter()
			l.Attachments = []Attachment{memAttachment("bilag.pdf", "application/pdf", pdf)}
			return l
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(io.Discard, tt.l()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
