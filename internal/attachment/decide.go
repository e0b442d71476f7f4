package attachment

import (
	"bytes"
	"path"
	"strings"
)

// Decision is what becomes of one attachment.
type Decision struct {
	Format *Format // what the file is; nil when nobody can tell
	Action Action
	// Filename is the cleaned name the file leaves with; its extension
	// follows the content ("notat.docx" holding a PDF becomes
	// "notat.pdf") and a converted file ends in ".pdf".
	Filename string
	// ContentType is the media type it leaves with.
	ContentType string
	// Code and Message explain a refusal: a stable code for programs and
	// a Danish sentence for the clerk that names the file and says what
	// to do.
	Code, Message string
	// Source is, for ConvertPDF, the name the file is stored and
	// forwarded under until it is converted: the cleaned name with an
	// extension of its format, so that Decide on Source, the format's
	// media type and the same bytes decides the same again (the agent
	// stores the file as it is; the relay converts it).
	Source string
	// EightBit marks text in Windows-1252 rather than UTF-8.
	EightBit bool
	err      error // why NotConverted
}

// Printable reports whether the file can follow a printed letter once it
// is what it leaves as.
func (d Decision) Printable() bool {
	return d.Action == ConvertPDF || d.Action == Keep && d.Format != nil && d.Format.Printable
}

// SniffLen is how many leading bytes Decide wants to see.
const SniffLen = 8 << 10

// Decide looks at an attachment's name, its declared media type and its
// first bytes (up to SniffLen, all of it if shorter) and says what to do.
// The content decides what a file is whenever its bytes say it: a PDF
// named notat.docx leaves as notat.pdf, application/pdf. The name and the
// declared type only choose among formats that share a container (a ZIP
// is a .docx or an .xlsx) or a text kind, and an executable's name alone
// refuses it, because scripts are text.
func Decide(name, declared string, head []byte, index int) Decision {
	clean := CleanName(name, index)
	refuse := func(f *Format, code, msg string) Decision {
		return Decision{Format: f, Action: Refuse, Filename: clean, Code: code, Message: msg}
	}
	byName, byType := byExt(clean), byMediaType(declared)
	exe := byID("executable")
	if byName == exe || byType == exe {
		return refuse(exe, "attachment_executable", "Bilaget »"+clean+"« er et program eller et script. Den slags filer kan ikke sendes med Digital Post. Fjern det fra forsendelsen.")
	}

	sniffed := Sniff(head)
	// PDF readers look for the header anywhere in the first 1024 bytes, so
	// a PDF behind a few bytes of junk is still one — when its name or type
	// says so; a text that merely mentions "%PDF-" is not.
	if (byName == byID("pdf") || byType == byID("pdf")) && sniffed != "pdf" && bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")) {
		sniffed = "pdf"
	}
	var f *Format
	eightBit := false
	switch sniffed {
	case "empty":
		return refuse(nil, "attachment_empty", "Bilaget »"+clean+"« er tomt (0 byte). Vedhæft filen igen, eller fjern den fra forsendelsen.")
	case zipContainer, oleContainer:
		for _, c := range []*Format{byName, byType} {
			if c != nil && c.container == sniffed {
				f = c
				break
			}
		}
		if f == nil && sniffed == zipContainer {
			f = byID("zip")
		}
	case "text", "text-8bit":
		eightBit = sniffed == "text-8bit"
		for _, c := range []*Format{byName, byType} {
			if c != nil && (c.ID == "text" || c.ID == "markdown" || c.ID == "html" || c.ID == "eml") {
				f = c
				break
			}
		}
		if f == nil {
			f = byID("text")
			if looksHTML(head) {
				f = byID("html")
			}
		}
	case "":
	default:
		f = byID(sniffed)
	}

	switch {
	case f == nil:
		return refuse(nil, "attachment_format", "Bilaget »"+clean+"« har en filtype, som Digital Post ikke modtager. Gem det som PDF, og vedhæft det igen.")
	case f.ID == "executable":
		return refuse(f, "attachment_executable", "Bilaget »"+clean+"« er et program eller et script. Den slags filer kan ikke sendes med Digital Post. Fjern det fra forsendelsen.")
	case f.ID == "zip":
		return refuse(f, "attachment_archive", "Bilaget »"+clean+"« er et komprimeret arkiv. Digital Post modtager ikke arkiver. Pak filerne ud, og vedhæft dem enkeltvis – helst som PDF.")
	case f.Action == Refuse:
		return refuse(f, "attachment_format", "Bilaget »"+clean+"« er en "+f.Name+"-fil, som Digital Post ikke modtager. Gem det som PDF, og vedhæft det igen.")
	case f.Action == ConvertPDF:
		// The PDF's name follows from Source, so that the relay, deciding
		// again on Source, names it the same.
		// A new extension can leave a name unclean ("0 .x" → "0 .txt"):
		// clean it again.
		source := clean
		if !hasExt(clean, f.Exts) {
			source = CleanName(WithExt(clean, f.Exts[0]), index)
		}
		return Decision{Format: f, Action: ConvertPDF, Filename: CleanName(WithExt(source, ".pdf"), index), ContentType: "application/pdf", Source: source, EightBit: eightBit}
	}
	filename := clean
	if !hasExt(clean, f.Exts) {
		filename = CleanName(WithExt(clean, f.Exts[0]), index)
	}
	return Decision{Format: f, Action: Keep, Filename: filename, ContentType: f.MediaType}
}

func hasExt(name string, exts []string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if e == ext {
			return true
		}
	}
	return false
}

// looksHTML reports text that is an HTML document by its start.
func looksHTML(head []byte) bool {
	h := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))))
	return bytes.HasPrefix(h, []byte("<!doctype html")) || bytes.HasPrefix(h, []byte("<html"))
}
