package localapi

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/health"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

// submit posts a message as the add-in does and returns the HTTP status
// and the queued entry's id.
func submit(t *testing.T, s *Server, msg relayapi.MessageRequest) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, _ := mw.CreateFormField("message")
	json.NewEncoder(pw).Encode(msg)
	mw.Close()
	r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/messages", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var out relayapi.SubmitResponse
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out.ID
}

// TestSubmitReplyMailboxPolicy: the reply mailbox a queued send carries is
// IT's when IT fixed it, whatever the pane asked for or the user saved.
func TestSubmitReplyMailboxPolicy(t *testing.T) {
	tests := []struct {
		name  string
		pol   policy.Policy
		saved relayapi.ReplyChoice
		asked relayapi.ReplyChoice
		want  relayapi.ReplyChoice
	}{
		{"policy wins over the pane and the saved choice", policy.Policy{ReplyCitizen: "jobcenter"}, relayapi.ReplyChoice{Citizen: "kommune"}, relayapi.ReplyChoice{Citizen: "borgerservice"}, relayapi.ReplyChoice{Citizen: "jobcenter"}},
		{"policy for companies only", policy.Policy{ReplyCompany: "kommune"}, relayapi.ReplyChoice{}, relayapi.ReplyChoice{Citizen: "borgerservice", Company: "jobcenter"}, relayapi.ReplyChoice{Citizen: "borgerservice", Company: "kommune"}},
		{"the pane's choice without policy", policy.Policy{}, relayapi.ReplyChoice{Citizen: "kommune"}, relayapi.ReplyChoice{Citizen: "borgerservice"}, relayapi.ReplyChoice{Citizen: "borgerservice"}},
		{"the saved choice when the pane names none", policy.Policy{}, relayapi.ReplyChoice{Citizen: "kommune", Company: "jobcenter"}, relayapi.ReplyChoice{}, relayapi.ReplyChoice{Citizen: "kommune", Company: "jobcenter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testServer(t)
			s.Policy = tt.pol
			s.Settings.Update(func(x *settings.Settings) { x.ReplyCitizen, x.ReplyCompany = tt.saved.Citizen, tt.saved.Company })
			code, id := submit(t, s, relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>",
				ReplyMailbox: tt.asked, IdempotencyKey: "k-" + tt.name})
			if code != 202 || id == "" {
				t.Fatalf("submit: %d", code)
			}
			e, err := s.Outbox.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if e.Message.ReplyMailbox != tt.want {
				t.Fatalf("queued with %+v, want %+v", e.Message.ReplyMailbox, tt.want)
			}
			// The settings view shows the same.
			var v SettingsView
			callJSON(t, s, "GET", "/api/v1/settings", &v)
			if tt.pol.ReplyCitizen != "" && v.ReplyMailbox.Citizen != tt.pol.ReplyCitizen {
				t.Fatalf("settings view %+v", v.ReplyMailbox)
			}
		})
	}
}

func TestHealthzProblems(t *testing.T) {
	s := testServer(t)
	var h struct {
		Status   string           `json:"status"`
		Problems []health.Problem `json:"problems"`
	}
	callJSON(t, s, "GET", "/healthz", &h)
	if h.Status != "ok" || h.Problems == nil || len(h.Problems) != 0 {
		t.Fatalf("no board: %+v", h)
	}
	s.Health = &health.Board{}
	s.Health.Set(health.Problem{Code: "relay_unreachable", Message: "Relæet kan ikke nås — 2 beskeder venter"})
	callJSON(t, s, "GET", "/healthz", &h)
	if len(h.Problems) != 1 || h.Problems[0].Code != "relay_unreachable" || !strings.Contains(h.Problems[0].Message, "2 beskeder venter") {
		t.Fatalf("problems %+v", h.Problems)
	}
}

// TestSubmitDamagedUpload: a document whose stored slice is damaged is
// refused once, saying so; nothing is queued.
func TestSubmitDamagedUpload(t *testing.T) {
	s := testServer(t)
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "up.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := vault.New(vault.NewRandomKey())
	s.Uploads, err = upload.Open(db, filepath.Join(dir, "uploads"), key)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Uploads.Create("Afgørelse.pdf", "application/pdf", 9)
	if _, err := s.Uploads.Put(info.ID, 0, strings.NewReader("%PDF-1.7\n")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "uploads", info.ID, "0")
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1
	os.WriteFile(p, b, 0o600)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, _ := mw.CreateFormField("message")
	json.NewEncoder(pw).Encode(relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", IdempotencyKey: "up-1", UploadID: info.ID})
	mw.Close()
	r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/messages", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var e relayapi.Error
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != 422 || e.Code != "upload_damaged" || !strings.Contains(e.Message, "Afgørelse.pdf") || !strings.Contains(e.Message, "Intet er sendt") {
		t.Fatalf("%d %+v", w.Code, e)
	}
	if s.Outbox.Pending() != 0 {
		t.Fatal("queued with a damaged document")
	}
}
