package recipient

import "time"

// Finding is a CPR number found in free text.
type Finding struct {
	// Start and End are the byte offsets of the number in the text.
	Start, End int
	// Masked is the number as it may be shown and logged: DDMMYY-xxxx.
	Masked string
}

// ContainsCPR reports whether text holds something that reads as a CPR
// number (see FindCPR).
func ContainsCPR(text string, now time.Time) bool {
	return len(FindCPR(text, now)) > 0
}

// FindCPR finds what reads as a CPR number in free text (a subject, a
// body, a file name): six digits of a real date (by the century rules, not
// after now), an optional dash or space, four digits, and no digit right
// before or after. Phone numbers in groups of two and ten-digit numbers
// whose date does not exist pass. So do numbers the text itself says are
// something else — a phone number (+45, 0045, tlf.), an account (reg.nr.,
// konto), an amount (kr., DKK, a decimal comma after), an invoice or order
// number — and case or journal numbers with a year in front (2024-…,
// 24/…): a clerk who is stopped for those learns to ignore the alert.
//
// The add-in's launchevent.js implements the same rules; the shared cases
// in addin/testdata/cpr-vectors.json hold the two together.
func FindCPR(text string, now time.Time) []Finding {
	var out []Finding
	isDigit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	for i := 0; i+10 <= len(text); i++ {
		if isDigit(i-1) || !isDigit(i) {
			continue
		}
		j := i
		for j < len(text) && j-i < 6 && isDigit(j) {
			j++
		}
		if j-i != 6 {
			continue
		}
		rest := j
		if rest < len(text) && (text[rest] == '-' || text[rest] == ' ') {
			rest++
		}
		k := rest
		for k < len(text) && k-rest < 4 && isDigit(k) {
			k++
		}
		if k-rest != 4 || isDigit(k) {
			continue
		}
		if _, ok := BirthDate(text[i:j]+text[rest:k], now); !ok {
			continue
		}
		if saysOtherwise(text, i, k) {
			continue
		}
		out = append(out, Finding{Start: i, End: k, Masked: text[i:j] + "-xxxx"})
		i = k - 1
	}
	return out
}

// otherLabels are words that, right before a number, say what it is when
// it is no CPR number. Lower-case ASCII; matched case-insensitively and
// only as whole words.
var otherLabels = []string{
	"+45", "0045",
	"tlf", "tlf.nr", "tlfnr", "telefon", "telefonnr", "telefonnummer", "mobil", "mobilnr", "mobilnummer", "fax",
	"reg.nr", "reg. nr", "regnr", "reg", "konto", "kontonr", "kontonummer",
	"kr", "dkk", "eur",
	"faktura", "fakturanr", "fakturanummer", "ordre", "ordrenr", "ordrenummer",
}

// saysOtherwise reports whether the text around the number at
// text[start:end] says it is something else than a CPR number.
func saysOtherwise(text string, start, end int) bool {
	// A year in front: 2024-1506264123, 24/1506264123 (and reg.nr.-konto:
	// 1234-1506264123).
	if start >= 2 && (text[start-1] == '-' || text[start-1] == '/') {
		n := 0
		for p := start - 2; p >= 0 && text[p] >= '0' && text[p] <= '9'; p-- {
			n++
		}
		if n == 2 || n == 4 {
			return true
		}
	}
	// A label in front, separated by spaces and punctuation only.
	p := start
	for p > 0 {
		switch {
		case text[p-1] == ' ' || text[p-1] == '\t' || text[p-1] == '.' || text[p-1] == ':' || text[p-1] == '#' || text[p-1] == '-':
			p--
			continue
		case p >= 2 && text[p-2:p] == "\u00a0":
			p -= 2
			continue
		}
		break
	}
	for _, l := range otherLabels {
		if p >= len(l) && asciiLower(text[p-len(l):p]) == l && wordStart(text, p-len(l), l) {
			return true
		}
	}
	// An amount: a decimal comma, or kr./DKK/,- after.
	if end+1 < len(text) && text[end] == ',' && text[end+1] >= '0' && text[end+1] <= '9' {
		return true
	}
	after := end
	for after < len(text) && text[after] == ' ' {
		after++
	}
	for _, l := range []string{"kr", "dkk", ",-"} {
		if after+len(l) <= len(text) && asciiLower(text[after:after+len(l)]) == l && (l == ",-" || !asciiLetter(text, after+len(l))) {
			return true
		}
	}
	return false
}

// wordStart: the label at text[i:] begins a word (no ASCII letter or digit
// right before a label that begins with one).
func wordStart(text string, i int, label string) bool {
	if i == 0 {
		return true
	}
	c := label[0]
	if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return true
	}
	b := text[i-1]
	return !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9')
}

func asciiLetter(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	b := text[i]
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// asciiLower lower-cases ASCII letters only, as JavaScript's detector
// compares them.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
