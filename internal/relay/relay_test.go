package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
			w.Write(make([]byte, size))
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
