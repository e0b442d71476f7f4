package relayapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/recipient"
)

// TestValidateRules: every rule of a message's own fields, with the code
// the clerk's pane and a case system see.
func TestValidateRules(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	boxes := []ReplyMailbox{{ID: "kommune"}, {ID: "jobcenter"}}
	many := make([]string, MaxRecipients+1)
	for i := range many {
		many[i] = "2211771212"
	}
	ok := func() *MessageRequest {
		return &MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", IdempotencyKey: "k"}
	}
	tests := []struct {
		name  string
		edit  func(*MessageRequest)
		boxes []ReplyMailbox
		code  string
	}{
		{"fine", func(*MessageRequest) {}, boxes, ""},
		{"no recipients", func(m *MessageRequest) { m.Recipients = nil }, boxes, "no_recipients"},
		{"50 recipients", func(m *MessageRequest) { m.Recipients = many[:MaxRecipients] }, boxes, ""},
		{"51 recipients", func(m *MessageRequest) { m.Recipients = many }, boxes, "too_many_recipients"},
		{"no subject", func(m *MessageRequest) { m.Subject = "  " }, boxes, "subject_missing"},
		{"256 runes", func(m *MessageRequest) { m.Subject = strings.Repeat("æ", MaxSubjectRunes) }, boxes, ""},
		{"257 runes", func(m *MessageRequest) { m.Subject = strings.Repeat("æ", MaxSubjectRunes+1) }, boxes, "subject_too_long"},
		{"bad UTF-8 in body", func(m *MessageRequest) { m.BodyHTML = "\xff" }, boxes, "bad_encoding"},
		{"CPR in subject", func(m *MessageRequest) { m.Subject = "Sag om 221177-1212" }, boxes, "cpr_in_subject"},
		{"fallback print", func(m *MessageRequest) { m.Fallback = "print" }, boxes, ""},
		{"fallback fax", func(m *MessageRequest) { m.Fallback = "fax" }, boxes, "bad_fallback"},
		{"known citizen mailbox", func(m *MessageRequest) { m.ReplyMailbox.Citizen = "jobcenter" }, boxes, ""},
		{"unknown citizen mailbox", func(m *MessageRequest) { m.ReplyMailbox.Citizen = "nope" }, boxes, "bad_reply_mailbox"},
		{"unknown company mailbox", func(m *MessageRequest) { m.ReplyMailbox.Company = "nope" }, boxes, "bad_reply_mailbox"},
		{"mailboxes not known yet", func(m *MessageRequest) { m.ReplyMailbox.Company = "nope" }, nil, ""},
		{"mobile for an address", func(m *MessageRequest) { m.Mobiles = map[string]string{"a@b.dk": "12345678"} }, boxes, ""},
		{"mobile for a CPR", func(m *MessageRequest) { m.Mobiles = map[string]string{"2211771212": "12345678"} }, boxes, "bad_mobile"},
		{"not a mobile", func(m *MessageRequest) { m.Mobiles = map[string]string{"a@b.dk": "12"} }, boxes, "bad_mobile"},
		{"key of 200", func(m *MessageRequest) { m.IdempotencyKey = strings.Repeat("k", 200) }, boxes, ""},
		{"key of 201", func(m *MessageRequest) { m.IdempotencyKey = strings.Repeat("k", 201) }, boxes, "bad_idempotency_key"},
	}
	for _, tt := range tests {
		m := ok()
		tt.edit(m)
		e := Validate(m, tt.boxes, now)
		if (e == nil) != (tt.code == "") || (e != nil && (e.Code != tt.code || e.Message == "")) {
			t.Errorf("%s: %+v, want %q", tt.name, e, tt.code)
		}
	}
	mobiles := map[string]string{}
	for i := range MaxRecipients + 1 {
		mobiles[fmt.Sprintf("a%d@b.dk", i)] = "12345678"
	}
	if e := ValidateMobiles(mobiles); e == nil || e.Code != "too_many_mobiles" {
		t.Errorf("51 mobiles: %+v", e)
	}
}

func TestUnacceptable(t *testing.T) {
	secure := recipient.Result{Input: "2211771212", Valid: true, Secure: true, Channel: recipient.ChannelDigitalPost, Message: "ok"}
	exempt := recipient.Result{Input: "0707614285", Valid: true, Channel: recipient.ChannelPrint, Message: "fritaget"}
	unknown := recipient.Result{Input: "0101010101", Valid: true, Channel: recipient.ChannelNone, Message: "CPR-nummeret findes ikke."}
	if !Acceptable(secure) || !Acceptable(exempt) || Acceptable(unknown) {
		t.Fatal("Acceptable")
	}
	if e := Unacceptable([]recipient.Result{secure, exempt}); e != nil {
		t.Fatalf("acceptable refused: %+v", e)
	}
	e := Unacceptable([]recipient.Result{secure, unknown})
	if e == nil || e.Code != "recipient_rejected" || len(e.Recipients) != 1 || e.Recipients[0].Input != "0101010101" ||
		!strings.Contains(e.Message, "findes ikke") || e.Error() != "recipient_rejected: "+e.Message {
		t.Fatalf("%+v", e)
	}
}

func TestContentType(t *testing.T) {
	tests := []struct{ declared, filename, want string }{
		{"application/pdf", "x", "application/pdf"},
		{"Text/HTML; charset=utf-8", "x", "text/html"},
		{"application/octet-stream", "a.PDF", "application/pdf"},
		{"", "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"", "a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"", "a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
		{"", "a.htm", "text/html"},
		{"", "a.txt", "text/plain"},
		{"", "a.png", "image/png"},
		{"", "a.jpeg", "image/jpeg"},
		{"nonsense", "a.zip", "application/octet-stream"},
		{"a/b/c", "a.pdf", "application/pdf"},
	}
	for _, tt := range tests {
		if got := ContentType(tt.declared, tt.filename); got != tt.want {
			t.Errorf("ContentType(%q, %q) = %q, want %q", tt.declared, tt.filename, got, tt.want)
		}
	}
	for name, want := range map[string]bool{"brev.pdf": true, "BREV.PDF": true, "brev.docx": false} {
		if PrintableAttachment("", name) != want {
			t.Errorf("PrintableAttachment(%q) = %v", name, !want)
		}
	}
	if !PrintableAttachment("application/pdf", "brev") {
		t.Error("a PDF by type is not printable")
	}
}

func TestTooLarge(t *testing.T) {
	if e := TooLarge(true); e.Code != "too_many_attachments" || !strings.Contains(e.Message, fmt.Sprint(MaxAttachments)) {
		t.Errorf("%+v", e)
	}
	if e := TooLarge(false); e.Code != "attachments_too_large" || !strings.Contains(e.Message, "99,5 MB") {
		t.Errorf("%+v", e)
	}
}

func TestCleanFilenameLong(t *testing.T) {
	long := strings.Repeat("ø", 150) + ".pdf"
	got := CleanFilename(long, 0)
	if len(got) > 200 || !strings.HasPrefix(got, "øø") || !strings.HasPrefix(long, got) {
		t.Fatalf("%d bytes: %q", len(got), got)
	}
}
