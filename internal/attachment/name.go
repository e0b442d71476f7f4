package attachment

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes bounds a cleaned file name. MeMo 1.2 types <filename> as
// memoTextType, at most 256 characters (schemas/memo/MeMo_dataTypes.xsd);
// we keep to 255 bytes of UTF-8, which is within that and also what the
// citizen's file system (NTFS, ext4, APFS) can save when the file is
// downloaded.
const MaxNameBytes = 255

// maxExtBytes is the longest extension kept whole when a name is cut;
// anything longer is not an extension but part of the name.
const maxExtBytes = 16

// CleanName makes an attachment's file name one Digital Post accepts and
// the citizen can save. It is the one cleaner for every path — the
// agent's and the relay's submit, MeMo, fjernprint and print — so a name
// is the same wherever it shows.
//
// Since 10 September 2025 NgDP refuses file names that contain
// < > : " / \ | ? * CR LF or the Unicode spaces U+00A0, U+2000–U+200A,
// U+2028, U+205F, U+2060 and U+3000 (Digitaliseringsstyrelsen, "Øget
// validering af filnavne og URI i Actions fra d. 10/9 2025",
// digitaliser.dk/digital-post/nyhedsarkiv/2024/nov/oeget-validering-i-digital-post).
// CleanName:
//   - keeps the base name only: no path from a client reaches a file system;
//   - composes the name (NFC), so "å" is one character whatever the client sent;
//   - makes every space-like character an ordinary space: all Unicode
//     space separators (U+00A0, U+2000–U+200A, U+202F, U+205F, U+3000, …),
//     the line and paragraph separators U+2028 and U+2029, U+2060 (word
//     joiner) and U+FEFF (byte order mark), and every control character;
//   - drops the other invisible format characters (zero-width space,
//     the bidirectional overrides that can make "gpj.exe" read as "exe.jpg");
//   - replaces < > : " | ? * with '_' ('/' and '\' end the path above);
//   - collapses runs of spaces, trims spaces and dots at either end (Windows
//     drops a trailing dot) and spaces before the extension, and keeps the
//     extension when it must cut the name to MaxNameBytes.
//
// A name with nothing left becomes "bilag-<index+1>".
func CleanName(name string, index int) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = norm.NFC.String(strings.ToValidUTF8(name, "_"))
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case isSpaceLike(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r):
			continue // invisible: zero-width space, bidi controls, soft hyphen
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	// Again: a removed invisible character can leave combining marks
	// out of canonical order.
	name = strings.Trim(norm.NFC.String(b.String()), " .")
	if name == "" {
		return fmt.Sprintf("bilag-%d", index+1)
	}
	// Cut first: cutting a long name can make its tail an extension.
	name = cut(name, MaxNameBytes)
	// "bilag .pdf", where an invisible character stood before the dot.
	if stem, ext := splitExt(name); ext != "" && len(ext) <= maxExtBytes && strings.TrimRight(stem, " ") != "" {
		name = strings.TrimRight(stem, " ") + ext
	}
	return name
}

// isSpaceLike reports the characters CleanName turns into a space.
func isSpaceLike(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Zs, r) || r == '\u2028' || r == '\u2029' ||
		r == '\u2060' || r == '\ufeff'
}

// cut shortens name to at most max bytes, keeping its extension, on a
// character boundary.
func cut(name string, max int) string {
	if len(name) <= max {
		return name
	}
	stem, ext := splitExt(name)
	if len(ext) > maxExtBytes {
		stem, ext = name, ""
	}
	stem = truncate(stem, max-len(ext))
	return strings.TrimRight(stem, " .") + ext
}

func truncate(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// splitExt splits "bilag.tar.pdf" into "bilag.tar" and ".pdf". A name
// that is only an extension (".pdf") has no stem to keep, so it is all
// stem.
func splitExt(name string) (stem, ext string) {
	ext = path.Ext(name)
	if ext == name || ext == "." {
		return name, ""
	}
	return strings.TrimSuffix(name, ext), ext
}

// WithExt returns name with its extension replaced by ext (".pdf"), for a
// file whose content turned out to be another format than its name says,
// or that was converted: "notat.docx" holding a PDF leaves as "notat.pdf".
func WithExt(name, ext string) string {
	stem, old := splitExt(name)
	if strings.EqualFold(old, ext) {
		return name
	}
	if stem == "" {
		stem = "bilag"
	}
	return cut(stem+ext, MaxNameBytes)
}

// Names hands out distinct names for the attachments of one message, so
// the citizen can tell two "bilag.pdf" apart: the second becomes
// "bilag (2).pdf", the third "bilag (3).pdf". Names differing only in case
// count as the same, because they are the same file on Windows and macOS.
// The zero value is ready to use.
type Names struct{ taken map[string]bool }

// Unique returns name, or the first "stem (n).ext" not yet handed out.
func (n *Names) Unique(name string) string {
	if n.taken == nil {
		n.taken = map[string]bool{}
	}
	stem, ext := splitExt(name)
	cand := name
	for i := 2; n.taken[strings.ToLower(cand)]; i++ {
		suffix := " (" + strconv.Itoa(i) + ")"
		cand = truncate(stem, MaxNameBytes-len(suffix)-len(ext)) + suffix + ext
	}
	n.taken[strings.ToLower(cand)] = true
	return cand
}
