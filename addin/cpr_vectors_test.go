package addin

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/recipient"
)

// TestCPRVectors holds Go's CPR detector to the cases the add-in's
// JavaScript detector (pages/outlook/launchevent.js) is tested against in
// test/browser, so the Smart Alert and the send path agree.
func TestCPRVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/cpr-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Today string
		Cases []struct {
			Text  string
			CPR   bool
			Found []string
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	today, err := time.Parse("2006-01-02", v.Today)
	if err != nil {
		t.Fatal(err)
	}
	today = today.Add(12 * time.Hour)
	if len(v.Cases) < 10 {
		t.Fatalf("only %d cases", len(v.Cases))
	}
	for _, c := range v.Cases {
		if got := recipient.ContainsCPR(c.Text, today); got != c.CPR {
			t.Errorf("ContainsCPR(%q) = %v, want %v", c.Text, got, c.CPR)
		}
		if c.Found == nil {
			continue
		}
		var masked []string
		for _, f := range recipient.FindCPR(c.Text, today) {
			masked = append(masked, f.Masked)
			if m := c.Text[f.Start:f.End]; m[:6]+"-xxxx" != f.Masked {
				t.Errorf("FindCPR(%q): %q at %d:%d masks as %q", c.Text, m, f.Start, f.End, f.Masked)
			}
		}
		if strings.Join(masked, ",") != strings.Join(c.Found, ",") {
			t.Errorf("FindCPR(%q) = %v, want %v", c.Text, masked, c.Found)
		}
	}
}
