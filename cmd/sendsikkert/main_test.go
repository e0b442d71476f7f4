package main

import (
	"bytes"
	"strings"
	"testing"

	"sendsikkert/internal/version"
)

// help, -h and an unknown subcommand print the usage and exit; none of
// them starts the agent (which would block here).
func TestUsageNeverStartsTheAgent(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		out  string // where the usage must appear: "stdout" or "stderr"
	}{
		{[]string{"help"}, 0, "stdout"},
		{[]string{"-h"}, 0, "stdout"},
		{[]string{"--help"}, 0, "stdout"},
		{[]string{"hjælp"}, 2, "stderr"},
		{[]string{"statsu"}, 2, "stderr"},
		{[]string{"--headless", "extra"}, 2, "stderr"},
		{[]string{"--no-such-flag"}, 2, "stderr"},
	} {
		var stdout, stderr bytes.Buffer
		code := runTo(tt.args, &stdout, &stderr)
		got := stdout.String()
		if tt.out == "stderr" {
			got = stderr.String()
		}
		if code != tt.code || !strings.Contains(got, "sendsikkert enroll --relay URL") {
			t.Errorf("%q: exit %d, want %d; %s:\n%s", tt.args, code, tt.code, tt.out, got)
		}
	}
}

func TestVersion(t *testing.T) {
	old := version.String
	version.String = "2.3.4"
	t.Cleanup(func() { version.String = old })
	var stdout bytes.Buffer
	if code := runTo([]string{"--version"}, &stdout, &bytes.Buffer{}); code != 0 || stdout.String() != "sendsikkert 2.3.4\n" {
		t.Fatalf("exit %d: %q", code, stdout.String())
	}
}
