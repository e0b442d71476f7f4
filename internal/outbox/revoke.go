package outbox

import (
	"time"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// Revocable reports what the window's Log may offer for a send:
// revocable when at least one recipient was reached by the secure mailbox
// (channel securemailbox, status delivered: the copy waits there) and no
// event this PC has says that copy was read, taken back or expired; revoked
// when some copy was taken back. A read copy is not offered, though the
// relay would still close it: the recipient has seen it, and a clerk
// should not be led to think the send undone. The PC learns of reads late
// or not at all (a done send is not asked about again), so the relay
// decides in the end and answers 409 when nothing is left to take back.
func Revocable(st relayapi.MessageStatus) (revocable, revoked bool) {
	closed := map[string]bool{}
	for _, ev := range st.Events {
		if ev.Kind.ClosesMailboxCopy() {
			closed[ev.Recipient] = true
			revoked = revoked || ev.Kind == relayapi.EventMailboxRevoked
		}
	}
	for _, r := range st.Recipients {
		if r.Channel != recipient.ChannelSecureMailbox || !r.Status.Revocable() {
			continue
		}
		// The mailbox names the recipient as Parse does; an e-mail
		// address's Value does not depend on the time.
		if !closed[recipient.Parse(r.Input, time.Time{}).Value] {
			revocable = true
		}
	}
	return revocable, revoked
}
