package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"sendsikkert/internal/recipient"
)

// AuditFile is the demo relay's audit log: one JSON line per record in a
// file (dir/audit.jsonl), recipients masked as in the real log, so the
// whole flow — a Smart Alert override with its reason among it — can be
// seen without a database.
type AuditFile struct {
	Path string
	mu   sync.Mutex
}

// Record appends one line.
func (a *AuditFile) Record(_ context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	line := map[string]string{"at": time.Now().UTC().Format(time.RFC3339), "user": user, "action": action, "channel": channel, "outcome": outcome, "messageId": messageID}
	if id.Kind != "" {
		line["recipient"] = id.Masked()
	}
	b, _ := json.Marshal(line)
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("demo audit: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("demo audit: %w", err)
	}
	return f.Close()
}
