package usage

import (
	"context"

	"sendsikkert/internal/recipient"
)

// Auditor is the audit log as the relay's parts write to it.
type Auditor interface {
	Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error
}

// Metric names; Help texts are set where the registry is made.
const (
	MetricLetters  = "sendsikkert_relay_letters_sent_total"
	MetricSMSCodes = "sendsikkert_relay_sms_codes_total"
	MetricLookups  = "sendsikkert_relay_lookups_total"
	MetricReplies  = "sendsikkert_relay_replies_received_total"
)

// Meter is the audit log that also counts, for Prometheus, what the usage
// report counts, from the same rows: a fact is counted only once it is in
// the log.
type Meter struct {
	Auditor
	Count func(name string, labels ...string)
}

// Record writes the row, then counts it.
func (m Meter) Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	if err := m.Auditor.Record(ctx, user, action, id, channel, outcome, messageID); err != nil {
		return err
	}
	switch action {
	case ActionAccept, ActionDeliver:
		// The worker writes one of the two per letter, never both.
		if ch := letterChannel(auditRow(channel, outcome)); ch != "" {
			m.Count(MetricLetters, "channel="+ch)
		}
	case ActionSMSCode:
		m.Count(MetricSMSCodes)
	case ActionLookup:
		m.Count(MetricLookups)
	case ActionMailboxReply:
		m.Count(MetricReplies, "channel="+SecureMailbox)
	case ActionReplyReceived:
		if outcome != "duplicate" {
			m.Count(MetricReplies, "channel="+DigitalPost)
		}
	}
	return nil
}
