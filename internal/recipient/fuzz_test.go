package recipient

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// FuzzParse: whatever a clerk types, Parse answers without panicking; what
// it accepts is canonical and accepted again as the same recipient; what it
// refuses carries a Danish reason; a mask never shows a CPR number's last
// four digits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2211771212", "221177-1212", "221177 1212", "221177\u20131212", "22 11 77-1212", "２２１１７７１２１２",
		"12345674", "DK12345674", "DK-12345674", "CVR-nr. 12345674", "12345675", "3102771212", "0101000000",
		"anna@kommune.dk", "Anna <anna@kommune.dk>", "a@b", "@", "", " ", "\x00", "9999999999", "221177--1212",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		id := Parse(input, fuzzNow)
		switch id.Kind {
		case KindCPR:
			if len(id.Value) != 10 || !digits(id.Value) {
				t.Fatalf("Parse(%q): CPR value %q is not 10 digits", input, id.Value)
			}
			if _, ok := BirthDate(id.Value, fuzzNow); !ok {
				t.Fatalf("Parse(%q): accepted a CPR number with no real date", input)
			}
			if m := id.Masked(); m != id.Value[:6]+"-xxxx" {
				t.Fatalf("Parse(%q): mask %q is not DDMMYY-xxxx", input, m)
			}
		case KindCVR:
			if len(id.Value) != 8 || !validCVR(id.Value) {
				t.Fatalf("Parse(%q): CVR value %q is not a valid CVR number", input, id.Value)
			}
		case KindEmail:
			if id.Value != strings.ToLower(id.Value) || strings.Count(id.Value, "@") != 1 {
				t.Fatalf("Parse(%q): e-mail value %q not canonical", input, id.Value)
			}
		case KindInvalid:
			if id.Reason == "" {
				t.Fatalf("Parse(%q): refused without a reason", input)
			}
			return
		default:
			t.Fatalf("Parse(%q): unknown kind %q", input, id.Kind)
		}
		if id.Reason != "" {
			t.Fatalf("Parse(%q): accepted with a reason %q", input, id.Reason)
		}
		// The canonical value and the pretty form name the same recipient.
		for _, again := range []string{id.Value, id.Pretty()} {
			if id2 := Parse(again, fuzzNow); id2.Kind != id.Kind || id2.Value != id.Value {
				t.Fatalf("Parse(%q) = %s %q, but Parse(%q) = %s %q", input, id.Kind, id.Value, again, id2.Kind, id2.Value)
			}
		}
	})
}

// FuzzContainsCPR: the free-text scan never panics, and finds every CPR
// number Parse accepts in its plain forms (with or without the dash)
// wherever it stands between non-digits.
func FuzzContainsCPR(f *testing.F) {
	f.Add("Vedr. 221177-1212 og sagen", "2211771212")
	f.Add("tlf. 22 11 77 12", "0101001234")
	f.Add("", "3112991234")
	f.Fuzz(func(t *testing.T, text, cpr string) {
		found := ContainsCPR(text, fuzzNow)
		if !utf8.ValidString(cpr) || len(cpr) != 10 || !digits(cpr) {
			return
		}
		if _, ok := BirthDate(cpr, fuzzNow); !ok {
			return
		}
		for _, form := range []string{cpr, cpr[:6] + "-" + cpr[6:]} {
			if !ContainsCPR("Sag "+form+" slut", fuzzNow) {
				t.Fatalf("ContainsCPR missed %q", form)
			}
		}
		_ = found
	})
}

// FuzzFold: folding keeps the rune count (the log masker relies on it)
// and is idempotent.
func FuzzFold(f *testing.F) {
	f.Add("221177\u20131212")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		once := Fold(s)
		if utf8.RuneCountInString(once) != utf8.RuneCountInString(s) {
			t.Fatalf("Fold(%q) changed the rune count", s)
		}
		if Fold(once) != once {
			t.Fatalf("Fold is not idempotent on %q", s)
		}
	})
}
