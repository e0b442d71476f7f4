package print

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/letter"
)

func TestIPPRefusesPlainRemote(t *testing.T) {
	for _, u := range []string{"ipp://printserver.kommune.dk/printers/OneTooX", "ipp://10.0.0.5/printers/x"} {
		if _, _, err := (IPP{URL: u}).endpoint(); err != ErrInsecurePrinter {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ipp://localhost/printers/OneTooX", "ipp://127.0.0.1:631/printers/x", "ipps://printserver/printers/OneTooX"} {
		if _, _, err := (IPP{URL: u}).endpoint(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestIPPWithCUPS prints through a real CUPS queue with the cups-pdf
// backend (started by the README test command), and checks that a retry
// of the same job prints nothing more.
func TestIPPWithCUPS(t *testing.T) {
	printer, out := os.Getenv("SENDSIKKERT_CUPS_PRINTER"), os.Getenv("SENDSIKKERT_CUPS_PDF_DIR")
	if printer == "" || out == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatal("SENDSIKKERT_CUPS_PRINTER and SENDSIKKERT_CUPS_PDF_DIR are required")
		}
		t.Skip("no CUPS queue (SENDSIKKERT_CUPS_PRINTER)")
	}
	before, _ := filepath.Glob(filepath.Join(out, "*.pdf"))
	name := "test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	job := Job{Name: name, MessageID: "m-1", Letter: &letter.Letter{
		Sender:    letter.Address{Name: "Demo Kommune", Lines: []string{"Rådhuspladsen 1", "8800 Viborg"}},
		Recipient: letter.Address{Name: "Jens Fritagesen", Lines: []string{"Testvej 1", "8800 Viborg"}},
		Date:      time.Now(), Subject: "Afgørelse", BodyHTML: "<p>Kære Jens</p><p>Hermed afgørelsen.</p>",
	}}
	p := IPP{URL: printer}
	ctx := context.Background()
	if err := p.Print(ctx, job); err != nil {
		t.Fatal(err)
	}
	var after []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		after, _ = filepath.Glob(filepath.Join(out, "*.pdf"))
		if len(after) > len(before) {
			break
		}
	}
	if len(after) != len(before)+1 {
		t.Fatalf("cups-pdf wrote %d new PDFs, want 1", len(after)-len(before))
	}
	if err := p.Print(ctx, job); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	again, _ := filepath.Glob(filepath.Join(out, "*.pdf"))
	if len(again) != len(after) {
		t.Fatalf("a retried job printed again: %d PDFs, want %d", len(again), len(after))
	}
}
