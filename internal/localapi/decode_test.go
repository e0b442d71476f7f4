package localapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBadInputNamesTheField: bad input to the page API gets a 400 that
// names the field, never a 200 that ignored it.
func TestBadInputNamesTheField(t *testing.T) {
	s := testServer(t)
	h := s.Handler()
	tests := []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"PUT", "/api/v1/settings", `{"smartAlert": "maybe"}`, 400, "read_only_field", "smartAlert"},
		{"PUT", "/api/v1/settings", `{"smartAlert": false}`, 400, "read_only_field", "smartAlert"},
		{"PUT", "/api/v1/settings", `{"signaturHtml": "<p>x</p>"}`, 400, "unknown_field", "signaturHtml"},
		{"PUT", "/api/v1/settings", `{"language": 5}`, 400, "bad_field", "language"},
		{"PUT", "/api/v1/settings", `{"signatureHtml": ["a"]}`, 400, "bad_field", "signatureHtml"},
		{"PUT", "/api/v1/settings", `{"language": "da"} {"language": "en"}`, 400, "bad_json", ""},
		{"PUT", "/api/v1/settings", `["language"]`, 400, "bad_json", ""},
		{"PUT", "/api/v1/settings", `{"language": "da"`, 400, "bad_json", ""},
		{"PUT", "/api/v1/settings", `{"mailbox": {"server": "imap.example.dk", "port": "993"}}`, 400, "bad_mailbox", ""},
		{"PUT", "/api/v1/settings", `{"mailbox": {"server": "imap.example.dk", "prot": 993}}`, 400, "bad_mailbox", ""},
		{"POST", "/api/v1/recipients/check", `{"recipients": "2211771212"}`, 400, "bad_field", "recipients"},
		{"POST", "/api/v1/recipients/check", `{"recipient": ["2211771212"]}`, 400, "unknown_field", "recipient"},
		{"PUT", "/api/v1/reply-mailboxes", `{"citizen": 1}`, 400, "bad_field", "citizen"},
		{"POST", "/api/v1/enroll", `{"relay": "https://r.example", "code": "X", "user": "anna"}`, 400, "unknown_field", "user"},
		{"PUT", "/api/v1/settings", `{"language": "en"}`, 200, "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "https://localhost:47800"+tt.path, strings.NewReader(tt.body))
		r.Header.Set(CSRFHeader, s.Guard.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s %s %s: %d %s, want %d", tt.method, tt.path, tt.body, w.Code, w.Body, tt.status)
			continue
		}
		if tt.status == 200 {
			continue
		}
		var got struct{ Error, Message, Field string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Error != tt.code || got.Field != tt.field || got.Message == "" {
			t.Errorf("%s %s: %+v, want code %s field %q", tt.path, tt.body, got, tt.code, tt.field)
		}
		if tt.field != "" && !strings.Contains(got.Message, "»"+tt.field+"«") {
			t.Errorf("%s: message %q does not name the field", tt.body, got.Message)
		}
	}
}

// FuzzDecodeStrict: any body gets either a decoded request or an error
// with a message, and a field error names its field.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"smartAlert":"maybe"}`, `{"language":5}`, `{"signatureHtml":"x"}{}`, `{"mailbox":null}`, `[`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req struct {
			SignatureHTML *string         `json:"signatureHtml"`
			Language      *string         `json:"language"`
			Mailbox       json.RawMessage `json:"mailbox"`
		}
		fe := decodeStrict(strings.NewReader(body), &req)
		if fe != nil && (fe.Message == "" || fe.Code == "") {
			t.Fatalf("%q: %+v", body, fe)
		}
		if fe != nil && (fe.Code == "unknown_field" || fe.Code == "bad_field") && !strings.Contains(fe.Message, "»"+fe.Field+"«") {
			t.Fatalf("%q: %+v does not name its field", body, fe)
		}
	})
}
