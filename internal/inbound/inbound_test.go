package inbound

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"sendsikkert/internal/database"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
	"sendsikkert/internal/xsd"
	"sendsikkert/schemas"
)

// smarthost is a go-smtp server with STARTTLS; it refuses RCPT for
// addresses in refuse with 550.
type smarthost struct {
	mu     sync.Mutex
	mails  [][]string // rcpts, then data
	refuse map[string]bool
}

func (h *smarthost) NewSession(*smtp.Conn) (smtp.Session, error) { return &hostSession{h: h}, nil }

type hostSession struct {
	h     *smarthost
	rcpts []string
}

func (s *hostSession) Reset()                               { s.rcpts = nil }
func (s *hostSession) Logout() error                        { return nil }
func (s *hostSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *hostSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.h.refuse[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *hostSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err // the client went away before the end of DATA: nothing is kept
	}
	s.h.mu.Lock()
	s.h.mails = append(s.h.mails, append(append([]string(nil), s.rcpts...), string(b)))
	s.h.mu.Unlock()
	return nil
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, pool
}

type fixture struct {
	dir   string
	svc   *Service
	host  *smarthost
	store queue.Store
	url   string
}

func newFixture(t *testing.T, mailboxes []Mailbox) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	key, _ := vault.New(bytes.Repeat([]byte{9}, vault.KeySize))
	db, err := database.Open(ctx, "", dir, "relay.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in, err := OpenStore(ctx, db, key.Derive("inbound"))
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := queue.OpenBolt(filepath.Join(dir, "queue"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	schema, err := xsd.LoadFS(schemas.FS, schemas.MeMo12Name)
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t)
	host := &smarthost{refuse: map[string]bool{"gone@k.dk": true}}
	ss := smtp.NewServer(host)
	ss.Domain = "localhost"
	ss.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go ss.Serve(l)
	t.Cleanup(func() { ss.Close() })
	mailer := &receipt.Mailer{Addr: l.Addr().String(), From: "no-reply@k.dk", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	store := IndexingStore{Store: bolt, Index: in}
	svc := &Service{Schema: schema, Store: in, Blobs: RelayBlobs{Blobs: bolt.Blobs()}, Letters: RelayLetters{Store: store}, Mailboxes: mailboxes,
		Mail: mailer, From: mailer.From, AlertTo: []string{"it@k.dk"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ThreadID: func(id string) string { return receipt.MessageID(mailer.From, id) }, Retry: time.Millisecond, MaxAttempts: 2}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return &fixture{dir: dir, svc: svc, host: host, store: store, url: srv.URL}
}

func (f *fixture) post(t *testing.T, body string) int {
	t.Helper()
	resp, err := http.Post(f.url+Path, "application/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func reply(id, answers, cp string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<memo:Message xmlns:memo="https://DigitalPost.dk/MeMo-1" memoVersion="1.2"><memo:MessageHeader>
<memo:messageType>DIGITALPOST</memo:messageType><memo:messageUUID>` + id + `</memo:messageUUID><memo:label>Svar</memo:label>
<memo:Sender><memo:senderID>2211771212</memo:senderID><memo:idType>CPR</memo:idType><memo:label>Hanne</memo:label></memo:Sender>
<memo:Recipient><memo:recipientID>11223344</memo:recipientID><memo:idType>CVR</memo:idType></memo:Recipient>
<memo:ReplyData><memo:messageUUID>` + answers + `</memo:messageUUID><memo:contactPointID>` + cp + `</memo:contactPointID></memo:ReplyData>
</memo:MessageHeader><memo:MessageBody><memo:createdDateTime>2026-12-03T08:00:00Z</memo:createdDateTime>
<memo:MainDocument><memo:File><memo:encodingFormat>text/plain</memo:encodingFormat><memo:filename>svar.txt</memo:filename><memo:language>da</memo:language>
<memo:content>` + base64.StdEncoding.EncodeToString([]byte("Tak.")) + `</memo:content></memo:File></memo:MainDocument></memo:MessageBody></memo:Message>`
}

func (f *fixture) state(t *testing.T, id string) *Row {
	t.Helper()
	r, err := f.svc.Store.Get(context.Background(), normUUID(id))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestUndeliverableIsQuarantined: no mailbox for the contact point, a
// mailbox without deliverTo, and a smarthost that refuses the address all
// end in quarantine with one alert to IT; a smarthost that is merely
// unreachable is retried, then quarantined after MaxAttempts.
func TestUndeliverableIsQuarantined(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []Mailbox{{ID: "a", ContactPointID: "cp-a", DeliverTo: "a@k.dk"}, {ID: "b", ContactPointID: "cp-b"}, {ID: "c", ContactPointID: "cp-c", DeliverTo: "gone@k.dk"}})
	ids := map[string]string{"cp-x": uuid.NewString(), "cp-b": uuid.NewString(), "cp-c": uuid.NewString(), "cp-a": uuid.NewString()}
	for cp, id := range ids {
		if code := f.post(t, reply(id, uuid.NewString(), cp)); code != 200 {
			t.Fatalf("%s: %d", cp, code)
		}
	}
	f.svc.Tick(ctx, "test")
	f.svc.Tick(ctx, "test")
	for cp, want := range map[string]string{"cp-x": "no reply mailbox", "cp-b": "no deliverTo", "cp-c": "refused"} {
		r := f.state(t, ids[cp])
		if r.State != StateQuarantined || !strings.Contains(r.Reason, want) || !r.Alerted {
			t.Errorf("%s: state %s reason %q alerted %v", cp, r.State, r.Reason, r.Alerted)
		}
	}
	if r := f.state(t, ids["cp-a"]); r.State != StateDelivered || r.Mailbox != "a" {
		t.Errorf("deliverable: %+v", r)
	}
	f.host.mu.Lock()
	alerts := 0
	for _, m := range f.host.mails {
		if m[0] == "it@k.dk" {
			alerts++
			if strings.Contains(m[len(m)-1], "Tak.") || strings.Contains(m[len(m)-1], base64.StdEncoding.EncodeToString([]byte("Tak."))) {
				t.Error("the alert carries the message's content")
			}
		}
	}
	f.host.mu.Unlock()
	if alerts != 3 {
		t.Fatalf("%d alerts, want one per quarantined message", alerts)
	}

	// Unreachable smarthost: retried, then quarantined.
	f.svc.Mail = &receipt.Mailer{Addr: "127.0.0.1:1", From: "no-reply@k.dk", Timeout: time.Second}
	id := uuid.NewString()
	f.post(t, reply(id, uuid.NewString(), "cp-a"))
	f.svc.Tick(ctx, "test")
	if r := f.state(t, id); r.State != StatePending || r.Attempts != 1 || r.LastError == "" {
		t.Fatalf("after one failure: %+v", r)
	}
	time.Sleep(10 * time.Millisecond)
	f.svc.Tick(ctx, "test")
	if r := f.state(t, id); r.State != StateQuarantined {
		t.Fatalf("after MaxAttempts: %+v", r)
	}
}

// TestCorrelationUsesTheRecipientsMailbox: a reply to a company's copy goes
// to the company mailbox the clerk chose, with the clerk in Cc only when
// that mailbox says so; the sent message records the reply.
func TestCorrelationUsesTheRecipientsMailbox(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []Mailbox{{ID: "borger", ContactPointID: "cp-1", DeliverTo: "borger@k.dk", CcSender: true}, {ID: "erhverv", ContactPointID: "cp-2", DeliverTo: "erhverv@k.dk"}})
	cprUUID, cvrUUID := uuid.NewString(), uuid.NewString()
	now := time.Now()
	m := &queue.Message{ID: uuid.NewString(), Sender: "anna@k.dk", IdempotencyKey: "k", Created: now, Subject: "Påbud", Reply: relayapi.ReplyChoice{Citizen: "borger", Company: "erhverv"},
		Recipients: []queue.RecipientState{
			{Input: "2211771212", ID: recipient.Parse("2211771212", now), Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusDelivered, MemoUUID: cprUUID},
			{Input: "31128706", ID: recipient.Parse("31128706", now), Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusDelivered, MemoUUID: cvrUUID},
		}}
	if _, _, err := f.store.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	r1, r2 := uuid.NewString(), uuid.NewString()
	f.post(t, reply(r1, strings.ToUpper(cvrUUID), "cp-2"))
	// The citizen's reply names our letter as the one it answers
	// (replyUUID), its own entry first, as MeMo's thread does.
	f.post(t, strings.Replace(reply(r2, r2, "cp-1"), "<memo:messageUUID>"+r2+"</memo:messageUUID><memo:contactPointID>",
		"<memo:messageUUID>"+r2+"</memo:messageUUID><memo:replyUUID>"+cprUUID+"</memo:replyUUID><memo:contactPointID>", 1))
	f.svc.Tick(ctx, "test")
	f.host.mu.Lock()
	got := map[string]string{}
	for _, mail := range f.host.mails {
		got[strings.Join(mail[:len(mail)-1], ",")] = mail[len(mail)-1]
	}
	f.host.mu.Unlock()
	company, citizen := got["erhverv@k.dk"], got["borger@k.dk,anna@k.dk"]
	if company == "" || citizen == "" {
		t.Fatalf("mails by recipients: %v", keys(got))
	}
	for _, mail := range []string{company, citizen} {
		if !strings.Contains(mail, "In-Reply-To: <receipt-"+m.ID+"@k.dk>") || !strings.Contains(mail, "Subject: =?utf-8?q?Svar:_P=C3=A5bud?=") {
			t.Errorf("not threaded or wrong subject:\n%.800s", mail)
		}
	}
	sent, _ := f.store.Get(ctx, m.ID)
	var kinds int
	for _, e := range sent.Events {
		if e.Kind == relayapi.EventReplied && e.Recipient == "221177-xxxx" {
			kinds++
		}
	}
	if kinds != 2 || sent.Status().RepliedAt.IsZero() {
		t.Fatalf("replied facts: %+v", sent.Status())
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRejectsWrongType: a body that is not XML, or too large, is rejected
// and nothing is kept.
func TestRejectsWrongType(t *testing.T) {
	f := newFixture(t, nil)
	resp, err := http.Post(f.url+Path, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON: %d", resp.StatusCode)
	}
	f.svc.MaxBytes = 100
	if code := f.post(t, reply(uuid.NewString(), uuid.NewString(), "x")); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %d", code)
	}
	rows, _ := f.svc.Store.List(context.Background(), "")
	if len(rows) != 0 {
		t.Fatalf("kept: %+v", rows)
	}
}

func FuzzFiles(f *testing.F) {
	for _, name := range []string{"MeMo_Full_Example.xml", "MeMo_with_attachment.xml", "MeMo_Minimum_Example.xml"} {
		b, err := os.ReadFile(filepath.Join(schemas.MeMoExamples(), name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(reply("a", "b", "c")))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := Files(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, x := range files {
			if bytes.ContainsAny(x.Base64, " \r\n\t") {
				t.Fatal("whitespace left in content")
			}
		}
	})
}

func TestFilesOfExample(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(schemas.MeMoExamples(), "MeMo_with_attachment.xml"))
	files, err := Files(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || !files[0].Main || files[0].Filename != "File1.txt" || files[1].Filename != "File2.txt" {
		t.Fatalf("files: %+v", files)
	}
	for _, x := range files {
		if _, err := base64.StdEncoding.DecodeString(string(x.Base64)); err != nil {
			t.Errorf("%s: %v", x.Filename, err)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact(`"2211771212" and 221177-1212 but not 12345`); got != `"221177-xxxx" and 221177-xxxx but not 12345` {
		t.Fatal(got)
	}
}

// TestCorruptStoredMessage: the mail is streamed from the stored message;
// when the stored copy turns out corrupt half-way, the SMTP transaction is
// dropped before its end (the smarthost keeps nothing) and the message is
// quarantined.
func TestCorruptStoredMessage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []Mailbox{{ID: "a", ContactPointID: "cp-a", DeliverTo: "a@k.dk"}})
	big := make([]byte, 2<<20)
	rand.Read(big)
	doc := strings.Replace(reply(uuid.NewString(), uuid.NewString(), "cp-a"), "</memo:MainDocument>",
		"</memo:MainDocument><memo:AdditionalDocument><memo:File><memo:encodingFormat>application/pdf</memo:encodingFormat><memo:filename>b.pdf</memo:filename><memo:language>da</memo:language><memo:content>"+
			base64.StdEncoding.EncodeToString(big)+"</memo:content></memo:File></memo:AdditionalDocument>", 1)
	if code := f.post(t, doc); code != 200 {
		t.Fatal(code)
	}
	rows, _ := f.svc.Store.List(ctx, StatePending)
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	p := filepath.Join(f.dir, "queue", "blobs", rows[0].Blob)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-100] ^= 0xff // the end of the attachment no longer authenticates
	os.WriteFile(p, b, 0o600)
	f.svc.Tick(ctx, "test")
	r := f.state(t, rows[0].ID)
	if r.State != StateQuarantined || !strings.Contains(r.Reason, "unreadable") {
		t.Fatalf("state %s reason %q", r.State, r.Reason)
	}
	f.host.mu.Lock()
	defer f.host.mu.Unlock()
	for _, m := range f.host.mails {
		if m[0] == "a@k.dk" {
			t.Fatal("a cut-off mail reached the smarthost")
		}
	}
}

// TestDuplicateKeepsOneCopy: a second delivery of a message is accepted,
// sends nothing more, and leaves no second stored copy behind.
func TestDuplicateKeepsOneCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []Mailbox{{ID: "a", ContactPointID: "cp-a", DeliverTo: "a@k.dk"}})
	id := uuid.NewString()
	doc := reply(id, uuid.NewString(), "cp-a")
	for i := 0; i < 3; i++ {
		if code := f.post(t, doc); code != 200 {
			t.Fatalf("delivery %d: %d", i+1, code)
		}
		f.svc.Tick(ctx, "test")
	}
	blobs, _ := filepath.Glob(filepath.Join(f.dir, "queue", "blobs", "*"))
	if len(blobs) != 1 {
		t.Fatalf("%d stored copies, want 1", len(blobs))
	}
	f.host.mu.Lock()
	defer f.host.mu.Unlock()
	if len(f.host.mails) != 1 {
		t.Fatalf("%d mails, want 1", len(f.host.mails))
	}
}
