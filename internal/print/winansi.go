package print

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// winAnsiHigh maps the code points of WinAnsiEncoding's 0x80–0x9F range,
// the only range where it differs from ISO 8859-1.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsiByte returns the WinAnsiEncoding code for r, or '?' when the
// standard fonts cannot show it.
func winAnsiByte(r rune) byte {
	switch {
	case r >= 0x20 && r < 0x7F:
		return byte(r)
	case r >= 0xA0 && r <= 0xFF:
		if r == 0xAD { // soft hyphen: invisible unless we hyphenate, which we do not
			return 0
		}
		return byte(r)
	}
	if b, ok := winAnsiHigh[r]; ok {
		return b
	}
	switch r {
	case '\u2010', '\u2011', '\u2012', '\u2212': // hyphens and minus look like '-'
		return '-'
	case '\u2022', '\u25CF', '\u25E6', '\u2023':
		return 0x95
	}
	if unicode.Is(unicode.Zs, r) { // en space, thin space, …
		return ' '
	}
	return '?'
}

// encodeWinAnsi converts s to WinAnsiEncoding bytes. The text is NFC
// normalised first so that a decomposed "é" (e + combining acute), as some
// editors produce, still prints as one glyph instead of "e?". Control and
// format characters (zero-width space, byte order mark) are dropped.
func encodeWinAnsi(s string) []byte {
	s = norm.NFC.String(s)
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if unicode.Is(unicode.Mn, r) { // a combining mark NFC could not fold in
			out = append(out, '?')
			continue
		}
		if b := winAnsiByte(r); b != 0 {
			out = append(out, b)
		}
	}
	return out
}

// font is one of the four standard Helvetica faces we use; bold and
// italic are bits so that nested <b><i> combine.
type font int

const (
	regular font = 0
	bold    font = 1
	italic  font = 2
)

// baseFonts are the standard 14 font names, by font value.
var baseFonts = [4]string{"Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique"}

// resourceName is the font's name in the page resources.
func (f font) resourceName() string {
	return "F" + string(rune('1'+f&3))
}

// width returns the advance width in points of WinAnsi-encoded text at size.
// The oblique faces share the upright faces' metrics.
func (f font) width(text []byte, size float64) float64 {
	table := &helveticaWidths
	if f&bold != 0 {
		table = &helveticaBoldWidths
	}
	var units int
	for _, b := range text {
		units += int(table[b])
	}
	return float64(units) * size / 1000
}

// textWidth measures a Go string as it will print.
func (f font) textWidth(s string, size float64) float64 {
	return f.width(encodeWinAnsi(s), size)
}

// pdfString writes b as a PDF literal string, escaping the three
// characters that are special inside one.
func pdfString(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + 2)
	sb.WriteByte('(')
	for _, c := range b {
		switch c {
		case '(', ')', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\r':
			sb.WriteString(`\r`)
		case '\n':
			sb.WriteString(`\n`)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(')')
	return sb.String()
}

// decodeWinAnsi converts WinAnsi bytes back to a Go string.
func decodeWinAnsi(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x80 && c <= 0x9F {
			r := rune('?')
			for k, v := range winAnsiHigh {
				if v == c {
					r = k
					break
				}
			}
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
