package relayclient_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestAgentLinksNoRelayInternals: the agent's side of the relay — its
// client, the wire types, the outbox and the tray — links no SQL driver
// and none of the relay's server, queue or assembly, so that a change
// there cannot reach the desktop unnoticed.
func TestAgentLinksNoRelayInternals(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps",
		"sendsikkert/internal/relayclient", "sendsikkert/internal/relayapi",
		"sendsikkert/internal/outbox", "sendsikkert/internal/tray").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq",
		"sendsikkert/internal/relay", "sendsikkert/internal/relayd", "sendsikkert/internal/queue",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("the agent's side links %s", dep)
			}
		}
	}
}
