package recipient

import (
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"221177-1212", "221177-1212"},
		{"221177\u20131212", "221177-1212"}, // en dash
		{"221177\u20141212", "221177-1212"}, // em dash
		{"221177\u22121212", "221177-1212"}, // minus sign
		{"221177\u20111212", "221177-1212"}, // non-breaking hyphen
		{"221177\uFF0D1212", "221177-1212"}, // full-width hyphen-minus
		{"22\u00a011\u00a077", "22 11 77"},  // NBSP
		{"22\u202f11\u2009", "22 11 "},      // narrow NBSP, thin space
		{"a\u200Bb\u2060c\uFEFFd", "a b c d"},
		{"a\u2028b\u2029c\u3000d", "a b c d"},
		{"a\tb\nc", "a b c"},
		{"２２１１７７１２１２", "2211771212"}, // full-width digits
		{"DK-12345674", "DK-12345674"},
		{"æøå Æ", "æøå Æ"},
	} {
		got := Fold(c.in)
		if got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(c.in) {
			t.Errorf("Fold(%q) changed the rune count", c.in)
		}
	}
}
