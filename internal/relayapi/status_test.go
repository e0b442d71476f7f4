package relayapi

import (
	"encoding/json"
	"strings"
	"testing"

	"sendsikkert/internal/recipient"
)

func TestStatusRules(t *testing.T) {
	tests := []struct {
		s                         Status
		final, reached, revocable bool
		text                      string
	}{
		{StatusQueued, false, false, false, "I kø"},
		{StatusSending, false, false, false, "Sendes"},
		{StatusDelivered, true, true, true, "Leveret"},
		{StatusPrinted, true, true, false, "Sendt som brev"},
		{StatusNeedsFallback, true, false, false, "Kræver handling"},
		{StatusFailed, true, false, false, "Mislykkedes"},
		{"bogus", false, false, false, "Ukendt"},
	}
	for _, tt := range tests {
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%s.Final() = %v", tt.s, got)
		}
		if got := tt.s.Reached(); got != tt.reached {
			t.Errorf("%s.Reached() = %v", tt.s, got)
		}
		if got := tt.s.Revocable(); got != tt.revocable {
			t.Errorf("%s.Revocable() = %v", tt.s, got)
		}
		if got := tt.s.Text(); got != tt.text {
			t.Errorf("%s.Text() = %q, want %q", tt.s, got, tt.text)
		}
	}
}

// TestStatusJSON: the typed status keeps the API's JSON values.
func TestStatusJSON(t *testing.T) {
	b, _ := json.Marshal(MessageStatus{ID: "x", Status: StatusNeedsFallback, Recipients: []RecipientStatus{{Status: StatusPrinted}}})
	want := `{"id":"x","status":"needs-fallback","recipients":[{"input":"","channel":"","status":"printed","message":""}],"events":null}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

// TestEventKinds: events carry their kind and recipient in JSON; records
// and relays from before kinds are read by their old wording, once.
func TestEventKinds(t *testing.T) {
	tests := []struct {
		in        string
		kind      EventKind
		recipient string
	}{
		{`{"at":"2026-01-02T03:04:05Z","kind":"mailbox-read","recipient":"a@b.dk","what":"Hvad som helst"}`, EventMailboxRead, "a@b.dk"},
		{`{"at":"2026-01-02T03:04:05Z","what":"Læst i sikker mailboks af Borger@Gmail.com"}`, EventMailboxRead, "borger@gmail.com"},
		{`{"at":"2026-01-02T03:04:05Z","what":"Trukket tilbage fra sikker mailboks til a@b.dk"}`, EventMailboxRevoked, "a@b.dk"},
		{`{"at":"2026-01-02T03:04:05Z","what":"Udløbet i sikker mailboks for a@b.dk"}`, EventMailboxExpired, "a@b.dk"},
		{`{"at":"2026-01-02T03:04:05Z","what":"Modtaget af relæet"}`, "", ""},
		// A kind given wins over the wording.
		{`{"at":"2026-01-02T03:04:05Z","kind":"received","what":"Læst i sikker mailboks af a@b.dk"}`, EventReceived, ""},
	}
	for _, tt := range tests {
		var e Event
		if err := json.Unmarshal([]byte(tt.in), &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind != tt.kind || e.Recipient != tt.recipient || e.At.IsZero() || e.What == "" {
			t.Errorf("%s: got %+v, want kind %q recipient %q", tt.in, e, tt.kind, tt.recipient)
		}
	}
	if err := json.Unmarshal([]byte(`{"at":1}`), new(Event)); err == nil {
		t.Error("bad event decoded")
	}
	for k, closes := range map[EventKind]bool{EventMailboxRead: true, EventMailboxRevoked: true, EventMailboxExpired: true,
		EventMailboxLocked: false, EventMailboxReply: false, EventDelivered: false, "": false} {
		if k.ClosesMailboxCopy() != closes {
			t.Errorf("%q.ClosesMailboxCopy() = %v", k, !closes)
		}
	}
}

// TestSentText: each channel says what really happened; none borrows
// Digital Post's words.
func TestSentText(t *testing.T) {
	tests := []struct {
		ch   recipient.Channel
		st   Status
		want string
	}{
		{recipient.ChannelDigitalPost, StatusDelivered, "Sendt som Digital Post"},
		{recipient.ChannelPrint, StatusPrinted, "Sendt som brev (OneTooX)"},
		{recipient.ChannelDigitalPost, StatusPrinted, "Sendt som brev (OneTooX)"},
		{recipient.ChannelTunnelmail, StatusDelivered, "Sendt krypteret til a@b.dk (tunnelmail med tvunget TLS)"},
		{recipient.ChannelSecureMailbox, StatusDelivered, "Link sendt — koden kommer på SMS"},
	}
	for _, tt := range tests {
		if got := SentText(tt.ch, tt.st, "a@b.dk"); got != tt.want {
			t.Errorf("SentText(%s, %s) = %q, want %q", tt.ch, tt.st, got, tt.want)
		}
	}
}

// TestFailText: a failure always has a reason naming who refused or could
// not be reached.
func TestFailText(t *testing.T) {
	for _, ch := range []recipient.Channel{recipient.ChannelDigitalPost, recipient.ChannelPrint, recipient.ChannelTunnelmail, recipient.ChannelSecureMailbox, recipient.ChannelNone} {
		for _, refused := range []bool{true, false} {
			got := FailText(ch, refused)
			if !strings.HasPrefix(got, "Forsendelsen kunne ikke leveres: ") || len(got) < 60 {
				t.Errorf("FailText(%s, %v) = %q", ch, refused, got)
			}
			if refused != strings.Contains(got, "afviste") {
				t.Errorf("FailText(%s, %v) = %q", ch, refused, got)
			}
		}
	}
}
