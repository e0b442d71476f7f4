package relayclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// demoRelay runs the real demo relay (relayd.Assemble, as the agent's
// demo mode does) with its worker, for a sender "anna" with token "tok".
func demoRelay(t *testing.T) *httptest.Server {
	t.Helper()
	key, err := vault.New(vault.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	r, closeRelay, err := demo.NewRelay(context.Background(), demo.Options{
		Dir: t.TempDir(), Key: key, Auth: relay.BearerAuth("tok", "anna"),
		BaseURL: "http://" + ts.Listener.Addr().String(), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = r.Handler()
	ts.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { ts.Close(); cancel(); <-done; closeRelay() })
	return ts
}

func pdf(name, body string) relayclient.Upload {
	return relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: name, ContentType: "application/pdf"},
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
}

// TestAgainstTheRelay: every call of the client against the real relay.
func TestAgainstTheRelay(t *testing.T) {
	ts := demoRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL + "/", Token: "tok"} // a trailing slash is fine
	ctx := context.Background()

	rep, err := c.Check(ctx, []string{"221177-1212", "0101010101"})
	if err != nil || len(rep.Results) != 2 || !rep.Results[0].Secure || rep.Results[1].Secure || rep.AllSecure {
		t.Fatalf("check: %+v %v", rep, err)
	}
	rep, err = c.CheckMobiles(ctx, []string{"borger@gmail.com"}, map[string]string{"borger@gmail.com": "12345678"})
	if err != nil || rep.Results[0].Channel != recipient.ChannelSecureMailbox {
		t.Fatalf("check with mobile: %+v %v", rep, err)
	}
	mc, err := c.ReplyMailboxes(ctx)
	if err != nil || len(mc.Citizen.Options) != 3 || mc.Citizen.Selected != "kommune" {
		t.Fatalf("reply mailboxes: %+v %v", mc, err)
	}
	domains, err := c.Domains(ctx, "demo-reg", "")
	if err != nil || len(domains) != 1 || domains[0].Domain != "demo-region.dk" {
		t.Fatalf("domains: %+v %v", domains, err)
	}
	entries, err := c.AddressBook(ctx, "", "o")
	if err != nil || len(entries) != 1 || entries[0].Email != "ole.olsen@demo-advokat.dk" {
		t.Fatalf("address book: %+v %v", entries, err)
	}

	msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", IdempotencyKey: "k-1"}
	files := []relayclient.Upload{pdf(`af"gø\relse`+"\r\n.pdf", "%PDF-1.4 a"), pdf("b.pdf", "%PDF-1.4 b")}
	sub, err := c.Submit(ctx, msg, files)
	if err != nil || sub.ID == "" || sub.Status != relayapi.StatusQueued {
		t.Fatalf("submit: %+v %v", sub, err)
	}
	again, err := c.Submit(ctx, msg, files)
	if err != nil || again.ID != sub.ID {
		t.Fatalf("repeat: %+v %v, want id %s", again, err, sub.ID)
	}
	var st relayapi.MessageStatus
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err = c.Status(ctx, sub.ID); err == nil && st.Status.Final() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered in 15 s: %+v %v", st, err)
		}
	}
	if st.Status != relayapi.StatusDelivered || st.Events[0].Kind != relayapi.EventReceived {
		t.Fatalf("status %+v", st)
	}
	var e *relayapi.Error
	if _, err := c.Revoke(ctx, sub.ID); !errors.As(err, &e) || e.Code != "not_revocable" {
		t.Fatalf("revoke of a Digital Post send: %v", err)
	}
	if _, err := c.Status(ctx, "no-such-id"); !errors.As(err, &e) || e.Code != "not_found" {
		t.Fatalf("unknown id: %v", err)
	}
	bad := &relayapi.MessageRequest{Recipients: []string{"0101010101"}, Subject: "x", IdempotencyKey: "k-2"}
	if _, err := c.Submit(ctx, bad, nil); !errors.As(err, &e) || e.Code != "recipient_rejected" || len(e.Recipients) != 1 {
		t.Fatalf("rejected recipient: %v", err)
	}
	stranger := &relayclient.Client{BaseURL: ts.URL, Token: "wrong"}
	if _, err := stranger.ReplyMailboxes(ctx); !errors.As(err, &e) || e.Code != "unauthorized" || errors.Is(err, relayclient.ErrUnavailable) {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestAnswers: how the client tells the relay's answers apart — an
// answer (decoded), a refusal for the clerk (*relayapi.Error, only with the
// relay's own JSON error body), and a relay that cannot answer now
// (ErrUnavailable, so the outbox retries): a 4xx without the relay's body
// is a proxy's or a portal's, not the relay's refusal (issue 15).
func TestAnswers(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		unavailable bool
		code        string // of the *relayapi.Error
	}{
		{"ok", 200, `{"citizen":{"options":[{"id":"k","label":"K"}],"selected":"k"}}`, false, ""},
		{"refusal", 409, `{"error":"not_revocable","message":"Der er intet at trække tilbage."}`, false, "not_revocable"},
		{"refusal without a body (a proxy)", 404, ``, true, ""},
		{"refusal in HTML (a proxy)", 403, `<html>Forbidden</html>`, true, ""},
		{"refusal without a code", 400, `{"message":"x"}`, true, ""},
		{"refusal without a message", 400, `{"error":"x"}`, true, ""},
		{"server error", 500, `{"error":"store","message":"x"}`, true, ""},
		{"overloaded", 503, ``, true, ""},
		{"bad answer", 200, `{"citizen":`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer ts.Close()
			c := &relayclient.Client{BaseURL: ts.URL, Token: "tok", HTTP: ts.Client()}
			mc, err := c.ReplyMailboxes(context.Background())
			var e *relayapi.Error
			switch {
			case tt.unavailable:
				if !errors.Is(err, relayclient.ErrUnavailable) {
					t.Fatalf("err %v, want ErrUnavailable", err)
				}
			case tt.code != "":
				if !errors.As(err, &e) || e.Code != tt.code || e.Message == "" || errors.Is(err, relayclient.ErrUnavailable) {
					t.Fatalf("err %v, want *Error %s", err, tt.code)
				}
			default:
				if err != nil || mc.Citizen.Selected != "k" {
					t.Fatalf("%+v %v", mc, err)
				}
			}
			if auth != "Bearer tok" {
				t.Errorf("Authorization %q", auth)
			}
		})
	}
}

// TestUnreachable: a relay that is down is ErrUnavailable on every call;
// a malformed address is an error of its own.
func TestUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	c := &relayclient.Client{BaseURL: url}
	ctx := context.Background()
	calls := map[string]func() error{
		"check":       func() error { _, err := c.Check(ctx, []string{"2211771212"}); return err },
		"mailboxes":   func() error { _, err := c.ReplyMailboxes(ctx); return err },
		"status":      func() error { _, err := c.Status(ctx, "x"); return err },
		"revoke":      func() error { _, err := c.Revoke(ctx, "x"); return err },
		"submit":      func() error { _, err := c.Submit(ctx, &relayapi.MessageRequest{}, nil); return err },
		"domains":     func() error { _, err := c.Domains(ctx, "a", "b"); return err },
		"addressbook": func() error { _, err := c.AddressBook(ctx, "a", ""); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, relayclient.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
	bad := &relayclient.Client{BaseURL: "http://relay\x7f"}
	calls = map[string]func() error{
		"check":     func() error { _, err := bad.Check(ctx, nil); return err },
		"mailboxes": func() error { _, err := bad.ReplyMailboxes(ctx); return err },
		"status":    func() error { _, err := bad.Status(ctx, "x"); return err },
		"revoke":    func() error { _, err := bad.Revoke(ctx, "x"); return err },
		"submit":    func() error { _, err := bad.Submit(ctx, &relayapi.MessageRequest{}, nil); return err },
		"domains":   func() error { _, err := bad.Domains(ctx, "", ""); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil || errors.Is(err, relayclient.ErrUnavailable) {
			t.Errorf("%s with a malformed address: %v", name, err)
		}
	}
}

// TestSubmitStreams: the body is multipart with the message first and
// each attachment after it under its (quoted) name; an attachment that
// cannot be opened ends the submit with an error and no answer.
func TestSubmitStreams(t *testing.T) {
	type part struct{ name, filename, contentType, body string }
	var parts []part
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				if err != io.EOF {
					w.WriteHeader(400)
					return
				}
				break
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
		}
		w.WriteHeader(202)
		io.WriteString(w, `{"id":"m-1","status":"queued"}`)
	}))
	defer ts.Close()
	c := &relayclient.Client{BaseURL: ts.URL}
	ctx := context.Background()
	msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "k"}
	res, err := c.Submit(ctx, msg, []relayclient.Upload{pdf(`a"b`+"\r\n.pdf", "%PDF a"), pdf(`c\d.pdf`, "%PDF c")})
	if err != nil || res.ID != "m-1" || res.Status != relayapi.StatusQueued {
		t.Fatalf("%+v %v", res, err)
	}
	if len(parts) != 3 || parts[0].name != "message" || parts[0].contentType != "application/json" || !strings.Contains(parts[0].body, `"idempotencyKey":"k"`) {
		t.Fatalf("parts %+v", parts)
	}
	if parts[1].name != "attachment" || parts[1].filename != `a"b.pdf` || parts[1].body != "%PDF a" || parts[1].contentType != "application/pdf" {
		t.Errorf("first attachment %+v", parts[1])
	}
	if parts[2].filename != `d.pdf` && parts[2].filename != `c\d.pdf` {
		t.Errorf("second attachment %+v", parts[2])
	}
	broken := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "x.pdf"}, Open: func() (io.ReadCloser, error) { return nil, errors.New("gone") }}
	if _, err := c.Submit(ctx, msg, []relayclient.Upload{broken}); err == nil {
		t.Fatal("submit with an attachment that cannot be opened succeeded")
	}
}
