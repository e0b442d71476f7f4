package recipient

import "strings"

// A clerk pastes numbers from letters, web pages and case systems: with an
// en dash, in groups of two, with full-width digits or a "CVR-nr." in
// front. loose finds the digits such a whole field stands for, so Parse can
// hold them to the same strict rules (date, length, check digit) as a
// number typed plainly. It is for a whole recipient field only: Smart
// Alert's scan of free text never uses it, because "DK 12 34 56 74" in a
// letter's body is no reason to stop a send.

// prefix is a label clerks paste in front of a number, and what it says
// the number is.
type prefix struct {
	label string
	kind  Kind
}

// prefixes in the order they are tried: longer labels first, so "cvr-nr."
// is not read as "cvr" followed by "-nr.".
var prefixes = []prefix{
	{"cvr-nummer", KindCVR}, {"cvr nummer", KindCVR}, {"cvr-nr.", KindCVR}, {"cvr-nr", KindCVR},
	{"cvr nr.", KindCVR}, {"cvr nr", KindCVR}, {"cvrnr.", KindCVR}, {"cvrnr", KindCVR}, {"cvr", KindCVR},
	{"dk", KindCVR}, // the VAT form: DK12345674, DK-12345674, DK 12 34 56 74
	{"cpr-nummer", KindCPR}, {"cpr nummer", KindCPR}, {"cpr-nr.", KindCPR}, {"cpr-nr", KindCPR},
	{"cpr nr.", KindCPR}, {"cpr nr", KindCPR}, {"cprnr.", KindCPR}, {"cprnr", KindCPR}, {"cpr", KindCPR},
}

// looseNumber reads a folded, trimmed field as a CPR or CVR number. It
// returns the plain digits (10 for a CPR number, 8 for a CVR number) and
// their kind; kind is KindInvalid when the field is no number in a form we
// know. label is the kind a pasted label claimed ("" when none), so a
// "CVR 2211771212" is refused rather than taken for a CPR number.
func looseNumber(s string) (digitsOnly string, kind Kind, label Kind) {
	for _, p := range prefixes {
		if len(s) < len(p.label) || !strings.EqualFold(s[:len(p.label)], p.label) {
			continue
		}
		rest := strings.TrimLeft(s[len(p.label):], " ")
		rest = strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(rest, ":"), "-"), " ")
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			continue // not a label: "dkkommune", or "cvr" of "cvr-nr." tried too early
		}
		s, label = rest, p.kind
		break
	}
	body := strings.ReplaceAll(s, " ", "")
	groups, seps := splitGroups(body)
	if groups == nil {
		return "", KindInvalid, label
	}
	shape := make([]int, len(groups))
	for i, g := range groups {
		shape[i] = len(g)
	}
	joined := strings.Join(groups, "")
	switch {
	case same(shape, 10), same(shape, 8):
	case same(shape, 6, 4) && seps == "-":
	case same(shape, 2, 2, 2, 4) && (seps == "---" || seps == "..-"):
	case same(shape, 2, 2, 2, 2) && (seps == "..." || seps == "---"):
	default:
		return "", KindInvalid, label
	}
	switch len(joined) {
	case 10:
		kind = KindCPR
	case 8:
		kind = KindCVR
	}
	return joined, kind, label
}

// splitGroups splits digits separated by single '-' or '.' into the digit
// groups and the separators between them; nil when anything else is there
// or a group is empty.
func splitGroups(s string) (groups []string, seps string) {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			continue
		}
		if i == start {
			return nil, ""
		}
		groups = append(groups, s[start:i])
		if i < len(s) {
			if s[i] != '-' && s[i] != '.' {
				return nil, ""
			}
			seps += s[i : i+1]
		}
		start = i + 1
	}
	return groups, seps
}

func same(a []int, b ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
