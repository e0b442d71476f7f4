package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/keystore"
)

// TestRealKeyringKeyDeleted: the outbox key's entry is deleted from the
// real keyring (gnome-keyring) while the agent is stopped. The agent
// starts anyway, sets the old store aside under DATA/damaged-nokey-…,
// says so on /healthz (how many messages had not left, here none), makes
// a new key under a new entry, and sends again.
func TestRealKeyringKeyDeleted(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("set SENDSIKKERT_REAL_KEYRING=1 under a session bus with gnome-keyring (the README test command does)")
	}
	data := t.TempDir()
	port := freePort(t)
	a := startAgent(t, data, port)
	code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Før", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "kd-1"})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	a.waitFinal(out["id"].(string), time.Minute)
	a.stop()

	if err := keystore.NewKeyring(data).Delete("store-key"); err != nil {
		t.Fatal(err)
	}
	b := startAgent(t, data, port)
	var h struct {
		Status   string `json:"status"`
		Problems []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	b.call("GET", "/healthz", nil, &h)
	if h.Status != "ok" || len(h.Problems) != 1 || h.Problems[0].Code != "keyring_key_missing" || !strings.Contains(h.Problems[0].Message, "Alle forsendelser i den var sendt videre") {
		t.Fatalf("healthz %+v", h)
	}
	aside, _ := filepath.Glob(filepath.Join(data, "damaged-nokey-*", "agent.db"))
	if len(aside) != 1 {
		t.Fatalf("old store not kept aside: %v", aside)
	}
	code, out = b.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Efter", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "kd-2"})
	if code != 202 {
		t.Fatalf("send after: %d %v", code, out)
	}
	if st := b.waitFinal(out["id"].(string), time.Minute); st.Status != "delivered" {
		t.Fatalf("after: %+v", st)
	}
}
