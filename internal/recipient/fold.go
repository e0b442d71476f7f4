package recipient

import "unicode"

// Fold maps the look-alike characters clerks paste from Word, web pages
// and PDFs onto the plain ones the parsers know: full-width digits to
// ASCII digits, every Unicode dash (hyphen, non-breaking hyphen, figure,
// en and em dash, minus sign, full-width hyphen-minus) to '-', and every
// Unicode space or invisible separator (NBSP, thin and other spaces, line
// and paragraph separators, zero-width space, word joiner, BOM) to ' '.
//
// It maps rune for rune, so an index into the folded string's runes is the
// same index into the input's runes: the log masker uses that to mask the
// original text where it found a number in the folded one. It is the one
// recogniser of loose forms, shared by the recipient parser (whole fields)
// and the log masking; Smart Alert's scan of free text does not use it.
func Fold(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, FoldRune(r))
	}
	return string(out)
}

// FoldRune is Fold for one rune.
func FoldRune(r rune) rune {
	switch {
	case r >= '０' && r <= '９':
		return '0' + (r - '０')
	case r == '-':
		return r
	case r == '\u2010', r == '\u2011', r == '\u2012', r == '\u2013', r == '\u2014', r == '\u2015',
		r == '\u2212', r == '\uFE58', r == '\uFE63', r == '\uFF0D':
		return '-'
	case r == ' ':
		return r
	case r == '\u200B', r == '\u2060', r == '\uFEFF', r == '\u180E':
		return ' '
	case unicode.IsSpace(r), unicode.Is(unicode.Zs, r), r == '\u2028', r == '\u2029':
		return ' '
	}
	return r
}
