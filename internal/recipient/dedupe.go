package recipient

import "time"

// Merged is a recipient entry that named someone already on the list: the
// same citizen or company in To and Cc, or written two ways (2211771212
// and 221177-1212). They get one letter, not two.
type Merged struct {
	Input  string `json:"input"`
	SameAs string `json:"sameAs"`
}

// Key is what makes two entries the same recipient: kind and normalised
// value; "" for an invalid entry, which is never merged (it is refused on
// its own).
func (id ID) Key() string {
	if id.Kind == KindInvalid {
		return ""
	}
	return string(id.Kind) + ":" + id.Value
}

// Dedupe keeps the first entry for each recipient and reports the others
// as merged into it, in the order given.
func Dedupe(inputs []string, now time.Time) (kept []string, merged []Merged) {
	first := map[string]string{}
	for _, in := range inputs {
		k := Parse(in, now).Key()
		if k == "" {
			kept = append(kept, in)
			continue
		}
		if f, ok := first[k]; ok {
			merged = append(merged, Merged{Input: in, SameAs: f})
			continue
		}
		first[k] = in
		kept = append(kept, in)
	}
	return kept, merged
}

// Skip leaves out the entries whose recipient (by Key) is in sent, and
// names those left out in their canonical form: a draft sent again goes
// only to those it has not reached.
func Skip(inputs []string, sent map[string]bool, now time.Time) (rest, skipped []string) {
	for _, in := range inputs {
		id := Parse(in, now)
		if k := id.Key(); k != "" && sent[k] {
			skipped = append(skipped, id.Pretty())
			continue
		}
		rest = append(rest, in)
	}
	return rest, skipped
}
