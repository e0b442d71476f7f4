package attachment

import (
	"mime"
	"path/filepath"
	"strings"
)

// PrintKind is what a file is, as far as a printed letter goes.
type PrintKind int

const (
	NotPrintable PrintKind = iota
	PrintPDF
	PrintImage // JPEG or PNG: the content decides which
)

// PrintKindOf classifies by content type, and by file name when the
// content type says nothing (empty or application/octet-stream, as mail
// clients send for files they do not recognise). An explicit other type
// wins over the name: "report.pdf" sent as application/msword is not a PDF.
// It lives here, not with the typesetter, so that the agent can refuse an
// unprintable file at submit without linking the typesetter.
func PrintKindOf(contentType, filename string) PrintKind {
	mt := ""
	if contentType != "" {
		if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
			mt = parsed
		} else {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
		}
	}
	switch mt {
	case "application/pdf", "application/x-pdf", "application/acrobat":
		return PrintPDF
	case "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/x-png":
		return PrintImage
	case "", "application/octet-stream", "binary/octet-stream", "application/x-download":
		switch strings.ToLower(filepath.Ext(filename)) {
		case ".pdf":
			return PrintPDF
		case ".jpg", ".jpeg", ".jpe", ".png":
			return PrintImage
		}
	}
	return NotPrintable
}

// Printable reports whether an attachment can follow a printed letter:
// PDF, JPEG and PNG. The content is checked again when the letter is
// written, so a mislabelled file fails there rather than printing garbage.
func Printable(contentType, filename string) bool {
	return PrintKindOf(contentType, filename) != NotPrintable
}
