package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// countingChannel counts deliveries per MemoUUID.
type countingChannel struct {
	mu    sync.Mutex
	seen  map[string]int
	fails atomic.Int32
}

func (c *countingChannel) Deliver(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	if c.fails.Load() > 0 {
		c.fails.Add(-1)
		return delivery.Receipt{}, io.ErrUnexpectedEOF
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[d.MemoUUID]++
	for _, a := range d.Attachments {
		rc, err := a.Open()
		if err != nil {
			return delivery.Receipt{}, err
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	return delivery.Receipt{Status: delivery.Delivered}, nil
}

type reg struct{}

func (reg) Lookup(_ context.Context, id recipient.ID) (recipient.Party, error) {
	if id.Value == "2211771212" {
		return recipient.Party{Found: true, Name: "Karen", DigitalPost: true}, nil
	}
	return recipient.Party{}, nil
}

// testRelay starts a relay with its worker on a bbolt store; setup
// changes either before they start.
func testRelay(t *testing.T, setup ...func(*Server, *queue.Worker)) (*Server, *countingChannel, *httptest.Server) {
	t.Helper()
	key, _ := vault.New(vault.NewRandomKey())
	store, err := queue.OpenBolt(t.TempDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	ch := &countingChannel{seen: map[string]int{}}
	channels := map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: ch}
	w := &queue.Worker{Store: store, Org: queue.DemoOrganisation(), Channels: channels, Log: slog.New(slog.DiscardHandler)}
	s := &Server{
		Store: store, Registry: reg{}, Org: queue.DemoOrganisation(), Channels: channels,
		Authenticate: BearerAuth("tok", "anna"), Log: slog.New(slog.DiscardHandler), Queued: w.Wake,
	}
	for _, f := range setup {
		f(s, w)
	}
	ts := httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { ts.Close(); cancel(); <-done; store.Close() })
	return s, ch, ts
}

func TestSubmitIdempotentAndRetried(t *testing.T) {
	_, ch, ts := testRelay(t)
	ch.fails.Store(2) // the channel fails twice, then works
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: "k-1"}
	file := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf"}, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("%PDF-1.4 data")), nil
	}}
	r1, err := c.Submit(context.Background(), msg, []relayclient.Upload{file})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Submit(context.Background(), msg, []relayclient.Upload{file})
	if err != nil || r2.ID != r1.ID {
		t.Fatalf("repeat: %v %v, want id %s", r2, err, r1.ID)
	}
	// Backoff after two failures is 2 s + 4 s at most; wait for delivery.
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.Status(context.Background(), r1.ID)
		if err == nil && st.Status == relayapi.StatusDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.seen) != 1 {
		t.Fatalf("deliveries: %v", ch.seen)
	}
	for _, n := range ch.seen {
		if n != 1 {
			t.Fatalf("delivered %d times", n)
		}
	}
	other := &relayclient.Client{BaseURL: ts.URL, Token: "wrong"}
	if _, err := other.Status(context.Background(), r1.ID); err == nil {
		t.Fatal("status without auth")
	}
}

func TestSubmitRefusals(t *testing.T) {
	s, _, ts := testRelay(t)
	post := func(msg any, parts int, size int) (int, relayapi.Error) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormField("message")
		json.NewEncoder(w).Encode(msg)
		for i := range parts {
			w, _ := mw.CreateFormFile("attachment", "f"+string(rune('a'+i))+".pdf")
			w.Write(append([]byte("%PDF-1.4\n"), make([]byte, size)...))
		}
		mw.Close()
		req, _ := http.NewRequest("POST", ts.URL+"/v1/messages", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e relayapi.Error
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	ok := map[string]any{"recipients": []string{"2211771212"}, "subject": "x", "idempotencyKey": "r1"}
	if code, e := post(ok, 11, 1); code != 413 || e.Code != "too_many_attachments" {
		t.Errorf("11 files: %d %+v", code, e)
	}
	unknown := map[string]any{"recipients": []string{"0101010101"}, "subject": "x", "idempotencyKey": "r2"}
	if code, e := post(unknown, 0, 0); code != 400 || e.Code != "recipient_rejected" || len(e.Recipients) != 1 {
		t.Errorf("unknown: %d %+v", code, e)
	}
	nokey := map[string]any{"recipients": []string{"2211771212"}, "subject": "x"}
	if code, e := post(nokey, 0, 0); code != 400 || e.Code != "idempotency_key_missing" {
		t.Errorf("no key: %d %+v", code, e)
	}
	// A refused submit leaves no blob behind.
	if entries, _ := os.ReadDir(s.Store.Blobs().Dir); len(entries) != 0 {
		t.Errorf("blobs left after refusals: %v", entries)
	}
}

// TestSubmitAttachmentFormats submits files as a case system or the
// agent would, and checks what the relay does with each: Digital Post's
// formats pass under a clean, distinct name that follows the content;
// text is converted to PDF; a program, an empty file and an unknown
// format are refused with a Danish message naming the file, and nothing
// is queued.
func TestSubmitAttachmentFormats(t *testing.T) {
	s, _, ts := testRelay(t)
	type file struct{ name, ct, body string }
	post := func(key string, files ...file) (int, relayapi.Error, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormField("message")
		json.NewEncoder(w).Encode(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse", "idempotencyKey": key})
		for _, f := range files {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="attachment"; filename="`+f.name+`"`)
			h.Set("Content-Type", f.ct)
			pw, _ := mw.CreatePart(h)
			pw.Write([]byte(f.body))
		}
		mw.Close()
		req, _ := http.NewRequest("POST", ts.URL+"/v1/messages", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e relayapi.Error
		json.Unmarshal(raw, &e)
		var ok relayapi.SubmitResponse
		json.Unmarshal(raw, &ok)
		return resp.StatusCode, e, ok.ID
	}
	pdf := "%PDF-1.4\n1 0 obj\n"
	for _, tt := range []struct {
		name   string
		file   file
		status int
		code   string
	}{
		{"program", file{"faktura.pdf.exe", "application/octet-stream", "MZ\x90\x00"}, 415, "attachment_executable"},
		{"program disguised", file{"faktura.pdf", "application/pdf", "MZ\x90\x00"}, 415, "attachment_executable"},
		{"empty", file{"tom.pdf", "application/pdf", ""}, 400, "attachment_empty"},
		{"unknown", file{"data.bin", "application/octet-stream", "\x00\x01\x02\x03"}, 415, "attachment_format"},
	} {
		code, e, id := post("refuse-"+tt.name, file{"ok.pdf", "application/pdf", pdf}, tt.file)
		if code != tt.status || e.Code != tt.code || id != "" {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, code, e, tt.status, tt.code)
		}
		if want := "»" + attachment.CleanName(tt.file.name, 1) + "«"; !strings.Contains(e.Message, want) {
			t.Errorf("%s: message %q does not name %s", tt.name, e.Message, want)
		}
	}
	if entries, _ := os.ReadDir(s.Store.Blobs().Dir); len(entries) != 0 {
		t.Errorf("blobs left after refusals: %v", entries)
	}

	code, e, id := post("accept",
		file{"notat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", pdf},
		file{"bilag\u00a0om\u2003sagen.pdf", "application/pdf", pdf},
		file{"bilag om sagen.pdf", "application/pdf", pdf},
		file{"noter.txt", "text/plain", "Kære Jens\n\nSøren Ærø på Åbyhøj."},
	)
	if code != http.StatusAccepted || id == "" {
		t.Fatalf("accept: %d %+v", code, e)
	}
	m, err := s.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range m.Attachments {
		got = append(got, f.Filename+" "+f.ContentType)
	}
	want := []string{"notat.pdf application/pdf", "bilag om sagen.pdf application/pdf", "bilag om sagen (2).pdf application/pdf", "noter.pdf application/pdf"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stored attachments %q, want %q", got, want)
	}
	rc, err := s.Store.Blobs().Open(m.Attachments[3].Blob)
	if err != nil {
		t.Fatal(err)
	}
	converted, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.HasPrefix(converted, []byte("%PDF-")) || int64(len(converted)) != m.Attachments[3].Size {
		t.Errorf("converted text is not the PDF it claims: %d bytes, size %d, %.20q", len(converted), m.Attachments[3].Size, converted)
	}
}

// TestSubmitInlineLogo sends a body as Outlook writes it, with the
// signature's logo as an "inline" part: the stored body carries the logo
// as a data: URI and nothing that loads by itself, and the answer notes
// the remote picture that was removed.
func TestSubmitInlineLogo(t *testing.T) {
	s, _, ts := testRelay(t)
	logo := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-logo")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("message")
	json.NewEncoder(w).Encode(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse", "idempotencyKey": "logo",
		"bodyHtml": `<p>Med venlig hilsen</p><img src="cid:image001.png@01DA0000.12345678" alt="Demo Kommune"><img src="https://sporing.example/p.gif"><script>alert(1)</script>`})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="inline"; filename="image001.png"`)
	h.Set("Content-Type", "image/png")
	h.Set("Content-ID", "<image001.png@01DA0000.12345678>")
	pw, _ := mw.CreatePart(h)
	pw.Write(logo)
	mw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/messages", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out relayapi.SubmitResponse
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted || len(out.Notes) != 1 || !strings.Contains(out.Notes[0], "internettet") {
		t.Fatalf("submit: %d %+v", resp.StatusCode, out)
	}
	m, err := s.Store.Get(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "data:image/png;base64," + base64.StdEncoding.EncodeToString(logo); !strings.Contains(m.BodyHTML, want) {
		t.Errorf("logo not embedded: %s", m.BodyHTML)
	}
	for _, bad := range []string{"cid:", "sporing.example", "<script"} {
		if strings.Contains(m.BodyHTML, bad) {
			t.Errorf("stored body keeps %q: %s", bad, m.BodyHTML)
		}
	}
	if len(m.Attachments) != 0 {
		t.Errorf("the logo became an attachment: %+v", m.Attachments)
	}
}

// acceptingChannel only accepts; followed tells the outcome later.
type acceptingChannel struct{}

func (acceptingChannel) Deliver(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	return delivery.Receipt{Status: delivery.Accepted, Reference: d.MemoUUID}, nil
}

type followed struct {
	mu     sync.Mutex
	asked  int
	forgot []string
}

func (f *followed) Status(_ context.Context, ref string) (delivery.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.asked < 3 {
		return delivery.Accepted, nil
	}
	return delivery.Delivered, nil
}

func (f *followed) Forget(ref string) error {
	f.mu.Lock()
	f.forgot = append(f.forgot, ref)
	f.mu.Unlock()
	return nil
}

// TestAcceptedIsNotDelivered: a channel's "accepted" keeps the recipient
// sending until the status follow-up says delivered.
func TestAcceptedIsNotDelivered(t *testing.T) {
	f := &followed{}
	_, _, ts := testRelay(t, func(s *Server, w *queue.Worker) {
		s.Channels[recipient.ChannelDigitalPost] = acceptingChannel{}
		w.Follower, w.FollowInterval = f, 100*time.Millisecond
	})
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	r, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: "acc-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sawSending := false
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == relayapi.StatusSending && st.Recipients[0].Status == relayapi.StatusSending {
			sawSending = true
		}
		if st.Status == relayapi.StatusDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never delivered: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawSending {
		t.Error("accepted was reported as delivered at once")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forgot) != 1 {
		t.Errorf("Forget calls: %v", f.forgot)
	}
}
