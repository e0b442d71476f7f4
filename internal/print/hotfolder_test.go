package print

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/letter"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestHotFolderPrint(t *testing.T) {
	dir := t.TempDir()
	h := HotFolder{Dir: dir}
	l := sampleLetter()
	l.Attachments = []letter.Attachment{memAttachment("bilag.pdf", "application/pdf", attachmentPDF(t))}
	job := Job{Name: "msg-0001_jens", MessageID: "0b3f2c1e-7d1a-4c55-9a0e-1f2e3d4c5b6a", Letter: l}

	before := time.Now().UTC().Add(-time.Second)
	if err := h.Print(context.Background(), job); err != nil {
		t.Fatalf("Print: %v", err)
	}
	if got, want := listDir(t, dir), []string{"msg-0001_jens.json", "msg-0001_jens.pdf"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("folder holds %v, want %v", got, want)
	}

	pdf, err := os.ReadFile(filepath.Join(dir, "msg-0001_jens.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if n := pdfcpuPages(t, pdf); n != 2 {
		t.Errorf("PDF has %d pages, want 2", n)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "msg-0001_jens.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Decode loosely first: the field names are the contract with the agent.
	var loose map[string]any
	if err := json.Unmarshal(raw, &loose); err != nil {
		t.Fatalf("metadata is not JSON: %v\n%s", err, raw)
	}
	for _, key := range []string{"messageId", "recipient", "pages", "createdAt", "subject", "pdf", "sha256"} {
		if _, ok := loose[key]; !ok {
			t.Errorf("metadata lacks %q: %s", key, raw)
		}
	}
	var meta Metadata
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	switch {
	case meta.MessageID != job.MessageID:
		t.Errorf("messageId %q", meta.MessageID)
	case meta.Recipient.Name != "Jens Fritagesen" || strings.Join(meta.Recipient.Address, "|") != "Testvej 1|8800 Viborg":
		t.Errorf("recipient %+v", meta.Recipient)
	case meta.Pages != 2 || meta.CoverPages != 1:
		t.Errorf("pages %d, cover pages %d; want 2 and 1", meta.Pages, meta.CoverPages)
	case meta.PDF != "msg-0001_jens.pdf" || meta.Bytes != int64(len(pdf)):
		t.Errorf("pdf %q of %d bytes; file has %d", meta.PDF, meta.Bytes, len(pdf))
	case meta.SHA256 != hex.EncodeToString(sum[:]):
		t.Errorf("sha256 %s does not match the PDF", meta.SHA256)
	case meta.Subject != "Afgørelse om økonomisk hjælp":
		t.Errorf("subject %q", meta.Subject)
	case meta.CreatedAt.Before(before) || meta.CreatedAt.After(time.Now().Add(time.Second)):
		t.Errorf("createdAt %v", meta.CreatedAt)
	}

	// A retry overwrites the same two files: still one letter.
	if err := h.Print(context.Background(), job); err != nil {
		t.Fatalf("second Print: %v", err)
	}
	if got := listDir(t, dir); len(got) != 2 {
		t.Errorf("after a retry the folder holds %v, want exactly two files", got)
	}
	again, err := os.ReadFile(filepath.Join(dir, "msg-0001_jens.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if n := pdfcpuPages(t, again); n != 2 {
		t.Errorf("after a retry the PDF has %d pages", n)
	}
}

func TestHotFolderFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	h := HotFolder{Dir: dir}
	l := sampleLetter()
	l.Attachments = []letter.Attachment{memAttachment("i-stykker.pdf", "application/pdf", []byte("%PDF-1.4 nonsense"))}
	if err := h.Print(context.Background(), Job{Name: "brev", MessageID: "m1", Letter: l}); err == nil {
		t.Fatal("broken attachment accepted")
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("a failed job left %v", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Print(ctx, Job{Name: "brev", MessageID: "m1", Letter: sampleLetter()}); err == nil {
		t.Error("cancelled context accepted")
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("a cancelled job left %v", got)
	}

	if err := (HotFolder{Dir: filepath.Join(dir, "findes-ikke")}).Print(context.Background(), Job{Name: "brev", Letter: sampleLetter()}); err == nil {
		t.Error("missing folder accepted")
	}
}

func TestJobNames(t *testing.T) {
	valid := []string{"brev", "msg-0001_jens", "a.b.c", "A1", strings.Repeat("x", 200), "CONSOLE", "nul-1"}
	for _, name := range valid {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
	}
	invalid := []string{"", "../brev", "a/b", `a\b`, "brev med mellemrum", "æøå", ".skjult", "slut.", ".", "..",
		"NUL", "con.txt", "Com1", "lpt9.pdf", "a\x00b", "a:b", strings.Repeat("x", 201)}
	dir := t.TempDir()
	for _, name := range invalid {
		if err := ValidateName(name); err == nil {
			t.Errorf("ValidateName(%q) accepted", name)
		}
		if err := (HotFolder{Dir: dir}).Print(context.Background(), Job{Name: name, Letter: sampleLetter()}); !errors.Is(err, ErrUnprintable) {
			t.Errorf("Print(job name %q): %v, want ErrUnprintable", name, err)
		}
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("invalid names left %v", got)
	}
}
