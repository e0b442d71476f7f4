package mailbox

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/mail"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
)

// The suite runs against every server kind (memserver here, Dovecot in
// dovecot_test.go).
func suite(t *testing.T, server func(t *testing.T, idle bool) testServer) {
	t.Run("CopyLandsOnceWithKeyword", func(t *testing.T) { testCopyOnce(t, server(t, true)) })
	t.Run("CopyFoundAfterCrashBeforeRecord", func(t *testing.T) { testCrashBeforeRecord(t, server(t, true)) })
	t.Run("ReceiptUnderIdle", func(t *testing.T) { testReceiptIdle(t, server(t, true)) })
	t.Run("ServerKilledMidSession", func(t *testing.T) { testServerKilled(t, server(t, true)) })
}

func TestMemServer(t *testing.T) {
	suite(t, func(t *testing.T, idle bool) testServer { return newMemServer(t, idle) })
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func dirEmpty(t *testing.T, dir string) bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents) == 0
}

func testCopyOnce(t *testing.T, srv testServer) {
	e := newEnv(t, srv)
	e.run(true)
	att1, att2 := randomBytes(300<<10), []byte("%PDF-1.4 lille bilag\n")
	id := e.send(t, "Afgørelse om boligstøtte", outbox.StatePending, att1, att2)
	folder := srv.account().Folder
	if folder == "" {
		folder = DefaultFolder
	}
	c := inspect(t, srv)
	var copies []copyInfo
	waitFor(t, 15*time.Second, "the copy", func() bool {
		copies = folderCopies(t, c, folder)
		return len(copies) > 0 && len(e.link.pending()) == 0
	})
	if len(copies) != 1 || copies[0].id != id {
		t.Fatalf("copies = %d (%+v), want one for %s", len(copies), ids(copies), id)
	}
	if !hasFlag(copies[0].flags, Keyword) || !hasFlag(copies[0].flags, imap.FlagSeen) {
		t.Errorf("flags = %v, want \\Seen and %s", copies[0].flags, Keyword)
	}
	raw := copies[0].raw
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	if bytes.Contains(head, []byte("2211771212")) || bytes.Contains(head, []byte("221177-1212")) {
		t.Errorf("a full CPR number in the copy's headers:\n%s", head)
	}
	if got := headerValue(raw, HeaderRecipients); !strings.Contains(got, "221177-xxxx") || !strings.Contains(got, "digitalpost") {
		t.Errorf("%s = %q", HeaderRecipients, got)
	}
	if got := headerValue(raw, HeaderChannel); got != "digitalpost" {
		t.Errorf("%s = %q", HeaderChannel, got)
	}
	// Body and both attachments, byte for byte, though the outbox dropped
	// its blobs when the relay took the send.
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := mr.Header.Subject(); s != "Afgørelse om boligstøtte" {
		t.Errorf("subject %q", s)
	}
	var body string
	var atts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			body = string(b)
		case *mail.AttachmentHeader:
			if name, _ := h.Filename(); !strings.HasSuffix(name, "æøå.pdf") {
				t.Errorf("attachment name %q", name)
			}
			atts = append(atts, b)
		}
	}
	if !strings.Contains(body, "afgørelse vedlagt") {
		t.Errorf("body %q", body)
	}
	if len(atts) != 2 || !bytes.Equal(atts[0], att1) || !bytes.Equal(atts[1], att2) {
		t.Errorf("attachments differ (%d)", len(atts))
	}
	// The record closes first, then the kept blobs go.
	waitFor(t, 2*time.Second, "no blobs left behind after the copy", func() bool {
		return dirEmpty(t, filepath.Join(e.dir, "outbox", "blobs")) && dirEmpty(t, filepath.Join(e.dir, "mailbox", "blobs"))
	})
	// A restart (new link, same database) and a second send: still one
	// copy each.
	e.stop()
	e.db.Close()
	e.open(t)
	e.run(true)
	id2 := e.send(t, "Anden afgørelse", outbox.StatePending)
	waitFor(t, 15*time.Second, "the second copy", func() bool {
		copies = folderCopies(t, c, folder)
		return len(copies) >= 2 && len(e.link.pending()) == 0
	})
	time.Sleep(300 * time.Millisecond)
	copies = folderCopies(t, c, folder)
	if n := count(copies); len(copies) != 2 || n[id] != 1 || n[id2] != 1 {
		t.Fatalf("copies after restart = %v", n)
	}
	if st := e.link.Status(); !st.Connected || st.LastSync == nil || st.PendingCopies != 0 {
		t.Errorf("status %+v", st)
	}
}

func ids(cs []copyInfo) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.id)
	}
	return out
}

func count(cs []copyInfo) map[string]int {
	n := map[string]int{}
	for _, c := range cs {
		n[c.id]++
	}
	return n
}

// A crash after the server stored the copy but before the record said so:
// the next run finds the copy by its X-Sendsikkert-Id and adds none.
func testCrashBeforeRecord(t *testing.T, srv testServer) {
	e := newEnv(t, srv)
	id := e.send(t, "Afgørelse", outbox.StateHanded, []byte("bilag"))
	e.link.Retain(id)
	if r, ok := e.link.record(id); !ok || r.State != copyPending {
		t.Fatalf("record %+v %v", r, ok)
	}
	ent, _ := e.ob.Get(id)
	st, _ := e.relay.Status(t.Context(), id)
	var buf bytes.Buffer
	if err := writeCopy(&buf, ent, st, testUser, e.link.blobs.Open); err != nil {
		t.Fatal(err)
	}
	c := inspect(t, srv)
	if err := c.Create(DefaultFolder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append(DefaultFolder, int64(buf.Len()), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, Keyword}})
	cmd.Write(buf.Bytes())
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// The relay's status is delivered; the worker would have said so.
	e.ob.Refresh(ent, st)
	e.run(false)
	waitFor(t, 15*time.Second, "the record to close", func() bool {
		r, _ := e.link.record(id)
		return r.State == copyAppended
	})
	if n := count(folderCopies(t, c, DefaultFolder)); len(n) != 1 || n[id] != 1 {
		t.Fatalf("copies = %v, want exactly one", n)
	}
}

func testReceiptIdle(t *testing.T, srv testServer) {
	e := newEnv(t, srv)
	id := e.send(t, "Afgørelse", outbox.StateHanded)
	e.relay.set(id, relayapi.StatusSending)
	e.run(false)
	waitFor(t, 15*time.Second, "IDLE", func() bool {
		st := e.link.Status()
		return st.Connected && st.Watching == "idle" && st.LastSync != nil
	})
	time.Sleep(200 * time.Millisecond) // in IDLE, not between commands
	c := inspect(t, srv)
	e.relay.set(id, relayapi.StatusDelivered)
	appendMail(t, c, "INBOX", receiptMail(id, relayapi.StatusDelivered))
	arrived := time.Now()
	var got relayapi.MessageStatus
	waitFor(t, 5*time.Second, "the status change", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, st := range e.changes {
			for _, ev := range st.Events {
				if strings.HasPrefix(ev.What, "Kvittering modtaget") {
					got = st
					return true
				}
			}
		}
		return false
	})
	lat := time.Since(arrived)
	t.Logf("receipt to status change: %v", lat)
	if lat > time.Second {
		t.Errorf("status changed %v after the receipt arrived; want within a second", lat)
	}
	if got.Status != relayapi.StatusDelivered {
		t.Errorf("status %q, want delivered", got.Status)
	}
	ent, _ := e.ob.Get(id)
	if st := e.ob.StatusOf(ent); st.Status != relayapi.StatusDelivered || !hasEvent(st, "Kvittering modtaget: sendt sikkert") {
		t.Errorf("stored status %+v", st)
	}
	waitFor(t, 2*time.Second, "the tray notice", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.notices) > 0
	})
	e.mu.Lock()
	if len(e.notices) != 1 || e.notices[0].ID != id {
		t.Errorf("notices %+v", e.notices)
	}
	e.mu.Unlock()
	// Reading INBOX again (restart) adds no second event or notice.
	e.stop()
	e.run(false)
	waitFor(t, 15*time.Second, "a sync after restart", func() bool {
		st := e.link.Status()
		return st.Connected && st.LastSync != nil && st.LastSync.After(arrived)
	})
	ent, _ = e.ob.Get(id)
	n := 0
	for _, ev := range e.ob.StatusOf(ent).Events {
		if strings.HasPrefix(ev.What, "Kvittering") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d receipt events, want 1", n)
	}
}

func hasEvent(st relayapi.MessageStatus, what string) bool {
	for _, ev := range st.Events {
		if ev.What == what {
			return true
		}
	}
	return false
}

// waitForEvent waits up to d (for what) until the outbox entry id has the
// event.
func (e *env) waitForEvent(t testing.TB, d time.Duration, what, id, event string) {
	t.Helper()
	waitFor(t, d, what, func() bool {
		ent, _ := e.ob.Get(id)
		return hasEvent(e.ob.StatusOf(ent), event)
	})
}

// The server dies (and comes back) again and again while copies are being
// appended: every send gets its copy, none twice.
func testServerKilled(t *testing.T, srv testServer) {
	e := newEnv(t, srv)
	e.run(true)
	const n = 12
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		want[e.send(t, "Afgørelse", outbox.StatePending, randomBytes(400<<10))] = true
	}
	for i := 0; i < 4; i++ {
		time.Sleep(time.Duration(60+i*40) * time.Millisecond)
		srv.kill(t)
		time.Sleep(150 * time.Millisecond)
		srv.start(t)
	}
	c := inspect(t, srv)
	waitFor(t, 60*time.Second, "every copy", func() bool { return len(e.link.pending()) == 0 })
	copies := folderCopies(t, c, DefaultFolder)
	got := count(copies)
	for id := range want {
		if got[id] != 1 {
			t.Errorf("send %s has %d copies, want 1", id, got[id])
		}
	}
	if len(copies) != n {
		t.Errorf("%d copies, want %d", len(copies), n)
	}
	// And the link still follows receipts afterwards.
	id := e.send(t, "Efter genstart", outbox.StateHanded)
	waitFor(t, 30*time.Second, "reconnect", func() bool { st := e.link.Status(); return st.Connected && st.Watching != "" })
	appendMail(t, c, "INBOX", receiptMail(id, relayapi.StatusDelivered))
	e.waitForEvent(t, 30*time.Second, "the receipt after the outages", id, "Kvittering modtaget: sendt sikkert")
}

func TestPollingWithoutIdle(t *testing.T) {
	srv := newMemServer(t, false)
	e := newEnv(t, srv)
	e.link.cfg.ForcePoll = true
	id := e.send(t, "Afgørelse", outbox.StateHanded)
	e.run(false)
	waitFor(t, 10*time.Second, "connect", func() bool { st := e.link.Status(); return st.Connected && st.Watching == "poll" })
	c := inspect(t, srv)
	appendMail(t, c, "INBOX", receiptMail(id, relayapi.StatusFailed))
	e.waitForEvent(t, 10*time.Second, "the receipt by polling", id, "Kvittering modtaget: ikke leveret")
}

func TestWrongPasswordShowsInStatus(t *testing.T) {
	srv := newMemServer(t, true)
	e := newEnv(t, srv)
	if err := SaveSecret(e.secrets, "forkert"); err != nil {
		t.Fatal(err)
	}
	e.run(false)
	waitFor(t, 10*time.Second, "the error", func() bool { return e.link.Status().LastError != "" })
	if st := e.link.Status(); st.Connected || !strings.Contains(st.LastError, "afviste login") {
		t.Errorf("status %+v", st)
	}
	// Fixed password: the link connects without a restart.
	SaveSecret(e.secrets, testPass)
	e.link.Reconfigure()
	waitFor(t, 10*time.Second, "connect", func() bool { st := e.link.Status(); return st.Connected && st.LastError == "" })
}

// An IMAP outage never holds up a send: with the server gone the outbox
// still hands every send to the relay at once.
func TestOutageDoesNotDelaySending(t *testing.T) {
	srv := newMemServer(t, true)
	srv.kill(t)
	e := newEnv(t, srv)
	e.run(true)
	start := time.Now()
	id := e.send(t, "Afgørelse", outbox.StatePending, []byte("bilag"))
	waitFor(t, 5*time.Second, "the relay to have it", func() bool {
		ent, _ := e.ob.Get(id)
		return ent.State != outbox.StatePending
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("handing over took %v with IMAP down", d)
	}
	if r, ok := e.link.record(id); !ok || r.State != copyPending {
		t.Fatalf("record %+v", r)
	}
	waitFor(t, 5*time.Second, "the error in the status", func() bool { return e.link.Status().LastError != "" })
	srv.start(t)
	c := inspect(t, srv)
	waitFor(t, 20*time.Second, "the copy once the server is back", func() bool { return count(folderCopies(t, c, DefaultFolder))[id] == 1 })
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tls  string
		port int
		ok   bool
	}{
		{"outlook.office365.com", "", 993, true},
		{"imap.example.dk", "starttls", 143, true},
		{"imap.example.dk", "plain", 0, false},
		{"127.0.0.1", "plain", 143, true},
		{"localhost", "plain", 143, true},
		{"::1", "plain", 143, true},
		{"", "tls", 0, false},
		{"imap.example.dk", "ssl3", 0, false},
	} {
		a, err := Normalize(settingsAccount(tc.in, tc.tls))
		if (err == nil) != tc.ok {
			t.Errorf("%s/%s: err %v", tc.in, tc.tls, err)
			continue
		}
		if tc.ok && (a.Port != tc.port || a.Folder != DefaultFolder || a.Auth != AuthPassword) {
			t.Errorf("%s/%s: %+v", tc.in, tc.tls, a)
		}
	}
}

func settingsAccount(server, tls string) settings.MailAccount {
	return settings.MailAccount{Server: server, TLS: tls, User: testUser}
}

func TestSecretSplitAcrossKeyringEntries(t *testing.T) {
	e := newEnv(t, newMemServer(t, true))
	tok := strings.Repeat("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.", 100)[:3000]
	if err := SaveSecret(e.secrets, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSecret(e.secrets); err != nil || got != tok {
		t.Fatalf("round trip: %v", err)
	}
	for i := 0; i < secretChunks; i++ {
		if b, err := e.secrets.Get(chunkName(i)); err == nil && len(b) > secretChunk {
			t.Errorf("entry %d has %d bytes", i, len(b))
		}
	}
	SaveSecret(e.secrets, "kort")
	if got, _ := LoadSecret(e.secrets); got != "kort" {
		t.Errorf("shorter secret read back as %d bytes", len(got))
	}
	if err := SaveSecret(e.secrets, strings.Repeat("x", MaxSecret+1)); err == nil {
		t.Error("an over-long secret was taken")
	}
}

// A reply notice (X-Sendsikkert-Id, no status) is an event and a notice.
func TestReplyNotice(t *testing.T) {
	srv := newMemServer(t, true)
	e := newEnv(t, srv)
	id := e.send(t, "Afgørelse", outbox.StateHanded)
	e.run(false)
	waitFor(t, 10*time.Second, "IDLE", func() bool { st := e.link.Status(); return st.Connected && st.Watching == "idle" })
	c := inspect(t, srv)
	appendMail(t, c, "INBOX", []byte("From: Karen Testesen <noreply@digitalpost.example>\r\nSubject: =?utf-8?q?Svar_p=C3=A5_afg=C3=B8relse?=\r\n"+HeaderID+": "+id+"\r\n\r\nDu har fået svar.\r\n"))
	// Mail without the header is not ours and is left alone.
	appendMail(t, c, "INBOX", []byte("From: a@b.example\r\nSubject: Frokost\r\n\r\nHej\r\n"))
	waitFor(t, 5*time.Second, "the reply event", func() bool {
		ent, _ := e.ob.Get(id)
		e.mu.Lock()
		defer e.mu.Unlock()
		return hasEvent(e.ob.StatusOf(ent), "Svar modtaget: Svar på afgørelse") && len(e.notices) > 0
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.notices) != 1 || e.notices[0].Title != "Svar på sikker forsendelse" || !strings.Contains(e.notices[0].Body, "Karen Testesen") {
		t.Errorf("notices %+v", e.notices)
	}
}

func TestXOAuth2InitialResponse(t *testing.T) {
	a, _ := Normalize(settings.MailAccount{Server: "outlook.office365.com", User: "klerk@kommune.dk", Auth: AuthXOAuth2})
	mech, ir, err := saslClient(a, "tok3n").Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=klerk@kommune.dk\x01auth=Bearer tok3n\x01\x01" {
		t.Fatalf("%s %q %v", mech, ir, err)
	}
	a.Auth = AuthOAuthBearer
	mech, ir, _ = saslClient(a, "tok3n").Start()
	if mech != "OAUTHBEARER" || !strings.Contains(string(ir), "auth=Bearer tok3n") || !strings.Contains(string(ir), "a=klerk@kommune.dk") {
		t.Fatalf("%s %q", mech, ir)
	}
	a.Auth = AuthPassword
	if saslClient(a, "x") != nil {
		t.Fatal("password login should use LOGIN")
	}
}
