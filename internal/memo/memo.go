// Package memo writes Digital Post messages in the MeMo 1.2 format.
//
// MeMo ("Meddelelsesmodellen") is the XML message model of the Danish public
// Digital Post: one memo:Message holds a header (who sends, to whom, subject,
// whether a reply is allowed and to which contact point) and a body with a
// main document and any additional documents. Each document is a File whose
// bytes are embedded as base64 in a memo:content element. The relay hands the
// message to Serviceplatformen (SF1601 KombiPostAfsend), and the demo channel
// writes it to disk.
//
// Attachments can be large (scanned case files of 100 MB are normal), and the
// relay may be sending several at once, so Write never holds a document in
// memory: it opens each document when its turn comes and streams it through a
// base64 encoder into a buffered writer. Memory use is a few buffers no matter
// how big the message is. Because of that, everything that can be checked
// before the first byte is written is checked first (see Message.Validate);
// only reading a document can fail half-way, and then the output must be
// discarded.
//
// The element order and data types follow MeMo_core.xsd version 1.2 and
// MeMo_dataTypes.xsd; the tests validate generated messages with xmllint.
package memo

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Namespace is the MeMo target namespace; Version the memoVersion written.
const (
	Namespace = "https://DigitalPost.dk/MeMo-1"
	Version   = "1.2"

	// MessageType is the only message type this package writes (the other,
	// NEMSMS, is a different product).
	MessageType = "DIGITALPOST"

	// DefaultLanguage is used for documents that do not name a language.
	DefaultLanguage = "da"
)

// ID types understood by Digital Post for senders and recipients.
const (
	IDTypeCPR = "CPR" // a person, 10 digits
	IDTypeCVR = "CVR" // a company or authority, 8 digits
)

// Party is a sender or recipient. IDType is "CPR" or "CVR"; ID is digits only (10 for CPR, 8 for CVR).
type Party struct {
	ID     string
	IDType string
	Label  string // optional display name; omit element when "" (required by the schema for the sender)
}

// Document is one file inside the message. Its content is streamed: Open is called once while writing.
type Document struct {
	Filename       string // e.g. "brev.html", "bilag.pdf"
	EncodingFormat string // MIME type, e.g. "text/html", "application/pdf"
	Language       string // "da" when empty
	Label          string // optional label of the MainDocument / AdditionalDocument element
	Open           func() (io.ReadCloser, error)
}

// Message is one Digital Post message.
type Message struct {
	UUID           string    // messageUUID (lower-case RFC 4122 version 4 UUID, as memoUuidType demands)
	Label          string    // subject; MeMo label, at most 256 characters
	Created        time.Time // createdDateTime, written in UTC
	Reply          bool      // MessageHeader/reply
	Sender         Party     // idType CVR for an organisation; Label is required
	ContactPointID string    // when non-empty: Sender/ContactPoint/contactPointID (the reply mailbox)
	Recipient      Party
	Main           Document
	Additional     []Document // each becomes its own AdditionalDocument
}

// bufferSize is large enough that the base64 encoder's 1 KB writes are
// coalesced into few writes on w (often a socket or an encrypted file).
const bufferSize = 64 << 10

// Write writes m as one MeMo 1.2 XML document (messageType DIGITALPOST, memoVersion 1.2, namespace https://DigitalPost.dk/MeMo-1) to w.
//
// m is validated before anything is written, so an invalid message leaves w
// untouched and opens no document. If a document fails to open or read, Write
// returns the error after having written part of the message; the caller must
// discard the output. Every opened document is closed.
func Write(w io.Writer, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	x := &xmlWriter{bw: bufio.NewWriterSize(w, bufferSize), copyBuf: make([]byte, 32<<10)}

	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw(`<memo:Message xmlns:memo="` + Namespace + `" memoVersion="` + Version + `">`)
	x.depth++

	x.open("MessageHeader")
	x.leaf("messageType", MessageType)
	x.leaf("messageUUID", m.UUID)
	x.leaf("label", m.Label)
	// Written even when false: the default is false too, but an explicit
	// value makes the archived message say what the clerk chose.
	x.leaf("reply", strconv.FormatBool(m.Reply))

	x.open("Sender")
	x.leaf("senderID", m.Sender.ID)
	x.leaf("idType", m.Sender.IDType)
	x.leaf("label", m.Sender.Label)
	if m.ContactPointID != "" {
		// The citizen's reply lands in this contact point (the
		// "Digitalpost retursvar" mailbox).
		x.open("ContactPoint")
		x.leaf("contactPointID", m.ContactPointID)
		x.close("ContactPoint")
	}
	x.close("Sender")

	x.open("Recipient")
	x.leaf("recipientID", m.Recipient.ID)
	x.leaf("idType", m.Recipient.IDType)
	if m.Recipient.Label != "" {
		x.leaf("label", m.Recipient.Label)
	}
	x.close("Recipient")
	x.close("MessageHeader")

	x.open("MessageBody")
	x.leaf("createdDateTime", formatDateTime(m.Created))
	if err := x.document("MainDocument", "main document", &m.Main); err != nil {
		return err
	}
	for i := range m.Additional {
		if err := x.document("AdditionalDocument", fmt.Sprintf("additional document %d", i+1), &m.Additional[i]); err != nil {
			return err
		}
	}
	x.close("MessageBody")

	x.depth--
	x.raw("\n</memo:Message>\n")
	if x.err == nil {
		x.err = x.bw.Flush()
	}
	if x.err != nil {
		return fmt.Errorf("memo: write: %w", x.err)
	}
	return nil
}

// formatDateTime writes t the way memoDateTimeType wants it: xs:dateTime
// ending in "Z", so always UTC, and like the official examples without
// fractional seconds.
func formatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// xmlWriter writes indented MeMo elements. The first write error sticks, so
// the element sequence in Write reads like the schema instead of like error
// handling.
type xmlWriter struct {
	bw      *bufio.Writer
	err     error
	depth   int
	copyBuf []byte
}

func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.bw.WriteString(s)
	}
}

func (x *xmlWriter) indent() {
	x.raw("\n")
	x.raw(strings.Repeat("\t", x.depth))
}

func (x *xmlWriter) open(name string) {
	x.indent()
	x.raw("<memo:" + name + ">")
	x.depth++
}

func (x *xmlWriter) close(name string) {
	x.depth--
	x.indent()
	x.raw("</memo:" + name + ">")
}

// leaf writes a simple element. Validate has already rejected text that XML
// cannot carry, so EscapeText only escapes and never substitutes.
func (x *xmlWriter) leaf(name, text string) {
	x.indent()
	x.raw("<memo:" + name + ">")
	if x.err == nil {
		x.err = xml.EscapeText(x.bw, []byte(text))
	}
	x.raw("</memo:" + name + ">")
}

// document writes a MainDocument or AdditionalDocument holding one File.
// what names the document in errors by position, not by filename, because
// filenames of case documents often carry a CPR number and errors get logged.
func (x *xmlWriter) document(element, what string, d *Document) error {
	x.open(element)
	if d.Label != "" {
		x.leaf("label", d.Label)
	}
	x.open("File")
	x.leaf("encodingFormat", d.EncodingFormat)
	x.leaf("filename", d.Filename)
	lang := d.Language
	if lang == "" {
		lang = DefaultLanguage
	}
	x.leaf("language", lang)
	x.indent()
	x.raw("<memo:content>")
	if x.err != nil {
		return fmt.Errorf("memo: write: %w", x.err)
	}
	if err := x.content(what, d); err != nil {
		return err
	}
	x.raw("</memo:content>")
	x.close("File")
	x.close(element)
	return nil
}

// content streams the document through base64 into the buffered writer, so
// only the copy buffer, the encoder's small buffer and bufio's buffer are in
// memory at any time.
func (x *xmlWriter) content(what string, d *Document) (err error) {
	rc, err := d.Open()
	if err != nil {
		return fmt.Errorf("memo: %s: open: %w", what, err)
	}
	if rc == nil {
		return fmt.Errorf("memo: %s: open returned no reader: %w", what, ErrNoOpen)
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("memo: %s: close: %w", what, cerr)
		}
	}()

	enc := base64.NewEncoder(base64.StdEncoding, x.bw)
	if _, err := io.CopyBuffer(enc, rc, x.copyBuf); err != nil {
		return fmt.Errorf("memo: %s: copy content: %w", what, err)
	}
	// Close writes the final partial quantum and its padding.
	if err := enc.Close(); err != nil {
		return fmt.Errorf("memo: %s: copy content: %w", what, err)
	}
	return nil
}
