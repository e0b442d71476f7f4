package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

type capture struct {
	mu   sync.Mutex
	got  []*delivery.Delivery
	done chan struct{}
}

func (c *capture) Deliver(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, d)
	c.done <- struct{}{}
	return delivery.Receipt{Status: delivery.Delivered}, nil
}

// TestEmailRecipients: an address on the direct-addressing list goes by
// tunnelmail; another goes by the secure mailbox once a mobile number is
// given, which reaches the channel; without one it is refused.
func TestEmailRecipients(t *testing.T) {
	s, _, ts := testRelay(t)
	s.Domains = &directory.Domains{}
	s.Domains.Set([]directory.Domain{{Domain: "kommune.dk", Organisation: "Kommunen"}})
	tm, sm := &capture{done: make(chan struct{}, 4)}, &capture{done: make(chan struct{}, 4)}
	s.Channels[recipient.ChannelTunnelmail] = tm
	s.Channels[recipient.ChannelSecureMailbox] = sm

	check := func(body any) (int, recipient.Report, relayapi.Error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.URL+"/v1/recipients/check", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		json.NewDecoder(resp.Body).Decode(&raw)
		var rep recipient.Report
		var e relayapi.Error
		json.Unmarshal(raw, &rep)
		json.Unmarshal(raw, &e)
		return resp.StatusCode, rep, e
	}
	code, rep, _ := check(relayapi.CheckRequest{Recipients: []string{"a@kommune.dk", "b@gmail.com"}})
	if code != 200 || rep.Results[0].Channel != recipient.ChannelTunnelmail || !rep.Results[0].Secure ||
		rep.Results[1].Channel != recipient.ChannelNone || !strings.Contains(rep.Results[1].Message, "mobilnummer") || rep.AllSecure {
		t.Fatalf("without mobile: %d %+v", code, rep)
	}
	code, rep, _ = check(relayapi.CheckRequest{Recipients: []string{"a@kommune.dk", "B@gmail.com"}, Mobiles: map[string]string{"b@gmail.com": "+45 20 30 40 50"}})
	if code != 200 || rep.Results[1].Channel != recipient.ChannelSecureMailbox || !rep.AllSecure {
		t.Fatalf("with mobile: %d %+v", code, rep)
	}
	if code, _, e := check(relayapi.CheckRequest{Recipients: []string{"b@gmail.com"}, Mobiles: map[string]string{"b@gmail.com": "123"}}); code != 400 || e.Code != "bad_mobile" {
		t.Fatalf("bad mobile: %d %+v", code, e)
	}

	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	if _, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"b@gmail.com"}, Subject: "Hej", IdempotencyKey: "m0"}, nil); err == nil {
		t.Fatal("secure mailbox without a mobile number accepted")
	}
	msg := &relayapi.MessageRequest{Recipients: []string{"a@kommune.dk", "b@gmail.com"}, Subject: "Hej", BodyHTML: "<p>x</p>", IdempotencyKey: "m1",
		Mobiles: map[string]string{"b@gmail.com": "20304050"}}
	if _, err := c.Submit(context.Background(), msg, nil); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []*capture{tm, sm} {
		select {
		case <-ch.done:
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered")
		}
	}
	if tm.got[0].Recipient.Value != "a@kommune.dk" || sm.got[0].Recipient.Value != "b@gmail.com" || sm.got[0].Party.Mobile != "+4520304050" {
		t.Fatalf("deliveries: %+v %+v", tm.got[0], sm.got[0])
	}
}

type refusal struct{}

func (refusal) Error() string { return "no STARTTLS" }
func (refusal) Why() string   { return "Modtagerens mailserver tilbyder ikke kryptering." }
func (refusal) Unwrap() error { return delivery.ErrPermanent }

type refusing struct{}

func (refusing) Deliver(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
	return delivery.Receipt{}, refusal{}
}

// TestRefusalSaysWhy: a channel's refusal fails the send at once, and its
// reason reaches the recipient's status (and so the receipt).
func TestRefusalSaysWhy(t *testing.T) {
	s, _, ts := testRelay(t)
	s.Domains = &directory.Domains{}
	s.Domains.Set([]directory.Domain{{Domain: "kommune.dk"}})
	s.Channels[recipient.ChannelTunnelmail] = refusing{}
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	r, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"a@kommune.dk"}, Subject: "Hej", IdempotencyKey: "w1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(context.Background(), r.ID)
		if err == nil && st.Status == relayapi.StatusFailed {
			if !strings.Contains(st.Recipients[0].Message, "tilbyder ikke kryptering") {
				t.Fatalf("no reason: %+v", st.Recipients[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not failed: %+v %v", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRevoke: an unknown id is 404; without a secure mailbox, or
// with nothing in it, the answer is 409.
func TestRevoke(t *testing.T) {
	s, _, ts := testRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	r, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "rv1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	post := func(token, id string) int {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/messages/"+id+"/revoke", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("tok", r.ID); code != 409 {
		t.Fatalf("no mailbox: %d", code)
	}
	var revoked []string
	s.Revoke = func(_ context.Context, id string) (int, error) {
		revoked = append(revoked, id)
		return len(revoked) - 1, nil
	}
	if code := post("tok", r.ID); code != 409 {
		t.Fatalf("nothing to revoke: %d", code)
	}
	if code := post("tok", r.ID); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code := post("tok", "unknown"); code != 404 {
		t.Fatalf("unknown: %d", code)
	}
	if code := post("wrong", r.ID); code != 401 {
		t.Fatalf("unauthenticated: %d", code)
	}
}

// TestClientRevoke: the client returns the status after a revoke, passes
// the relay's refusals through as *relayapi.Error (Danish message kept) and tells a
// relay that cannot answer by relayclient.ErrUnavailable.
func TestClientRevoke(t *testing.T) {
	s, _, ts := testRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	ctx := context.Background()
	r, err := c.Submit(ctx, &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "crv1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var e *relayapi.Error
	if _, err := c.Revoke(ctx, r.ID); !errors.As(err, &e) || e.Code != "not_revocable" || !strings.Contains(e.Message, "sikker mailboks") {
		t.Fatalf("no mailbox: %v", err)
	}
	if _, err := c.Revoke(ctx, "unknown"); !errors.As(err, &e) || e.Code != "not_found" {
		t.Fatalf("unknown: %v", err)
	}
	s.Revoke = func(context.Context, string) (int, error) { return 0, io.ErrUnexpectedEOF }
	if _, err := c.Revoke(ctx, r.ID); !errors.Is(err, relayclient.ErrUnavailable) {
		t.Fatalf("relay failing: %v", err)
	}
	var got string
	s.Revoke = func(_ context.Context, id string) (int, error) { got = id; return 1, nil }
	st, err := c.Revoke(ctx, r.ID)
	if err != nil || st.ID != r.ID || got != r.ID || len(st.Recipients) != 1 {
		t.Fatalf("revoke: %+v %v (relay got %q)", st, err, got)
	}
	down := &relayclient.Client{BaseURL: "http://127.0.0.1:1", Token: "tok"}
	if _, err := down.Revoke(ctx, r.ID); !errors.Is(err, relayclient.ErrUnavailable) {
		t.Fatalf("relay down: %v", err)
	}
}
