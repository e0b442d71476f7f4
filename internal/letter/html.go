package letter

import (
	"bytes"
	"encoding/base64"
	"html"
	"image"
	"regexp"
	"strconv"
	"strings"
)

// run is text in one font; '\n' inside it is a hard line break.
type run struct {
	text string
	font font
}

// block is one paragraph of the body as it will be typeset, or a picture.
type block struct {
	image     *picture // a picture embedded in the body; no runs then
	runs      []run
	prefix    string // list marker, e.g. "• " or "3. "
	level     int    // list nesting depth, for the indent
	gapBefore bool   // an empty line separates it from the block before
}

// text returns the block's plain text, for tests and debugging.
func (b block) text() string {
	var sb strings.Builder
	sb.WriteString(b.prefix)
	for _, r := range b.runs {
		sb.WriteString(r.text)
	}
	return sb.String()
}

// Elements whose content is never shown to a reader of the mail.
var hiddenElements = map[string]bool{
	"script": true, "style": true, "title": true, "xml": true,
	"template": true, "noscript": true,
}

// Elements that end a paragraph and leave an empty line after it.
var paragraphElements = map[string]bool{
	"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"ul": true, "ol": true, "table": true, "blockquote": true, "hr": true,
	"pre": true, "address": true, "dl": true,
}

// Elements that start a new line but no empty line.
var lineElements = map[string]bool{
	"div": true, "li": true, "tr": true, "dt": true, "dd": true,
	"section": true, "article": true, "header": true, "footer": true,
	"body": true, "center": true,
}

// htmlToBlocks turns the clerk's HTML mail body into paragraphs. It is not
// a full HTML parser: a mail body is a document fragment from Outlook or a
// web editor, and all we need is its words, its paragraph and line breaks,
// lists, and bold/italic. Markup we do not know is dropped, its text kept.
func htmlToBlocks(src string) []block {
	// Outlook writes every line as <p class=MsoNormal> with no margin and
	// an empty <p>&nbsp;</p> for a blank line; spacing its paragraphs
	// would double-space the letter.
	c := converter{msoLines: strings.Contains(src, "MsoNormal")}
	for len(src) > 0 {
		lt := strings.IndexByte(src, '<')
		if lt < 0 {
			c.text(src)
			break
		}
		if lt > 0 {
			c.text(src[:lt])
			src = src[lt:]
			continue
		}
		// src starts with '<'.
		switch {
		case strings.HasPrefix(src, "<!--"):
			end := strings.Index(src[4:], "-->")
			if end < 0 {
				src = ""
			} else {
				src = src[4+end+3:]
			}
			continue
		case strings.HasPrefix(src, "<!") || strings.HasPrefix(src, "<?"):
			// Doctype, CDATA-ish and Word's <![if !supportLists]> markers.
			end := strings.IndexByte(src, '>')
			if end < 0 {
				src = ""
			} else {
				src = src[end+1:]
			}
			continue
		}
		name, closing, selfClosing, end, ok := parseTag(src)
		if !ok {
			// A lone '<' as in "a < b": it is text.
			c.text("<")
			src = src[1:]
			continue
		}
		raw := src[:end]
		src = src[end:]
		if !closing && hiddenElements[name] && !selfClosing {
			src = skipElement(src, name)
			continue
		}
		if name == "img" && !closing {
			c.image(raw)
			continue
		}
		c.tag(name, closing)
	}
	c.endBlock(false)
	return c.blocks
}

// parseTag reads the tag at the start of s ("<name ...>" or "</name>").
// end is the index just past '>'. Quoted attribute values may hold '>'.
func parseTag(s string) (name string, closing, selfClosing bool, end int, ok bool) {
	i := 1
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && (isASCIILetter(s[i]) || (i > start && (isASCIIDigit(s[i]) || s[i] == ':' || s[i] == '-'))) {
		i++
	}
	if i == start {
		return "", false, false, 0, false
	}
	name = strings.ToLower(s[start:i])
	var quote byte
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '>':
			selfClosing = i > 0 && s[i-1] == '/'
			return name, closing, selfClosing, i + 1, true
		}
	}
	// Unterminated tag: swallow the rest rather than print markup.
	return name, closing, false, len(s), true
}

// skipElement returns s after the closing tag of name, for elements whose
// content is not text (script, style).
func skipElement(s, name string) string {
	lower := strings.ToLower(s)
	end := strings.Index(lower, "</"+name)
	if end < 0 {
		return ""
	}
	gt := strings.IndexByte(s[end:], '>')
	if gt < 0 {
		return ""
	}
	return s[end+gt+1:]
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isASCIIDigit(c byte) bool  { return c >= '0' && c <= '9' }

type list struct {
	ordered bool
	n       int
}

// converter accumulates blocks while the HTML is scanned.
type converter struct {
	blocks    []block
	cur       block
	curEmpty  bool // cur has no visible character yet
	started   bool // cur has been initialised
	space     bool // a collapsed space is pending before the next word
	gap       bool // an empty line is pending before the next block
	boldDepth int
	italDepth int
	preDepth  int
	lists     []list
	cell      bool // inside a table row, a cell has been seen
	msoLines  bool // <p> is a line, not a paragraph (Outlook)
}

func (c *converter) font() font {
	f := regular
	if c.boldDepth > 0 {
		f |= bold
	}
	if c.italDepth > 0 {
		f |= italic
	}
	return f
}

func (c *converter) begin() {
	if c.started {
		return
	}
	c.started = true
	c.curEmpty = true
}

// appendText adds already collapsed text to the current block.
func (c *converter) appendText(s string) {
	c.begin()
	f := c.font()
	if n := len(c.cur.runs); n > 0 && c.cur.runs[n-1].font == f {
		c.cur.runs[n-1].text += s
	} else {
		c.cur.runs = append(c.cur.runs, run{text: s, font: f})
	}
	if strings.TrimFunc(s, isBlank) != "" {
		c.curEmpty = false
	}
}

// isBlank reports characters that do not make a paragraph visible.
func isBlank(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

// text handles character data between tags.
func (c *converter) text(raw string) {
	s := html.UnescapeString(raw)
	if c.preDepth > 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\t", "    ")
		c.appendText(s)
		return
	}
	var sb strings.Builder
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			c.space = true
			continue
		}
		if c.space {
			// No leading space in a line, and never two in a row.
			if !c.atLineStart(sb.String()) {
				sb.WriteByte(' ')
			}
			c.space = false
		}
		sb.WriteRune(r)
	}
	if sb.Len() > 0 {
		c.appendText(sb.String())
	}
}

// atLineStart reports whether the next character would begin a line, in
// which case a collapsed space before it is dropped.
func (c *converter) atLineStart(pending string) bool {
	if pending != "" {
		return strings.HasSuffix(pending, "\n")
	}
	if len(c.cur.runs) == 0 {
		return true
	}
	last := c.cur.runs[len(c.cur.runs)-1].text
	return last == "" || strings.HasSuffix(last, "\n") || strings.HasSuffix(last, " ")
}

// lineBreak handles <br>.
func (c *converter) lineBreak() {
	if !c.started || c.curEmpty {
		// "<div><br></div>" is how web editors write an empty line.
		if len(c.blocks) > 0 {
			c.gap = true
		}
		c.cur = block{}
		c.started = false
		return
	}
	c.space = false
	c.appendText("\n")
}

// endBlock closes the current block; gap asks for an empty line after it.
func (c *converter) endBlock(gap bool) {
	if c.started && c.curEmpty && c.cur.prefix != "" {
		// "<li><p>text</p></li>": the item's marker waits for its text.
		if gap && len(c.blocks) > 0 {
			c.gap = true
		}
		return
	}
	if c.started && !c.curEmpty {
		b := c.cur
		trimRuns(&b)
		b.gapBefore = c.gap && len(c.blocks) > 0
		c.blocks = append(c.blocks, b)
		c.gap = false
	} else if c.started && len(c.blocks) > 0 && c.cur.prefix == "" {
		// An empty paragraph, e.g. Outlook's <p>&nbsp;</p>, is an empty line.
		c.gap = true
	}
	if gap && len(c.blocks) > 0 {
		c.gap = true
	}
	c.cur = block{}
	c.started = false
	c.space = false
	c.cell = false
}

// dropEmptyItem forgets a list item that ended without text.
func (c *converter) dropEmptyItem() {
	if c.started && c.curEmpty && c.cur.prefix != "" {
		c.cur = block{}
		c.started = false
	}
}

// trimRuns removes line breaks at the start of the block and blank
// characters at its end. Spaces inside are already collapsed by text, and
// leading spaces are kept because in <pre> they are indentation.
func trimRuns(b *block) {
	out := b.runs
	for len(out) > 0 {
		out[0].text = strings.TrimLeft(out[0].text, "\n")
		if out[0].text != "" {
			break
		}
		out = out[1:]
	}
	for len(out) > 0 {
		n := len(out) - 1
		out[n].text = strings.TrimRight(out[n].text, " \n")
		if out[n].text != "" {
			break
		}
		out = out[:n]
	}
	b.runs = out
}

// tag handles an opening or closing tag.
func (c *converter) tag(name string, closing bool) {
	switch name {
	case "br":
		c.lineBreak()
		return
	case "b", "strong":
		c.depth(&c.boldDepth, closing)
		return
	case "i", "em", "cite", "var":
		c.depth(&c.italDepth, closing)
		return
	case "h1", "h2", "h3", "h4", "h5", "h6", "th":
		if name != "th" {
			c.endBlock(true)
		}
		c.depth(&c.boldDepth, closing)
		if name == "th" {
			c.cellBreak(closing)
		}
		return
	case "td":
		c.cellBreak(closing)
		return
	case "pre":
		c.endBlock(true)
		c.depth(&c.preDepth, closing)
		return
	case "ul", "ol":
		c.dropEmptyItem()
		c.endBlock(len(c.lists) == 0)
		if closing {
			if n := len(c.lists); n > 0 {
				c.lists = c.lists[:n-1]
			}
		} else {
			c.lists = append(c.lists, list{ordered: name == "ol"})
		}
		return
	case "li":
		c.dropEmptyItem()
		c.endBlock(false)
		if closing || len(c.lists) == 0 {
			if !closing {
				c.begin()
				c.cur.prefix = "\u2022 "
			}
			return
		}
		l := &c.lists[len(c.lists)-1]
		c.begin()
		c.cur.level = len(c.lists) - 1
		if l.ordered {
			l.n++
			c.cur.prefix = strconv.Itoa(l.n) + ". "
		} else {
			c.cur.prefix = "\u2022 "
		}
		return
	}
	switch {
	case name == "p" && c.msoLines:
		c.endBlock(false)
	case paragraphElements[name]:
		c.endBlock(true)
	case lineElements[name]:
		c.endBlock(false)
	}
}

// picture is an image embedded in the body as a data: URI (a signature's
// logo, embedded at submit from Outlook's inline attachment).
type picture struct {
	data          []byte
	typ           string  // fpdf image type: "PNG", "JPG", "GIF"
	width, height float64 // as shown, in points
}

var (
	attrSrc    = regexp.MustCompile(`(?is)\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	attrWidth  = regexp.MustCompile(`(?is)\swidth\s*=\s*["']?(\d+)`)
	attrHeight = regexp.MustCompile(`(?is)\sheight\s*=\s*["']?(\d+)`)
	dataURI    = regexp.MustCompile(`(?is)^data:image/(png|jpeg|gif);base64,(.*)$`)
)

// image handles <img>: a data: picture becomes a block of its own; any
// other source (a cid: never resolved, a remote address) prints nothing —
// a letter loads nothing from anywhere.
func (c *converter) image(tag string) {
	m := attrSrc.FindStringSubmatch(tag)
	if m == nil {
		return
	}
	src := html.UnescapeString(m[1] + m[2] + m[3])
	d := dataURI.FindStringSubmatch(strings.TrimSpace(src))
	if d == nil {
		return
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(d[2]), ""))
	if err != nil {
		return
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPNGPixels {
		return
	}
	// Shown as the mail shows it: the width and height the clerk's mail
	// gave, in CSS pixels, else the picture's own size at 96 dpi.
	w, h := float64(cfg.Width), float64(cfg.Height)
	if m := attrWidth.FindStringSubmatch(tag); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil && v > 0 {
			if hm := attrHeight.FindStringSubmatch(tag); hm == nil {
				h = h * float64(v) / w
			}
			w = float64(v)
		}
	}
	if m := attrHeight.FindStringSubmatch(tag); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil && v > 0 {
			h = float64(v)
		}
	}
	typ := map[string]string{"png": "PNG", "jpeg": "JPG", "gif": "GIF"}[strings.ToLower(d[1])]
	c.endBlock(false)
	c.blocks = append(c.blocks, block{image: &picture{data: data, typ: typ, width: w * 72 / naturalDPI, height: h * 72 / naturalDPI}})
}

// cellBreak separates table cells on a row by a wide space.
func (c *converter) cellBreak(closing bool) {
	if closing {
		c.cell = true
		return
	}
	if c.cell && c.started && !c.curEmpty {
		c.space = false
		c.appendText("   ")
	}
}

func (c *converter) depth(d *int, closing bool) {
	if closing {
		if *d > 0 {
			*d--
		}
		return
	}
	*d++
}
