package usage

import (
	"context"
	"database/sql"
	"fmt"

	"sendsikkert/internal/queue"
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

// RecordAll writes the rows in one transaction (when the log can), then
// counts them.
func (m Meter) RecordAll(ctx context.Context, rows []queue.AuditRow) error {
	ta, ok := m.Auditor.(queue.TxAuditor)
	if !ok {
		for _, r := range rows {
			if err := m.Record(ctx, r.User, r.Action, r.ID, r.Channel, r.Outcome, r.MessageID); err != nil {
				return err
			}
		}
		return nil
	}
	if err := ta.RecordAll(ctx, rows); err != nil {
		return err
	}
	m.Committed(rows)
	return nil
}

// RecordTx writes the rows in a store's transaction; they are counted by
// Committed, once that transaction has committed.
func (m Meter) RecordTx(ctx context.Context, tx *sql.Tx, rows []queue.AuditRow) error {
	ta, ok := m.Auditor.(queue.TxAuditor)
	if !ok {
		return fmt.Errorf("usage: the audit log cannot write in a store's transaction")
	}
	return ta.RecordTx(ctx, tx, rows)
}

// Committed counts rows now in the log.
func (m Meter) Committed(rows []queue.AuditRow) {
	for _, r := range rows {
		m.count(r.Action, r.Channel, r.Outcome)
	}
}

// Record writes the row, then counts it.
func (m Meter) Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	if err := m.Auditor.Record(ctx, user, action, id, channel, outcome, messageID); err != nil {
		return err
	}
	m.count(action, channel, outcome)
	return nil
}

func (m Meter) count(action, channel, outcome string) {
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
}
