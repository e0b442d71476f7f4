package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestNoFullCPRInRelayLog: a message to an exempt citizen, printed as a
// letter, whose attachment name holds a CPR number pasted with an en
// dash; the attachment is no real PDF, so the print channel's error quotes
// its name. Every line the relay writes keeps the number masked.
func TestNoFullCPRInRelayLog(t *testing.T) {
	r := startRelay(t)
	c := &relayclient.Client{BaseURL: r.url, HTTP: r.deviceClient(t, "anna@kommune.test")}
	name := "Afgørelse 221177–1212 (２２１１７７１２１２).pdf"
	broken := []byte("%PDF-1.4\nthis is no PDF 0707614285\n")
	sub, err := c.Submit(context.Background(), &relayapi.MessageRequest{
		Recipients: []string{"0707614285"}, Subject: "Sag", BodyHTML: "<p>Hej</p>", IdempotencyKey: "log-1", Fallback: "print",
	}, []relayclient.Upload{{FileInfo: relayapi.FileInfo{Filename: name, ContentType: "application/pdf", Size: int64(len(broken))},
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(broken)), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, err := c.Status(context.Background(), sub.ID)
		if err == nil && st.Status == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broken attachment not failed: %+v %v", st, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	b, _ := os.ReadFile(r.log)
	log := string(b)
	if !strings.Contains(log, "221177-xxxx") {
		t.Fatalf("the channel's error about the attachment is not in the log:\n%s", log)
	}
	for _, full := range []string{"2211771212", "221177–1212", "221177-1212", "２２１１７７１２１２", "0707614285"} {
		if strings.Contains(log, full) {
			t.Errorf("full CPR number %q in the relay log:\n%s", full, log)
		}
	}
}

// TestNoFullCPRInAgentLog: the same through the agent in demo mode, whose
// embedded relay prints the letter: the print channel's error quoting the
// attachment name reaches the agent's log masked.
func TestNoFullCPRInAgentLog(t *testing.T) {
	a := startAgent(t, t.TempDir(), freePort(t))
	broken := "%PDF-1.4\nthis is no PDF\n"
	code, out := a.send(map[string]any{
		"recipients": []string{"0707614285"}, "subject": "Brev", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "log-agent-1", "fallback": "print",
	}, file{"Afgørelse 221177–1212 (２２１１７７ １２１２).pdf", "application/pdf", func() io.Reader { return strings.NewReader(broken) }})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	if st := a.waitFinal(out["id"].(string), 30*time.Second); st.Status != "failed" {
		t.Fatalf("broken attachment: %+v", st)
	}
	time.Sleep(200 * time.Millisecond)
	b, _ := os.ReadFile(a.logPath)
	log := string(b)
	if !strings.Contains(log, "221177-xxxx") {
		t.Fatalf("the channel's error about the attachment is not in the log:\n%s", log)
	}
	for _, full := range []string{"2211771212", "221177–1212", "２２１１７７ １２１２", "0707614285"} {
		if strings.Contains(log, full) {
			t.Errorf("full CPR number %q in the agent log:\n%s", full, log)
		}
	}
}
