package memo

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"
)

// Validation errors. Write and Validate wrap them with the field at fault, so
// the edge can tell the clerk what to fix (errors.Is) while the log gets the
// English detail. Messages never contain a CPR number or a filename.
var (
	ErrMissing               = errors.New("required value missing")
	ErrTooLong               = errors.New("text too long")
	ErrInvalidText           = errors.New("text cannot be carried in XML")
	ErrInvalidUUID           = errors.New("not a lower-case version 4 UUID")
	ErrUnknownIDType         = errors.New("unknown ID type")
	ErrInvalidID             = errors.New("invalid ID")
	ErrInvalidEncodingFormat = errors.New("encoding format is not a MIME type")
	ErrInvalidLanguage       = errors.New("language is not a two-letter ISO 639-1 code")
	ErrNoMainDocument        = errors.New("no main document")
	ErrNoOpen                = errors.New("document has no content to open")
)

// MaxTextLength is the maxLength of memoTextType, counted in characters
// (Unicode code points, as XML Schema counts), not bytes: "æøå" is 3.
const MaxTextLength = 256

// Validate reports the first reason m cannot be written as a MeMo 1.2 message
// that passes the schema. Write calls it before writing anything; callers may
// call it earlier, e.g. when the clerk types the subject.
func (m *Message) Validate() error {
	if m == nil {
		return fmt.Errorf("memo: message: %w", ErrMissing)
	}
	if err := checkUUID(m.UUID); err != nil {
		return err
	}
	if strings.TrimSpace(m.Label) == "" {
		return fmt.Errorf("memo: label: %w", ErrMissing)
	}
	if err := checkText("label", m.Label); err != nil {
		return err
	}
	if m.Created.IsZero() {
		return fmt.Errorf("memo: created: %w", ErrMissing)
	}
	// xs:dateTime allows other years, but Go's layout would write them in a
	// form the schema rejects.
	if y := m.Created.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("memo: created: year %d out of range: %w", y, ErrInvalidText)
	}
	// The schema requires a sender label (the authority's name as shown in
	// the citizen's inbox), while the recipient's is optional.
	if err := checkParty("sender", m.Sender, true); err != nil {
		return err
	}
	if err := checkText("contact point", m.ContactPointID); err != nil {
		return err
	}
	if err := checkParty("recipient", m.Recipient, false); err != nil {
		return err
	}
	if isZeroDocument(&m.Main) {
		return fmt.Errorf("memo: %w", ErrNoMainDocument)
	}
	if err := checkDocument("main document", &m.Main); err != nil {
		return err
	}
	for i := range m.Additional {
		if err := checkDocument(fmt.Sprintf("additional document %d", i+1), &m.Additional[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkUUID applies memoUuidType's pattern, narrowed to lower case: the
// schema would take upper case too, but the UUID also keys the outbox and the
// audit log, where one spelling per message avoids mismatches. Note that the
// pattern demands version 4: a time-ordered version 7 UUID is rejected.
func checkUUID(s string) error {
	if s == "" {
		return fmt.Errorf("memo: message UUID: %w", ErrMissing)
	}
	if len(s) != 36 {
		return fmt.Errorf("memo: message UUID %q: %w", s, ErrInvalidUUID)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var ok bool
		switch i {
		case 8, 13, 18, 23:
			ok = c == '-'
		case 14:
			ok = c == '4'
		case 19:
			ok = c == '8' || c == '9' || c == 'a' || c == 'b'
		default:
			ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
		}
		if !ok {
			return fmt.Errorf("memo: message UUID %q: %w", s, ErrInvalidUUID)
		}
	}
	return nil
}

// checkText checks an optional memoTextType value: XML 1.0 must be able to
// carry every character (encoding/xml would otherwise silently substitute
// U+FFFD), and it must fit the schema's 256 characters.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("memo: %s: invalid UTF-8: %w", field, ErrInvalidText)
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return fmt.Errorf("memo: %s: character %U not allowed in XML: %w", field, r, ErrInvalidText)
		}
	}
	if n := utf8.RuneCountInString(s); n > MaxTextLength {
		return fmt.Errorf("memo: %s: %d characters, at most %d: %w", field, n, MaxTextLength, ErrTooLong)
	}
	return nil
}

func checkRequiredText(field, s string) error {
	if s == "" {
		return fmt.Errorf("memo: %s: %w", field, ErrMissing)
	}
	return checkText(field, s)
}

// isXMLChar is the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		0x20 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD ||
		0x10000 <= r && r <= 0x10FFFF
}

// checkParty checks the ID against its type. Only the shape is checked (CPR
// numbers no longer all pass modulus 11); whether the number exists and can
// receive Digital Post is the recipient lookup's job.
func checkParty(field string, p Party, labelRequired bool) error {
	var digits int
	switch p.IDType {
	case IDTypeCPR:
		digits = 10
	case IDTypeCVR:
		digits = 8
	case "":
		return fmt.Errorf("memo: %s: ID type: %w", field, ErrMissing)
	default:
		return fmt.Errorf("memo: %s: ID type %q: %w", field, p.IDType, ErrUnknownIDType)
	}
	if p.ID == "" {
		return fmt.Errorf("memo: %s: ID: %w", field, ErrMissing)
	}
	// The ID itself stays out of the message: it may be a CPR number.
	if len(p.ID) != digits || !allDigits(p.ID) {
		return fmt.Errorf("memo: %s: %s number must be %d digits: %w", field, p.IDType, digits, ErrInvalidID)
	}
	if labelRequired {
		return checkRequiredText(field+" label", p.Label)
	}
	return checkText(field+" label", p.Label)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isZeroDocument(d *Document) bool {
	return d.Filename == "" && d.EncodingFormat == "" && d.Language == "" && d.Label == "" && d.Open == nil
}

func checkDocument(field string, d *Document) error {
	if d.Open == nil {
		return fmt.Errorf("memo: %s: %w", field, ErrNoOpen)
	}
	if err := checkRequiredText(field+" filename", d.Filename); err != nil {
		return err
	}
	if err := checkRequiredText(field+" encoding format", d.EncodingFormat); err != nil {
		return err
	}
	// ParseMediaType also accepts a bare token such as "pdf" (it is valid
	// as a Content-Disposition), so require the type/subtype slash too.
	if mt, _, err := mime.ParseMediaType(d.EncodingFormat); err != nil || !strings.Contains(mt, "/") {
		return fmt.Errorf("memo: %s: encoding format %q: %w", field, d.EncodingFormat, ErrInvalidEncodingFormat)
	}
	if d.Language != "" && !isLanguage(d.Language) {
		return fmt.Errorf("memo: %s: language %q: %w", field, d.Language, ErrInvalidLanguage)
	}
	return checkText(field+" label", d.Label)
}

// isLanguage accepts what memoLanguageType (xs:language, at most 2
// characters) allows, narrowed to the lower-case ISO 639-1 form the
// examples use.
func isLanguage(s string) bool {
	return len(s) == 2 && 'a' <= s[0] && s[0] <= 'z' && 'a' <= s[1] && s[1] <= 'z'
}
