package localapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// revokingRelay answers revokes and status questions as told, and
// remembers which relay ids it was asked about.
type revokingRelay struct {
	fakeRelay
	revoke func(id string) (relayapi.MessageStatus, error)
	status relayapi.MessageStatus
	asked  []string
}

func (f *revokingRelay) Revoke(_ context.Context, id string) (relayapi.MessageStatus, error) {
	f.asked = append(f.asked, id)
	return f.revoke(id)
}

func (f *revokingRelay) Status(context.Context, string) (relayapi.MessageStatus, error) {
	return f.status, nil
}

func addEntry(t *testing.T, s *Server, id, relayID string) {
	t.Helper()
	e := &outbox.Entry{ID: id, Created: time.Now().UTC(), State: outbox.StatePending, RelayID: relayID,
		Message: relayapi.MessageRequest{Recipients: []string{"borger@gmail.com"}, Subject: "Afgørelse", IdempotencyKey: "k-" + id},
		Checked: []recipient.Result{{Input: "borger@gmail.com", Channel: recipient.ChannelSecureMailbox, Secure: true}}}
	if relayID != "" {
		e.State = outbox.StateDone
		e.Relay = &relayapi.MessageStatus{ID: relayID, Status: relayapi.StatusDelivered,
			Recipients: []relayapi.RecipientStatus{{Input: "borger@gmail.com", Channel: recipient.ChannelSecureMailbox, Status: relayapi.StatusDelivered}}}
	}
	if _, _, err := s.Outbox.Add(e); err != nil {
		t.Fatal(err)
	}
}

// callJSON makes a guarded request to s and decodes the JSON answer.
func callJSON(t *testing.T, s *Server, method, path string, out any) int {
	t.Helper()
	r := httptest.NewRequest(method, "https://localhost:47800"+path, nil)
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w.Code
}

func postRevoke(t *testing.T, s *Server, id string) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	code := callJSON(t, s, "POST", "/api/v1/messages/"+id+"/revoke", &out)
	return code, out
}

// TestRevoke: the agent's id is mapped to the relay's; a send still in the
// outbox, a relay refusal and a relay away each get their own answer.
func TestRevoke(t *testing.T) {
	s := testServer(t)
	fr := &revokingRelay{}
	s.Relay = fr
	addEntry(t, s, "local-1", "")
	addEntry(t, s, "sent-1", "relay-1")
	revoked := relayapi.MessageStatus{ID: "relay-1", Status: relayapi.StatusDelivered,
		Recipients: []relayapi.RecipientStatus{{Input: "borger@gmail.com", Channel: recipient.ChannelSecureMailbox, Status: relayapi.StatusDelivered}},
		Events:     []relayapi.Event{{At: time.Now().UTC(), Kind: relayapi.EventMailboxRevoked, Recipient: "borger@gmail.com", What: "Trukket tilbage fra sikker mailboks til borger@gmail.com"}}}

	if code, out := postRevoke(t, s, "nope"); code != 404 || out["error"] != "not_found" {
		t.Fatalf("unknown: %d %v", code, out)
	}
	if code, out := postRevoke(t, s, "local-1"); code != 409 || out["error"] != "not_at_relay" || !strings.Contains(out["message"].(string), "udbakken") {
		t.Fatalf("not at relay: %d %v", code, out)
	}
	if len(fr.asked) != 0 {
		t.Fatalf("relay asked about a send it does not have: %v", fr.asked)
	}

	fr.revoke = func(string) (relayapi.MessageStatus, error) {
		return relayapi.MessageStatus{}, relayclient.ErrUnavailable
	}
	if code, out := postRevoke(t, s, "sent-1"); code != 503 || out["error"] != "relay_unavailable" || !strings.Contains(out["message"].(string), "relæet svarer ikke") {
		t.Fatalf("relay down: %d %v", code, out)
	}

	fr.revoke = func(string) (relayapi.MessageStatus, error) { return revoked, nil }
	code, out := postRevoke(t, s, "sent-1")
	if code != 200 || out["id"] != "sent-1" || !strings.Contains(mustJSON(out["events"]), "Trukket tilbage") {
		t.Fatalf("revoke: %d %v", code, out)
	}
	if fr.asked[len(fr.asked)-1] != "relay-1" {
		t.Fatalf("relay asked about %v, want relay-1", fr.asked)
	}
	// The Log knows it now: no button, marked as taken back.
	items, err := s.Outbox.List("", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == "sent-1" && (it.Revocable || !it.Revoked) {
			t.Fatalf("log after revoke: %+v", it)
		}
	}

	const why = "Der er intet at trække tilbage: forsendelsen ligger ikke (længere) i en sikker mailboks."
	fr.revoke = func(string) (relayapi.MessageStatus, error) {
		return relayapi.MessageStatus{}, &relayapi.Error{Code: "not_revocable", Message: why}
	}
	// Read meanwhile, unknown to the PC: the relay refuses in its words,
	// and the Log learns why.
	addEntry(t, s, "sent-2", "relay-2")
	fr.status = relayapi.MessageStatus{ID: "relay-2", Status: relayapi.StatusDelivered, Recipients: revoked.Recipients,
		Events: []relayapi.Event{{At: time.Now().UTC(), Kind: relayapi.EventMailboxRead, Recipient: "borger@gmail.com", What: "Læst i sikker mailboks af borger@gmail.com"}}}
	if code, out := postRevoke(t, s, "sent-2"); code != 409 || out["error"] != "not_revocable" || out["message"] != why {
		t.Fatalf("refused: %d %v", code, out)
	}
	e, _ := s.Outbox.Get("sent-2")
	if rv, _ := outbox.Revocable(s.Outbox.StatusOf(e)); rv {
		t.Fatalf("still revocable after the relay said read: %+v", s.Outbox.StatusOf(e))
	}
}

// TestLogRevocable: the list tells the window which sends can be taken
// back: only one the relay has, with a copy waiting in a secure mailbox;
// opening the Log asks the relay about those, so a read meanwhile shows.
func TestLogRevocable(t *testing.T) {
	s := testServer(t)
	fr := &revokingRelay{}
	s.Relay = fr
	addEntry(t, s, "local-1", "")
	addEntry(t, s, "sent-1", "relay-1")
	addEntry(t, s, "sent-2", "relay-2")
	waiting := relayapi.MessageStatus{Status: relayapi.StatusDelivered,
		Recipients: []relayapi.RecipientStatus{{Input: "borger@gmail.com", Channel: recipient.ChannelSecureMailbox, Status: relayapi.StatusDelivered}}}
	fr.status = waiting
	list := func() map[string]bool {
		t.Helper()
		var out struct{ Messages []outbox.Item }
		if code := callJSON(t, s, "GET", "/api/v1/messages", &out); code != 200 {
			t.Fatalf("list: %d", code)
		}
		got := map[string]bool{}
		for _, it := range out.Messages {
			got[it.ID] = it.Revocable
		}
		return got
	}
	if got := list(); got["local-1"] || !got["sent-1"] || !got["sent-2"] {
		t.Fatalf("revocable: %v", got)
	}
	// Read meanwhile: the next look at the Log knows.
	fr.status = waiting
	fr.status.Events = []relayapi.Event{{At: time.Now().UTC(), Kind: relayapi.EventMailboxRead, Recipient: "borger@gmail.com", What: "Læst i sikker mailboks af borger@gmail.com"}}
	if got := list(); got["sent-1"] || got["sent-2"] {
		t.Fatalf("after the reads: %v", got)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
