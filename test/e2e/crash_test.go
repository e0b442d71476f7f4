package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashDuringDelivery accepts 100 messages, kills the agent with
// SIGKILL while they are being delivered, starts it again, and expects
// exactly 100 MeMo files per recipient with distinct messageUUIDs.
func TestCrashDuringDelivery(t *testing.T) {
	data := t.TempDir()
	port := freePort(t)
	a := startAgent(t, data, port)
	const n = 100
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	body := "<p>" + strings.Repeat("Afgørelse. ", 2000) + "</p>"
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, out := a.send(map[string]any{
				"recipients": []string{"2211771212", "12345674"}, "subject": fmt.Sprintf("Brev %d", i),
				"bodyHtml": body, "idempotencyKey": fmt.Sprintf("crash-%d", i),
			})
			if code != 202 {
				errs <- fmt.Errorf("send %d: %d %v", i, code, out)
				return
			}
			ids[i] = out["id"].(string)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Kill during delivery: as soon as some, but not all, have landed.
	deadline := time.Now().Add(30 * time.Second)
	for len(memoFiles(t, data)) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	a.kill()
	before := len(memoFiles(t, data))
	t.Logf("killed with %d of %d MeMo files written", before, 2*n)
	if before >= 2*n {
		t.Log("all were delivered before the kill; the restart still must not duplicate")
	}

	b := startAgent(t, data, port)
	for _, id := range ids {
		if st := b.waitFinal(id, 2*time.Minute); st.Status != "delivered" {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	time.Sleep(time.Second) // nothing more must arrive
	files := memoFiles(t, data)
	perRecipient := map[string]int{}
	uuids := map[string]bool{}
	labels := map[string]int{}
	for _, f := range files {
		m := readMemo(t, f)
		perRecipient[m.RecipientID]++
		if uuids[m.UUID] {
			t.Errorf("messageUUID %s twice", m.UUID)
		}
		uuids[m.UUID] = true
		labels[m.RecipientID+"/"+m.Label]++
	}
	if perRecipient["2211771212"] != n || perRecipient["12345674"] != n || len(files) != 2*n {
		t.Fatalf("MeMo files per recipient: %v (total %d), want %d each", perRecipient, len(files), n)
	}
	for k, c := range labels {
		if c != 1 {
			t.Errorf("%s delivered %d times", k, c)
		}
	}
}

// TestReplyMailboxesPersist: the picker's choices survive a restart, for
// citizens and companies apart.
func TestReplyMailboxesPersist(t *testing.T) {
	data := t.TempDir()
	port := freePort(t)
	a := startAgent(t, data, port)
	type group struct {
		Options []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
		} `json:"options"`
		Selected string `json:"selected"`
	}
	var mc struct{ Citizen, Company group }
	if code := a.call("GET", "/api/v1/reply-mailboxes", nil, &mc); code != 200 {
		t.Fatalf("GET: %d", code)
	}
	if len(mc.Citizen.Options) != 3 || mc.Citizen.Selected != "kommune" || mc.Company.Selected != "kommune" {
		t.Fatalf("defaults: %+v", mc)
	}
	if code := a.call("PUT", "/api/v1/reply-mailboxes", map[string]string{"citizen": "jobcenter", "company": "borgerservice"}, &mc); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	var bad map[string]string
	if code := a.call("PUT", "/api/v1/reply-mailboxes", map[string]string{"citizen": "findes-ikke"}, &bad); code != 400 || bad["message"] == "" {
		t.Fatalf("PUT unknown: %d %v", code, bad)
	}
	a.stop()
	b := startAgent(t, data, port)
	if code := b.call("GET", "/api/v1/reply-mailboxes", nil, &mc); code != 200 {
		t.Fatalf("GET after restart: %d", code)
	}
	if mc.Citizen.Selected != "jobcenter" || mc.Company.Selected != "borgerservice" {
		t.Fatalf("after restart: citizen %q company %q", mc.Citizen.Selected, mc.Company.Selected)
	}
}
