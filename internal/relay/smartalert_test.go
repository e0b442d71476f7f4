package relay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

type auditRows struct{ rows []string }

func (a *auditRows) Record(_ context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	a.rows = append(a.rows, user+"|"+action+"|"+outcome)
	return nil
}

// TestSmartAlertOverride: the organisation's policy decides whether a
// clerk may send anyway; an allowed override is recorded in the audit log
// with the reason, its CPR numbers masked; a bad one is refused.
func TestSmartAlertOverride(t *testing.T) {
	for _, allow := range []bool{false, true} {
		log := &auditRows{}
		_, _, ts := testRelay(t, func(s *Server, _ *queue.Worker) { s.Policy.SmartAlertSendAnyway = allow; s.Audit = log })
		c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
		p, err := c.Policy(t.Context())
		if err != nil || p.SmartAlertSendAnyway != allow {
			t.Fatalf("policy %+v %v, want %v", p, err, allow)
		}
		o := relayapi.OverrideRequest{Reason: "Borgeren 221177-1212 har selv bedt om mail", Subject: "Sag 010101-1234",
			Findings: []relayapi.Finding{{Masked: "221177-xxxx", Where: relayapi.WhereBody}}}
		_, err = c.RecordOverride(t.Context(), o)
		var e *relayapi.Error
		if !allow {
			if !errors.As(err, &e) || e.Code != "not_allowed" || len(log.rows) != 0 {
				t.Fatalf("not allowed: %v, rows %v", err, log.rows)
			}
			continue
		}
		if err != nil || len(log.rows) != 1 {
			t.Fatalf("allowed: %v, rows %v", err, log.rows)
		}
		row := log.rows[0]
		if !strings.HasPrefix(row, "anna|smart_alert_override|") || !strings.Contains(row, "221177-xxxx i brødteksten") ||
			!strings.Contains(row, "har selv bedt om mail") || strings.Contains(row, "1212") || strings.Contains(row, "010101-1234") {
			t.Fatalf("audit row %q", row)
		}
		for _, bad := range []relayapi.OverrideRequest{
			{Reason: " ", Findings: o.Findings},
			{Reason: "x", Findings: nil},
			{Reason: "x", Findings: []relayapi.Finding{{Masked: "2211771212", Where: relayapi.WhereBody}}},
			{Reason: "x", Findings: []relayapi.Finding{{Masked: "221177-xxxx", Where: "et sted"}}},
			{Reason: strings.Repeat("x", 501), Findings: o.Findings},
		} {
			if _, err := c.RecordOverride(t.Context(), bad); !errors.As(err, &e) || len(log.rows) != 1 {
				t.Errorf("%+v: %v, rows %d", bad, err, len(log.rows))
			}
		}
	}
}
