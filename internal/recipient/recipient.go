// Package recipient parses what a clerk types in Til/Cc/Bcc (a CPR number,
// a CVR number or an e-mail address), decides how each recipient can be
// reached, and words the answer the way clerks know it from their
// "Kontrollér modtagere" dialog.
//
// What is secure is decided here, in Go, once: the relay and the agent both
// call Check, the add-in pages only show the result.
package recipient

import (
	"net/mail"
	"strings"
	"time"
)

// Kind is what an input turned out to be.
type Kind string

const (
	KindCPR     Kind = "cpr"
	KindCVR     Kind = "cvr"
	KindEmail   Kind = "email"
	KindInvalid Kind = "invalid"
)

// ID is a parsed recipient. Value is normalised: 10 digits for a CPR number,
// 8 digits for a CVR number, the lower-cased address for an e-mail.
type ID struct {
	Input string
	Kind  Kind
	Value string
	// Reason says in Danish why an input is invalid.
	Reason string
}

// Parse recognises a recipient. It reads a field the way a clerk pastes
// it: look-alike digits, dashes and spaces are folded (Fold); spaces
// anywhere are ignored; a CPR number may have a dash after its sixth
// digit or be written DD-MM-YY-SSSS; a CVR number may come as DK12345674,
// DK-12345674, "CVR-nr. 12345674" or in groups. The rules themselves stay
// strict: a CPR number whose date is impossible by the century rules, or
// lies after now, is invalid, and so is a CVR number whose check digit does
// not fit. Since 2007 the modulus 11 check is no validity test for CPR
// numbers, so it is not applied.
func Parse(input string, now time.Time) ID {
	id := ID{Input: input, Kind: KindInvalid}
	folded := strings.TrimSpace(Fold(input))
	if strings.Contains(folded, "@") {
		s := strings.Join(strings.Fields(folded), "")
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || strings.Count(s, "@") != 1 || !strings.Contains(s[strings.Index(s, "@"):], ".") {
			id.Reason = "er ikke en gyldig e-mailadresse."
			return id
		}
		id.Kind, id.Value = KindEmail, strings.ToLower(s)
		return id
	}
	s, kind, label := looseNumber(folded)
	switch {
	case kind == KindInvalid:
		id.Reason = "er hverken et CPR-nummer, et CVR-nummer eller en e-mailadresse."
		if label == KindCVR {
			id.Reason = "er ikke et gyldigt CVR-nummer: det skal have 8 cifre."
		} else if label == KindCPR {
			id.Reason = "er ikke et gyldigt CPR-nummer: det skal have 10 cifre."
		}
	case label != "" && label != kind:
		if label == KindCVR {
			id.Reason = "er ikke et gyldigt CVR-nummer: det skal have 8 cifre."
		} else {
			id.Reason = "er ikke et gyldigt CPR-nummer: det skal have 10 cifre."
		}
	case kind == KindCPR:
		if _, ok := BirthDate(s, now); !ok {
			id.Reason = "er ikke et gyldigt CPR-nummer: datoen findes ikke."
			return id
		}
		id.Kind, id.Value = KindCPR, s
	case kind == KindCVR:
		if !validCVR(s) {
			id.Reason = "er ikke et gyldigt CVR-nummer: kontrolcifferet passer ikke."
			return id
		}
		id.Kind, id.Value = KindCVR, s
	}
	return id
}

// BirthDate returns the date a 10-digit CPR number encodes, using the
// century from the seventh digit, and whether it is a real date not after now.
func BirthDate(cpr string, now time.Time) (time.Time, bool) {
	if len(cpr) != 10 || !digits(cpr) {
		return time.Time{}, false
	}
	n := func(i int) int { return int(cpr[i]-'0')*10 + int(cpr[i+1]-'0') }
	day, month, yy := n(0), n(2), n(4)
	var year int
	switch d7 := cpr[6] - '0'; {
	case d7 <= 3:
		year = 1900 + yy
	case d7 == 4 || d7 == 9:
		if yy <= 36 {
			year = 2000 + yy
		} else {
			year = 1900 + yy
		}
	default: // 5–8
		if yy <= 57 {
			year = 2000 + yy
		} else {
			year = 1800 + yy
		}
	}
	if month < 1 || month > 12 || day < 1 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || t.Month() != time.Month(month) {
		return time.Time{}, false
	}
	y, m, d := now.Date()
	if t.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, false
	}
	return t, true
}

var cvrWeights = [8]int{2, 7, 6, 5, 4, 3, 2, 1}

func validCVR(s string) bool {
	if s[0] == '0' {
		return false
	}
	sum := 0
	for i := range 8 {
		sum += int(s[i]-'0') * cvrWeights[i]
	}
	return sum%11 == 0
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Masked is the form that may appear in logs and receipts: a CPR number as
// DDMMYY-xxxx, other kinds as they are, an invalid input reduced to its
// length so a mistyped CPR number never leaks either.
func (id ID) Masked() string {
	switch id.Kind {
	case KindCPR:
		return MaskCPR(id.Value)
	case KindCVR, KindEmail:
		return id.Value
	default:
		return "invalid(" + itoa(len(id.Input)) + " chars)"
	}
}

// MaskCPR turns 2211771212 into 221177-xxxx.
func MaskCPR(cpr string) string {
	if len(cpr) < 6 {
		return "xxxxxx-xxxx"
	}
	return cpr[:6] + "-xxxx"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Pretty is how a recipient is named back to the clerk, its canonical
// form: a CPR number with its dash (221177-1212), a CVR number as 8 digits,
// an e-mail address lower-cased; an invalid input as typed.
func (id ID) Pretty() string {
	switch id.Kind {
	case KindCPR:
		return id.Value[:6] + "-" + id.Value[6:]
	case KindInvalid:
		return strings.TrimSpace(id.Input)
	}
	return id.Value
}
