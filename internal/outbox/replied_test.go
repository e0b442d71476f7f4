package outbox

import (
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
)

// TestStatusCarriesReplied: the relay's "replied" fact reaches the agent's
// status of the send (what the Log and the tray read).
func TestStatusCarriesReplied(t *testing.T) {
	at := time.Date(2026, 12, 3, 8, 5, 0, 0, time.UTC)
	e := &Entry{ID: "x", Relay: &relayapi.MessageStatus{Status: relayapi.StatusDelivered, RepliedAt: at}}
	if got := e.Status().RepliedAt; !got.Equal(at) {
		t.Fatalf("RepliedAt %v", got)
	}
}
