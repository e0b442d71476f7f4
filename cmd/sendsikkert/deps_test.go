package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped build (-tags nodemo) links no demo relay, no relay server or
// assembly, and no SQL driver; the untagged build keeps demo mode.
func TestNoDemoBuildCarriesNoDemo(t *testing.T) {
	list := func(tags ...string) string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		return string(out)
	}
	shipped := list("-tags", "nodemo")
	for _, pkg := range []string{"sendsikkert/internal/demo", "sendsikkert/internal/relayd", "sendsikkert/internal/relay", "modernc.org/sqlite", "database/sql"} {
		for _, line := range strings.Split(shipped, "\n") {
			if line == pkg {
				t.Errorf("-tags nodemo links %s", pkg)
			}
		}
	}
	if !strings.Contains(list(), "sendsikkert/internal/demo\n") {
		t.Error("the untagged build lost demo mode")
	}
}
