package outbox

import (
	"testing"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relay"
)

func TestRevocable(t *testing.T) {
	mb := func(in, status string) relay.RecipientStatus {
		return relay.RecipientStatus{Input: in, Channel: recipient.ChannelSecureMailbox, Status: status}
	}
	ev := func(whats ...string) []relay.Event {
		var out []relay.Event
		for _, w := range whats {
			out = append(out, relay.Event{What: w})
		}
		return out
	}
	tests := []struct {
		name               string
		st                 relay.Status
		revocable, revoked bool
	}{
		{"digital post only", relay.Status{Recipients: []relay.RecipientStatus{{Input: "2211771212", Channel: recipient.ChannelDigitalPost, Status: relay.StatusDelivered}}}, false, false},
		{"waiting in the mailbox", relay.Status{Recipients: []relay.RecipientStatus{mb("Borger@Gmail.com", relay.StatusDelivered)}}, true, false},
		{"not delivered yet", relay.Status{Recipients: []relay.RecipientStatus{mb("borger@gmail.com", relay.StatusSending)}}, false, false},
		{"read", relay.Status{Recipients: []relay.RecipientStatus{mb("Borger@Gmail.com", relay.StatusDelivered)}, Events: ev(relay.EventMailboxRead + "borger@gmail.com")}, false, false},
		{"revoked", relay.Status{Recipients: []relay.RecipientStatus{mb("borger@gmail.com", relay.StatusDelivered)}, Events: ev(relay.EventMailboxRevoked + "borger@gmail.com")}, false, true},
		{"expired", relay.Status{Recipients: []relay.RecipientStatus{mb("borger@gmail.com", relay.StatusDelivered)}, Events: ev(relay.EventMailboxExpired + "borger@gmail.com")}, false, false},
		{"one read, one waiting", relay.Status{Recipients: []relay.RecipientStatus{mb("a@gmail.com", relay.StatusDelivered), mb("b@gmail.com", relay.StatusDelivered)},
			Events: ev(relay.EventMailboxRead + "a@gmail.com")}, true, false},
		{"another's event", relay.Status{Recipients: []relay.RecipientStatus{mb("a@gmail.com", relay.StatusDelivered)}, Events: ev(relay.EventMailboxRevoked + "b@gmail.com")}, true, true},
	}
	for _, tt := range tests {
		rv, rd := Revocable(tt.st)
		if rv != tt.revocable || rd != tt.revoked {
			t.Errorf("%s: revocable=%v revoked=%v, want %v %v", tt.name, rv, rd, tt.revocable, tt.revoked)
		}
	}
}
