// Package logmask keeps full CPR numbers out of every log line of the agent
// and the relay, whatever put them there: an attachment name quoted in a
// channel's error, a request path, a panic's text. It is an slog.Handler
// that wraps the real one and masks the message, every attribute (keys,
// strings, errors, Stringers, numbers, nested groups, values logged with
// WithAttrs) before the real handler sees them.
//
// It finds every form the recipient parser accepts as a CPR number —
// 2211771212, 221177-1212, 221177 1212, digits in groups with spaces
// between — also when pasted with look-alike characters (en dashes,
// non-breaking spaces, full-width digits): recipient.Fold maps those rune
// for rune, so a number found in the folded text is masked at the same
// place in the original. A match is masked as DDMMYY-xxxx.
package logmask

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sendsikkert/internal/recipient"
)

// Mask returns s with every CPR number in it masked as DDMMYY-xxxx. A
// number counts when its date is real by the century rules and not after
// now, and no digit touches it; "12 34 56 78"-style phone numbers and
// ten-digit numbers without a real date are left alone.
func Mask(s string, now time.Time) string {
	if !hasDigits(s) {
		return s
	}
	in := []rune(s)
	folded := make([]rune, len(in))
	for i, r := range in {
		folded[i] = recipient.FoldRune(r)
	}
	groups := digitGroups(folded)
	var out []rune
	last := 0 // in[last:] not yet copied to out
	for a := 0; a < len(groups); a++ {
		end, digits, ok := cprAt(folded, groups, a, now)
		if !ok {
			continue
		}
		if out == nil {
			out = make([]rune, 0, len(in))
		}
		out = append(out, in[last:groups[a].start]...)
		out = append(out, []rune(digits[:6]+"-xxxx")...)
		last = groups[end].end
		a = end
	}
	if out == nil {
		return s
	}
	return string(append(out, in[last:]...))
}

type span struct{ start, end int } // runes [start, end) are ASCII digits

func digitGroups(f []rune) []span {
	var gs []span
	for i := 0; i < len(f); {
		if !isDigit(f[i]) {
			i++
			continue
		}
		j := i
		for j < len(f) && isDigit(f[j]) {
			j++
		}
		gs = append(gs, span{i, j})
		i = j
	}
	return gs
}

// cprAt tries the groups from a on as one CPR number: whole groups only,
// ten digits in all, joined by spaces, with at most one dash and that one
// after the sixth digit. It returns the last group used and the digits.
func cprAt(f []rune, gs []span, a int, now time.Time) (int, string, bool) {
	var digits strings.Builder
	for b := a; b < len(gs); b++ {
		if b > a {
			sep := f[gs[b-1].end:gs[b].start]
			dash, ok := separator(sep)
			if !ok || (dash && digits.Len() != 6) {
				return 0, "", false
			}
		}
		digits.WriteString(string(f[gs[b].start:gs[b].end]))
		switch n := digits.Len(); {
		case n == 10:
			d := digits.String()
			if _, ok := recipient.BirthDate(d, now); !ok {
				return 0, "", false
			}
			return b, d, true
		case n > 10:
			return 0, "", false
		}
	}
	return 0, "", false
}

// separator reports whether sep may join two groups of one number, and
// whether it holds the dash.
func separator(sep []rune) (dash, ok bool) {
	// Any amount of space, as the parser ignores spaces anywhere.
	if len(sep) == 0 {
		return false, false
	}
	for _, r := range sep {
		switch r {
		case ' ':
		case '-':
			if dash {
				return false, false
			}
			dash = true
		default:
			return false, false
		}
	}
	return dash, true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func hasDigits(s string) bool {
	for _, r := range s {
		if isDigit(recipient.FoldRune(r)) {
			return true
		}
	}
	return false
}

// Handler masks CPR numbers in every record before the wrapped handler
// formats it.
type Handler struct {
	next slog.Handler
	// Now dates the numbers (a CPR number's date is never after now).
	Now func() time.Time
}

// New wraps next.
func New(next slog.Handler) *Handler { return &Handler{next: next, Now: time.Now} }

// Enabled is next's.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle masks r's message and attributes and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	now := h.Now()
	m := slog.NewRecord(r.Time, r.Level, Mask(r.Message, now), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		m.AddAttrs(maskAttr(a, now))
		return true
	})
	return h.next.Handle(ctx, m)
}

// WithAttrs masks attrs once, here, rather than in every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	now := h.Now()
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a, now)
	}
	return &Handler{next: h.next.WithAttrs(masked), Now: h.Now}
}

// WithGroup masks the group's name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(Mask(name, h.Now())), Now: h.Now}
}

func maskAttr(a slog.Attr, now time.Time) slog.Attr {
	a.Key = Mask(a.Key, now)
	a.Value = maskValue(a.Value, now)
	return a
}

func maskValue(v slog.Value, now time.Time) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(Mask(v.String(), now))
	case slog.KindGroup:
		attrs := v.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			masked[i] = maskAttr(a, now)
		}
		return slog.GroupValue(masked...)
	case slog.KindInt64:
		if s := strconv.FormatInt(v.Int64(), 10); Mask(s, now) != s {
			return slog.StringValue(Mask(s, now))
		}
	case slog.KindUint64:
		if s := strconv.FormatUint(v.Uint64(), 10); Mask(s, now) != s {
			return slog.StringValue(Mask(s, now))
		}
	case slog.KindAny:
		return maskAny(v, now)
	}
	return v
}

// maskAny turns a value that would print a CPR number into its masked
// text; anything else is passed on as it is, so handlers still format it
// their own way.
func maskAny(v slog.Value, now time.Time) slog.Value {
	switch x := v.Any().(type) {
	case nil:
		return v
	case error:
		return slog.StringValue(Mask(x.Error(), now))
	case fmt.Stringer:
		return slog.StringValue(Mask(x.String(), now))
	case []byte:
		return slog.StringValue(Mask(string(x), now))
	}
	// The text handler prints %+v, the JSON handler json.Marshal (or a
	// TextMarshaler): a number in either form is masked in %+v form.
	s := fmt.Sprintf("%+v", v.Any())
	leak := Mask(s, now) != s
	if !leak {
		if b, err := json.Marshal(v.Any()); err == nil {
			leak = Mask(string(b), now) != string(b)
		}
	}
	if leak {
		return slog.StringValue(Mask(s, now))
	}
	return v
}
