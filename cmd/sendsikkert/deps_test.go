package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped build (-tags nodemo) links no demo relay, no relay server or
// assembly, no SQL driver, no PDF typesetter and no IMAP server; the
// untagged build keeps demo mode.
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
	// Nor a PDF typesetter (the relay converts attachments: topdf) nor
	// an IMAP server: each costs the clerk's PC executable pages at idle
	// (issue 23, "a lean agent").
	heavy := []string{
		"sendsikkert/internal/letter", "sendsikkert/internal/attachment/topdf", "sendsikkert/internal/print",
		"codeberg.org/go-pdf/fpdf", "github.com/jung-kurt/gofpdf", "github.com/pdfcpu/pdfcpu",
		"github.com/yuin/goldmark", "golang.org/x/image",
		"modernc.org/sqlite", "github.com/emersion/go-imap/v2/imapserver", "github.com/emersion/go-imap/server",
	}
	for _, line := range strings.Split(shipped, "\n") {
		for _, h := range heavy {
			if line == h || strings.HasPrefix(line, h+"/") {
				t.Errorf("-tags nodemo links %s", line)
			}
		}
	}
	if !strings.Contains(list(), "sendsikkert/internal/demo\n") {
		t.Error("the untagged build lost demo mode")
	}
}
