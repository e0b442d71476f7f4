package inbound

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Header is what the relay needs from a received MeMo message: who sent
// it, what it is called, and what it answers. It is taken while the
// message is validated (see headerVisitor), so it is only as good as a
// valid message.
type Header struct {
	MessageUUID string `json:"messageUuid"`
	Label       string `json:"label"`
	SenderID    string `json:"senderId"`
	SenderType  string `json:"senderType"`
	SenderLabel string `json:"senderLabel"`
	// RecipientContactPoint is Recipient/ContactPoint/contactPointID: the
	// reply mailbox the message was addressed to.
	RecipientContactPoint string      `json:"recipientContactPoint,omitempty"`
	Replies               []ReplyData `json:"replyData,omitempty"`
	Created               string      `json:"created,omitempty"`
}

// ReplyData is one MessageHeader/ReplyData. MeMo keeps the thread in it:
// one entry per message of the conversation, messageUUID naming that
// message and replyUUID, when set, the message it answered (see
// MeMo_Full_Example.xml). Our letter may appear as either.
type ReplyData struct {
	MessageUUID    string `json:"messageUuid"`
	ReplyUUID      string `json:"replyUuid,omitempty"`
	ContactPointID string `json:"contactPointId,omitempty"`
	CaseID         string `json:"caseId,omitempty"`
}

// visit fills h from the validator's simple values.
func (h *Header) visit(path []string, v string) {
	p := strings.Join(path, "/")
	switch p {
	case "Message/MessageHeader/messageUUID":
		h.MessageUUID = v
	case "Message/MessageHeader/label":
		h.Label = v
	case "Message/MessageHeader/Sender/senderID":
		h.SenderID = strings.TrimSpace(v)
	case "Message/MessageHeader/Sender/idType":
		h.SenderType = strings.TrimSpace(v)
	case "Message/MessageHeader/Sender/label":
		h.SenderLabel = v
	case "Message/MessageHeader/Recipient/ContactPoint/contactPointID":
		h.RecipientContactPoint = strings.TrimSpace(v)
	case "Message/MessageHeader/ReplyData/messageUUID":
		// messageUUID is the one required child, so it starts each entry.
		h.Replies = append(h.Replies, ReplyData{MessageUUID: v})
	case "Message/MessageHeader/ReplyData/replyUUID":
		if n := len(h.Replies); n > 0 {
			h.Replies[n-1].ReplyUUID = strings.TrimSpace(v)
		}
	case "Message/MessageHeader/ReplyData/contactPointID":
		if n := len(h.Replies); n > 0 {
			h.Replies[n-1].ContactPointID = strings.TrimSpace(v)
		}
	case "Message/MessageHeader/ReplyData/caseID":
		if n := len(h.Replies); n > 0 {
			h.Replies[n-1].CaseID = v
		}
	case "Message/MessageBody/createdDateTime":
		h.Created = strings.TrimSpace(v)
	}
}

// File is one memo:File of a received message, with its content still
// base64 as it came: the mail carries it on unchanged, so what the clerk
// opens is byte for byte what the citizen sent.
type File struct {
	Main           bool // in MainDocument (else Additional or Technical)
	DocumentLabel  string
	EncodingFormat string
	Filename       string
	Language       string
	Base64         []byte
}

// Files reads the files of a stored, already validated message, all at
// once (tests and small messages; delivery streams with EachFile).
func Files(r io.Reader) ([]File, error) {
	var files []File
	err := EachFile(r, func(f File) error {
		f.Base64 = append([]byte(nil), f.Base64...)
		files = append(files, f)
		return nil
	})
	return files, err
}

// EachFile calls fn with each file of a stored, already validated message
// in document order. f.Base64 is valid only during the call: one file's
// content is in memory at a time.
func EachFile(r io.Reader, fn func(f File) error) error {
	d := xml.NewDecoder(r)
	var path []string
	var cur *File
	var docLabel string
	var text strings.Builder
	var b64 []byte
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inbound: read stored message: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text.Reset()
			switch strings.Join(path, "/") {
			case "Message/MessageBody/MainDocument", "Message/MessageBody/AdditionalDocument", "Message/MessageBody/TechnicalDocument":
				docLabel = ""
			}
			if t.Name.Local == "File" && len(path) == 4 {
				cur = &File{Main: path[2] == "MainDocument", DocumentLabel: docLabel}
			}
			if cur != nil && t.Name.Local == "content" {
				b64 = b64[:0]
			}
		case xml.CharData:
			if cur != nil && len(path) > 0 && path[len(path)-1] == "content" {
				for _, c := range t {
					if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
						b64 = append(b64, c)
					}
				}
			} else {
				text.Write(t)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return fmt.Errorf("inbound: read stored message: unbalanced end element")
			}
			v := strings.TrimSpace(text.String())
			switch {
			case len(path) == 4 && t.Name.Local == "label":
				docLabel = v
			case cur != nil && t.Name.Local == "encodingFormat":
				cur.EncodingFormat = v
			case cur != nil && t.Name.Local == "filename":
				cur.Filename = v
			case cur != nil && t.Name.Local == "language":
				cur.Language = v
			case cur != nil && t.Name.Local == "content":
				cur.Base64 = b64
			case cur != nil && t.Name.Local == "File" && len(path) == 4:
				if err := fn(*cur); err != nil {
					return err
				}
				cur = nil
			}
			path = path[:len(path)-1]
			text.Reset()
		}
	}
}

// normUUID is the one spelling of a UUID used as a key: MeMo allows upper
// case, and Digital Post's own examples use it.
func normUUID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
