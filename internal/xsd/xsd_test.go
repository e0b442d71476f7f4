package xsd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/schemas"
)

func memo(t testing.TB) *Schema {
	t.Helper()
	s, err := Load(schemas.MeMo12())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func example(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemas.MeMoExamples(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cases are documents with the verdict XML Schema gives them; where
// xmllint is installed the test also asks it, so this validator and
// libxml2 are shown to agree on every case.
func cases(t testing.TB) []struct {
	name  string
	doc   string
	valid bool
} {
	min := example(t, "MeMo_Minimum_Example.xml")
	full := example(t, "MeMo_Full_Example.xml")
	att := example(t, "MeMo_with_attachment.xml")
	rep := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("case text %q not in example", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	return []struct {
		name  string
		doc   string
		valid bool
	}{
		{"minimum", min, true},
		{"full", full, true},
		{"attachment", att, true},
		{"uuid not v4", rep(min, "8C2EA15D-61FB-4BA9-9366-42F8B194C114", "8C2EA15D-61FB-1BA9-9366-42F8B194C114"), false},
		{"label too long", rep(min, "<memo:label>Pladsanvisning</memo:label>", "<memo:label>"+strings.Repeat("æ", 257)+"</memo:label>"), false},
		{"label 256 characters", rep(min, "<memo:label>Pladsanvisning</memo:label>", "<memo:label>"+strings.Repeat("æ", 256)+"</memo:label>"), true},
		{"wrong message type", rep(min, "DIGITALPOST", "LETTER"), false},
		{"missing label", rep(min, "<memo:label>Pladsanvisning</memo:label>", ""), false},
		{"order swapped", rep(rep(min, "<memo:messageType>DIGITALPOST</memo:messageType>", "<memo:messageUUID>8C2EA15D-61FB-4BA9-9366-42F8B194C114</memo:messageUUID>"), "<memo:messageUUID>8C2EA15D-61FB-4BA9-9366-42F8B194C114</memo:messageUUID>\n\t\t<memo:label>", "<memo:messageType>DIGITALPOST</memo:messageType>\n\t\t<memo:label>"), false},
		{"unknown element", rep(min, "<memo:label>Pladsanvisning</memo:label>", "<memo:label>Pladsanvisning</memo:label><memo:colour>red</memo:colour>"), false},
		{"no memoVersion", rep(min, ` memoVersion="1.2"`, ""), false},
		{"bad memoVersion", rep(min, ` memoVersion="1.2"`, ` memoVersion="one"`), false},
		{"unknown attribute", rep(min, ` memoVersion="1.2"`, ` memoVersion="1.2" colour="red"`), false},
		{"bad base64", rep(min, "VGhpcyBpcyBhIHRlc3Q=", "VGhpcyBpcyBhIHRlc3Q"), false},
		{"base64 bad char", rep(min, "VGhpcyBpcyBhIHRlc3Q=", "VGhpcyBpcyBhIHRlc3Q!"), false},
		{"base64 with line breaks", rep(min, "VGhpcyBpcyBhIHRlc3Q=", "VGhpcyBp\n  cyBhIHRl\r\nc3Q="), true},
		{"datetime without Z", rep(min, "2024-05-03T12:00:00Z", "2024-05-03T12:00:00"), false},
		{"datetime bad month", rep(min, "2024-05-03T12:00:00Z", "2024-13-03T12:00:00Z"), false},
		{"language too long", rep(min, "<memo:language>da</memo:language>", "<memo:language>dan</memo:language>"), false},
		{"no main document", rep(rep(min, "<memo:MainDocument>", ""), "</memo:MainDocument>", ""), false},
		{"text in element-only", rep(min, "<memo:Sender>", "<memo:Sender>hello"), false},
		{"reply not boolean", rep(min, "<memo:label>Pladsanvisning</memo:label>", "<memo:label>Pladsanvisning</memo:label><memo:reply>yes</memo:reply>"), false},
		{"reply boolean", rep(min, "<memo:label>Pladsanvisning</memo:label>", "<memo:label>Pladsanvisning</memo:label><memo:reply> true </memo:reply>"), true},
		{"wrong namespace", strings.ReplaceAll(min, "https://DigitalPost.dk/MeMo-1", "https://example.com/memo"), false},
		{"header only", rep(min, min[strings.Index(min, "<memo:MessageBody>"):strings.Index(min, "</memo:Message>")], ""), true},
		{"five AdditionalReplyData", rep(full, "<memo:AdditionalReplyData>", strings.Repeat("<memo:AdditionalReplyData><memo:label>a</memo:label><memo:value>b</memo:value></memo:AdditionalReplyData>", 3)+"<memo:AdditionalReplyData>"), false},
		{"four AdditionalReplyData", rep(full, "<memo:AdditionalReplyData>", strings.Repeat("<memo:AdditionalReplyData><memo:label>a</memo:label><memo:value>b</memo:value></memo:AdditionalReplyData>", 2)+"<memo:AdditionalReplyData>"), true},
		{"not well-formed", rep(min, "</memo:Sender>", "</memo:Sendr>"), false},
		{"two roots", min + "<memo:Message/>", false},
	}
}

func TestValidateExamplesAndMutations(t *testing.T) {
	s := memo(t)
	lint, _ := exec.LookPath("xmllint")
	if lint == "" && os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
		t.Fatal("xmllint is required (SENDSIKKERT_REQUIRE_TOOLS=1) to cross-check the validator")
	}
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			err := s.Validate(strings.NewReader(c.doc), nil)
			if c.valid && err != nil {
				t.Fatalf("valid document refused: %v", err)
			}
			if !c.valid {
				if err == nil {
					t.Fatal("invalid document accepted")
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error does not wrap ErrInvalid: %v", err)
				}
			}
			if lint == "" {
				return
			}
			f := filepath.Join(t.TempDir(), "m.xml")
			os.WriteFile(f, []byte(c.doc), 0o600)
			out, lerr := exec.Command(lint, "--noout", "--nonet", "--schema", schemas.MeMo12(), f).CombinedOutput()
			if (lerr == nil) != c.valid {
				t.Fatalf("xmllint disagrees with the case (valid=%v): %s", c.valid, out)
			}
		})
	}
}

func TestVisitSeesValues(t *testing.T) {
	s := memo(t)
	got := map[string]string{}
	err := s.Validate(strings.NewReader(example(t, "MeMo_Full_Example.xml")), func(path []string, v string) {
		p := strings.Join(path, "/")
		if _, ok := got[p]; !ok {
			got[p] = v
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["Message/MessageHeader/ReplyData/messageUUID"] != "8C2EA15D-61FB-4BA9-9366-42F8B194C114" {
		t.Fatalf("ReplyData/messageUUID: %q", got["Message/MessageHeader/ReplyData/messageUUID"])
	}
	if _, ok := got["Message/MessageBody/MainDocument/File/content"]; ok {
		t.Fatal("base64 content must not be visited (it is never held in memory)")
	}
}

func TestRefusesUnsupportedSchema(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s.xsd")
	os.WriteFile(f, []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x">
  <xs:element name="a"><xs:complexType><xs:sequence><xs:any/></xs:sequence></xs:complexType></xs:element></xs:schema>`), 0o600)
	if _, err := Load(f); err == nil {
		t.Fatal("a schema with xs:any loaded; it must be refused rather than validated too loosely")
	}
}

func TestDTDRefused(t *testing.T) {
	s := memo(t)
	doc := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>` + example(t, "MeMo_Minimum_Example.xml")[strings.Index(example(t, "MeMo_Minimum_Example.xml"), "<memo:Message"):]
	if err := s.Validate(strings.NewReader(doc), nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("DTD: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	s := memo(f)
	for _, c := range cases(f) {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err1 := s.Validate(bytes.NewReader(b), nil)
		err2 := s.Validate(bytes.NewReader(b), nil)
		if (err1 == nil) != (err2 == nil) {
			t.Fatal("not deterministic")
		}
	})
}

// TestEmbeddedSchema: the copy built into the programs is the same schema.
func TestEmbeddedSchema(t *testing.T) {
	s, err := LoadFS(schemas.FS, schemas.MeMo12Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases(t) {
		if err := s.Validate(strings.NewReader(c.doc), nil); (err == nil) != c.valid {
			t.Errorf("%s: embedded schema says %v", c.name, err)
		}
	}
}
