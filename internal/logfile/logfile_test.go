package logfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CPR number logged by any part of the agent reaches neither the file
// nor the console in full; the rest of the line does.
func TestFileIsMasked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	log := Logger(&console, f, slog.LevelInfo)
	log.Info("check failed for 221177-1212", "recipient", "2211771212", "user", "anna@kommune.dk")
	log.Debug("not at info level")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, Name))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(b), console.String()} {
		if strings.Contains(out, "1212") || !strings.Contains(out, "221177-") || !strings.Contains(out, "anna@kommune.dk") {
			t.Errorf("not masked or lost:\n%s", out)
		}
		if strings.Contains(out, "not at info level") {
			t.Error("level ignored")
		}
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("log folder not private: %v %v", fi.Mode(), err)
	}
}

func TestDirFollowsXDG(t *testing.T) {
	if filepath.Separator != '/' || os.Getenv("GOOS") == "darwin" {
		t.Skip("XDG is for Linux and BSD")
	}
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d := Dir(); d != "/x/state/sendsikkert/logs" && !strings.HasSuffix(d, "Library/Logs/sendsikkert") {
		t.Fatal(d)
	}
}
