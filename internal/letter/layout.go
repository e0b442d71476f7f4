package letter

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Address window geometry, in millimetres from the top-left corner of the
// A4 page. See doc.go for why these numbers.
const (
	AddressFieldLeftMM   = 20.0
	AddressFieldTopMM    = 50.0
	AddressFieldWidthMM  = 85.0
	AddressFieldHeightMM = 40.0

	// Text keeps this clearance from the field's left and right edges, so a
	// letter that shifts a little in the envelope still shows all of it.
	addressInsetMM = 5.0
	// maxAddressLines is the postal limit for an address block, name included.
	maxAddressLines = 6
)

// Typesetting of the cover letter, in points unless named MM.
const (
	marginLeftMM  = 25.0 // DIN 5008; also clears a print service's marks at the left edge
	marginRightMM = 20.0
	senderLeftMM  = 125.0 // DIN 5008 information block
	senderTopMM   = 20.0
	dateBaseMM    = 98.0 // just below the address field
	subjectBaseMM = 108.0
	bodyTopMM     = 118.0 // first body baseline on page 1
	contTopMM     = 25.0  // first body baseline on later pages
	bodyBottomMM  = 25.0  // lowest body baseline, from the bottom edge
	footerBaseMM  = 12.0  // page number baseline, from the bottom edge

	bodySize      = 10.5
	bodyLeading   = 14.0
	subjectSize   = 12.0
	senderSize    = 11.0
	senderSubSize = 9.0
	addressSize   = 10.0
	addressLead   = 12.0
	minAddrSize   = 7.0
	returnSize    = 7.0
	minReturnSize = 6.0
	smallSize     = 8.0
	listIndentMM  = 6.0
	maxListIndent = 5     // levels
	capHeight     = 0.688 // Liberation Sans cap height per em (H: 1409/2048 units)
	descender     = 0.208 // Liberation Sans descender depth per em (p: 425/2048)
)

// piece is text in one font, already passed through printText.
type piece struct {
	font font
	text string
}

// textLine is one line of text placed on a page; y is the baseline.
type textLine struct {
	x, y   float64
	size   float64
	gray   bool
	pieces []piece
}

// width is the line's advance width.
func (t textLine) width() float64 {
	var w float64
	for _, p := range t.pieces {
		w += p.font.textWidth(p.text, t.size)
	}
	return w
}

// String returns the line's text, for tests.
func (t textLine) String() string {
	var sb strings.Builder
	for _, p := range t.pieces {
		sb.WriteString(p.text)
	}
	return sb.String()
}

// role says what a line is, so tests can find the address lines.
type role int

const (
	roleBody role = iota
	roleSender
	roleReturn
	roleAddress
	roleDate
	roleSubject
	roleHeader
	roleFooter
)

type placedLine struct {
	textLine
	role role
}

// coverPage is the laid-out content of one cover letter page.
type coverPage struct {
	lines    []placedLine
	pictures []placedPicture
}

// placedPicture is a picture of the body on a page; x, y is its top-left
// corner in PDF coordinates.
type placedPicture struct {
	*picture
	x, y, w, h float64
}

// fromTop converts millimetres from the top edge to a PDF y coordinate.
func fromTop(mmFromTop float64) float64 { return pageHeight - mmFromTop*mm }

// danishMonths are the month names as a Danish letter writes them.
var danishMonths = [12]string{"januar", "februar", "marts", "april", "maj", "juni",
	"juli", "august", "september", "oktober", "november", "december"}

// danishDate formats t as "3. marts 2026".
func danishDate(t time.Time) string {
	return fmt.Sprintf("%d. %s %d", t.Day(), danishMonths[t.Month()-1], t.Year())
}

func plain(f font, s string) []piece { return []piece{{font: f, text: printText(s)}} }

// layoutCover lays out the cover letter: letterhead, address in the window,
// date, subject and the body over as many pages as it needs.
func layoutCover(l *Letter) ([]*coverPage, error) {
	date := l.Date
	if date.IsZero() {
		date = time.Now()
	}
	first := &coverPage{}
	pages := []*coverPage{first}
	add := func(p *coverPage, r role, x, y, size float64, pieces []piece) {
		p.lines = append(p.lines, placedLine{textLine: textLine{x: x, y: y, size: size, pieces: pieces}, role: r})
	}
	rightEdge := pageWidth - marginRightMM*mm

	// Letterhead: the sender in the information block at the top right.
	senderX := senderLeftMM * mm
	senderW := rightEdge - senderX
	y := fromTop(senderTopMM) - senderSize*capHeight
	for _, line := range wrapRuns([]run{{text: l.Sender.Name, font: bold}}, senderSize, senderW, senderW) {
		add(first, roleSender, senderX, y, senderSize, line)
		y -= senderSize * 1.25
	}
	y -= 2
	for _, s := range l.Sender.Lines {
		for _, line := range wrapRuns([]run{{text: s}}, senderSubSize, senderW, senderW) {
			add(first, roleSender, senderX, y, senderSubSize, line)
			y -= senderSubSize * 1.3
		}
	}

	// The address window.
	addr, err := layoutAddress(l.Sender, l.Recipient)
	if err != nil {
		return nil, err
	}
	first.lines = append(first.lines, addr...)

	// Date, right-aligned, and the subject in bold.
	dl := textLine{size: bodySize, pieces: plain(regular, danishDate(date))}
	add(first, roleDate, rightEdge-dl.width(), fromTop(dateBaseMM), bodySize, dl.pieces)
	left := marginLeftMM * mm
	textW := rightEdge - left
	y = fromTop(subjectBaseMM)
	for i, line := range wrapRuns([]run{{text: l.Subject, font: bold}}, subjectSize, textW, textW) {
		if i > 0 {
			y -= subjectSize * 1.25
		}
		add(first, roleSubject, left, y, subjectSize, line)
	}

	// Body, below the (last line of the) subject.
	y -= (bodyTopMM - subjectBaseMM) * mm
	pages = layoutBody(pages, l.BodyHTML, y)
	numberPages(pages, l.Sender.Name+" \u00b7 "+danishDate(date))
	return pages, nil
}

// layoutBody sets the HTML body on the last of pages from baseline y
// down, adding pages as it needs them.
func layoutBody(pages []*coverPage, bodyHTML string, y float64) []*coverPage {
	page := pages[len(pages)-1]
	left := marginLeftMM * mm
	textW := pageWidth - marginRightMM*mm - left
	bottom := bodyBottomMM * mm
	atTop := false
	add := func(p *coverPage, x, y float64, pieces []piece) {
		p.lines = append(p.lines, placedLine{textLine: textLine{x: x, y: y, size: bodySize, pieces: pieces}, role: roleBody})
	}
	for _, b := range htmlToBlocks(bodyHTML) {
		if b.image != nil {
			// Shrunk to the text width and to a third of the page, so a
			// large picture in a mail does not take over the letter.
			w, h := b.image.width, b.image.height
			scale := min(1, textW/w, (pageHeight/3)/h)
			w, h = w*scale, h*scale
			top := y + bodySize*capHeight // the top of a line at baseline y
			if top-h < bottom {
				page = &coverPage{}
				pages = append(pages, page)
				top = fromTop(contTopMM) + bodySize*capHeight
			}
			page.pictures = append(page.pictures, placedPicture{picture: b.image, x: left, y: top, w: w, h: h})
			y = top - h - bodyLeading + bodySize*capHeight
			atTop = false
			continue
		}
		if b.gapBefore && !atTop {
			y -= bodyLeading
		}
		// Nesting deeper than a letter needs keeps the deepest indent, so
		// text never runs out of the page.
		indent := float64(min(b.level, maxListIndent)) * listIndentMM * mm
		var prefixW float64
		runs := b.runs
		if b.prefix != "" {
			prefixW = regular.textWidth(b.prefix, bodySize)
			runs = append([]run{{text: b.prefix}}, runs...)
		}
		lines := wrapRuns(runs, bodySize, textW-indent, textW-indent-prefixW)
		for i, line := range lines {
			if y < bottom {
				page = &coverPage{}
				pages = append(pages, page)
				y = fromTop(contTopMM)
			}
			x := left + indent
			if i > 0 {
				x += prefixW
			}
			add(page, x, y, line)
			y -= bodyLeading
			atTop = false
		}
		if y < bottom {
			atTop = true
		}
	}
	return pages
}

// numberPages adds "Side n af m" to every page once there are several,
// and the running header (when not empty) to every page after the first.
func numberPages(pages []*coverPage, header string) {
	if len(pages) < 2 {
		return
	}
	left := marginLeftMM * mm
	rightEdge := pageWidth - marginRightMM*mm
	for i, p := range pages {
		if i > 0 && header != "" {
			p.lines = append(p.lines, placedLine{textLine: textLine{x: left, y: fromTop(12), size: smallSize, gray: true, pieces: plain(regular, header)}, role: roleHeader})
		}
		f := textLine{size: smallSize, gray: true, pieces: plain(regular, fmt.Sprintf("Side %d af %d", i+1, len(pages)))}
		f.x, f.y = rightEdge-f.width(), footerBaseMM*mm
		p.lines = append(p.lines, placedLine{textLine: f, role: roleFooter})
	}
}

// addressField is the window field in PDF coordinates.
func addressField() (x0, y0, x1, y1 float64) {
	x0 = AddressFieldLeftMM * mm
	x1 = (AddressFieldLeftMM + AddressFieldWidthMM) * mm
	y1 = fromTop(AddressFieldTopMM)
	y0 = fromTop(AddressFieldTopMM + AddressFieldHeightMM)
	return
}

// layoutAddress places the return line and the recipient's address in the
// window field. The block is sized to fit rather than wrapped: a wrapped
// address line would read as a different address to the postal sorter.
func layoutAddress(sender, recipient Address) ([]placedLine, error) {
	x0, _, x1, top := addressField()
	x := x0 + addressInsetMM*mm
	maxW := x1 - addressInsetMM*mm - x

	lines := []string{strings.TrimSpace(recipient.Name)}
	for _, s := range recipient.Lines {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	if lines[0] == "" {
		return nil, unprintable(fmt.Errorf("letter: recipient has no name"))
	}
	if len(lines) < 2 {
		return nil, unprintable(fmt.Errorf("letter: recipient %q has no postal address", lines[0]))
	}
	if len(lines) > maxAddressLines {
		return nil, unprintable(fmt.Errorf("letter: recipient address has %d lines, the window holds %d", len(lines), maxAddressLines))
	}

	// Return address: one small line at the top of the field, as DIN 5008
	// has it, so an undeliverable letter finds its way back. Sender lines
	// are dropped from the end until it fits.
	var out []placedLine
	retParts := []string{strings.TrimSpace(sender.Name)}
	for _, s := range sender.Lines {
		if s = strings.TrimSpace(s); s != "" {
			retParts = append(retParts, s)
		}
	}
	for len(retParts) > 0 {
		ret := strings.Join(retParts, ", ")
		size := returnSize
		if w := regular.textWidth(ret, returnSize); w > maxW {
			size = returnSize * maxW / w
		}
		if size >= minReturnSize || len(retParts) == 1 {
			if regular.textWidth(ret, size) > maxW {
				break // a sender name too long even alone: leave the line out
			}
			y := top - 2*mm - size*capHeight
			out = append(out, placedLine{textLine: textLine{x: x, y: y, size: size, pieces: plain(regular, ret)}, role: roleReturn})
			break
		}
		retParts = retParts[:len(retParts)-1]
	}

	size := addressSize
	for _, s := range lines {
		if w := regular.textWidth(s, addressSize); w > maxW && addressSize*maxW/w < size {
			size = addressSize * maxW / w
		}
	}
	if size < minAddrSize {
		return nil, unprintable(fmt.Errorf("letter: recipient address line too long for the envelope window"))
	}
	lead := addressLead * size / addressSize
	y := top - 9*mm - size*capHeight
	for _, s := range lines {
		out = append(out, placedLine{textLine: textLine{x: x, y: y, size: size, pieces: plain(regular, s)}, role: roleAddress})
		y -= lead
	}
	return out, nil
}

// wrapRuns breaks runs of text into lines no wider than firstWidth (the
// first line) and width (the rest), breaking at spaces and at '\n', and
// inside a word only when the word alone is wider than a line.
func wrapRuns(runs []run, size, firstWidth, width float64) [][]piece {
	type token struct {
		newline bool
		space   bool
		font    font
		word    []piece
	}
	var tokens []token
	var word []piece
	flush := func() {
		if len(word) > 0 {
			tokens = append(tokens, token{word: word})
			word = nil
		}
	}
	for _, r := range runs {
		start := 0
		for i := 0; i <= len(r.text); i++ {
			if i < len(r.text) && r.text[i] != ' ' && r.text[i] != '\n' {
				continue
			}
			if i > start {
				if enc := printText(r.text[start:i]); len(enc) > 0 {
					word = append(word, piece{font: r.font, text: enc})
				}
			}
			start = i + 1
			if i == len(r.text) {
				break
			}
			flush()
			tokens = append(tokens, token{newline: r.text[i] == '\n', space: r.text[i] == ' ', font: r.font})
		}
	}
	flush()

	var lines [][]piece
	var line []piece
	var lineW float64
	avail := firstWidth
	newLine := func() {
		lines = append(lines, mergePieces(line))
		line, lineW, avail = nil, 0, width
	}
	pendingSpace := false
	var spaceFont font
	for _, t := range tokens {
		switch {
		case t.newline:
			newLine()
			pendingSpace = false
		case t.space:
			if len(line) > 0 {
				pendingSpace, spaceFont = true, t.font
			}
		default:
			w := wordWidth(t.word, size)
			var sp float64
			if pendingSpace {
				sp = spaceFont.textWidth(" ", size)
			}
			pendingSpace = false
			if len(line) > 0 && lineW+sp+w <= avail {
				line = append(line, piece{font: spaceFont, text: " "})
				line = append(line, t.word...)
				lineW += sp + w
				continue
			}
			if w <= width {
				if len(line) > 0 {
					newLine()
				}
				if w <= avail {
					line = append(line, t.word...)
					lineW = w
					continue
				}
			} else if len(line) > 0 {
				// A word wider than any line (a long URL) starts where it
				// is, and is cut where it must be.
				_, n := utf8.DecodeRuneInString(t.word[0].text)
				first := t.word[0].font.textWidth(t.word[0].text[:n], size)
				if lineW+sp+first <= avail {
					line = append(line, piece{font: spaceFont, text: " "})
					lineW += sp
				} else {
					newLine()
				}
			}
			for _, p := range t.word {
				for _, c := range p.text {
					cw := p.font.textWidth(string(c), size)
					if lineW+cw > avail && len(line) > 0 {
						newLine()
					}
					line = append(line, piece{font: p.font, text: string(c)})
					lineW += cw
				}
			}
		}
	}
	if len(line) > 0 || len(lines) == 0 {
		lines = append(lines, mergePieces(line))
	}
	return lines
}

func wordWidth(w []piece, size float64) float64 {
	var total float64
	for _, p := range w {
		total += p.font.textWidth(p.text, size)
	}
	return total
}

// mergePieces joins neighbouring pieces in the same font, so a line is
// written with as few font changes as possible.
func mergePieces(ps []piece) []piece {
	var out []piece
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].font == p.font {
			out[n-1].text += p.text
			continue
		}
		out = append(out, p)
	}
	return out
}
