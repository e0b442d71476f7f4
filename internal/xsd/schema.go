// Package xsd validates XML documents against a W3C XML Schema, in pure Go
// and in one streaming pass: the relay must check every MeMo message it
// receives (SF1606) against the published MeMo schema, on machines where
// libxml2 is not installed, and messages carry attachments of tens of MB.
//
// It implements the part of XML Schema 1.0 that the MeMo schemas use, and
// refuses to load a schema that uses more, so a schema update that needs
// more fails loudly at start-up instead of validating too little:
// global and local elements (name, ref, type, minOccurs, maxOccurs),
// anonymous and named complex types with sequence and choice (nested) and
// attributes, simple types restricting a built-in or another simple type
// with the facets length, minLength, maxLength, pattern, enumeration,
// minInclusive and maxInclusive, and xs:import of other namespaces.
// Identity constraints, substitution groups, wildcards, mixed content and
// type derivation by extension are not supported.
package xsd

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// XS is the XML Schema namespace.
const XS = "http://www.w3.org/2001/XMLSchema"

// XSI is the schema-instance namespace (xsi:schemaLocation and friends).
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

// Schema is a loaded set of schema documents.
type Schema struct {
	elements    map[xml.Name]*Element
	simpleTypes map[xml.Name]*SimpleType
	complex     map[xml.Name]*ComplexType
	// pending refs, resolved once every document is loaded
	refs []func() error
	read func(string) ([]byte, error)
}

// Element is an element declaration.
type Element struct {
	Name    xml.Name
	Simple  *SimpleType  // set for a simple-typed element
	Complex *ComplexType // set for a complex-typed element
	// AnyType: no type given, any content is valid.
	AnyType bool
}

// ComplexType is element-only content with attributes.
type ComplexType struct {
	Content *Particle // nil: empty content
	Attrs   []Attribute
}

// Attribute is an attribute declaration (unqualified attributes only, as
// attributeFormDefault is unqualified in every MeMo schema).
type Attribute struct {
	Name     string
	Type     *SimpleType
	Required bool
}

// Particle kinds.
const (
	kindElement = iota
	kindSequence
	kindChoice
)

// Particle is an element, sequence or choice with its occurrence bounds.
type Particle struct {
	kind     int
	Element  *Element
	Children []*Particle
	Min, Max int // Max < 0: unbounded
}

// SimpleType is a built-in type narrowed by facets.
type SimpleType struct {
	Name      xml.Name
	Builtin   string // local name of the XML Schema built-in at the root
	base      *SimpleType
	length    int // -1: not set
	minLength int
	maxLength int
	patterns  []*regexp.Regexp
	enum      []string
	minIncl   *big.Rat
	maxIncl   *big.Rat
}

// Load reads the schema document at file and every document it imports.
func Load(file string) (*Schema, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	return load(filepath.ToSlash(abs), func(p string) ([]byte, error) { return os.ReadFile(filepath.FromSlash(p)) })
}

// LoadFS reads the schema document name in fsys (an embedded copy, so a
// deployed program needs no schema files beside it) and its imports.
func LoadFS(fsys fs.FS, name string) (*Schema, error) {
	return load(name, func(p string) ([]byte, error) { return fs.ReadFile(fsys, p) })
}

func load(name string, read func(string) ([]byte, error)) (*Schema, error) {
	s := &Schema{elements: map[xml.Name]*Element{}, simpleTypes: map[xml.Name]*SimpleType{}, complex: map[xml.Name]*ComplexType{}, read: read}
	seen := map[string]bool{}
	if err := s.load(name, seen); err != nil {
		return nil, err
	}
	for _, r := range s.refs {
		if err := r(); err != nil {
			return nil, err
		}
	}
	s.refs = nil
	return s, nil
}

// node is a schema document element, parsed generically.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	// ns maps prefixes in scope to namespaces, for QName attribute values.
	ns map[string]string
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// UnmarshalXML keeps the namespace declarations in scope on each node:
// encoding/xml resolves element names but not QNames in attribute values
// such as type="dt:memoTextType".
func (n *node) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	return n.decode(d, start, map[string]string{})
}

func (n *node) decode(d *xml.Decoder, start xml.StartElement, parent map[string]string) error {
	n.XMLName = start.Name
	n.ns = parent
	copied := false
	declare := func(prefix, uri string) {
		if !copied {
			n.ns = make(map[string]string, len(parent)+1)
			for k, v := range parent {
				n.ns[k] = v
			}
			copied = true
		}
		n.ns[prefix] = uri
	}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns":
			declare(a.Name.Local, a.Value)
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			declare("", a.Value)
		default:
			n.Attrs = append(n.Attrs, a)
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var c node
			if err := c.decode(d, t, n.ns); err != nil {
				return err
			}
			n.Nodes = append(n.Nodes, c)
		case xml.EndElement:
			return nil
		}
	}
}

func (n *node) qname(v string) (xml.Name, error) {
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	ns, found := n.ns[prefix]
	if !found && prefix != "" {
		return xml.Name{}, fmt.Errorf("xsd: prefix %q of %q not declared", prefix, v)
	}
	return xml.Name{Space: ns, Local: local}, nil
}

// doc is one schema document's context.
type doc struct {
	path      string
	target    string
	qualified bool
}

func (s *Schema) load(abs string, seen map[string]bool) error {
	if seen[abs] {
		return nil
	}
	seen[abs] = true
	b, err := s.read(abs)
	if err != nil {
		return fmt.Errorf("xsd: %w", err)
	}
	var root node
	if err := xml.Unmarshal(b, &root); err != nil {
		return fmt.Errorf("xsd: %s: %w", path.Base(abs), err)
	}
	if root.XMLName != (xml.Name{Space: XS, Local: "schema"}) {
		return fmt.Errorf("xsd: %s is not a schema", path.Base(abs))
	}
	d := &doc{path: abs}
	d.target, _ = root.attr("targetNamespace")
	efd, _ := root.attr("elementFormDefault")
	d.qualified = efd == "qualified"
	for i := range root.Nodes {
		c := &root.Nodes[i]
		if c.XMLName.Space != XS {
			return fmt.Errorf("xsd: %s: unexpected %s", path.Base(abs), c.XMLName.Local)
		}
		switch c.XMLName.Local {
		case "annotation":
		case "import", "include":
			loc, ok := c.attr("schemaLocation")
			if !ok {
				return fmt.Errorf("xsd: %s: %s without schemaLocation", path.Base(abs), c.XMLName.Local)
			}
			if err := s.load(path.Join(path.Dir(abs), loc), seen); err != nil {
				return err
			}
		case "element":
			e, err := s.element(d, c, true)
			if err != nil {
				return err
			}
			s.elements[e.Name] = e
		case "simpleType":
			st, err := s.simpleType(d, c)
			if err != nil {
				return err
			}
			s.simpleTypes[st.Name] = st
		case "complexType":
			name, _ := c.attr("name")
			ct, err := s.complexType(d, c)
			if err != nil {
				return err
			}
			s.complex[xml.Name{Space: d.target, Local: name}] = ct
		default:
			return fmt.Errorf("xsd: %s: %s is not supported", path.Base(abs), c.XMLName.Local)
		}
	}
	return nil
}

func (s *Schema) element(d *doc, n *node, global bool) (*Element, error) {
	name, _ := n.attr("name")
	ns := ""
	if global || d.qualified {
		ns = d.target
	}
	if form, ok := n.attr("form"); ok {
		ns = map[bool]string{true: d.target, false: ""}[form == "qualified"]
	}
	e := &Element{Name: xml.Name{Space: ns, Local: name}}
	for _, a := range n.Attrs {
		switch a.Name.Local {
		case "name", "type", "minOccurs", "maxOccurs", "default", "form", "nillable", "ref":
		default:
			return nil, fmt.Errorf("xsd: element %s: attribute %s is not supported", name, a.Name.Local)
		}
	}
	if v, ok := n.attr("nillable"); ok && v == "true" {
		return nil, fmt.Errorf("xsd: element %s: nillable is not supported", name)
	}
	if t, ok := n.attr("type"); ok {
		qn, err := n.qname(t)
		if err != nil {
			return nil, err
		}
		if qn.Space == XS {
			st, err := builtin(qn.Local)
			if err != nil {
				return nil, fmt.Errorf("xsd: element %s: %w", name, err)
			}
			e.Simple = st
			if qn.Local == "anyType" {
				e.Simple, e.AnyType = nil, true
			}
		} else {
			s.refs = append(s.refs, func() error {
				if st, ok := s.simpleTypes[qn]; ok {
					e.Simple = st
					return nil
				}
				if ct, ok := s.complex[qn]; ok {
					e.Complex = ct
					return nil
				}
				return fmt.Errorf("xsd: element %s: type %s not declared", name, qn.Local)
			})
		}
	}
	for i := range n.Nodes {
		c := &n.Nodes[i]
		switch c.XMLName.Local {
		case "annotation":
		case "complexType":
			ct, err := s.complexType(d, c)
			if err != nil {
				return nil, err
			}
			e.Complex = ct
		case "simpleType":
			st, err := s.simpleType(d, c)
			if err != nil {
				return nil, err
			}
			e.Simple = st
		default:
			return nil, fmt.Errorf("xsd: element %s: %s is not supported", name, c.XMLName.Local)
		}
	}
	if _, ok := n.attr("type"); !ok && e.Simple == nil && e.Complex == nil {
		e.AnyType = true
	}
	return e, nil
}

func (s *Schema) complexType(d *doc, n *node) (*ComplexType, error) {
	ct := &ComplexType{}
	if m, ok := n.attr("mixed"); ok && m == "true" {
		return nil, errors.New("xsd: mixed content is not supported")
	}
	for i := range n.Nodes {
		c := &n.Nodes[i]
		switch c.XMLName.Local {
		case "annotation":
		case "sequence", "choice":
			p, err := s.particle(d, c)
			if err != nil {
				return nil, err
			}
			ct.Content = p
		case "attribute":
			a, err := s.attribute(c)
			if err != nil {
				return nil, err
			}
			ct.Attrs = append(ct.Attrs, a)
		default:
			return nil, fmt.Errorf("xsd: complexType: %s is not supported", c.XMLName.Local)
		}
	}
	return ct, nil
}

func (s *Schema) attribute(n *node) (Attribute, error) {
	name, _ := n.attr("name")
	a := Attribute{Name: name}
	if u, _ := n.attr("use"); u == "required" {
		a.Required = true
	}
	t, ok := n.attr("type")
	if !ok {
		a.Type, _ = builtin("string")
		return a, nil
	}
	qn, err := n.qname(t)
	if err != nil {
		return a, err
	}
	if qn.Space != XS {
		return a, fmt.Errorf("xsd: attribute %s: only built-in types are supported", name)
	}
	a.Type, err = builtin(qn.Local)
	return a, err
}

func occurs(n *node) (lo, hi int, err error) {
	lo, hi = 1, 1
	if v, ok := n.attr("minOccurs"); ok {
		if lo, err = strconv.Atoi(v); err != nil || lo < 0 {
			return 0, 0, fmt.Errorf("xsd: minOccurs %q", v)
		}
	}
	if v, ok := n.attr("maxOccurs"); ok {
		if v == "unbounded" {
			hi = -1
		} else if hi, err = strconv.Atoi(v); err != nil || hi < 0 {
			return 0, 0, fmt.Errorf("xsd: maxOccurs %q", v)
		}
	}
	return lo, hi, nil
}

func (s *Schema) particle(d *doc, n *node) (*Particle, error) {
	lo, hi, err := occurs(n)
	if err != nil {
		return nil, err
	}
	p := &Particle{Min: lo, Max: hi}
	switch n.XMLName.Local {
	case "element":
		p.kind = kindElement
		if ref, ok := n.attr("ref"); ok {
			qn, err := n.qname(ref)
			if err != nil {
				return nil, err
			}
			s.refs = append(s.refs, func() error {
				e, ok := s.elements[qn]
				if !ok {
					return fmt.Errorf("xsd: element ref %s not declared", qn.Local)
				}
				p.Element = e
				return nil
			})
			return p, nil
		}
		p.Element, err = s.element(d, n, false)
		return p, err
	case "sequence", "choice":
		p.kind = kindSequence
		if n.XMLName.Local == "choice" {
			p.kind = kindChoice
		}
		for i := range n.Nodes {
			c := &n.Nodes[i]
			if c.XMLName.Local == "annotation" {
				continue
			}
			cp, err := s.particle(d, c)
			if err != nil {
				return nil, err
			}
			p.Children = append(p.Children, cp)
		}
		return p, nil
	}
	return nil, fmt.Errorf("xsd: %s is not supported in a content model", n.XMLName.Local)
}

func (s *Schema) simpleType(d *doc, n *node) (*SimpleType, error) {
	name, _ := n.attr("name")
	st := &SimpleType{Name: xml.Name{Space: d.target, Local: name}, length: -1, minLength: -1, maxLength: -1}
	var r *node
	for i := range n.Nodes {
		switch n.Nodes[i].XMLName.Local {
		case "annotation":
		case "restriction":
			r = &n.Nodes[i]
		default:
			return nil, fmt.Errorf("xsd: simpleType %s: %s is not supported", name, n.Nodes[i].XMLName.Local)
		}
	}
	if r == nil {
		return nil, fmt.Errorf("xsd: simpleType %s: no restriction", name)
	}
	b, _ := r.attr("base")
	qn, err := r.qname(b)
	if err != nil {
		return nil, err
	}
	if qn.Space == XS {
		base, err := builtin(qn.Local)
		if err != nil {
			return nil, fmt.Errorf("xsd: simpleType %s: %w", name, err)
		}
		st.base, st.Builtin = base, base.Builtin
	} else {
		s.refs = append(s.refs, func() error {
			base, ok := s.simpleTypes[qn]
			if !ok {
				return fmt.Errorf("xsd: simpleType %s: base %s not declared", name, qn.Local)
			}
			st.base, st.Builtin = base, base.Builtin
			return nil
		})
	}
	for i := range r.Nodes {
		f := &r.Nodes[i]
		v, _ := f.attr("value")
		switch f.XMLName.Local {
		case "annotation":
		case "length", "minLength", "maxLength":
			k, err := strconv.Atoi(v)
			if err != nil || k < 0 {
				return nil, fmt.Errorf("xsd: simpleType %s: %s %q", name, f.XMLName.Local, v)
			}
			switch f.XMLName.Local {
			case "length":
				st.length = k
			case "minLength":
				st.minLength = k
			default:
				st.maxLength = k
			}
		case "pattern":
			re, err := compilePattern(v)
			if err != nil {
				return nil, fmt.Errorf("xsd: simpleType %s: %w", name, err)
			}
			st.patterns = append(st.patterns, re)
		case "enumeration":
			st.enum = append(st.enum, v)
		case "minInclusive", "maxInclusive":
			x, ok := new(big.Rat).SetString(v)
			if !ok {
				return nil, fmt.Errorf("xsd: simpleType %s: %s %q", name, f.XMLName.Local, v)
			}
			if f.XMLName.Local == "minInclusive" {
				st.minIncl = x
			} else {
				st.maxIncl = x
			}
		default:
			return nil, fmt.Errorf("xsd: simpleType %s: facet %s is not supported", name, f.XMLName.Local)
		}
	}
	return st, nil
}

// compilePattern turns an XML Schema regular expression into Go's. XSD
// patterns are anchored at both ends; the character-class escapes the
// MeMo schemas use (\d, ranges, quantifiers) mean the same in both. The
// XSD-only escapes \i, \c and class subtraction are refused.
var subtraction = regexp.MustCompile(`\[[^\]\[]*-\[`)

func compilePattern(p string) (*regexp.Regexp, error) {
	if strings.Contains(p, `\i`) || strings.Contains(p, `\c`) || subtraction.MatchString(p) {
		return nil, fmt.Errorf("pattern %q uses XSD-only regular expression syntax", p)
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return re, nil
}
