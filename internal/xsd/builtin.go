package xsd

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The lexical forms of the built-in types the MeMo schemas name. Whitespace
// is collapsed before they are applied (every type but string does that).
var lexical = map[string]*regexp.Regexp{
	"boolean":            regexp.MustCompile(`^(true|false|1|0)$`),
	"decimal":            regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`),
	"integer":            regexp.MustCompile(`^[+-]?[0-9]+$`),
	"long":               regexp.MustCompile(`^[+-]?[0-9]+$`),
	"int":                regexp.MustCompile(`^[+-]?[0-9]+$`),
	"short":              regexp.MustCompile(`^[+-]?[0-9]+$`),
	"nonNegativeInteger": regexp.MustCompile(`^\+?[0-9]+$`),
	"positiveInteger":    regexp.MustCompile(`^\+?[0-9]*[1-9][0-9]*$`),
	"double":             regexp.MustCompile(`^([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF|-INF|NaN)$`),
	"float":              regexp.MustCompile(`^([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF|-INF|NaN)$`),
	"date":               regexp.MustCompile(`^-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`),
	"dateTime":           regexp.MustCompile(`^-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`),
	"language":           regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`),
	"gYear":              regexp.MustCompile(`^-?[0-9]{4,}(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`),
}

// ranges of the bounded integer types.
var ranges = map[string][2]string{
	"long":  {"-9223372036854775808", "9223372036854775807"},
	"int":   {"-2147483648", "2147483647"},
	"short": {"-32768", "32767"},
}

var builtins = map[string]bool{"string": true, "normalizedString": true, "token": true, "anyURI": true, "base64Binary": true, "anyType": true}

func builtin(name string) (*SimpleType, error) {
	if _, ok := lexical[name]; !ok && !builtins[name] {
		return nil, fmt.Errorf("built-in type xs:%s is not supported", name)
	}
	return &SimpleType{Builtin: name, length: -1, minLength: -1, maxLength: -1}, nil
}

// collapse applies whiteSpace="collapse".
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// check validates one value against t and its bases. base64Binary content
// never comes here: it is checked as it streams (see b64).
func (t *SimpleType) check(raw string) error {
	v := raw
	if t.Builtin != "string" {
		v = collapse(raw)
	}
	for st := t; st != nil; st = st.base {
		if err := st.facets(v); err != nil {
			return err
		}
	}
	return nil
}

func (t *SimpleType) facets(v string) error {
	if t.base == nil { // the built-in itself
		if re, ok := lexical[t.Builtin]; ok && !re.MatchString(v) {
			return fmt.Errorf("%q is not a valid xs:%s", clip(v), t.Builtin)
		}
		if r, ok := ranges[t.Builtin]; ok {
			x, _ := new(big.Int).SetString(strings.TrimPrefix(v, "+"), 10)
			lo, _ := new(big.Int).SetString(r[0], 10)
			hi, _ := new(big.Int).SetString(r[1], 10)
			if x == nil || x.Cmp(lo) < 0 || x.Cmp(hi) > 0 {
				return fmt.Errorf("%q is out of range for xs:%s", clip(v), t.Builtin)
			}
		}
		return nil
	}
	n := utf8.RuneCountInString(v)
	switch {
	case t.length >= 0 && n != t.length:
		return fmt.Errorf("length %d, must be %d", n, t.length)
	case t.minLength >= 0 && n < t.minLength:
		return fmt.Errorf("length %d, at least %d", n, t.minLength)
	case t.maxLength >= 0 && n > t.maxLength:
		return fmt.Errorf("length %d, at most %d", n, t.maxLength)
	}
	if len(t.patterns) > 0 {
		ok := false
		for _, re := range t.patterns {
			ok = ok || re.MatchString(v)
		}
		if !ok {
			return fmt.Errorf("%q does not match the pattern of %s", clip(v), t.Name.Local)
		}
	}
	if len(t.enum) > 0 {
		ok := false
		for _, e := range t.enum {
			ok = ok || e == v
		}
		if !ok {
			return fmt.Errorf("%q is not one of %s", clip(v), strings.Join(t.enum, ", "))
		}
	}
	if t.minIncl != nil || t.maxIncl != nil {
		x, ok := new(big.Rat).SetString(v)
		if !ok {
			return fmt.Errorf("%q is not a number", clip(v))
		}
		if t.minIncl != nil && x.Cmp(t.minIncl) < 0 || t.maxIncl != nil && x.Cmp(t.maxIncl) > 0 {
			return fmt.Errorf("%q is out of range", clip(v))
		}
	}
	return nil
}

// clip keeps error messages short; values may be personal data, so
// callers log errors with care.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:40]) + "…"
}

// b64 checks base64Binary content as it streams: only the alphabet and
// whitespace, a multiple of four characters, padding only at the end.
type b64 struct {
	n   int // characters seen, whitespace excluded
	pad int // '=' seen
	bad bool
}

func (b *b64) write(p []byte) {
	for _, c := range p {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '=':
			b.pad++
			if b.pad > 2 {
				b.bad = true
			}
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/':
			if b.pad > 0 {
				b.bad = true
			}
		default:
			b.bad = true
		}
		b.n++
	}
}

func (b *b64) err() error {
	if b.bad || b.n%4 != 0 {
		return fmt.Errorf("not valid base64Binary")
	}
	return nil
}
