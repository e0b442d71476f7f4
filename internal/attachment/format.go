package attachment

import (
	"bytes"
	"mime"
	"path"
	"strings"
	"unicode/utf8"
)

// Action is what happens to an attachment of a format.
type Action int

const (
	// Refuse: the send is refused at submit with a Danish message that
	// names the file and says what to do; nothing is queued.
	Refuse Action = iota
	// Keep: Digital Post takes the format; the file goes as it is.
	Keep
	// ConvertPDF: Digital Post does not take the format, but we can set
	// its text faithfully as a PDF, which then goes instead.
	ConvertPDF
)

// Format is one kind of file, as far as sending it goes.
type Format struct {
	ID        string   // stable name, for code and tests ("pdf", "docx")
	Name      string   // what a clerk calls it, in messages ("PDF", "Word")
	MediaType string   // what the MeMo encodingFormat says
	Exts      []string // the extensions it is known by; the first is the one a file gets
	Action    Action
	// Printable: may follow a printed letter (OneTooX / fjernprint), which
	// takes PDF and images it can place on a page.
	Printable bool
	// container: the content is a ZIP or an OLE2 compound file, which
	// several formats share; the name or declared type says which one.
	container string
}

// Containers that several formats share.
const (
	zipContainer = "zip"
	oleContainer = "ole"
)

// Formats is THE table of what an attachment may be: Digital Post's
// accepted formats, what we convert, and what we refuse.
//
// Source: Digitaliseringsstyrelsen, "Tilladte filtyper i Digital Post"
// (linked from digst.dk/it-loesninger/digital-post/anvendelse/forstaa-digital-post/memo/
// and listed with the MeMo guides at admin.digitaliser.dk/digital-post/vejledninger/memo),
// which limits the formats "for security reasons, so that no files that
// may be dangerous to the recipient are sent, and so that current and
// future viewing clients show them correctly". We could not read the
// list itself from here; the entries below are the office, PDF and image
// formats that list is known for, and anything not in it is refused
// rather than sent and bounced after the clerk was told it went. HTML
// and plain text are, per "Principper for dokumenter og HTML i Digital
// Post", for the main document (the clerk's body, self-contained, no
// scripts or external resources); as attachments we convert them to PDF.
// Markdown is not a Digital Post format at all; its text converts
// faithfully. Executables and scripts are refused by name whatever the
// content says.
var Formats = []Format{
	{ID: "pdf", Name: "PDF", MediaType: "application/pdf", Exts: []string{".pdf"}, Action: Keep, Printable: true},
	{ID: "jpeg", Name: "JPEG-billede", MediaType: "image/jpeg", Exts: []string{".jpg", ".jpeg", ".jpe"}, Action: Keep, Printable: true},
	{ID: "png", Name: "PNG-billede", MediaType: "image/png", Exts: []string{".png"}, Action: Keep, Printable: true},
	{ID: "gif", Name: "GIF-billede", MediaType: "image/gif", Exts: []string{".gif"}, Action: Keep},
	{ID: "tiff", Name: "TIFF-billede", MediaType: "image/tiff", Exts: []string{".tif", ".tiff"}, Action: Keep},
	{ID: "docx", Name: "Word", MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Exts: []string{".docx"}, Action: Keep, container: zipContainer},
	{ID: "xlsx", Name: "Excel", MediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Exts: []string{".xlsx"}, Action: Keep, container: zipContainer},
	{ID: "pptx", Name: "PowerPoint", MediaType: "application/vnd.openxmlformats-officedocument.presentationml.presentation", Exts: []string{".pptx"}, Action: Keep, container: zipContainer},
	{ID: "odt", Name: "OpenDocument-tekst", MediaType: "application/vnd.oasis.opendocument.text", Exts: []string{".odt"}, Action: Keep, container: zipContainer},
	{ID: "ods", Name: "OpenDocument-regneark", MediaType: "application/vnd.oasis.opendocument.spreadsheet", Exts: []string{".ods"}, Action: Keep, container: zipContainer},
	{ID: "odp", Name: "OpenDocument-præsentation", MediaType: "application/vnd.oasis.opendocument.presentation", Exts: []string{".odp"}, Action: Keep, container: zipContainer},
	{ID: "doc", Name: "Word 97-2003", MediaType: "application/msword", Exts: []string{".doc"}, Action: Keep, container: oleContainer},
	{ID: "xls", Name: "Excel 97-2003", MediaType: "application/vnd.ms-excel", Exts: []string{".xls"}, Action: Keep, container: oleContainer},
	{ID: "ppt", Name: "PowerPoint 97-2003", MediaType: "application/vnd.ms-powerpoint", Exts: []string{".ppt"}, Action: Keep, container: oleContainer},

	{ID: "text", Name: "tekst", MediaType: "text/plain", Exts: []string{".txt", ".text", ".log"}, Action: ConvertPDF},
	{ID: "markdown", Name: "Markdown", MediaType: "text/markdown", Exts: []string{".md", ".markdown"}, Action: ConvertPDF},
	{ID: "html", Name: "HTML", MediaType: "text/html", Exts: []string{".html", ".htm"}, Action: ConvertPDF},
	// A mail Outlook attaches as an item: its headers and its body.
	{ID: "eml", Name: "e-mail", MediaType: "message/rfc822", Exts: []string{".eml"}, Action: ConvertPDF},

	// Text underneath, but not text to read: set as text it would show
	// markup, not the document.
	{ID: "rtf", Name: "RTF", MediaType: "application/rtf", Exts: []string{".rtf"}, Action: Refuse},
	{ID: "svg", Name: "SVG-billede", MediaType: "image/svg+xml", Exts: []string{".svg", ".svgz"}, Action: Refuse},

	{ID: "executable", Name: "program", MediaType: "application/x-msdownload", Exts: []string{
		".exe", ".com", ".scr", ".msi", ".msp", ".dll", ".cpl", ".bat", ".cmd", ".ps1", ".psm1", ".vbs", ".vbe",
		".js", ".jse", ".wsf", ".wsh", ".hta", ".lnk", ".jar", ".sh", ".app", ".pif", ".reg", ".elf"}, Action: Refuse},
	{ID: "zip", Name: "ZIP-arkiv", MediaType: "application/zip", Exts: []string{".zip", ".7z", ".rar"}, Action: Refuse, container: zipContainer},
}

// byID finds a format in the table.
func byID(id string) *Format {
	for i := range Formats {
		if Formats[i].ID == id {
			return &Formats[i]
		}
	}
	return nil
}

// byExt finds the format an extension names, or nil.
func byExt(name string) *Format {
	ext := strings.ToLower(path.Ext(name))
	if ext == "" {
		return nil
	}
	for i := range Formats {
		for _, e := range Formats[i].Exts {
			if e == ext {
				return &Formats[i]
			}
		}
	}
	return nil
}

// byMediaType finds the format a declared type names, or nil. The
// catch-all types mail clients send for files they do not know say
// nothing and give nil.
func byMediaType(declared string) *Format {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]))
	}
	switch mt {
	case "", "application/octet-stream", "binary/octet-stream", "application/x-download", "application/force-download":
		return nil
	case "image/jpg", "image/pjpeg":
		mt = "image/jpeg"
	case "application/x-pdf", "application/acrobat":
		mt = "application/pdf"
	case "image/x-png":
		mt = "image/png"
	case "text/x-markdown":
		mt = "text/markdown"
	case "application/x-zip-compressed":
		mt = "application/zip"
	case "text/rtf":
		mt = "application/rtf"
	}
	for i := range Formats {
		if Formats[i].MediaType == mt {
			return &Formats[i]
		}
	}
	return nil
}

// Sniff identifies a file by its first bytes (512 are plenty; more help
// tell text from binary). It returns the format's ID, a container name
// ("zip", "ole") when the bytes only say which family, "text" for text
// that is valid UTF-8, "empty", or "" when it cannot tell.
func Sniff(head []byte) string {
	switch {
	case len(head) == 0:
		return "empty"
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"), []byte("%PDF-")):
		return "pdf"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(head, []byte("MZ")), bytes.HasPrefix(head, []byte("\x7fELF")),
		bytes.HasPrefix(head, []byte("\xcf\xfa\xed\xfe")), bytes.HasPrefix(head, []byte("\xce\xfa\xed\xfe")),
		bytes.HasPrefix(head, []byte("\xca\xfe\xba\xbe")), bytes.HasPrefix(head, []byte("#!")):
		return "executable"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		// An OpenDocument file starts with its uncompressed "mimetype" entry.
		if len(head) >= 38 && bytes.Equal(head[30:38], []byte("mimetype")) {
			for _, id := range []string{"odt", "ods", "odp"} {
				if bytes.Contains(head[:min(len(head), 200)], []byte(byID(id).MediaType)) {
					return id
				}
			}
		}
		return zipContainer
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return oleContainer
	case bytes.HasPrefix(head, []byte("Rar!")), bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return "zip"
	case bytes.HasPrefix(head, []byte("{\\rtf")):
		return "rtf"
	case bytes.Contains(bytes.ToLower(head[:min(len(head), 1024)]), []byte("<svg")):
		return "svg"
	}
	switch textKind(head) {
	case utf8Text:
		return "text"
	case eightBitText:
		return "text-8bit"
	}
	return ""
}

type textKindT int

const (
	notText textKindT = iota
	utf8Text
	// eightBitText is text in an 8-bit code page: Danish text files
	// saved by older Windows programs are Windows-1252.
	eightBitText
)

// textKind tells whether head looks like text: no NUL, at most 1 % other
// control characters; UTF-8 (a character cut at the end of head is fine)
// or else 8-bit.
func textKind(head []byte) textKindT {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	ctl := 0
	for _, c := range h {
		switch {
		case c == 0:
			return notText
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f':
			ctl++
		}
	}
	if ctl*100 > len(h) {
		return notText
	}
	for i := 0; i < 3 && len(h) > 0 && !utf8.Valid(h); i++ {
		h = h[:len(h)-1] // a multi-byte character cut off by the sniff window
	}
	if utf8.Valid(h) {
		return utf8Text
	}
	return eightBitText
}
