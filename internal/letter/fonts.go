package letter

import (
	_ "embed"
	"fmt"
	"sync"
	"unicode"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// The letter is set in Liberation Sans (SIL Open Font License 1.1, see
// fonts/LICENSE; the files are Debian's fonts-liberation2 2.1.5). It is
// metric-compatible with Arial and Helvetica, so letters keep the look and
// the line breaks they had when we used the unembedded standard Helvetica;
// unlike that, it is embedded (and subset) in every PDF, so a print service
// prints exactly these glyphs and never substitutes a font of its own.
var (
	//go:embed fonts/LiberationSans-Regular.ttf
	sansRegular []byte
	//go:embed fonts/LiberationSans-Bold.ttf
	sansBold []byte
	//go:embed fonts/LiberationSans-Italic.ttf
	sansItalic []byte
	//go:embed fonts/LiberationSans-BoldItalic.ttf
	sansBoldItalic []byte
)

// font is one of the four faces; bold and italic are bits so that nested
// <b><i> combine.
type font int

const (
	regular font = 0
	bold    font = 1
	italic  font = 2
)

// fontFamily is the family name the faces are registered under in fpdf.
const fontFamily = "sans"

// style is the face's fpdf style string.
func (f font) style() string {
	return [4]string{"", "B", "I", "BI"}[f&3]
}

func (f font) file() []byte {
	return [4][]byte{sansRegular, sansBold, sansItalic, sansBoldItalic}[f&3]
}

// face is a parsed font file, for measuring text and checking coverage.
// Advances are cached per character: a letter measures the same few
// dozen characters thousands of times while it wraps.
type face struct {
	sf      *sfnt.Font
	upm     float64
	advance sync.Map // rune → float64 advance in font units; -1: no glyph
}

var (
	facesOnce sync.Once
	faces     [4]face
	facesErr  error
)

func loadFaces() error {
	facesOnce.Do(func() {
		for i := range faces {
			sf, err := sfnt.Parse(font(i).file())
			if err != nil {
				facesErr = fmt.Errorf("letter: parse embedded font %d: %w", i, err)
				return
			}
			faces[i].sf, faces[i].upm = sf, float64(sf.UnitsPerEm())
		}
	})
	return facesErr
}

// textWidth is the advance width of s in points at size, as the PDF shows
// it (fpdf applies no kerning either).
func (f font) textWidth(s string, size float64) float64 {
	if loadFaces() != nil {
		return 0
	}
	fc := &faces[f&3]
	var units float64
	for _, r := range s {
		if a := fc.units(r); a > 0 {
			units += a
		}
	}
	return units * size / fc.upm
}

// units is r's advance in font units, or -1 when the face has no glyph.
func (fc *face) units(r rune) float64 {
	if v, ok := fc.advance.Load(r); ok {
		return v.(float64)
	}
	var buf sfnt.Buffer
	a := -1.0
	if gi, err := fc.sf.GlyphIndex(&buf, r); err == nil && gi != 0 {
		if adv, err := fc.sf.GlyphAdvance(&buf, gi, fixed.Int26_6(fc.upm*64), xfont.HintingNone); err == nil {
			a = float64(adv) / 64
		}
	}
	fc.advance.Store(r, a)
	return a
}

// has reports whether the face has a glyph for r.
func (f font) has(r rune) bool {
	if loadFaces() != nil {
		return false
	}
	return faces[f&3].units(r) >= 0
}

// printText prepares text for the page: NFC normalised, so a decomposed
// "é" (e + combining acute, as some editors write it) prints as one glyph;
// control and format characters (zero-width space, soft hyphen, byte order
// mark) dropped; every kind of space an ordinary space; and a character the
// font has no glyph for shown as '?' rather than as an empty box.
func printText(s string) string {
	s = norm.NFC.String(s)
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			out = append(out, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u00ad':
		case unicode.Is(unicode.Zs, r):
			out = append(out, ' ')
		case unicode.Is(unicode.Mn, r): // a combining mark NFC could not fold in
			out = append(out, '?')
		case !regular.has(r) || !bold.has(r):
			out = append(out, '?')
		default:
			out = append(out, r)
		}
	}
	return string(out)
}
