package memo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzWrite holds Write to its promise: for any texts a clerk or a
// register can put into a message, the output is a schema-valid MeMo 1.2
// document, or Write refuses before writing a byte.
func FuzzWrite(f *testing.F) {
	f.Add("Svar på din ansøgning", "Aalborg Kommune", "Mette Hansen", "brev.html", "bilag.pdf", "e4a05c5d-eca8-4e44-9034-a4cd6257e150", "2211771212", []byte("<p>Kære Mette</p>"))
	f.Add("a & b < c > \"d\" 'e'", "Kommune ]]>", "", "x.html", "æøå €.pdf", "", "12345674", []byte{0, 1, 2, 0xff})
	f.Add("\x00\x01 control", "\ufffe", "\U0001F600", "\u00a0.pdf", "a\u2028b.pdf", "cp", "221177-1212", []byte(""))
	f.Add(string(bytes.Repeat([]byte("å"), 257)), "S", "R", "m.html", "a.pdf", "c", "2211771212", []byte("x"))
	validate := xmllint(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, label, senderLabel, recipientLabel, mainName, extraName, contactPoint, recipientID string, body []byte) {
		idType := IDTypeCPR
		if len(recipientID) == 8 {
			idType = IDTypeCVR
		}
		m := &Message{
			UUID: testUUID, Label: label, Created: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Reply: true,
			Sender:         Party{ID: "31128706", IDType: IDTypeCVR, Label: senderLabel},
			ContactPointID: contactPoint,
			Recipient:      Party{ID: recipientID, IDType: idType, Label: recipientLabel},
			Main:           bytesDoc(mainName, "text/html", body),
			Additional:     []Document{bytesDoc(extraName, "application/pdf", body)},
		}
		var out bytes.Buffer
		if err := Write(&out, m); err != nil {
			if out.Len() != 0 {
				t.Fatalf("Write refused (%v) after writing %d bytes", err, out.Len())
			}
			return
		}
		// Well-formed XML, read back with the same texts.
		dec := xml.NewDecoder(bytes.NewReader(out.Bytes()))
		for {
			if _, err := dec.Token(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("output is not well-formed XML: %v\n%s", err, out.Bytes())
			}
		}
		file := filepath.Join(dir, "fuzz.xml")
		if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if msg, err := validate(file); err != nil {
			t.Fatalf("Write produced a message the MeMo schema refuses: %v\n%s\n%s", err, msg, out.Bytes())
		}
	})
}
