// Package maindoc makes the clerk's HTML body the main document Digital
// Post shows: self-contained, nothing that loads by itself, nothing that
// runs.
//
// Outlook writes a signature's logo as <img src="cid:image001.png@…"> and
// keeps the picture as an inline attachment; the pages send those as
// multipart parts named "inline" with a Content-ID header. Prepare puts
// each picture into the body as a data: URI. We keep the main document
// HTML rather than converting it to PDF: Digitaliseringsstyrelsen's
// "Principper for dokumenter og HTML i Digital Post" (with the MeMo guides
// at admin.digitaliser.dk/digital-post/vejledninger/memo) asks for HTML
// that is self-contained — no scripts, no references to resources outside
// the message — which an embedded image is, and an HTML main document stays
// readable, searchable and accessible in the citizen's mailbox, where a PDF
// would be a picture of the same text. (We could not read that document
// from here; this is our reading of its summary and of the issue, and the
// MeMo schema itself allows either.)
//
// What Prepare does, by an allowlist of elements and attributes:
//   - cid: images are resolved to data: URIs; a cid: with no picture sent
//     is removed, and a note for the clerk says so;
//   - every other image source that would load by itself (http:, https:,
//     file:, a relative path: a tracking pixel if it loaded) is removed,
//     with a note; data: images of PNG, JPEG or GIF stay;
//   - style sheets lose @import, @font-face and url(…); <link>, <base>,
//     <meta> other than the charset, frames, objects, SVG, forms' controls
//     and media go;
//   - scripts, event handlers (on…) and javascript: links go; links the
//     citizen clicks (http, https, mailto, tel) stay.
package maindoc

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Inline is a picture sent with the body, as Outlook keeps a signature's
// logo: its Content-ID (without the angle brackets) and its bytes.
type Inline struct {
	ContentID   string
	ContentType string
	Data        []byte
}

// Result is the prepared body and what the clerk should be told about it.
type Result struct {
	HTML string
	// Notes are Danish sentences for the clerk: what was removed and why.
	Notes []string
}

// Prepare returns the body as a self-contained HTML fragment or document
// (as it came), with inline pictures embedded and everything that would
// load or run removed. It is idempotent: a prepared body comes back the
// same, so the relay may prepare what the agent prepared.
func Prepare(body string, inline []Inline) Result {
	byCID := map[string]Inline{}
	for _, in := range inline {
		byCID[normCID(in.ContentID)] = in
	}
	p := &preparer{byCID: byCID}
	var out bytes.Buffer
	if strings.Contains(strings.ToLower(body), "<html") {
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			return Result{HTML: html.EscapeString(body)}
		}
		p.walk(doc)
		html.Render(&out, doc)
	} else {
		container := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
		nodes, err := html.ParseFragment(strings.NewReader(body), container)
		if err != nil {
			return Result{HTML: html.EscapeString(body)}
		}
		for _, n := range nodes {
			container.AppendChild(n)
		}
		p.walk(container)
		for c := container.FirstChild; c != nil; c = c.NextSibling {
			html.Render(&out, c)
		}
	}
	return Result{HTML: out.String(), Notes: p.notes}
}

type preparer struct {
	byCID   map[string]Inline
	notes   []string
	missing int
	remote  int
}

func normCID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.ToLower(s)
}

// removed are elements that go with everything in them: they run, load
// or embed something, or are controls that post somewhere.
var removed = map[atom.Atom]bool{
	atom.Script: true, atom.Noscript: true, atom.Iframe: true, atom.Frame: true, atom.Frameset: true,
	atom.Object: true, atom.Embed: true, atom.Applet: true, atom.Link: true, atom.Base: true,
	atom.Svg: true, atom.Math: true, atom.Template: true, atom.Video: true, atom.Audio: true,
	atom.Source: true, atom.Track: true, atom.Picture: true, atom.Canvas: true,
	atom.Input: true, atom.Button: true, atom.Select: true, atom.Textarea: true, atom.Form: true,
	atom.Dialog: true, atom.Slot: true,
}

// kept are the elements a mail body is written with.
var kept = map[atom.Atom]bool{
	atom.Html: true, atom.Head: true, atom.Body: true, atom.Title: true, atom.Style: true, atom.Meta: true,
	atom.P: true, atom.Div: true, atom.Span: true, atom.Br: true, atom.Hr: true, atom.Wbr: true,
	atom.B: true, atom.Strong: true, atom.I: true, atom.Em: true, atom.U: true, atom.S: true, atom.Strike: true,
	atom.Sub: true, atom.Sup: true, atom.Small: true, atom.Big: true, atom.Font: true, atom.Center: true,
	atom.Blockquote: true, atom.Pre: true, atom.Code: true, atom.Tt: true, atom.Kbd: true, atom.Samp: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Ul: true, atom.Ol: true, atom.Li: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.Table: true, atom.Thead: true, atom.Tbody: true, atom.Tfoot: true, atom.Tr: true, atom.Td: true, atom.Th: true,
	atom.Caption: true, atom.Colgroup: true, atom.Col: true, atom.A: true, atom.Img: true,
	atom.Abbr: true, atom.Address: true, atom.Cite: true, atom.Q: true, atom.Del: true, atom.Ins: true, atom.Mark: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true, atom.Main: true, atom.Nav: true,
	atom.Figure: true, atom.Figcaption: true, atom.Nobr: true, atom.Label: true,
}

// attrs are the attributes kept on any element; src and href are checked
// on their own.
var attrs = map[string]bool{
	"class": true, "style": true, "align": true, "valign": true, "width": true, "height": true, "border": true,
	"cellpadding": true, "cellspacing": true, "colspan": true, "rowspan": true, "bgcolor": true, "color": true,
	"face": true, "size": true, "dir": true, "lang": true, "title": true, "alt": true, "type": true, "start": true,
	"value": true, "span": true, "nowrap": true, "clear": true, "name": true, "id": true, "charset": true,
}

func (p *preparer) walk(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch c.Type {
		case html.CommentNode:
			// Word's conditional comments hold VML pictures with their own
			// references; comments show nothing anyway.
			n.RemoveChild(c)
		case html.ElementNode:
			p.element(n, c)
		}
		c = next
	}
}

func (p *preparer) element(parent, c *html.Node) {
	switch {
	case removed[c.DataAtom]:
		parent.RemoveChild(c)
		return
	case c.DataAtom == atom.Meta:
		// Only the character set: a refresh or a CSP from the clerk's mail
		// client means nothing in Digital Post.
		if !isCharsetMeta(c) {
			parent.RemoveChild(c)
			return
		}
		// Rendered HTML is UTF-8, whatever the mail client declared.
		c.Attr = []html.Attribute{{Key: "charset", Val: "utf-8"}}
		return
	case c.DataAtom == atom.Style:
		if c.FirstChild != nil && c.FirstChild.Type == html.TextNode {
			c.FirstChild.Data = CleanCSS(c.FirstChild.Data)
		}
		// The sheet's own attributes pass the same allowlist: <style
		// onload> runs as surely as <p onclick>.
		p.attributes(c)
		return
	case c.DataAtom == atom.Img:
		if !p.image(c) {
			parent.RemoveChild(c)
			return
		}
	case !kept[c.DataAtom]:
		// Unknown markup (Office's <o:p>, <v:shape>, custom tags): keep
		// what it says, not what it is.
		p.walk(c)
		for gc := c.FirstChild; gc != nil; {
			next := gc.NextSibling
			c.RemoveChild(gc)
			parent.InsertBefore(gc, c)
			gc = next
		}
		parent.RemoveChild(c)
		return
	}
	p.attributes(c)
	p.walk(c)
}

func isCharsetMeta(n *html.Node) bool {
	for _, a := range n.Attr {
		k := strings.ToLower(a.Key)
		if k == "charset" || k == "http-equiv" && strings.EqualFold(a.Val, "content-type") {
			return true
		}
	}
	return false
}

// attributes keeps the allowed attributes, with their URLs and styles made
// safe.
func (p *preparer) attributes(n *html.Node) {
	out := n.Attr[:0]
	for _, a := range n.Attr {
		k := strings.ToLower(a.Key)
		switch {
		case a.Namespace != "":
		case k == "href" && n.DataAtom == atom.A:
			if safeLink(a.Val) {
				out = append(out, a)
			}
		case k == "src" && n.DataAtom == atom.Img:
			out = append(out, a) // image() has checked it
		case k == "style":
			if s := CleanCSS(a.Val); strings.TrimSpace(s) != "" {
				a.Val = s
				out = append(out, a)
			}
		case attrs[k]:
			out = append(out, a)
		}
	}
	n.Attr = out
}

// safeLink admits links the citizen clicks and nothing that runs.
func safeLink(v string) bool {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto", "tel":
		return true
	case "":
		return strings.HasPrefix(strings.TrimSpace(v), "#") // a place in the same document
	}
	return false
}

var dataImage = regexp.MustCompile(`(?i)^data:image/(png|jpeg|gif);base64,[a-z0-9+/=\s]+$`)

// image resolves or judges an <img>; false removes it.
func (p *preparer) image(n *html.Node) bool {
	src := ""
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, "src") {
			src = strings.TrimSpace(a.Val)
		}
	}
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "cid:"):
		cid, _ := url.PathUnescape(src[4:])
		in, ok := p.byCID[normCID(cid)]
		if !ok {
			// Classic Outlook does not give every client the contentId;
			// the page then sends the picture's name, which is the part of
			// Outlook's cid before the '@' ("image001.png@01DA…").
			name, _, _ := strings.Cut(normCID(cid), "@")
			in, ok = p.byCID[name]
		}
		mt, _, _ := mime.ParseMediaType(in.ContentType)
		if !ok || len(in.Data) == 0 || !(mt == "image/png" || mt == "image/jpeg" || mt == "image/gif") {
			p.missing++
			if p.missing == 1 {
				p.notes = append(p.notes, "Et billede i teksten (f.eks. et logo i signaturen) blev ikke sendt med fra Outlook og er fjernet fra brevet. Tjek brevet, og indsæt billedet igen, hvis det skal med.")
			}
			return false
		}
		setSrc(n, "data:"+mt+";base64,"+base64.StdEncoding.EncodeToString(in.Data))
		return true
	case dataImage.MatchString(src):
		return true
	}
	p.remote++
	if p.remote == 1 {
		p.notes = append(p.notes, "Et billede, der skulle hentes fra internettet, er fjernet fra brevet. Digital Post henter ikke billeder udefra, og det kunne bruges til at se, hvornår brevet blev åbnet. Indsæt billedet i brevet i stedet for at linke til det.")
	}
	return false
}

func setSrc(n *html.Node, v string) {
	var out []html.Attribute
	for _, a := range n.Attr {
		if !strings.EqualFold(a.Key, "src") && !strings.EqualFold(a.Key, "srcset") {
			out = append(out, a)
		}
	}
	n.Attr = append(out, html.Attribute{Key: "src", Val: v})
}

var (
	cssImport = regexp.MustCompile(`(?is)@import[^;]*;?`)
	// An unclosed url( or block runs to the end of the sheet, as CSS
	// parsers read it (found by FuzzPrepare): it still loads.
	cssFontFace = regexp.MustCompile(`(?is)@font-face\s*\{[^}]*\}?`)
	cssURL      = regexp.MustCompile(`(?is)url\s*\([^)]*\)?`)
	cssActive   = regexp.MustCompile(`(?is)expression\s*\(|behavior\s*:|-moz-binding\s*:|javascript:`)
)

// CleanCSS removes from a style sheet or a style attribute what would load
// something (@import, @font-face, url(…)) or run something (IE's
// expression() and behavior, -moz-binding): the rest of the styling, which
// is how the clerk's mail looks, stays.
func CleanCSS(css string) string {
	css = cssImport.ReplaceAllString(css, "")
	css = cssFontFace.ReplaceAllString(css, "")
	css = cssURL.ReplaceAllString(css, "none")
	if cssActive.MatchString(css) {
		css = cssActive.ReplaceAllString(css, "x-removed:")
	}
	return css
}
