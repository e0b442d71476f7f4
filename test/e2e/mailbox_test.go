package e2e

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// The real agent with a mailbox account set through the local API, against
// go-imap's in-memory IMAP server on loopback: the marked copy lands once,
// a receipt mail updates the send, the secret is never echoed.
func TestMailboxLink(t *testing.T) {
	const user, pass = "klerk@kommune.example", "imap-hemmelighed-42"
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	u.Create("INBOX", nil)
	mem.AddUser(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	imapPort := ln.Addr().(*net.TCPAddr).Port

	data := t.TempDir()
	a := startAgent(t, data, freePort(t))

	time.Sleep(500 * time.Millisecond)
	baseline := rss(a.cmd.Process.Pid)
	var bad map[string]any
	if code := a.call("PUT", "/api/v1/settings", map[string]any{"mailbox": map[string]any{"server": "imap.example.dk", "tls": "plain", "user": user}}, &bad); code != 400 || bad["error"] != "bad_mailbox" {
		t.Fatalf("plain IMAP to a remote server: %d %v", code, bad)
	}
	var view map[string]any
	if code := a.call("PUT", "/api/v1/settings", map[string]any{"mailbox": map[string]any{"server": "127.0.0.1", "port": imapPort, "tls": "plain", "user": user}}, &view); code != 200 {
		t.Fatalf("PUT settings: %d %v", code, view)
	}
	if mb, _ := view["mailbox"].(map[string]any); mb["folder"] != "Sendt sikkert" || mb["tls"] != "plain" {
		t.Fatalf("settings view mailbox = %v", view["mailbox"])
	}
	resp, err := a.client.Do(a.request("PUT", "/api/v1/mailbox/secret", strings.NewReader(`{"password":"`+pass+`"}`), "application/json"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 || body.Len() != 0 {
		t.Fatalf("PUT secret: %d %q", resp.StatusCode, body.String())
	}
	// The secret is in the keyring, never in the settings answer.
	resp, _ = a.client.Do(a.request("GET", "/api/v1/settings", nil, ""))
	body.Reset()
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if strings.Contains(body.String(), pass) {
		t.Fatal("GET /api/v1/settings echoes the mailbox password")
	}
	waitStatus := func(what string, ok func(map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var st map[string]any
			a.call("GET", "/api/v1/mailbox/status", nil, &st)
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("mailbox status never %s: %v", what, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitStatus("connected with IDLE", func(st map[string]any) bool { return st["connected"] == true && st["watching"] == "idle" })

	pdf := []byte("%PDF-1.4 afgørelse\n")
	code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse", "bodyHtml": "<p>Hej Karen</p>", "idempotencyKey": "mailbox-e2e-1"},
		file{name: "afgørelse.pdf", contentType: "application/pdf", open: func() io.Reader { return bytes.NewReader(pdf) }})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["id"].(string)
	a.waitFinal(id, 30*time.Second)

	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	copies := func() (n int, flags []imap.Flag, raw []byte) {
		if _, err := c.Select("Sendt sikkert", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return 0, nil, nil
		}
		defer func() { c.Unselect().Wait() }()
		sec := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil || len(msgs) == 0 {
			return 0, nil, nil
		}
		return len(msgs), msgs[0].Flags, msgs[0].FindBodySection(sec)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, _, _ := copies(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no copy in »Sendt sikkert«")
		}
		time.Sleep(50 * time.Millisecond)
	}
	n, flags, raw := copies()
	keyword := false
	for _, f := range flags {
		keyword = keyword || strings.EqualFold(string(f), "$SendtSikkert")
	}
	if n != 1 || !keyword || !bytes.Contains(raw, []byte("X-Sendsikkert-Id: "+id)) || !bytes.Contains(raw, []byte("221177-xxxx")) {
		t.Fatalf("copies %d, flags %v, header:\n%s", n, flags, raw[:min(len(raw), 800)])
	}

	// A receipt mail in INBOX shows on the send.
	receipt := "From: Send sikkert <noreply@kommune.example>\r\nTo: " + user + "\r\nSubject: Kvittering\r\nX-Sendsikkert-Id: " + id +
		"\r\nX-Sendsikkert-Status: delivered\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKvittering\r\n"
	cmd := c.Append("INBOX", int64(len(receipt)), nil)
	cmd.Write([]byte(receipt))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		var st status
		a.call("GET", "/api/v1/messages/"+id, nil, &st)
		found := false
		for _, ev := range st.Events {
			found = found || ev.What == "Kvittering modtaget: sendt sikkert"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt not on the send: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("agent memory without a mailbox account: %s; with IDLE open, after a copy and a receipt: %s", baseline, rss(a.cmd.Process.Pid))

	// A restart reads the folder and INBOX again: still one copy, one
	// receipt event.
	before := time.Now().UTC()
	a.stop()
	a = startAgent(t, data, a.port)
	waitStatus("synced after restart", func(st map[string]any) bool {
		ls, _ := st["lastSync"].(string)
		at, _ := time.Parse(time.RFC3339Nano, ls)
		return st["connected"] == true && at.After(before)
	})
	if n, _, _ := copies(); n != 1 {
		t.Fatalf("%d copies after restart", n)
	}
	var st status
	a.call("GET", "/api/v1/messages/"+id, nil, &st)
	k := 0
	for _, ev := range st.Events {
		if strings.HasPrefix(ev.What, "Kvittering modtaget") {
			k++
		}
	}
	if k != 1 {
		t.Fatalf("%d receipt events after restart", k)
	}
}

// rss is a process's resident memory (Linux), total and anonymous.
func rss(pid int) string {
	if runtime.GOOS != "linux" {
		return "n/a"
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "n/a"
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "RssAnon:") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}
