package relayapi

import (
	"time"

	"sendsikkert/internal/recipient"
)

// Status is the state of a message or of one recipient's copy. The JSON
// values are the API's; the rules of each state are its methods, so no
// caller decides anything from the words shown to a person.
type Status string

// Message and recipient states.
const (
	StatusQueued        Status = "queued"
	StatusSending       Status = "sending"
	StatusDelivered     Status = "delivered"
	StatusPrinted       Status = "printed"
	StatusNeedsFallback Status = "needs-fallback"
	StatusFailed        Status = "failed"
)

// Final reports whether the state will not change any more: the copy
// arrived, was printed, failed for good, or waits for the clerk to choose
// a letter.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusPrinted, StatusFailed, StatusNeedsFallback:
		return true
	}
	return false
}

// Reached reports whether the copy reached the recipient (electronically
// or as a letter).
func (s Status) Reached() bool { return s == StatusDelivered || s == StatusPrinted }

// Accepted reports whether a copy in this state counts as sent for a
// draft: anything but failed or waiting for a letter to be chosen — also
// while it still waits in an outbox. A draft sent again skips recipients
// whose copy is accepted, so no citizen gets the same letter twice.
func (s Status) Accepted() bool { return s != StatusFailed && s != StatusNeedsFallback && s != "" }

// Revocable reports whether a copy in this state can still be taken back
// on a channel that keeps copies (the secure mailbox): only a delivered
// copy waits there. Whether it was read, taken back or expired since is
// told by the message's events (Event.Kind), not by its status.
func (s Status) Revocable() bool { return s == StatusDelivered }

// Text is the state in a word or two of Danish, for people.
func (s Status) Text() string {
	switch s {
	case StatusQueued:
		return "I kø"
	case StatusSending:
		return "Sendes"
	case StatusDelivered:
		return "Leveret"
	case StatusPrinted:
		return "Sendt som brev"
	case StatusNeedsFallback:
		return "Kræver handling"
	case StatusFailed:
		return "Mislykkedes"
	}
	return "Ukendt"
}

// MessageStatus is a message's state as the API shows it.
type MessageStatus struct {
	ID         string            `json:"id"`
	Status     Status            `json:"status"`
	Recipients []RecipientStatus `json:"recipients"`
	Events     []Event           `json:"events"`
	// RepliedAt, when set, is when the first reply to the message came
	// (Digital Post, SF1606; the time of its first EventReplied): the Log
	// and the tray show "Besvaret" with it.
	RepliedAt time.Time `json:"repliedAt,omitzero"`
}

// RecipientStatus is one recipient's state.
type RecipientStatus struct {
	Input   string            `json:"input"`
	Channel recipient.Channel `json:"channel"`
	Status  Status            `json:"status"`
	Message string            `json:"message"`
}

// Summarize derives a message's status from its recipients': failed if any
// failed, else needs-fallback if any needs one, else delivered once all are
// delivered or printed; otherwise sending once any has left, else queued.
func Summarize(rs []RecipientStatus) Status {
	var failed, fallback, done, sending int
	for _, r := range rs {
		switch r.Status {
		case StatusFailed:
			failed++
		case StatusNeedsFallback:
			fallback++
		case StatusDelivered, StatusPrinted:
			done++
		case StatusSending:
			sending++
		}
	}
	switch {
	case failed > 0:
		return StatusFailed
	case fallback > 0:
		return StatusNeedsFallback
	case len(rs) > 0 && done == len(rs):
		return StatusDelivered
	case done > 0 || sending > 0:
		return StatusSending
	}
	return StatusQueued
}

// SentText is the true sentence for a copy that reached its recipient, by
// the channel it went on: Digital Post, a letter, tunnelmail or the
// secure mailbox never borrow each other's words. who names the
// recipient (the address, for tunnelmail).
func SentText(ch recipient.Channel, s Status, who string) string {
	switch {
	case s == StatusPrinted || ch == recipient.ChannelPrint:
		return "Sendt som brev (OneTooX)"
	case ch == recipient.ChannelTunnelmail:
		return "Sendt krypteret til " + who + " (tunnelmail med tvunget TLS)"
	case ch == recipient.ChannelSecureMailbox:
		return "Link sendt — koden kommer på SMS"
	}
	return "Sendt som Digital Post"
}

// FailText is the reason given for a copy that failed for good when the
// channel said nothing more (a channel that can say why adds it): who
// refused it, or that it could not be reached however often it was tried,
// and what the clerk can do. Never a failure without a reason.
func FailText(ch recipient.Channel, refused bool) string {
	who := map[recipient.Channel]string{
		recipient.ChannelDigitalPost:   "Digital Post",
		recipient.ChannelPrint:         "OneTooX (brevforsendelsen)",
		recipient.ChannelTunnelmail:    "Modtagerens mailserver",
		recipient.ChannelSecureMailbox: "Den sikre mailboks",
	}[ch]
	if who == "" {
		who = "Leveringskanalen"
	}
	if refused {
		return "Forsendelsen kunne ikke leveres: " + who + " afviste den. Send igen til de andre, eller kontakt IT."
	}
	return "Forsendelsen kunne ikke leveres: " + who + " kunne ikke nås, heller ikke efter mange forsøg. Send igen senere, eller kontakt IT."
}
