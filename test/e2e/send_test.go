package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFixturesCheck(t *testing.T) {
	a := startAgent(t, t.TempDir(), freePort(t))
	var rep struct {
		Results []struct {
			Input, Kind, Name, Channel, Message string
			Valid, Secure                       bool
		}
		AllSecure bool
		Message   string
	}
	inputs := []string{"221177-1212", "0707614285", "1010101010", "12345674", "0101010101", "12345678", "3102991234", "a@b.dk", " 2211 77-1212 "}
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": inputs}, &rep); code != 200 {
		t.Fatalf("check: HTTP %d", code)
	}
	want := []struct {
		kind, name, channel string
		secure, valid       bool
		msg                 string
	}{
		{"cpr", "Karen Testesen", "digitalpost", true, true, "CPR-nummer tilhører Karen Testesen"},
		{"cpr", "Jens Fritagesen", "print", false, true, "OneTooX"},
		{"cpr", "", "digitalpost", true, true, "Navne- og adressebeskyttet"},
		{"cvr", "Demo Virksomhed ApS", "digitalpost", true, true, "CVR-nummer tilhører Demo Virksomhed ApS"},
		{"cpr", "", "none", false, true, "findes ingen"},
		{"invalid", "", "none", false, false, "CVR"},
		{"invalid", "", "none", false, false, "CPR"},
		{"email", "", "none", false, true, "e-mail"},
		{"cpr", "Karen Testesen", "digitalpost", true, true, "Karen Testesen"},
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("got %d results", len(rep.Results))
	}
	for i, w := range want {
		g := rep.Results[i]
		if g.Input != inputs[i] || g.Kind != w.kind || g.Name != w.name || g.Channel != w.channel || g.Secure != w.secure || g.Valid != w.valid || !strings.Contains(strings.ToLower(g.Message), strings.ToLower(w.msg)) {
			t.Errorf("%q: got %+v, want %+v", inputs[i], g, w)
		}
	}
	if rep.AllSecure || !strings.HasPrefix(rep.Message, "Der kan ikke sendes sikkert til følgende modtager(e): ") {
		t.Errorf("summary: %v %q", rep.AllSecure, rep.Message)
	}
	a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": []string{"2211771212", "12345674"}}, &rep)
	if !rep.AllSecure || rep.Message != "Alle modtagere kontrolleret. Der kan sendes sikkert til alle modtagere af denne e-mail." {
		t.Errorf("all secure: %v %q", rep.AllSecure, rep.Message)
	}
}

// randomFile writes size bytes that start like a PDF.
func randomFile(t *testing.T, size int) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bilag.bin")
	f, _ := os.Create(p)
	h := sha256.New()
	// A PDF's header, then noise: the agent and the relay look at the
	// content, and refuse what Digital Post would not take.
	head := "%PDF-1.4\n"
	io.Copy(io.MultiWriter(f, h), io.MultiReader(strings.NewReader(head), io.LimitReader(rand.Reader, int64(size-len(head)))))
	f.Close()
	return p, hex.EncodeToString(h.Sum(nil))
}

func openFile(t *testing.T, p string) func() io.Reader {
	return func() io.Reader {
		f, err := os.Open(p)
		if err != nil {
			t.Error(err)
			return bytes.NewReader(nil)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
}

func TestSendDigitalPost(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	path, sum := randomFile(t, 10<<20)
	code, out := a.send(map[string]any{
		"recipients":     []string{"221177-1212", "12345674"},
		"subject":        "Afgørelse om boligstøtte",
		"bodyHtml":       "<p>Kære modtager,</p><p>Se vedhæftede afgørelse.</p>",
		"replyMailbox":   map[string]string{"citizen": "jobcenter", "company": "borgerservice"},
		"idempotencyKey": "test-10mb-1",
	}, file{"afgørelse.pdf", "application/pdf", openFile(t, path)})
	if code != 202 || out["status"] != "queued" || out["id"] == "" {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["id"].(string)
	st := a.waitFinal(id, time.Minute)
	if st.Status != "delivered" || len(st.Recipients) != 2 {
		t.Fatalf("final status: %+v", st)
	}
	for _, r := range st.Recipients {
		if r.Status != "delivered" || r.Channel != "digitalpost" {
			t.Errorf("recipient %+v", r)
		}
	}
	files := memoFiles(t, data)
	if len(files) != 2 {
		t.Fatalf("want 2 MeMo files, got %v", files)
	}
	validateMemo(t, files...)
	got := map[string]memoInfo{}
	for _, f := range files {
		m := readMemo(t, f)
		if filepath.Base(f) != m.UUID+".xml" {
			t.Errorf("file %s holds messageUUID %s", f, m.UUID)
		}
		got[m.RecipientID] = m
	}
	citizen, company := got["2211771212"], got["12345674"]
	if citizen.IDType != "CPR" || citizen.ContactPointID != "78566970-a4a9-48c9-9b06-49c7cd58bb95" {
		t.Errorf("citizen memo: %+v", citizen)
	}
	if company.IDType != "CVR" || company.ContactPointID != "133b057c-dbcf-425c-a358-52f9a39c32b3" {
		t.Errorf("company memo: %+v", company)
	}
	for _, m := range []memoInfo{citizen, company} {
		if m.Label != "Afgørelse om boligstøtte" || m.Reply != "true" || !strings.Contains(m.Main, "Se vedhæftede afgørelse.") {
			t.Errorf("memo header/body: label %q reply %q main %q", m.Label, m.Reply, m.Main)
		}
		if len(m.Additional) != 1 || m.Additional[0].SHA256 != sum || m.Additional[0].Filename != "afgørelse.pdf" {
			t.Errorf("attachment: %+v, want sha256 %s", m.Additional, sum)
		}
	}
	if len(st.Events) < 3 {
		t.Errorf("events: %+v", st.Events)
	}
	// The window's Log lists it.
	var log struct {
		Messages []struct {
			ID, Subject, Status string
			Recipients          []string
		}
	}
	if code := a.call("GET", "/api/v1/messages?q=boligst", nil, &log); code != 200 || len(log.Messages) != 1 || log.Messages[0].ID != id || log.Messages[0].Status != "delivered" {
		t.Errorf("log: %d %+v", code, log)
	}
	if a.call("GET", "/api/v1/messages?q=findes-ikke", nil, &log); len(log.Messages) != 0 {
		t.Errorf("log search: %+v", log)
	}

	// The same idempotency key returns the same id and sends nothing more.
	code, again := a.send(map[string]any{
		"recipients": []string{"221177-1212"}, "subject": "Andet emne", "bodyHtml": "x", "idempotencyKey": "test-10mb-1",
	})
	if code != 202 || again["id"] != id {
		t.Fatalf("repeat: %d %v, want id %s", code, again, id)
	}
	time.Sleep(time.Second)
	if n := len(memoFiles(t, data)); n != 2 {
		t.Fatalf("repeat sent again: %d files", n)
	}
}

func TestExempt(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))

	// Without a fallback nothing goes to the exempt citizen.
	code, out := a.send(map[string]any{
		"recipients": []string{"0707614285"}, "subject": "Brev", "bodyHtml": "<p>Hej</p>", "idempotencyKey": "exempt-1",
	})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	st := a.waitFinal(out["id"].(string), 30*time.Second)
	if st.Status != "needs-fallback" || st.Recipients[0].Status != "needs-fallback" || st.Recipients[0].Channel != "print" || !strings.Contains(st.Recipients[0].Message, "OneTooX") {
		t.Fatalf("no fallback: %+v", st)
	}
	time.Sleep(500 * time.Millisecond)
	if m, _ := filepath.Glob(filepath.Join(data, "demo", "print", "*")); len(m) != 0 {
		t.Fatalf("printed without fallback: %v", m)
	}
	if n := len(memoFiles(t, data)); n != 0 {
		t.Fatalf("Digital Post to an exempt citizen: %d", n)
	}

	// With fallback "print" the letter is printed, and a Digital Post
	// recipient in the same message still gets Digital Post.
	pdf := minimalPDF()
	code, out = a.send(map[string]any{
		"recipients": []string{"0707614285", "2211771212"}, "subject": "Afgørelse", "bodyHtml": "<p>Kære Jens Fritagesen</p><p>Du får hermed afgørelsen.</p>",
		"idempotencyKey": "exempt-2", "fallback": "print",
	}, file{"bilag.pdf", "application/pdf", func() io.Reader { return bytes.NewReader(pdf) }})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	st = a.waitFinal(out["id"].(string), 30*time.Second)
	if st.Status != "delivered" {
		t.Fatalf("with fallback: %+v", st)
	}
	statuses := map[string]string{}
	for _, r := range st.Recipients {
		statuses[r.Input] = r.Status
	}
	if statuses["0707614285"] != "printed" || statuses["2211771212"] != "delivered" {
		t.Fatalf("recipient statuses: %v", statuses)
	}
	pdfs, _ := filepath.Glob(filepath.Join(data, "demo", "print", "*.pdf"))
	jsons, _ := filepath.Glob(filepath.Join(data, "demo", "print", "*.json"))
	if len(pdfs) != 1 || len(jsons) != 1 {
		t.Fatalf("print output: %v %v", pdfs, jsons)
	}
	b, _ := os.ReadFile(jsons[0])
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil || !contains(string(b), "Jens Fritagesen", "Testvej 1", "8800 Viborg", out["id"].(string)) {
		t.Fatalf("print metadata: %v %s", err, b)
	}
	head, _ := os.ReadFile(pdfs[0])
	if !bytes.HasPrefix(head, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", head[:16])
	}
	if n := len(memoFiles(t, data)); n != 1 {
		t.Fatalf("want 1 MeMo for the Digital Post recipient, got %d", n)
	}

	// A file that cannot be printed is refused before anything is queued.
	code, out = a.send(map[string]any{
		"recipients": []string{"0707614285"}, "subject": "Brev", "bodyHtml": "x", "idempotencyKey": "exempt-3", "fallback": "print",
	}, file{"regneark.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", func() io.Reader { return strings.NewReader("PK\x03\x04\x14\x00\x06\x00") }})
	if code != 400 || !strings.Contains(out["message"].(string), "regneark.xlsx") {
		t.Fatalf("unprintable attachment: %d %v", code, out)
	}
}

// minimalPDF is a valid one-page PDF.
func minimalPDF() []byte {
	var b bytes.Buffer
	offsets := []int{}
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		b.WriteString(s)
	}
	b.WriteString("%PDF-1.4\n")
	obj("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	obj("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	obj("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>\nendobj\n")
	content := "BT ET"
	obj("4 0 obj\n<< /Length " + strconv.Itoa(len(content)) + " >>\nstream\n" + content + "\nendstream\nendobj\n")
	xref := b.Len()
	b.WriteString("xref\n0 5\n0000000000 65535 f \n")
	for _, o := range offsets {
		s := strconv.Itoa(o)
		b.WriteString(strings.Repeat("0", 10-len(s)) + s + " 00000 n \n")
	}
	b.WriteString("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n" + strconv.Itoa(xref) + "\n%%EOF\n")
	return b.Bytes()
}
