package letter

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// A4 portrait in PDF points (1/72 inch): the size fpdf gives "A4".
const (
	pageWidth  = 595.28
	pageHeight = 841.89
	mm         = 72 / 25.4
)

// doc is a PDF of our own pages (cover letter, image pages, documents
// converted from text), written with fpdf in points. fpdf measures y from
// the top; our layout uses PDF coordinates (y up from the bottom), and doc
// converts.
//
// fpdf keeps the whole document in memory until it is written: an image
// attachment is held once as its file (JPEG) or as a re-encoded PNG.
type doc struct {
	f      *fpdf.Fpdf
	pages  int
	images int
	faces  [4]bool // registered with fpdf: only faces in use are embedded
}

func newDoc(created time.Time) (*doc, error) {
	if err := loadFaces(); err != nil {
		return nil, err
	}
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "pt", SizeStr: "A4"})
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(0, 0, 0)
	f.SetCompression(true)
	f.SetProducer("Send sikkert", true)
	if created.IsZero() {
		created = time.Now()
	}
	// A fixed date makes a retried letter the same bytes as the first try.
	f.SetCreationDate(created)
	f.SetModificationDate(created)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("letter: set up PDF: %w", err)
	}
	return &doc{f: f}, nil
}

// setFont selects a face, registering it with fpdf the first time: fpdf
// embeds every registered font, used or not, and parsing one costs as
// much as the rest of a letter.
func (d *doc) setFont(f font, size float64) {
	if !d.faces[f&3] {
		d.f.AddUTF8FontFromBytes(fontFamily, f.style(), f.file())
		d.faces[f&3] = true
	}
	d.f.SetFont(fontFamily, f.style(), size)
}

func (d *doc) addPage() {
	d.f.AddPage()
	d.pages++
}

// text draws one laid-out line; y is its baseline in PDF coordinates.
func (d *doc) text(l textLine) {
	if l.gray {
		d.f.SetTextColor(89, 89, 89)
	}
	x := l.x
	for _, p := range l.pieces {
		d.setFont(p.font, l.size)
		d.f.Text(x, pageHeight-l.y, p.text)
		x += p.font.textWidth(p.text, l.size)
	}
	if l.gray {
		d.f.SetTextColor(0, 0, 0)
	}
}

// coverPage draws a laid-out page.
func (d *doc) coverPage(p *coverPage) {
	d.addPage()
	for _, l := range p.lines {
		if len(l.pieces) > 0 {
			d.text(l.textLine)
		}
	}
	for _, pic := range p.pictures {
		d.picture(pic)
	}
}

// picture draws a picture of the body. One that fpdf cannot read (a PNG
// it does not support, say) is flattened to a plain PNG first; one that
// cannot be read at all is left out, as a mail client shows a broken
// image: the letter's text matters more.
func (d *doc) picture(p placedPicture) {
	data, typ := p.data, p.typ
	if typ == "PNG" || typ == "GIF" {
		if flat, _, _, err := flattenPNG(bytes.NewReader(data), typ); err == nil {
			data, typ = flat, "PNG"
		} else {
			return
		}
	}
	d.images++
	name := fmt.Sprintf("im%d", d.images)
	d.f.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(data))
	if d.f.Error() != nil {
		d.f.ClearError()
		return
	}
	d.f.ImageOptions(name, p.x, pageHeight-p.y, p.w, p.h, false, fpdf.ImageOptions{ImageType: typ}, 0, "")
}

// write finishes the document and writes it to w, with its subset fonts
// named as subsets (see tagSubsets).
func (d *doc) write(w io.Writer) error {
	var buf bytes.Buffer
	if err := d.f.Output(&buf); err != nil {
		return fmt.Errorf("letter: write PDF: %w", err)
	}
	ctx, err := pdfcpu.Read(bytes.NewReader(buf.Bytes()), pdfcpuConfig())
	if err != nil {
		return fmt.Errorf("letter: reread own PDF: %w", err)
	}
	tagSubsets(ctx)
	return writeContext(ctx, w)
}

// bytes finishes the document into memory, for a merge.
func (d *doc) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.f.Output(&buf); err != nil {
		return nil, fmt.Errorf("letter: write PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// psNames are the faces' PostScript names, by fpdf style.
var psNames = map[string]string{"": "LiberationSans", "B": "LiberationSans-Bold", "I": "LiberationSans-Italic", "BI": "LiberationSans-BoldItalic"}

// tagSubsets names every font fpdf subset the way PDF 32000-1 §9.6.4
// requires of a subset: six capital letters and '+' before the font's
// name. fpdf embeds only the glyphs a document uses but names the font
// "utf8<family><style>"; print preflight tools (and pdffonts) take a font
// without the tag for a complete one. The Type0 font, its CIDFont and its
// descriptor get the same tag, derived from the Type0 font's object
// number, so each subset in a merged document has its own.
func tagSubsets(ctx *model.Context) {
	xt := ctx.XRefTable
	for nr, e := range xt.Table {
		if e == nil || e.Free {
			continue
		}
		top, ok := e.Object.(types.Dict)
		if !ok || top.Type() == nil || *top.Type() != "Font" || top.Subtype() == nil || *top.Subtype() != "Type0" {
			continue
		}
		name := top.NameEntry("BaseFont")
		if name == nil || !strings.HasPrefix(*name, "utf8") {
			continue
		}
		ps, ok := psNames[strings.TrimPrefix(*name, "utf8"+fontFamily)]
		if !ok {
			continue
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", *name, nr))
		tag := make([]byte, 6)
		for i := range tag {
			tag[i] = 'A' + sum[i]%26
		}
		tagged := types.Name(string(tag) + "+" + ps)
		top.Update("BaseFont", tagged)
		kids, err := xt.DereferenceArray(top["DescendantFonts"])
		if err != nil || len(kids) == 0 {
			continue
		}
		cid, err := xt.DereferenceDict(kids[0])
		if err != nil || cid == nil {
			continue
		}
		cid.Update("BaseFont", tagged)
		if desc, err := xt.DereferenceDict(cid["FontDescriptor"]); err == nil && desc != nil {
			desc.Update("FontName", tagged)
		}
	}
}
