package xsd

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrInvalid is wrapped by every error that says the document does not
// conform (as opposed to an error reading it).
var ErrInvalid = errors.New("xsd: document not valid")

// maxDepth bounds nesting; MeMo needs about 8 levels.
const maxDepth = 64

// maxText bounds the text of one simple-typed element other than
// base64Binary (which is checked as it streams and never held).
const maxText = 1 << 20

// Visit is called with the path of local names from the root and the
// text of every valid simple-typed element except base64Binary ones.
type Visit func(path []string, text string)

type frame struct {
	decl     *Element
	children []xml.Name
	text     strings.Builder
	b64      *b64
	textLen  int
}

// Validate reads one document from r and reports the first way it does
// not conform to s (wrapping ErrInvalid, with line and column), or an
// error reading r. visit, if not nil, sees the simple values as they are
// validated. Only UTF-8 documents are accepted, and no DTD.
func (s *Schema) Validate(r io.Reader, visit Visit) error {
	d := xml.NewDecoder(r)
	d.Strict = true
	var stack []*frame
	var path []string
	rootSeen := false
	invalid := func(format string, args ...any) error {
		line, col := d.InputPos()
		return fmt.Errorf("%w: line %d column %d: %s", ErrInvalid, line, col, fmt.Sprintf(format, args...))
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !rootSeen {
				return invalid("no root element")
			}
			if len(stack) > 0 {
				return invalid("document ends inside an element")
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("%w: line %d: %s", ErrInvalid, se.Line, se.Msg)
			}
			return fmt.Errorf("xsd: read: %w", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" {
				enc := procAttr(string(t.Inst), "encoding")
				if enc != "" && !strings.EqualFold(enc, "utf-8") {
					return invalid("encoding %q: only UTF-8 is accepted", enc)
				}
			}
		case xml.Directive:
			return invalid("DTDs and other directives are not accepted")
		case xml.StartElement:
			var decl *Element
			if len(stack) == 0 {
				if rootSeen {
					return invalid("more than one root element")
				}
				rootSeen = true
				decl = s.elements[t.Name]
				if decl == nil {
					return invalid("root element {%s}%s is not declared", t.Name.Space, t.Name.Local)
				}
			} else {
				parent := stack[len(stack)-1]
				switch {
				case parent.decl.AnyType:
					decl = &Element{Name: t.Name, AnyType: true}
				case parent.decl.Complex == nil:
					return invalid("%s has simple content; element %s not allowed", parent.decl.Name.Local, t.Name.Local)
				default:
					decl = find(parent.decl.Complex.Content, t.Name)
					if decl == nil {
						return invalid("element {%s}%s not allowed in %s", t.Name.Space, t.Name.Local, parent.decl.Name.Local)
					}
				}
				parent.children = append(parent.children, t.Name)
			}
			if len(stack) >= maxDepth {
				return invalid("nested deeper than %d", maxDepth)
			}
			if err := checkAttrs(decl, t.Attr); err != nil {
				return invalid("%s: %v", t.Name.Local, err)
			}
			f := &frame{decl: decl}
			if decl.Simple != nil && decl.Simple.Builtin == "base64Binary" {
				f.b64 = &b64{}
			}
			stack = append(stack, f)
			path = append(path, t.Name.Local)
		case xml.CharData:
			if len(stack) == 0 {
				// A UTF-8 byte order mark comes through as text.
				if strings.TrimSpace(strings.TrimPrefix(string(t), "\ufeff")) != "" {
					return invalid("text outside the root element")
				}
				continue
			}
			f := stack[len(stack)-1]
			switch {
			case f.decl.AnyType:
			case f.b64 != nil:
				f.b64.write(t)
			case f.decl.Simple != nil:
				f.textLen += len(t)
				if f.textLen > maxText {
					return invalid("%s: text longer than %d bytes", f.decl.Name.Local, maxText)
				}
				f.text.Write(t)
			default:
				if strings.TrimSpace(string(t)) != "" {
					return invalid("%s: text not allowed in element-only content", f.decl.Name.Local)
				}
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			switch {
			case f.decl.AnyType:
			case f.b64 != nil:
				if err := f.b64.err(); err != nil {
					return invalid("%s: %v", f.decl.Name.Local, err)
				}
			case f.decl.Simple != nil:
				v := f.text.String()
				if err := f.decl.Simple.check(v); err != nil {
					return invalid("%s: %v", f.decl.Name.Local, err)
				}
				if visit != nil {
					visit(path, v)
				}
			default:
				if !matches(f.decl.Complex.Content, f.children) {
					return invalid("%s: children %s do not match its content model", f.decl.Name.Local, names(f.children))
				}
			}
			stack = stack[:len(stack)-1]
			path = path[:len(path)-1]
		}
	}
}

func procAttr(inst, name string) string {
	i := strings.Index(inst, name+"=")
	if i < 0 {
		return ""
	}
	v := inst[i+len(name)+1:]
	if len(v) < 2 {
		return ""
	}
	q := v[0]
	j := strings.IndexByte(v[1:], q)
	if j < 0 {
		return ""
	}
	return v[1 : 1+j]
}

func names(ns []xml.Name) string {
	var b []string
	for _, n := range ns {
		b = append(b, n.Local)
	}
	if len(b) > 12 {
		b = append(b[:12], "…")
	}
	return "(" + strings.Join(b, " ") + ")"
}

func checkAttrs(decl *Element, attrs []xml.Attr) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" || a.Name.Space == XSI {
			continue
		}
		if decl.AnyType {
			continue
		}
		if a.Name.Space != "" {
			return fmt.Errorf("attribute {%s}%s not allowed", a.Name.Space, a.Name.Local)
		}
		var ad *Attribute
		if decl.Complex != nil {
			for i := range decl.Complex.Attrs {
				if decl.Complex.Attrs[i].Name == a.Name.Local {
					ad = &decl.Complex.Attrs[i]
				}
			}
		}
		if ad == nil {
			return fmt.Errorf("attribute %s not allowed", a.Name.Local)
		}
		if err := ad.Type.check(a.Value); err != nil {
			return fmt.Errorf("attribute %s: %v", a.Name.Local, err)
		}
		seen[a.Name.Local] = true
	}
	if decl.Complex != nil {
		for _, ad := range decl.Complex.Attrs {
			if ad.Required && !seen[ad.Name] {
				return fmt.Errorf("attribute %s is required", ad.Name)
			}
		}
	}
	return nil
}

// find is the declaration of the element called name in a content model.
// XML Schema's "Element Declarations Consistent" rule makes it unique by
// name within one model, so the first found is the one.
func find(p *Particle, name xml.Name) *Element {
	if p == nil {
		return nil
	}
	if p.kind == kindElement {
		if p.Element != nil && p.Element.Name == name {
			return p.Element
		}
		return nil
	}
	for _, c := range p.Children {
		if e := find(c, name); e != nil {
			return e
		}
	}
	return nil
}

// matches reports whether the sequence of child names is a word of the
// content model p.
func matches(p *Particle, children []xml.Name) bool {
	if p == nil {
		return len(children) == 0
	}
	for _, end := range match(p, children, 0) {
		if end == len(children) {
			return true
		}
	}
	return false
}

// match returns every position the particle can end at when it starts
// at i (the sets stay tiny: content models are short).
func match(p *Particle, ns []xml.Name, i int) []int {
	cur := []int{i}
	var out []int
	if p.Min == 0 {
		out = append(out, i)
	}
	seen := map[int]bool{i: true}
	for k := 1; p.Max < 0 || k <= p.Max; k++ {
		var next []int
		for _, pos := range cur {
			next = union(next, once(p, ns, pos))
		}
		if len(next) == 0 {
			break
		}
		if k >= p.Min {
			out = union(out, next)
		}
		// Stop once a repetition reaches no new position (a particle
		// that can match nothing would otherwise repeat for ever), but
		// not before Min repetitions are possible.
		progress := false
		for _, n := range next {
			if !seen[n] {
				seen[n], progress = true, true
			}
		}
		if !progress && k >= p.Min {
			break
		}
		cur = next
	}
	return out
}

func once(p *Particle, ns []xml.Name, i int) []int {
	switch p.kind {
	case kindElement:
		if i < len(ns) && p.Element != nil && ns[i] == p.Element.Name {
			return []int{i + 1}
		}
		return nil
	case kindSequence:
		pos := []int{i}
		for _, c := range p.Children {
			var next []int
			for _, x := range pos {
				next = union(next, match(c, ns, x))
			}
			pos = next
			if len(pos) == 0 {
				return nil
			}
		}
		return pos
	default: // choice
		var out []int
		for _, c := range p.Children {
			out = union(out, match(c, ns, i))
		}
		return out
	}
}

func union(a, b []int) []int {
	for _, x := range b {
		found := false
		for _, y := range a {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			a = append(a, x)
		}
	}
	return a
}
