package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"os"
	"os/exec"
	"strings"
	"testing"

	"sendsikkert/schemas"
)

// memoInfo is what the tests read back from a MeMo file.
type memoInfo struct {
	UUID           string
	Label          string
	RecipientID    string
	IDType         string
	ContactPointID string
	Reply          string
	Main           string
	// Additional holds each AdditionalDocument's filename and sha256.
	Additional []docInfo
}

type docInfo struct {
	Filename, SHA256 string
	Head             string // the first bytes of the content
}

func readMemo(t *testing.T, path string) memoInfo {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var stack []string
	var info memoInfo
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			stack = append(stack, el.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			path := strings.Join(stack, "/")
			v := strings.TrimSpace(text.String())
			switch {
			case strings.HasSuffix(path, "MessageHeader/messageUUID"):
				info.UUID = v
			case strings.HasSuffix(path, "MessageHeader/label"):
				info.Label = v
			case strings.HasSuffix(path, "MessageHeader/reply"):
				info.Reply = v
			case strings.HasSuffix(path, "Recipient/recipientID"):
				info.RecipientID = v
			case strings.HasSuffix(path, "Recipient/idType"):
				info.IDType = v
			case strings.HasSuffix(path, "Sender/ContactPoint/contactPointID"):
				info.ContactPointID = v
			case strings.HasSuffix(path, "MainDocument/File/content"):
				b, _ := base64.StdEncoding.DecodeString(v)
				info.Main = string(b)
			case strings.HasSuffix(path, "AdditionalDocument/File/filename"):
				info.Additional = append(info.Additional, docInfo{Filename: v})
			case strings.HasSuffix(path, "AdditionalDocument/File/content"):
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Fatalf("%s: bad base64: %v", path, err)
				}
				sum := sha256.Sum256(b)
				info.Additional[len(info.Additional)-1].SHA256 = hex.EncodeToString(sum[:])
				info.Additional[len(info.Additional)-1].Head = string(b[:min(len(b), 8)])
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	return info
}

// validateMemo runs xmllint against the official MeMo 1.2 schema.
func validateMemo(t *testing.T, paths ...string) {
	t.Helper()
	xmllint := requireTool(t, "xmllint")
	schema := schemas.MeMo12()
	if _, err := os.Stat(schema); err != nil {
		t.Fatalf("MeMo schema not found at %s : %v", schema, err)
	}
	args := append([]string{"--noout", "--huge", "--schema", schema}, paths...)
	out, err := exec.Command(xmllint, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}
