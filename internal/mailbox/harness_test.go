package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/vault"
)

// testServer is an IMAP server the link is tested against: go-imap's
// in-memory server, or a real Dovecot.
type testServer interface {
	account() settings.MailAccount
	password() string
	tlsConfig() *tls.Config
	// kill stops the server; its connections die. start brings it back
	// with the same mail.
	kill(t testing.TB)
	start(t testing.TB)
}

// memServer is imapmemserver behind a real listener on loopback.
type memServer struct {
	mem  *imapmemserver.Server
	caps imap.CapSet
	addr string
	mu   sync.Mutex
	srv  *imapserver.Server
	ln   net.Listener
}

const (
	testUser = "klerk@kommune.example"
	testPass = "hemmelig-1"
)

// newMemServer starts one; go-imap's server always offers IDLE, so a
// server "without IDLE" is tested with the link's ForcePoll.
func newMemServer(t testing.TB, idle bool) *memServer {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	if idle {
		caps[imap.CapIdle] = struct{}{}
	}
	s := &memServer{mem: mem, caps: caps}
	s.start(t)
	t.Cleanup(func() { s.kill(t) })
	return s
}

func (s *memServer) account() settings.MailAccount {
	host, port, _ := net.SplitHostPort(s.addr)
	var p int
	fmt.Sscan(port, &p)
	return settings.MailAccount{Server: host, Port: p, TLS: TLSPlain, User: testUser}
}
func (s *memServer) password() string       { return testPass }
func (s *memServer) tlsConfig() *tls.Config { return nil }

func (s *memServer) start(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr, s.ln = ln.Addr().String(), ln
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         s.caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	go s.srv.Serve(ln)
}

func (s *memServer) kill(testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.ln.Close()
		s.srv.Close()
		s.srv = nil
	}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// inspect logs in as the clerk (another mail client, say) to look and to
// drop mail in.
func inspect(t testing.TB, s testServer) *imapclient.Client {
	t.Helper()
	a := s.account()
	opts := &imapclient.Options{TLSConfig: s.tlsConfig()}
	var c *imapclient.Client
	var err error
	for i := 0; i < 100; i++ {
		switch a.TLS {
		case TLSStartTLS:
			c, err = imapclient.DialStartTLS(addr(a), opts)
		default:
			c, err = imapclient.DialInsecure(addr(a), opts)
		}
		if err == nil {
			if err = c.Login(a.User, s.password()).Wait(); err == nil {
				break
			}
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// copyInfo is one message found in the copies' folder.
type copyInfo struct {
	id    string
	flags []imap.Flag
	raw   []byte
}

// folderCopies lists the folder's messages (none when it is missing).
func folderCopies(t testing.TB, c *imapclient.Client, folder string) []copyInfo {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil
	}
	defer func() { c.Unselect().Wait() }()
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		if strings.Contains(err.Error(), "No matching messages") || strings.Contains(err.Error(), "Invalid messageset") {
			return nil
		}
		// An empty folder answers "1:*" with an error on some servers.
		st, err2 := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
		if err2 == nil && st.NumMessages != nil && *st.NumMessages == 0 {
			return nil
		}
		t.Fatalf("fetch %s: %v", folder, err)
	}
	var out []copyInfo
	for _, m := range msgs {
		raw := m.FindBodySection(section)
		out = append(out, copyInfo{id: headerValue(raw, HeaderID), flags: m.Flags, raw: raw})
	}
	return out
}

func headerValue(raw []byte, key string) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

// appendMail drops a mail into a folder as a mail server's delivery would.
func appendMail(t testing.TB, c *imapclient.Client, folder string, raw []byte) {
	t.Helper()
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func receiptMail(id string, status relayapi.Status) []byte {
	return []byte("From: Send sikkert <noreply@kommune.example>\r\n" +
		"To: klerk@kommune.example\r\n" +
		"Subject: Kvittering - sendt sikkert: Afgoerelse\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@kommune.example>\r\n" +
		HeaderID + ": " + id + "\r\n" +
		HeaderStatus + ": " + string(status) + "\r\n" +
		"Auto-Submitted: auto-generated\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKvittering for sikker forsendelse\r\n")
}

// fakeRelay takes every submit and reports what the test sets.
type fakeRelay struct {
	mu       sync.Mutex
	statuses map[string]relayapi.Status // id -> recipients' status; default delivered
	submits  int
}

func (f *fakeRelay) Submit(ctx context.Context, msg *relayapi.MessageRequest, files []relayclient.Upload) (relayapi.SubmitResponse, error) {
	for _, u := range files {
		r, err := u.Open()
		if err != nil {
			return relayapi.SubmitResponse{}, err
		}
		io.Copy(io.Discard, r)
		r.Close()
	}
	f.mu.Lock()
	f.submits++
	f.mu.Unlock()
	return relayapi.SubmitResponse{ID: msg.IdempotencyKey, Status: relayapi.StatusQueued}, nil
}

func (f *fakeRelay) set(id string, status relayapi.Status) {
	f.mu.Lock()
	if f.statuses == nil {
		f.statuses = map[string]relayapi.Status{}
	}
	f.statuses[id] = status
	f.mu.Unlock()
}

func (f *fakeRelay) Status(ctx context.Context, id string) (relayapi.MessageStatus, error) {
	f.mu.Lock()
	s, ok := f.statuses[id]
	f.mu.Unlock()
	if !ok {
		s = relayapi.StatusDelivered
	}
	rs := []relayapi.RecipientStatus{{Input: "2211771212", Channel: recipient.ChannelDigitalPost, Status: s}}
	return relayapi.MessageStatus{ID: id, Status: relayapi.Summarize(rs), Recipients: rs}, nil
}

// env is an agent's worth of storage, outbox, worker and link.
type env struct {
	dir     string
	db      *bolt.DB
	key     *vault.Key
	ob      *outbox.Outbox
	st      *settings.Store
	secrets keystore.Store
	relay   *fakeRelay
	link    *Link
	srv     testServer

	mu      sync.Mutex
	changes []relayapi.MessageStatus
	notices []Notice
	changed chan struct{}
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

func newEnv(t testing.TB, srv testServer) *env {
	t.Helper()
	dir := t.TempDir()
	key, _ := vault.New(vault.NewRandomKey())
	e := &env{dir: dir, key: key, relay: &fakeRelay{}, srv: srv, changed: make(chan struct{}, 1)}
	e.open(t)
	a := srv.account()
	if _, err := e.st.Update(func(s *settings.Settings) { s.MailAccount = &a }); err != nil {
		t.Fatal(err)
	}
	if err := SaveSecret(e.secrets, srv.password()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.stop(); e.db.Close() })
	return e
}

func testLog() *slog.Logger {
	if os.Getenv("SENDSIKKERT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// open opens (or, after close, reopens) the database, outbox and link.
func (e *env) open(t testing.TB) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(e.dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	if e.ob, err = outbox.Open(db, filepath.Join(e.dir, "outbox"), e.key); err != nil {
		t.Fatal(err)
	}
	if e.st, err = settings.Open(db, e.key); err != nil {
		t.Fatal(err)
	}
	e.secrets = keystore.NewDemoFile(e.dir)
	e.link, err = Open(Config{
		DB: db, Outbox: e.ob, Settings: e.st, Secrets: e.secrets, Relay: e.relay,
		Dir: filepath.Join(e.dir, "mailbox"), Log: testLog(), TLS: e.srv.tlsConfig(),
		PollInterval: 50 * time.Millisecond, MaxPoll: 200 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.link.SetNotify(func(n Notice) {
		e.mu.Lock()
		e.notices = append(e.notices, n)
		e.mu.Unlock()
	})
	e.ob.OnChange = func(st relayapi.MessageStatus) {
		e.link.Changed(st)
		e.mu.Lock()
		e.changes = append(e.changes, st)
		e.mu.Unlock()
		kick(e.changed)
	}
}

// run starts the link and, when worker is set, the outbox worker.
func (e *env) run(worker bool) {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done.Add(1)
	go func() { defer e.done.Done(); e.link.Run(ctx) }()
	if worker {
		w := &outbox.Worker{Outbox: e.ob, Relay: e.relay, Handing: e.link.Retain, Log: testLog()}
		e.done.Add(1)
		go func() { defer e.done.Done(); w.Run(ctx) }()
	}
}

func (e *env) stop() {
	if e.cancel != nil {
		e.cancel()
		e.done.Wait()
		e.cancel = nil
	}
}

// send queues a message as the local API does, with attachments.
func (e *env) send(t testing.TB, subject string, state string, files ...[]byte) string {
	t.Helper()
	var stored []blobstore.File
	for i, data := range files {
		name, w, err := e.ob.Blobs().Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, blobstore.File{FileInfo: relayapi.FileInfo{Filename: fmt.Sprintf("bilag-%d æøå.pdf", i+1), ContentType: "application/pdf", Size: int64(len(data))}, Blob: name})
	}
	now := time.Now().UTC()
	id := uuid.NewString()
	ent := &outbox.Entry{
		ID: id, Created: now, Files: stored, State: state, NextAttempt: now,
		Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: subject, BodyHTML: "<p>Kære Karen, afgørelse vedlagt. CPR 221177-1212.</p>", IdempotencyKey: id},
		Checked: []recipient.Result{{Input: "2211771212", Kind: recipient.KindCPR, Valid: true, Name: "Karen Testesen", Channel: recipient.ChannelDigitalPost, Secure: true}},
	}
	if state == outbox.StateHanded {
		ent.RelayID = id
	}
	if _, _, err := e.ob.Add(ent); err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
