package relayapi

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"testing"
	"time"
)

// FuzzMessageRequest: whatever a case system or a damaged agent sends as
// the "message" part of a submit, the relay reads it into a request or
// answers a 4xx with a code and a Danish message — never a panic, never a
// request that Validate passes with no recipients or no subject.
func FuzzMessageRequest(f *testing.F) {
	for _, s := range []string{
		`{"recipients":["2211771212"],"subject":"Afgørelse","bodyHtml":"<p>x</p>","replyMailbox":{"citizen":"kommune"},"idempotencyKey":"k1"}`,
		`{"recipients":[],"subject":""}`,
		`{"recipients":["a@b.dk"],"subject":"x","mobiles":{"a@b.dk":"+4512345678"},"readDeadline":"2026-12-24T23:59:59+01:00","securityQuestion":{"question":"q","answer":"a"}}`,
		`{"recipients":"notalist"}`, `[]`, `null`, `{`, `{"subject":"221177-1212"}`, "{\"subject\":\"\xff\"}",
		`{"recipients":["2211771212"],"subject":"x","fallback":"fax"}`,
	} {
		f.Add([]byte(s), "message")
	}
	f.Add([]byte(`{}`), "file")
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	boxes := []ReplyMailbox{{ID: "kommune", Label: "Kommune"}}
	f.Fuzz(func(t *testing.T, part []byte, name string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, err := mw.CreateFormField(name)
		if err != nil {
			return
		}
		w.Write(part)
		mw.Close()
		req, apiErr, status := ReadMessagePart(multipart.NewReader(&body, mw.Boundary()))
		if apiErr != nil {
			if req != nil || status < 400 || status > 499 || apiErr.Code == "" || apiErr.Message == "" {
				t.Fatalf("refusal %+v with status %d and request %v", apiErr, status, req)
			}
			return
		}
		if req == nil {
			t.Fatal("no request and no error")
		}
		if e := Validate(req, boxes, now); e == nil {
			if len(req.Recipients) == 0 || len(req.Recipients) > MaxRecipients {
				t.Fatalf("Validate passed %d recipients", len(req.Recipients))
			}
			if len([]rune(req.Subject)) > MaxSubjectRunes || req.Subject == "" {
				t.Fatalf("Validate passed subject %q", req.Subject)
			}
		} else if e.Code == "" || e.Message == "" {
			t.Fatalf("Validate refused without code or message: %+v", e)
		}
	})
}

// FuzzCheckRequest: the recipient check's body decodes or is refused, and
// ValidateMobiles either passes or names a code and a Danish message.
func FuzzCheckRequest(f *testing.F) {
	f.Add([]byte(`{"recipients":["2211771212","12345674","a@b.dk"],"mobiles":{"a@b.dk":"+45 12 34 56 78"}}`))
	f.Add([]byte(`{"mobiles":{"x":"abc"}}`))
	f.Add([]byte(`{"mobiles":{"":""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req CheckRequest
		if json.Unmarshal(b, &req) != nil {
			return
		}
		if e := ValidateMobiles(req.Mobiles); e != nil && (e.Code == "" || e.Message == "") {
			t.Fatalf("refusal without code or message: %+v", e)
		}
	})
}
