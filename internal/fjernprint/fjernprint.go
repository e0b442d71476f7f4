// Package fjernprint writes the OIO fjernprint ForsendelseI document
// (namespace urn:oio:fjernprint:1.0.0): one printed letter to one
// recipient, the PDF embedded as base64, the postal address for the
// envelope window, handed to Serviceplatformen SF1601 KombiPostAfsend
// inside kombi_request/ForsendelseISamling with KombiValgKode "Fysisk
// Post" (or as the physical half of "Automatisk Valg").
//
// Like memo.Write, Write never holds the letter in memory: the PDF is
// produced by a callback straight into a base64 encoder on a buffered
// writer, so memory stays at a few buffers whatever the letter's size.
// Everything that can be checked is checked before the first byte.
//
// Element order and types follow ForsendelseI.xsd and the schemas it
// includes (shared/schemas/fjernprint/); the tests validate the output
// with xmllint.
package fjernprint

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespaces written.
const (
	Namespace = "urn:oio:fjernprint:1.0.0"
	nsDKAL    = "urn:oio:dkal:1.0.0"
	nsADIR    = "urn:oio:adir:dagpenge:2009.07.01"
	nsITST    = "http://rep.oio.dk/itst.dk/xml/schemas/2006/01/17/"
	nsDKCC    = "http://rep.oio.dk/ebxml/xml/schemas/dkcc/2003/02/13/"
	nsDKCC05  = "http://rep.oio.dk/ebxml/xml/schemas/dkcc/2005/03/15/"
	nsDKCC519 = "http://rep.oio.dk/ebxml/xml/schemas/dkcc/2005/05/19/"
	nsSagDok  = "urn:oio:sagdok:3.0.0"
)

// Limits of the schema.
const (
	MaxIDLength      = 38  // AfsendelseIdentifikator
	MaxNameLength    = 130 // itst:PersonName
	MaxLineLength    = 34  // PostalAddress…LineText
	MaxAddressLines  = 6
	defaultCountry   = "DK"
	bufferSize       = 64 << 10
	fileFormatPDF    = "pdf"
	declarationXML10 = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
)

// ErrInvalid marks a letter that cannot be written as a valid ForsendelseI
// (an address line too long, no name, a malformed number). Retrying cannot
// help. Messages never hold a CPR number.
var ErrInvalid = errors.New("fjernprint: letter cannot be sent")

func invalid(format string, a ...any) error {
	return fmt.Errorf("fjernprint: "+format+": %w", append(a, ErrInvalid)...)
}

// Recipient is who the letter goes to: the number it is registered under
// (CPR or CVR, digits only) and the name and address lines from the
// lookup, as they go in the envelope window.
type Recipient struct {
	CPR     string
	CVR     string
	Name    string
	Address []string
	// Country is the ISO 3166 alpha-2 code, "DK" when empty.
	Country string
}

// Forsendelse is one letter.
type Forsendelse struct {
	// ID is the AfsendelseIdentifikator: the sender's own id of this
	// letter, the same on every retry (the delivery's MemoUUID), so the
	// platform and its status messages know it again.
	ID string
	// Type is the ForsendelseTypeIdentifikator agreed with KOMBIT for the
	// sending system's letters; 0 leaves it out.
	Type      int
	Recipient Recipient
	// Title is the letter's title (DokumentParametre/TitelTekst).
	Title string
	// Date is the letter's date (BrevDato); zero leaves it out.
	Date time.Time
	// PDF writes the letter as PDF to w. It is called once, while the
	// document is written.
	PDF func(w io.Writer) error
}

// cprPattern is PersonCivilRegistrationIdentifierType's pattern.
var cprPattern = regexp.MustCompile(`^(((0[1-9]|1[0-9]|2[0-9]|3[0-1])(01|03|05|07|08|10|12))|((0[1-9]|1[0-9]|2[0-9]|30)(04|06|09|11))|((0[1-9]|1[0-9]|2[0-9])(02)))[0-9]{6}$`)

var postCode = regexp.MustCompile(`^([0-9]{4})\b`)

// Validate reports the first reason f cannot be written as a ForsendelseI
// valid against the schema.
func (f *Forsendelse) Validate() error {
	if f == nil {
		return invalid("no letter")
	}
	if f.ID == "" || utf8.RuneCountInString(f.ID) > MaxIDLength {
		return invalid("AfsendelseIdentifikator must be 1–%d characters", MaxIDLength)
	}
	if err := checkText("AfsendelseIdentifikator", f.ID); err != nil {
		return err
	}
	if f.Type < 0 {
		return invalid("ForsendelseTypeIdentifikator must be positive")
	}
	r := f.Recipient
	switch {
	case r.CPR != "" && r.CVR != "":
		return invalid("recipient has both a CPR and a CVR number")
	case r.CPR != "":
		if !cprPattern.MatchString(r.CPR) {
			return invalid("recipient CPR number is not a valid CPR number")
		}
	case r.CVR != "":
		if len(r.CVR) != 8 || strings.Trim(r.CVR, "0123456789") != "" {
			return invalid("recipient CVR number must be 8 digits")
		}
	}
	name := strings.TrimSpace(r.Name)
	if name == "" {
		return invalid("recipient has no name")
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return invalid("recipient name longer than %d characters", MaxNameLength)
	}
	if err := checkText("recipient name", name); err != nil {
		return err
	}
	lines := addressLines(r.Address)
	if len(lines) == 0 {
		return invalid("recipient has no postal address")
	}
	if len(lines) > MaxAddressLines {
		return invalid("recipient address has %d lines, at most %d", len(lines), MaxAddressLines)
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) > MaxLineLength {
			return invalid("address line %d longer than %d characters", i+1, MaxLineLength)
		}
		if err := checkText(fmt.Sprintf("address line %d", i+1), l); err != nil {
			return err
		}
	}
	if c := r.Country; c != "" && (len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return invalid("country must be an ISO 3166 alpha-2 code in capitals")
	}
	if err := checkText("title", f.Title); err != nil {
		return err
	}
	if !f.Date.IsZero() {
		if y := f.Date.Year(); y < 1 || y > 9999 {
			return invalid("letter date out of range")
		}
	}
	if f.PDF == nil {
		return invalid("no PDF")
	}
	return nil
}

func addressLines(in []string) []string {
	var out []string
	for _, l := range in {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s is not UTF-8", field)
	}
	for _, r := range s {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || 0x20 <= r && r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF) {
			return invalid("%s holds a character XML cannot carry", field)
		}
	}
	return nil
}

// Write writes f as a standalone ForsendelseI XML document.
func Write(w io.Writer, f *Forsendelse) error {
	return write(w, f, true)
}

// WriteElement writes f as a ForsendelseI element without the XML
// declaration, for embedding in a larger document (kombi_request).
func WriteElement(w io.Writer, f *Forsendelse) error {
	return write(w, f, false)
}

func write(w io.Writer, f *Forsendelse, declaration bool) error {
	if err := f.Validate(); err != nil {
		return err
	}
	x := &xw{bw: bufio.NewWriterSize(w, bufferSize)}
	if declaration {
		x.raw(declarationXML10)
	}
	x.raw(`<fjernprint:ForsendelseI xmlns:fjernprint="` + Namespace + `" xmlns:dkal="` + nsDKAL +
		`" xmlns:adir="` + nsADIR + `" xmlns:itst="` + nsITST + `" xmlns:dkcc="` + nsDKCC +
		`" xmlns:dkcc2="` + nsDKCC05 + `" xmlns:dkcc3="` + nsDKCC519 + `" xmlns:sd="` + nsSagDok + `">`)
	x.leaf("fjernprint:AfsendelseIdentifikator", f.ID)
	if f.Type > 0 {
		x.leaf("fjernprint:ForsendelseTypeIdentifikator", strconv.Itoa(f.Type))
	}

	r := f.Recipient
	x.raw("<fjernprint:ForsendelseModtager>")
	if r.CPR != "" || r.CVR != "" {
		x.raw("<dkal:AfsendelseModtager>")
		if r.CPR != "" {
			x.leaf("adir:CPRnummerIdentifikator", r.CPR)
		} else {
			x.leaf("adir:CVRnummerIdentifikator", r.CVR)
		}
		x.raw("</dkal:AfsendelseModtager>")
	}
	x.raw("<fjernprint:ModtagerAdresse>")
	x.leaf("itst:PersonName", strings.TrimSpace(r.Name))
	// The address as free lines, the way the lookup gives it and the
	// envelope window shows it; the post code too when a line starts
	// with one, for the carrier's sorting.
	lines := addressLines(r.Address)
	names := []string{"First", "Second", "Third", "Fourth", "Fifth", "Sixth"}
	code := ""
	for i, l := range lines {
		x.leaf("dkcc3:PostalAddress"+names[i]+"LineText", l)
		if m := postCode.FindStringSubmatch(l); m != nil {
			code = m[1]
		}
	}
	if code != "" {
		x.leaf("dkcc2:PostCodeIdentifier", code)
	}
	country := r.Country
	if country == "" {
		country = defaultCountry
	}
	x.raw(`<dkcc:CountryIdentificationCode scheme="iso3166-alpha2">` + country + `</dkcc:CountryIdentificationCode>`)
	x.raw("</fjernprint:ModtagerAdresse>")
	x.raw("</fjernprint:ForsendelseModtager>")

	x.leaf("dkal:FilformatNavn", fileFormatPDF)
	x.raw("<dkal:MeddelelseIndholdData>")
	if x.err != nil {
		return fmt.Errorf("fjernprint: write: %w", x.err)
	}
	enc := base64.NewEncoder(base64.StdEncoding, x.bw)
	if err := f.PDF(enc); err != nil {
		return fmt.Errorf("fjernprint: letter: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("fjernprint: write: %w", err)
	}
	x.raw("</dkal:MeddelelseIndholdData>")

	x.raw("<fjernprint:DokumentParametre>")
	if t := strings.TrimSpace(f.Title); t != "" {
		x.leaf("sd:TitelTekst", t)
	}
	if !f.Date.IsZero() {
		x.leaf("sd:BrevDato", f.Date.Format(time.DateOnly))
	}
	x.raw("</fjernprint:DokumentParametre>")
	x.raw("</fjernprint:ForsendelseI>")
	if declaration {
		x.raw("\n")
	}
	if x.err == nil {
		x.err = x.bw.Flush()
	}
	if x.err != nil {
		return fmt.Errorf("fjernprint: write: %w", x.err)
	}
	return nil
}

// xw writes elements; the first error sticks.
type xw struct {
	bw  *bufio.Writer
	err error
}

func (x *xw) raw(s string) {
	if x.err == nil {
		_, x.err = x.bw.WriteString(s)
	}
}

func (x *xw) leaf(name, text string) {
	x.raw("<" + name + ">")
	if x.err == nil {
		x.err = xml.EscapeText(x.bw, []byte(text))
	}
	x.raw("</" + name + ">")
}
