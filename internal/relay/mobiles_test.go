package relay

import (
	"errors"
	"strings"
	"testing"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestRememberedMobile: a mobile number remembered for the secure mailbox
// can be corrected and removed, and the next check says so.
func TestRememberedMobile(t *testing.T) {
	book := directory.NewMemoryBook(directory.Entry{Email: "borger@example.com", Mobile: "+4512345678"})
	_, ch, ts := testRelay(t, func(s *Server, _ *queue.Worker) {
		s.Book = book
		s.Channels[recipient.ChannelSecureMailbox] = s.Channels[recipient.ChannelDigitalPost]
	})
	_ = ch
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	check := func() recipient.Result {
		t.Helper()
		rep, err := c.Check(t.Context(), []string{"Borger@Example.com"})
		if err != nil || len(rep.Results) != 1 {
			t.Fatal(rep, err)
		}
		return rep.Results[0]
	}
	if r := check(); !r.Secure || !strings.Contains(r.Message, "+45xxxxxx78") {
		t.Fatalf("remembered: %+v", r)
	}
	got, err := c.SetMobile(t.Context(), "Borger@Example.com", "87 65 43 21")
	if err != nil || got.Mobile != "+45xxxxxx21" || got.Email != "borger@example.com" {
		t.Fatalf("correct: %+v %v", got, err)
	}
	if r := check(); !r.Secure || !strings.Contains(r.Message, "+45xxxxxx21") {
		t.Fatalf("corrected: %+v", r)
	}
	if _, err := c.SetMobile(t.Context(), "borger@example.com", ""); err != nil {
		t.Fatal(err)
	}
	if r := check(); r.Secure || !strings.Contains(r.Message, "mobilnummer") {
		t.Fatalf("removed: %+v", r)
	}
	var e *relayapi.Error
	if _, err := c.SetMobile(t.Context(), "borger@example.com", "12"); !errors.As(err, &e) || e.Code != "bad_mobile" {
		t.Fatalf("bad number: %v", err)
	}
	if _, err := c.SetMobile(t.Context(), "2211771212", "12345678"); !errors.As(err, &e) || e.Code != "bad_email" {
		t.Fatalf("not an address: %v", err)
	}
}
