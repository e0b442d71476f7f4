package relayapi

import (
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	rs := func(ss ...Status) []RecipientStatus {
		var out []RecipientStatus
		for _, s := range ss {
			out = append(out, RecipientStatus{Status: s})
		}
		return out
	}
	tests := []struct {
		in   []RecipientStatus
		want Status
	}{
		{rs("queued", "queued"), "queued"},
		{rs("delivered", "queued"), "sending"},
		{rs("delivered", "printed"), "delivered"},
		{rs("delivered", "needs-fallback"), "needs-fallback"},
		{rs("failed", "needs-fallback"), "failed"},
		{rs("sending"), "sending"},
		{nil, "queued"},
	}
	for _, tt := range tests {
		if got := Summarize(tt.in); got != tt.want {
			t.Errorf("Summarize(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCleanFilename(t *testing.T) {
	tests := map[string]string{
		"bilag.pdf":                "bilag.pdf",
		"../../etc/passwd":         "passwd",
		`C:\Users\x\afgørelse.pdf`: "afgørelse.pdf",
		"":                         "bilag-1",
		"..":                       "bilag-1",
		"a\x00b<>.pdf":             "a_b__.pdf",
	}
	for in, want := range tests {
		if got := CleanFilename(in, 0); got != want {
			t.Errorf("CleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestValidateSecureMailboxFields: the rules the panes show before a send
// are the ones the agent and the relay enforce, with a Danish 400 each.
func TestValidateSecureMailboxFields(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	q := func(question, answer string) *SecurityQuestion {
		return &SecurityQuestion{Question: question, Answer: answer}
	}
	cases := []struct {
		name     string
		deadline *time.Time
		question *SecurityQuestion
		code     string
	}{
		{"neither", nil, nil, ""},
		{"deadline tonight", at(9*time.Hour + 59*time.Minute), nil, ""},
		{"deadline in a year", at(365 * 24 * time.Hour), nil, ""},
		{"question and answer", nil, q("Hvad hed din første hund?", "Fido"), ""},
		{"deadline passed", at(-time.Minute), nil, "bad_read_deadline"},
		{"deadline now", at(0), nil, "bad_read_deadline"},
		{"deadline over a year", at(366 * 24 * time.Hour), nil, "bad_read_deadline"},
		{"question without answer", nil, q("Hvad hed din første hund?", "  "), "bad_security_question"},
		{"answer without question", nil, q("", "Fido"), "bad_security_question"},
		{"CPR in the question", nil, q("Er dit CPR-nummer 221177-1212?", "ja"), "bad_security_question"},
		{"question too long", nil, q(strings.Repeat("æ", 201), "Fido"), "bad_security_question"},
		{"answer too long", nil, q("Hvad hed din første hund?", strings.Repeat("ø", 101)), "bad_security_question"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := &MessageRequest{Recipients: []string{"borger@example.com"}, Subject: "Afgørelse", ReadDeadline: c.deadline, Question: c.question}
			e := Validate(req, nil, now)
			switch {
			case c.code == "" && e != nil:
				t.Fatalf("refused: %+v", e)
			case c.code != "" && (e == nil || e.Code != c.code):
				t.Fatalf("got %+v, want %s", e, c.code)
			case e != nil && !strings.Contains(e.Message, "Kontrolspørgsmålet") && !strings.Contains(e.Message, "Fristen for læsning"):
				t.Fatalf("message does not name the field: %q", e.Message)
			}
		})
	}
}
