package attachment

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCleanNameCharacterClasses walks every character NgDP refuses in a
// file name, and the other classes CleanName handles, one by one.
func TestCleanNameCharacterClasses(t *testing.T) {
	// Each becomes an ordinary space (and runs collapse).
	spaces := []rune{'\u00a0', '\u2028', '\u2029', '\u205f', '\u2060', '\u3000', '\ufeff', '\u202f', '\u1680', '\t', '\n', '\r', '\x00', '\x1f', '\x7f', '\u0085'}
	for r := '\u2000'; r <= '\u200a'; r++ {
		spaces = append(spaces, r)
	}
	for _, r := range spaces {
		in := "afgørelse" + string(r) + "om" + string(r) + string(r) + "hjælp.pdf"
		if got, want := CleanName(in, 0), "afgørelse om hjælp.pdf"; got != want {
			t.Errorf("U+%04X: CleanName(%q) = %q, want %q", r, in, got, want)
		}
		if got := CleanName(string(r)+"bilag.pdf"+string(r), 0); got != "bilag.pdf" {
			t.Errorf("U+%04X at the ends: %q, want trimmed", r, got)
		}
	}
	// Invisible format characters vanish: zero-width space and joiners,
	// soft hyphen, and the bidirectional controls that disguise "gpj.exe".
	for _, r := range []rune{'\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u00ad', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'} {
		if got := CleanName("bi"+string(r)+"lag.pdf", 0); got != "bilag.pdf" {
			t.Errorf("U+%04X: %q, want bilag.pdf", r, got)
		}
	}
	// Characters Windows and NgDP reserve become '_'.
	for _, r := range `<>:"|?*` {
		if got := CleanName("a"+string(r)+"b.pdf", 0); got != "a_b.pdf" {
			t.Errorf("%q: %q, want a_b.pdf", r, got)
		}
	}
	// No result contains any refused character.
	for _, in := range []string{"x\u00a0\u2003\u3000y.pdf", "\ufeff\u2060.pdf", "a\r\nb.docx"} {
		out := CleanName(in, 0)
		for _, r := range out {
			if isSpaceLike(r) && r != ' ' {
				t.Errorf("CleanName(%q) = %q keeps U+%04X", in, out, r)
			}
		}
	}
}

func TestCleanName(t *testing.T) {
	tests := map[string]string{
		"bilag.pdf":                "bilag.pdf",
		"../../etc/passwd":         "passwd",
		`C:\Users\x\afgørelse.pdf`: "afgørelse.pdf",
		"":                         "bilag-1",
		"..":                       "bilag-1",
		" \u00a0 ":                 "bilag-1",
		"a\x00b<>.pdf":             "a b__.pdf",
		"slut.":                    "slut",
		"  to   mellemrum  .pdf":   "to mellemrum.pdf",
		"a\u030awe.txt":            "åwe.txt", // decomposed å is composed
		"bad\xffutf8.pdf":          "bad_utf8.pdf",
		"Referat 12.03.2026.docx":  "Referat 12.03.2026.docx",
	}
	for in, want := range tests {
		if got := CleanName(in, 0); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CleanName("", 4); got != "bilag-5" {
		t.Errorf("empty name at index 4: %q", got)
	}
}

func TestCleanNameLength(t *testing.T) {
	long := strings.Repeat("æ", 300) + ".pdf" // 2 bytes a letter
	got := CleanName(long, 0)
	if len(got) > MaxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "æ.pdf") {
		t.Errorf("long name: %d bytes, %q…", len(got), got[len(got)-12:])
	}
	if n := utf8.RuneCountInString(got); n > 256 {
		t.Errorf("%d characters, MeMo allows 256", n)
	}
	// An "extension" longer than any real one is not kept whole.
	odd := "a." + strings.Repeat("x", 300)
	if got := CleanName(odd, 0); len(got) > MaxNameBytes {
		t.Errorf("odd name: %d bytes", len(got))
	}
	if got := CleanName(strings.Repeat("a", 255), 0); len(got) != 255 {
		t.Errorf("a 255-byte name was cut to %d", len(got))
	}
}

func TestWithExt(t *testing.T) {
	tests := []struct{ in, ext, want string }{
		{"notat.docx", ".pdf", "notat.pdf"},
		{"notat.PDF", ".pdf", "notat.PDF"},
		{"notat", ".pdf", "notat.pdf"},
		{"referat.12.03", ".pdf", "referat.12.pdf"},
	}
	for _, tt := range tests {
		if got := WithExt(tt.in, tt.ext); got != tt.want {
			t.Errorf("WithExt(%q, %q) = %q, want %q", tt.in, tt.ext, got, tt.want)
		}
	}
}

func TestNamesUnique(t *testing.T) {
	var n Names
	in := []string{"bilag.pdf", "bilag.pdf", "Bilag.PDF", "bilag (2).pdf", "andet.pdf", "bilag.pdf", "README"}
	want := []string{"bilag.pdf", "bilag (2).pdf", "Bilag (3).PDF", "bilag (2) (2).pdf", "andet.pdf", "bilag (4).pdf", "README"}
	for i, name := range in {
		if got := n.Unique(name); got != want[i] {
			t.Errorf("Unique(%q) #%d = %q, want %q", name, i, got, want[i])
		}
	}
	// The suffix never pushes a name over the limit.
	var m Names
	long := strings.Repeat("x", MaxNameBytes-4) + ".pdf"
	m.Unique(long)
	if got := m.Unique(long); len(got) > MaxNameBytes || !strings.HasSuffix(got, " (2).pdf") {
		t.Errorf("long duplicate: %d bytes %q", len(got), got[len(got)-10:])
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"bilag.pdf", "a\u00a0b.pdf", `C:\x\y.pdf`, "..", "\u202egpj.exe", strings.Repeat("ø", 200) + ".docx"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, in string, index int) {
		if index < 0 || index > 1000 {
			index = 0
		}
		out := CleanName(in, index)
		if out == "" || len(out) > MaxNameBytes || !utf8.ValidString(out) {
			t.Fatalf("CleanName(%q) = %q", in, out)
		}
		for _, r := range out {
			if (isSpaceLike(r) && r != ' ') || strings.ContainsRune(`<>:"|?*/\`, r) {
				t.Fatalf("CleanName(%q) = %q keeps %U", in, out, r)
			}
		}
		if out != strings.TrimSpace(out) || strings.Contains(out, "  ") {
			t.Fatalf("CleanName(%q) = %q has spaces to trim or collapse", in, out)
		}
		if again := CleanName(out, index); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
	})
}
