package recipient

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseLoose: identifiers as clerks paste them are recognised and
// answered with the canonical form; the rules behind them stay strict.
func TestParseLoose(t *testing.T) {
	tests := []struct {
		in, canonical string
		kind          Kind
	}{
		{"221177\u20131212", "221177-1212", KindCPR},        // en dash
		{"221177\u20141212", "221177-1212", KindCPR},        // em dash
		{"221177\u22121212", "221177-1212", KindCPR},        // minus sign
		{"221177 1212", "221177-1212", KindCPR},             // space
		{"221177\u00a01212", "221177-1212", KindCPR},        // NBSP
		{"22 11 77-1212", "221177-1212", KindCPR},           // groups of two
		{"22-11-77-1212", "221177-1212", KindCPR},           // dashes between date parts
		{"22.11.77-1212", "221177-1212", KindCPR},           // a date with dots
		{"２２１１７７－１２１２", "221177-1212", KindCPR},             // full-width digits and hyphen
		{"\u200b221177-1212\u200b", "221177-1212", KindCPR}, // zero-width spaces around
		{"CPR 221177-1212", "221177-1212", KindCPR},
		{"CPR-nr.: 221177-1212", "221177-1212", KindCPR},
		{"DK12345674", "12345674", KindCVR},
		{"DK-12345674", "12345674", KindCVR},
		{"dk 12 34 56 74", "12345674", KindCVR},
		{"DK 12 34 56 74", "12345674", KindCVR},
		{"12 34 56 74", "12345674", KindCVR},
		{"12.34.56.74", "12345674", KindCVR},
		{"CVR 12345674", "12345674", KindCVR},
		{"CVR-nr. 12345674", "12345674", KindCVR},
		{"cvr nr. 12345674", "12345674", KindCVR},
		{"CVR-nummer: 12 34 56 74", "12345674", KindCVR},
		{"CVR:12345674", "12345674", KindCVR},
		{"１２３４５６７４", "12345674", KindCVR},
		{"Anna@Kommune.DK\u00a0", "anna@kommune.dk", KindEmail},
		// Strict as before: dates, lengths, check digits.
		{"310299\u20131234", "", KindInvalid}, // 31 February
		{"DK12345678", "", KindInvalid},       // check digit
		{"CVR 12345678", "", KindInvalid},
		{"CVR 2211771212", "", KindInvalid}, // a CPR number under a CVR label
		{"CPR 12345674", "", KindInvalid},   // a CVR number under a CPR label
		{"DK 2211771212", "", KindInvalid},
		{"2211-771212", "", KindInvalid},   // the dash after the 6th digit only
		{"221177--1212", "", KindInvalid},  // one separator
		{"22.11.77.1212", "", KindInvalid}, // the serial number after a dash
		{"22-11.77-1212", "", KindInvalid}, // mixed separators
		{"1234-5674", "", KindInvalid},     // no known CVR grouping
		{"DKK 12345674", "", KindInvalid},  // an amount, not a label
		{"dkkommune", "", KindInvalid},
		{"DK", "", KindInvalid},
		{"CVR-nr.", "", KindInvalid},
		{"221177\u20131212x", "", KindInvalid},
	}
	for _, tt := range tests {
		id := Parse(tt.in, today)
		if id.Kind != tt.kind {
			t.Errorf("Parse(%q).Kind = %s (%s), want %s", tt.in, id.Kind, id.Reason, tt.kind)
			continue
		}
		if tt.kind == KindInvalid {
			if id.Reason == "" {
				t.Errorf("Parse(%q): invalid without a reason", tt.in)
			}
			continue
		}
		if got := id.Pretty(); got != tt.canonical {
			t.Errorf("Parse(%q).Pretty() = %q, want %q", tt.in, got, tt.canonical)
		}
		res := Decide(id, Party{Found: true, Name: "X", DigitalPost: true})
		if id.Kind == KindEmail {
			res = DecideMail(t.Context(), nil, id)
		}
		if res.Canonical != tt.canonical || res.Input != tt.in {
			t.Errorf("result for %q: canonical %q input %q", tt.in, res.Canonical, res.Input)
		}
	}
}

// TestParseLabelReason: a number under the wrong label says which kind
// the label promised.
func TestParseLabelReason(t *testing.T) {
	if r := Parse("CVR 2211771212", today).Reason; !strings.Contains(r, "CVR-nummer") {
		t.Errorf("reason %q", r)
	}
	if r := Parse("CPR 12345674", today).Reason; !strings.Contains(r, "CPR-nummer") {
		t.Errorf("reason %q", r)
	}
}

// FuzzParseLoose: any input parses without panicking; what it accepts as
// a number is the canonical form of a number that passes the strict rules,
// and parsing the canonical form again gives the same value.
func FuzzParseLoose(f *testing.F) {
	for _, s := range []string{"221177\u20131212", "DK-12345674", "CVR-nr. 12 34 56 74", "22.11.77-1212", "２２１１７７１２１２", "a@b.dk", "DK\u212a", "cvr-nr.-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id := Parse(in, today)
		switch id.Kind {
		case KindCPR, KindCVR:
			again := Parse(id.Pretty(), today)
			if again.Kind != id.Kind || again.Value != id.Value {
				t.Fatalf("Parse(%q) = %s %s, but its canonical form %q parses as %s %s", in, id.Kind, id.Value, id.Pretty(), again.Kind, again.Value)
			}
			if !digits(id.Value) {
				t.Fatalf("Parse(%q).Value = %q is not digits", in, id.Value)
			}
		case KindInvalid:
			if id.Reason == "" || !utf8.ValidString(id.Reason) {
				t.Fatalf("Parse(%q): reason %q", in, id.Reason)
			}
		}
	})
}
