package securemailbox

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

type sent struct{ to, msg string }

type outbox struct {
	mu   sync.Mutex
	mail []sent
}

func (o *outbox) Send(_ context.Context, to string, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mail = append(o.mail, sent{to, string(msg)})
	return nil
}

func (o *outbox) find(to, contains string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.mail {
		if m.to == to && strings.Contains(m.msg, contains) {
			return m.msg, true
		}
	}
	return "", false
}

type auditLog struct {
	mu      sync.Mutex
	actions []string
}

func (a *auditLog) Record(_ context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.actions = append(a.actions, action+":"+outcome)
	return nil
}

type fixture struct {
	svc   *Service
	store queue.Store
	mail  *outbox
	audit *auditLog
	sms   string
	ts    *httptest.Server
	now   time.Time
	mu    sync.Mutex
	// question, when set, is put on the next message sent.
	question *relayapi.SecurityQuestion
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	key, _ := vault.New(vault.NewRandomKey())
	store, err := queue.OpenBolt(filepath.Join(dir, "relay"), key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), "", dir, "relay.db")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := OpenStore(context.Background(), db, key.Derive("securemailbox"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, mail: &outbox{}, audit: &auditLog{}, sms: filepath.Join(dir, "demo", "sms.txt"), now: time.Now()}
	f.svc = &Service{
		Store: mb, Blobs: store.Blobs(), Messages: store, Mail: f.mail, From: "no-reply@kommune.dk",
		SMS: &FileSMS{Path: f.sms}, Org: queue.DemoOrganisation(), ReplyTo: map[string]string{"kommune": "post@kommune.dk"},
		ExpiryDays: 30, Audit: f.audit, Key: vault.NewRandomKey(), Log: slog.New(slog.DiscardHandler), Now: f.clock,
		Book: directory.NewMemoryBook(),
	}
	f.ts = httptest.NewServer(f.svc.Handler())
	t.Cleanup(func() { f.ts.Close(); db.Close(); store.Close() })
	return f
}

// send stores a relay message and delivers it to the mailbox; it returns
// the link from the notification mail.
func (f *fixture) send(t *testing.T, id, to string, deadline time.Time) string {
	t.Helper()
	ctx := context.Background()
	now := f.clock()
	m := &queue.Message{ID: id, Sender: "anna@kommune.dk", IdempotencyKey: id, Created: now, Subject: "Afgørelse", BodyHTML: "<p>Hemmelig tekst</p>",
		Reply: relayapi.ReplyChoice{Citizen: "kommune"}, ReadDeadline: deadline, Question: f.question,
		Recipients: []queue.RecipientState{{Input: to, ID: recipient.Parse(to, now), Channel: recipient.ChannelSecureMailbox, Status: relayapi.StatusDelivered}}}
	if _, _, err := f.store.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	d := &delivery.Delivery{MessageID: id, MemoUUID: id + "-memo", Recipient: recipient.Parse(to, now), Party: recipient.Party{Found: true, Mobile: "+4520304050"},
		Sender: delivery.Sender{Name: "Demo Kommune"}, Subject: m.Subject, BodyHTML: m.BodyHTML, Created: now,
		Attachments: []delivery.Attachment{{Filename: "afgørelse.pdf", ContentType: "application/pdf", Size: 9,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("%PDF-data")), nil }}}}
	for range 2 { // a retry delivers once
		if rec, err := f.svc.Deliver(ctx, d); err != nil || rec.Status != delivery.Delivered {
			t.Fatalf("deliver: %+v %v", rec, err)
		}
	}
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	var link string
	n := 0
	for _, m := range f.mail.mail {
		if m.to == to {
			n++
			if strings.Contains(m.msg, "Hemmelig") || strings.Contains(m.msg, "Afgørelse") {
				t.Fatalf("notification holds content:\n%s", m.msg)
			}
			link = regexp.MustCompile(`/m/[A-Za-z0-9_-]+`).FindString(m.msg)
		}
	}
	if n != 1 || link == "" {
		t.Fatalf("%d notifications, link %q", n, link)
	}
	return f.ts.URL + link
}

type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t, &http.Client{Jar: jar}}
}

func (b *browser) get(u string) (int, string) {
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (b *browser) post(u, page string, form url.Values) (int, string) {
	m := csrfRe.FindStringSubmatch(page)
	if m != nil {
		form.Set("csrf", m[1])
	}
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func lastCode(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`\b(\d{6})\b`).FindAllStringSubmatch(string(b), -1)
	return codes[len(codes)-1][1]
}

func TestReadDownloadReply(t *testing.T) {
	f := newFixture(t)
	link := f.send(t, "m1", "borger@gmail.com", time.Time{})
	b := newBrowser(t)
	code, page := b.get(link)
	if code != 200 || !strings.Contains(page, "slutter på <strong>50</strong>") || strings.Contains(page, "Hemmelig") {
		t.Fatalf("landing: %d\n%s", code, page)
	}
	if code, _ := b.get(link + "/read"); code != 200 { // redirected to the code page
		t.Fatalf("read without code: %d", code)
	}
	// Without the CSRF token a form is refused.
	if code, _ := b.post(link+"/code", "", url.Values{}); code != 403 {
		t.Fatalf("code without csrf: %d", code)
	}
	if code, _ := b.post(link+"/code", page, url.Values{}); code != 200 {
		t.Fatalf("send code: %d", code)
	}
	c := lastCode(t, f.sms)
	code, page = b.post(link+"/verify", page, url.Values{"code": {c}})
	if code != 200 || !strings.Contains(page, "Afgørelse") || !strings.Contains(page, "afgørelse.pdf") {
		t.Fatalf("read: %d\n%s", code, page)
	}
	// Single use: the same code does not open it again in another browser.
	other := newBrowser(t)
	_, p2 := other.get(link)
	if code, _ := other.post(link+"/verify", p2, url.Values{"code": {c}}); code != 401 {
		t.Fatalf("code reused: %d", code)
	}
	if _, body := b.get(link + "/body"); !strings.Contains(body, "Hemmelig tekst") {
		t.Fatalf("body: %s", body)
	}
	if code, file := b.get(link + "/files/0"); code != 200 || file != "%PDF-data" {
		t.Fatalf("file: %d %q", code, file)
	}
	code, page2 := b.post(link+"/reply", page, url.Values{"text": {"Tak, jeg har læst den."}})
	if code != 200 || !strings.Contains(page2, "Dit svar er sendt") {
		t.Fatalf("reply: %d\n%s", code, page2)
	}
	if m, ok := f.mail.find("post@kommune.dk", "Tak, jeg har læst den."); !ok || !strings.Contains(m, "X-Sendsikkert-Id: m1") {
		t.Fatalf("reply did not reach the reply mailbox: %v", f.mail.mail)
	}
	// The one who replied is now in the address book.
	if got, _ := f.svc.Book.Search(context.Background(), "svarede", "", 0); len(got) != 1 {
		t.Fatalf("address book after the reply: %+v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := f.mail.find("anna@kommune.dk", "X-Sendsikkert-Status: read"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no read receipt")
		}
		time.Sleep(10 * time.Millisecond)
	}
	m, _ := f.store.Get(context.Background(), "m1")
	var events []string
	for _, e := range m.Events {
		events = append(events, e.What)
	}
	if !strings.Contains(strings.Join(events, "|"), "Læst i sikker mailboks") {
		t.Fatalf("events: %v", events)
	}
	// Revoked: gone, content deleted.
	if n, err := f.svc.Revoke(context.Background(), "m1"); n != 1 || err != nil {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if code, page := b.get(link + "/read"); code != 410 || !strings.Contains(page, "trukket tilbage") {
		t.Fatalf("after revoke: %d", code)
	}
	if code, _ := b.get(link + "/files/0"); code != 410 {
		t.Fatalf("file after revoke: %d", code)
	}
	a := strings.Join(f.audit.actions, " ")
	for _, want := range []string{"mailbox-open:right-code", "mailbox-open-failed:wrong-code", "mailbox-read", "mailbox-download", "mailbox-reply", "mailbox-revoke"} {
		if !strings.Contains(a, want) {
			t.Errorf("audit lacks %s: %s", want, a)
		}
	}
}

func TestWrongCodesLock(t *testing.T) {
	f := newFixture(t)
	link := f.send(t, "m2", "borger@gmail.com", time.Time{})
	b := newBrowser(t)
	_, page := b.get(link)
	b.post(link+"/code", page, url.Values{})
	right := lastCode(t, f.sms)
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i := range MaxFailures {
		code, _ := b.post(link+"/verify", page, url.Values{"code": {wrong}})
		if i < MaxFailures-1 && code != 401 || i == MaxFailures-1 && code != 423 {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code, _ := b.post(link+"/verify", page, url.Values{"code": {right}}); code != 423 {
		t.Fatalf("right code after lock: %d", code)
	}
	if code, _ := b.get(link); code != 423 {
		t.Fatalf("locked page: %d", code)
	}
}

func TestCodeRateLimitAndExpiry(t *testing.T) {
	f := newFixture(t)
	link := f.send(t, "m3", "borger@gmail.com", time.Time{})
	b := newBrowser(t)
	_, page := b.get(link)
	for i := range MaxCodeSends + 1 {
		code, _ := b.post(link+"/code", page, url.Values{})
		if i < MaxCodeSends && code != 200 || i == MaxCodeSends && code != 429 {
			t.Fatalf("send %d: %d", i+1, code)
		}
	}
	c := lastCode(t, f.sms)
	f.advance(CodeLifetime + time.Second)
	if code, _ := b.post(link+"/verify", page, url.Values{"code": {c}}); code != 401 {
		t.Fatalf("expired code: %d", code)
	}
	if code, _ := b.get(f.ts.URL + "/m/" + strings.Repeat("A", 43)); code != 404 {
		t.Fatalf("guessed link: %d", code)
	}
}

func TestDeadlineAlertAndExpiry(t *testing.T) {
	f := newFixture(t)
	link := f.send(t, "m4", "borger@gmail.com", f.clock().Add(48*time.Hour))
	f.svc.Sweep(context.Background())
	if _, ok := f.mail.find("anna@kommune.dk", "unread-deadline"); ok {
		t.Fatal("alert before the deadline")
	}
	f.advance(49 * time.Hour)
	f.svc.Sweep(context.Background())
	f.svc.Sweep(context.Background())
	n := 0
	for _, m := range f.mail.mail {
		if m.to == "anna@kommune.dk" && strings.Contains(m.msg, "X-Sendsikkert-Status: unread-deadline") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d alerts", n)
	}
	f.advance(30 * 24 * time.Hour)
	f.svc.Sweep(context.Background())
	if code, page := newBrowser(t).get(link); code != 410 || !strings.Contains(page, "udløbet") {
		t.Fatalf("expired: %d", code)
	}
}

func TestSecurityQuestion(t *testing.T) {
	f := newFixture(t)
	f.question = &relayapi.SecurityQuestion{Question: "Hvad hed din første hund?", Answer: "  Fido  Hansen "}
	link := f.send(t, "m5", "borger@gmail.com", time.Time{})
	b := newBrowser(t)
	_, page := b.get(link)
	b.post(link+"/code", page, url.Values{})
	code, page := b.post(link+"/verify", page, url.Values{"code": {lastCode(t, f.sms)}})
	if code != 200 || !strings.Contains(page, "Hvad hed din første hund?") || strings.Contains(page, "Hemmelig") {
		t.Fatalf("question: %d\n%s", code, page)
	}
	// The code alone does not open the content.
	if code, body := b.get(link + "/body"); code == 200 || strings.Contains(body, "Hemmelig") {
		t.Fatalf("body before the answer: %d", code)
	}
	if code, _ := b.post(link+"/answer", page, url.Values{"answer": {"Rex"}}); code != 401 {
		t.Fatalf("wrong answer: %d", code)
	}
	code, page = b.post(link+"/answer", page, url.Values{"answer": {"fido hansen"}})
	if code != 200 || !strings.Contains(page, "Afgørelse") {
		t.Fatalf("right answer: %d\n%s", code, page)
	}
	if !strings.Contains(strings.Join(f.audit.actions, " "), "mailbox-open-failed:wrong-answer") {
		t.Fatalf("audit: %v", f.audit.actions)
	}
}
