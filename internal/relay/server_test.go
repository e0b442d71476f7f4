package relay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

type failingAudit struct{}

func (failingAudit) Record(context.Context, string, string, recipient.ID, string, string, string) error {
	return errors.New("disk full")
}

// exemptRegistry adds an exempt citizen to reg's.
type exemptRegistry struct{ reg }

func (r exemptRegistry) Lookup(ctx context.Context, id recipient.ID) (recipient.Party, error) {
	if id.Value == "0707614285" {
		return recipient.Party{Found: true, Name: "Jens", Address: []string{"Testvej 1"}}, nil
	}
	return r.reg.Lookup(ctx, id)
}

// TestSubmitDecisions: what the relay queues for each recipient and
// choice — an exempt citizen waits for the clerk's choice unless a letter
// was asked for and a printer is there; a letter takes PDF attachments
// only; an agent's UUID key becomes the relay's id too.
func TestSubmitDecisions(t *testing.T) {
	printer := channelFuncT(func(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
		return delivery.Receipt{Status: delivery.Printed}, nil
	})
	key := uuid.NewString()
	tests := []struct {
		name     string
		fallback string
		print    bool
		file     string
		key      string
		code     string // refusal
		status   relayapi.Status
		sameID   bool
	}{
		{"exempt, no letter asked", "", true, "", "d1", "", relayapi.StatusNeedsFallback, false},
		{"exempt, letter, no printer", "print", false, "", "d2", "", relayapi.StatusNeedsFallback, false},
		{"exempt, letter", "print", true, "brev.pdf", "d3", "", relayapi.StatusQueued, false},
		{"exempt, letter, not a PDF", "print", true, "brev.docx", "d4", "not_printable", "", false},
		{"agent's UUID key", "print", true, "", key, "", relayapi.StatusQueued, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, ts := testRelay(t, func(s *Server, w *queue.Worker) {
				s.Registry = exemptRegistry{}
				s.Printable = attachment.Printable
				if tt.print {
					s.Channels[recipient.ChannelPrint] = printer
				}
			})
			c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
			var files []relayclient.Upload
			if tt.file != "" {
				files = append(files, relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: tt.file},
					Open: func() (io.ReadCloser, error) {
						if strings.HasSuffix(tt.file, ".docx") {
							return io.NopCloser(strings.NewReader("PK\x03\x04 a Word file")), nil
						}
						return io.NopCloser(strings.NewReader("%PDF")), nil
					}})
			}
			res, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"0707614285"}, Subject: "Brev",
				IdempotencyKey: tt.key, Fallback: tt.fallback}, files)
			var e *relayapi.Error
			if tt.code != "" {
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Store.Get(context.Background(), res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Recipients[0].Status != tt.status && !(tt.status == relayapi.StatusQueued && m.Recipients[0].Status.Final()) {
				t.Errorf("recipient %s, want %s", m.Recipients[0].Status, tt.status)
			}
			if (res.ID == tt.key) != tt.sameID {
				t.Errorf("id %s for key %s", res.ID, tt.key)
			}
		})
	}
}

// TestLookupRefusedWithoutAudit: a lookup the LOG module cannot record
// is not made.
func TestLookupRefusedWithoutAudit(t *testing.T) {
	_, _, ts := testRelay(t, func(s *Server, w *queue.Worker) { s.Audit = failingAudit{} })
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	if _, err := c.Check(context.Background(), []string{"2211771212"}); !errors.Is(err, relayclient.ErrUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("got %v, want 503", err)
	}
}

// TestCheckRefusals: the check's own limits, each a 400 with its code.
func TestCheckRefusals(t *testing.T) {
	_, _, ts := testRelay(t)
	many := make([]string, relayapi.MaxRecipients+1)
	for i := range many {
		many[i] = "2211771212"
	}
	for _, tt := range []struct {
		body string
		code string
	}{
		{`{"recipients":`, "bad_json"},
		{mustJSON(relayapi.CheckRequest{Recipients: many}), "too_many_recipients"},
		{mustJSON(relayapi.CheckRequest{Recipients: []string{"a@b.dk"}, Mobiles: map[string]string{"a@b.dk": "1"}}), "bad_mobile"},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/recipients/check", strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e relayapi.Error
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Code != tt.code {
			t.Errorf("%s: %d %+v, want 400 %s", tt.body[:min(len(tt.body), 30)], resp.StatusCode, e, tt.code)
		}
	}
	// A channel this relay lacks is not secure here.
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	rep, err := c.CheckMobiles(context.Background(), []string{"a@gmail.com"}, map[string]string{"a@gmail.com": "12345678"})
	if err != nil || rep.Results[0].Secure {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestStatusIsTheSenders: only a message's sender sees its status.
func TestStatusIsTheSenders(t *testing.T) {
	s, _, ts := testRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	res, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "own"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := httptestServer(t, s, BearerAuth("tok2", "bo"))
	var e *relayapi.Error
	if _, err := (&relayclient.Client{BaseURL: other, Token: "tok2"}).Status(context.Background(), res.ID); !errors.As(err, &e) || e.Code != "not_found" {
		t.Fatalf("another sender: %v", err)
	}
	if _, err := (&relayclient.Client{BaseURL: other, Token: "tok2"}).Revoke(context.Background(), res.ID); !errors.As(err, &e) || e.Code != "not_found" {
		t.Fatalf("another sender revokes: %v", err)
	}
}

// TestDirectoryAndMailboxes: the portal's lists and the reply mailboxes.
func TestDirectoryAndMailboxes(t *testing.T) {
	s, _, ts := testRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	ctx := context.Background()
	if d, err := c.Domains(ctx, "", ""); err != nil || len(d) != 0 {
		t.Fatalf("no list: %v %v", d, err)
	}
	if b, err := c.AddressBook(ctx, "", ""); err != nil || len(b) != 0 {
		t.Fatalf("no book: %v %v", b, err)
	}
	s.Domains = &directory.Domains{}
	s.Domains.Set(directory.DemoDomains())
	s.Book = directory.DemoBook()
	if d, err := c.Domains(ctx, "demo-komm", ""); err != nil || len(d) != 1 {
		t.Fatalf("domains: %v %v", d, err)
	}
	if b, err := c.AddressBook(ctx, "Ole", ""); err != nil || len(b) != 1 {
		t.Fatalf("book: %v %v", b, err)
	}
	mc, err := c.ReplyMailboxes(ctx)
	if err != nil || len(mc.Company.Options) != 3 || mc.Company.Selected != "kommune" {
		t.Fatalf("mailboxes: %+v %v", mc, err)
	}
}

// TestAuthNames: the kinds are named in logs and test failures.
func TestAuthNames(t *testing.T) {
	for a, want := range map[Auth]string{AuthPublic: "public", AuthDevice: "device", AuthPartner: "partner", 0: "auth(0)"} {
		if a.String() != want {
			t.Errorf("%d: %s", int(a), a)
		}
	}
}

type channelFuncT func(context.Context, *delivery.Delivery) (delivery.Receipt, error)

func (f channelFuncT) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	return f(ctx, d)
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// httptestServer serves s's routes with another authenticator.
func httptestServer(t *testing.T, s *Server, auth DeviceAuth) string {
	t.Helper()
	g := Guard{Device: auth}
	srv := httptest.NewServer(g.Handler(s.Routes()))
	t.Cleanup(srv.Close)
	return srv.URL
}
