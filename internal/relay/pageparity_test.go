package relay

import (
	"context"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestPageFacts: GET /api/v1/messages/facts answers the agent's JSON, the
// "Læst" and "Besvaret" of the caller's own messages only: not another
// user's (other oid, same preferred_username), not to a device of that
// name, and not without a token.
func TestPageFacts(t *testing.T) {
	s, iss, ts := pageRelay(t)
	// "anna" is also the test device's user: a device of that name must
	// not learn an Entra user's facts either.
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna")
	twin := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "anna")
	send := func(tok, key string) string {
		t.Helper()
		ct, body := sendBody(t, key)
		code, _, out := call(t, ts, "POST", "/api/v1/messages", tok, ct, body)
		if code != 202 {
			t.Fatalf("send %s: %d %v", key, code, out)
		}
		return out["id"].(string)
	}
	mine, unread, theirs := send(anna, "f1"), send(anna, "f2"), send(twin, "f3")
	read, replied := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	for _, id := range []string{mine, theirs} {
		if err := queue.Modify(context.Background(), s.Store, id, "test", func(m *queue.Message) error {
			m.Events = append(m.Events, relayapi.Event{At: read, Kind: relayapi.EventMailboxRead, Recipient: "a@b.dk", What: "Læst"},
				relayapi.Event{At: replied, Kind: relayapi.EventReplied, What: "Besvaret"})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ids := strings.Join([]string{mine, unread, theirs, "unknown"}, ",")
	code, _, out := call(t, ts, "GET", "/api/v1/messages/facts?ids="+ids, anna, "", nil)
	if code != 200 {
		t.Fatalf("facts: %d %v", code, out)
	}
	facts, _ := out["facts"].([]any)
	if len(facts) != 1 {
		t.Fatalf("facts %v, want only anna's read message", out)
	}
	f := facts[0].(map[string]any)
	if f["id"] != mine || f["read"] != read.Format(time.RFC3339) || f["replied"] != replied.Format(time.RFC3339) || len(f) != 3 {
		t.Fatalf("fact %v", f)
	}
	// Without ids (the relay keeps no list of a user's sends): none.
	if code, _, out := call(t, ts, "GET", "/api/v1/messages/facts", anna, "", nil); code != 200 || len(out["facts"].([]any)) != 0 {
		t.Fatalf("without ids: %d %v", code, out)
	}
	if code, _, out := call(t, ts, "GET", "/api/v1/messages/facts?ids="+strings.Repeat("x,", relayapi.MaxChangesIDs), anna, "", nil); code != 400 || out["error"] != "too_many_ids" {
		t.Fatalf("too many ids: %d %v", code, out)
	}
	if code, h, _ := call(t, ts, "GET", "/api/v1/messages/facts?ids="+ids, "", "", nil); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("without a token: %d", code)
	}
	// The device "anna" asks the devices' batched query for the same ids.
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	ch, err := c.Changes(t.Context(), []string{mine, theirs}, time.Time{})
	if err != nil || len(ch.Messages) != 0 {
		t.Fatalf("a device of the same name sees Entra users' facts: %+v %v", ch, err)
	}
}

// TestPageSmartAlertOverride: the hosted task pane learns from
// GET /api/v1/settings whether to offer "Send alligevel"; it is
// recorded in the audit log as the token's preferred_username, answered
// as the agent does; refused with the agent's Danish message when the
// organisation does not allow it; 401 without a token.
func TestPageSmartAlertOverride(t *testing.T) {
	const body = `{"reason":"Borgeren 221177-1212 har selv bedt om mail","subject":"Sag","findings":[{"masked":"221177-xxxx","where":"brødteksten"}]}`
	for _, allow := range []bool{false, true} {
		log := &auditRows{}
		_, iss, ts := pageRelay(t, func(s *Server, _ *queue.Worker) { s.Policy.SmartAlertSendAnyway = allow; s.Audit = log })
		anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
		if code, h, _ := call(t, ts, "POST", "/api/v1/smart-alert/override", "", "application/json", strings.NewReader(body)); code != 401 || h.Get("WWW-Authenticate") == "" || len(log.rows) != 0 {
			t.Fatalf("without a token: %d, rows %v", code, log.rows)
		}
		// The task pane learns whether to offer it as on a PC.
		if code, _, out := call(t, ts, "GET", "/api/v1/settings", anna, "", nil); code != 200 || out["smartAlert"] != true || out["smartAlertSendAnyway"] != allow {
			t.Fatalf("settings: %d %v", code, out)
		}
		if code, _, _ := call(t, ts, "GET", "/api/v1/settings", "", "", nil); code != 401 {
			t.Fatalf("settings without a token: %d", code)
		}
		code, _, out := call(t, ts, "POST", "/api/v1/smart-alert/override", anna, "application/json", strings.NewReader(body))
		if !allow {
			if code != 403 || out["error"] != "not_allowed" || out["message"] != "Organisationen tillader ikke at sende alligevel, når Smart Alert har fundet et CPR-nummer. Brug Send sikkert." || len(log.rows) != 0 {
				t.Fatalf("not allowed: %d %v, rows %v", code, out, log.rows)
			}
			continue
		}
		if code != 200 || out["recorded"] != true || len(log.rows) != 1 {
			t.Fatalf("allowed: %d %v, rows %v", code, out, log.rows)
		}
		if at, err := time.Parse(time.RFC3339Nano, out["at"].(string)); err != nil || time.Since(at) > time.Minute {
			t.Fatalf("at %v %v", out["at"], err)
		}
		if row := log.rows[0]; !strings.HasPrefix(row, "anna@kommune.dk|smart_alert_override|") || !strings.Contains(row, "221177-xxxx i brødteksten") || strings.Contains(row, "1212") {
			t.Fatalf("audit row %q", row)
		}
		if code, _, out := call(t, ts, "POST", "/api/v1/smart-alert/override", anna, "application/json", strings.NewReader(`{"reason":" ","findings":[]}`)); code != 400 || len(log.rows) != 1 {
			t.Fatalf("no reason: %d %v", code, out)
		}
	}
}

// TestPageMobiles: PUT /api/v1/mobiles from the hosted pages corrects the
// number the relay's address book remembers, in the audit log as the
// token's user; 401 without a token.
func TestPageMobiles(t *testing.T) {
	book := directory.NewMemoryBook(directory.Entry{Email: "borger@example.com", Mobile: "+4512345678"})
	log := &auditRows{}
	_, iss, ts := pageRelay(t, func(s *Server, _ *queue.Worker) {
		s.Book, s.Audit = book, log
		s.Channels[recipient.ChannelSecureMailbox] = s.Channels[recipient.ChannelDigitalPost]
	})
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	const body = `{"email":"Borger@Example.com","mobile":"87 65 43 21"}`
	if code, _, _ := call(t, ts, "PUT", "/api/v1/mobiles", "", "application/json", strings.NewReader(body)); code != 401 {
		t.Fatalf("without a token: %d", code)
	}
	code, _, out := call(t, ts, "PUT", "/api/v1/mobiles", anna, "application/json", strings.NewReader(body))
	if code != 200 || out["email"] != "borger@example.com" || out["mobile"] != "+45xxxxxx21" {
		t.Fatalf("set: %d %v", code, out)
	}
	code, _, out = call(t, ts, "POST", "/api/v1/recipients/check", anna, "application/json", strings.NewReader(`{"recipients":["borger@example.com"]}`))
	if code != 200 || !strings.Contains(out["results"].([]any)[0].(map[string]any)["message"].(string), "+45xxxxxx21") {
		t.Fatalf("check after: %d %v", code, out)
	}
	found := false
	for _, r := range log.rows {
		found = found || strings.HasPrefix(r, "anna@kommune.dk|mobile_changed|+45xxxxxx21")
	}
	if !found {
		t.Fatalf("audit rows %v", log.rows)
	}
	if code, _, out := call(t, ts, "PUT", "/api/v1/mobiles", anna, "application/json", strings.NewReader(`{"email":"borger@example.com","mobile":"12"}`)); code != 400 || out["error"] != "bad_mobile" {
		t.Fatalf("bad number: %d %v", code, out)
	}
}
