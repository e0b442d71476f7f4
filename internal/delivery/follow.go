package delivery

import "context"

// Statuses of a delivery that a channel has handed over but that is not
// yet at its end. A national service answers "accepted" long before the
// message is in the citizen's mailbox or the letter is in the post; the
// end comes later, as an event (Digital Post's status messages through
// Beskedfordeleren).
const (
	// Accepted: the service took the message; whether it reaches the
	// recipient is still open. The relay keeps following it with a
	// Follower until it becomes Delivered, Printed or Failed.
	Accepted Status = "accepted"
	// Failed: the service reported, after accepting it, that the message
	// could not be delivered.
	Failed Status = "failed"
)

// Final reports whether a status is an end: nothing more will happen to
// the delivery.
func (s Status) Final() bool {
	return s == Delivered || s == Printed || s == Failed
}

// Follower tells what became of a delivery a channel reported Accepted.
// ref is the Receipt's Reference. Status answers Accepted while the
// outcome is still open; an error means the status could not be learnt
// now (ask again later), never that the delivery failed.
type Follower interface {
	Status(ctx context.Context, ref string) (Status, error)
}
