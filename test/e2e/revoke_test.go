package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRevokeThroughAgent: a send to an e-mail address with a mobile number
// lands in the demo secure mailbox; the Log offers to take it back; a
// revoke through the agent closes the recipient's link, the status says
// so, and a second revoke is refused in Danish.
func TestRevokeThroughAgent(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	code, out := a.send(map[string]any{"recipients": []string{"borger@gmail.com"}, "subject": "Afgørelse", "bodyHtml": "<p>Fortroligt</p>",
		"idempotencyKey": "e2e-revoke-1", "mobiles": map[string]string{"borger@gmail.com": "20 30 40 50"}})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["id"].(string)
	if st := a.waitFinal(id, time.Minute); st.Status != "delivered" || st.Recipients[0].Channel != "securemailbox" {
		t.Fatalf("status: %+v", st)
	}
	logItem := func() map[string]any {
		var l struct{ Messages []map[string]any }
		if code := a.call("GET", "/api/v1/messages", nil, &l); code != 200 || len(l.Messages) != 1 {
			t.Fatalf("log: %d %+v", code, l)
		}
		return l.Messages[0]
	}
	if it := logItem(); it["revocable"] != true || it["revoked"] != false {
		t.Fatalf("log before revoke: %v", it)
	}
	notes, _ := filepath.Glob(filepath.Join(data, "demo", "mail", "*borger@gmail.com.eml"))
	if len(notes) != 1 {
		t.Fatalf("notifications: %v", notes)
	}
	b, _ := os.ReadFile(notes[0])
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/m/[A-Za-z0-9_-]+`).FindString(string(b))
	if got := httpStatus(t, link); got != 200 {
		t.Fatalf("recipient page before revoke: %d", got)
	}

	var st status
	if code := a.call("POST", "/api/v1/messages/"+id+"/revoke", nil, &st); code != 200 || st.ID != id {
		t.Fatalf("revoke: %d %+v", code, st)
	}
	revoked := func(st status) bool {
		for _, e := range st.Events {
			if e.What == "Trukket tilbage fra sikker mailboks til borger@gmail.com" {
				return true
			}
		}
		return false
	}
	if !revoked(st) {
		t.Fatalf("revoke answer says nothing of it: %+v", st)
	}
	if code := a.call("GET", "/api/v1/messages/"+id, nil, &st); code != 200 || !revoked(st) {
		t.Fatalf("status after revoke: %d %+v", code, st)
	}
	if it := logItem(); it["revocable"] != false || it["revoked"] != true {
		t.Fatalf("log after revoke: %v", it)
	}
	if got := httpStatus(t, link); got != http.StatusGone {
		t.Fatalf("recipient page after revoke: %d", got)
	}

	var refusal struct{ Error, Message string }
	if code := a.call("POST", "/api/v1/messages/"+id+"/revoke", nil, &refusal); code != 409 || refusal.Error != "not_revocable" || !strings.Contains(refusal.Message, "intet at trække tilbage") {
		t.Fatalf("second revoke: %d %+v", code, refusal)
	}
	if code := a.call("POST", "/api/v1/messages/unknown/revoke", nil, &refusal); code != 404 {
		t.Fatalf("unknown: %d %+v", code, refusal)
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
