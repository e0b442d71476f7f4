package outbox

import (
	"testing"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

func TestRevocable(t *testing.T) {
	mb := func(in string, status relayapi.Status) relayapi.RecipientStatus {
		return relayapi.RecipientStatus{Input: in, Channel: recipient.ChannelSecureMailbox, Status: status}
	}
	ev := func(kind relayapi.EventKind, addr string) []relayapi.Event {
		return []relayapi.Event{{Kind: kind, Recipient: addr, What: "Tekst til sagsbehandleren om " + addr}}
	}
	tests := []struct {
		name               string
		st                 relayapi.MessageStatus
		revocable, revoked bool
	}{
		{"digital post only", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{{Input: "2211771212", Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusDelivered}}}, false, false},
		{"waiting in the mailbox", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("Borger@Gmail.com", relayapi.StatusDelivered)}}, true, false},
		{"not delivered yet", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("borger@gmail.com", relayapi.StatusSending)}}, false, false},
		{"read", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("Borger@Gmail.com", relayapi.StatusDelivered)}, Events: ev(relayapi.EventMailboxRead, "borger@gmail.com")}, false, false},
		{"revoked", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("borger@gmail.com", relayapi.StatusDelivered)}, Events: ev(relayapi.EventMailboxRevoked, "borger@gmail.com")}, false, true},
		{"expired", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("borger@gmail.com", relayapi.StatusDelivered)}, Events: ev(relayapi.EventMailboxExpired, "borger@gmail.com")}, false, false},
		{"one read, one waiting", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("a@gmail.com", relayapi.StatusDelivered), mb("b@gmail.com", relayapi.StatusDelivered)},
			Events: ev(relayapi.EventMailboxRead, "a@gmail.com")}, true, false},
		{"another's event", relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{mb("a@gmail.com", relayapi.StatusDelivered)}, Events: ev(relayapi.EventMailboxRevoked, "b@gmail.com")}, true, true},
	}
	for _, tt := range tests {
		rv, rd := Revocable(tt.st)
		if rv != tt.revocable || rd != tt.revoked {
			t.Errorf("%s: revocable=%v revoked=%v, want %v %v", tt.name, rv, rd, tt.revocable, tt.revoked)
		}
	}
}
