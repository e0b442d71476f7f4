package usage

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/recipient"
)

// TestCountFromAuditLog writes the rows the relay's parts write, through
// the Meter, into a real audit log and counts them back, in every grouping.
func TestCountFromAuditLog(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l, err := audit.Open(ctx, db, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		counted := map[string]int{}
		m := Meter{Auditor: l, Count: func(name string, labels ...string) { counted[name+strings.Join(labels, ",")]++ }}
		nov := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
		at := nov
		rec := func(user, action, rcpt, channel, outcome, msg string) {
			l.Now = func() time.Time { return at }
			if err := m.Record(ctx, user, action, recipient.Parse(rcpt, at), channel, outcome, msg); err != nil {
				t.Fatal(err)
			}
		}
		cpr, cvr, mail := "2211771212", "11223344", "borger@example.com"
		rec("anna@k.dk", ActionLookup, cpr, "digitalpost", "ok", "")
		rec("anna@k.dk", ActionLookup, cvr, "digitalpost", "ok", "")
		rec("anna@k.dk", "submit", cpr, "digitalpost", "queued", "m1")
		rec("anna@k.dk", ActionAccept, cpr, "digitalpost", "accepted", "m1") // Serviceplatformen took it
		rec("anna@k.dk", "delivered", cpr, "digitalpost", "delivered", "m1") // its later status: not a second letter
		rec("anna@k.dk", ActionDeliver, cvr, "digitalpost", "delivered", "m2")
		rec("bo@k.dk", ActionDeliver, cpr, "print", "printed", "m3")
		rec("bo@k.dk", ActionDeliver, mail, "tunnelmail", "delivered", "m4")
		rec("bo@k.dk", ActionDeliver, mail, "securemailbox", "delivered", "m5")
		rec("bo@k.dk", "fail", cpr, "digitalpost", "failed", "m6") // not sent
		rec("bo@k.dk", ActionSMSCode, mail, "securemailbox", "sent", "m5")
		rec("bo@k.dk", ActionSMSCode, mail, "securemailbox", "sent", "m5")
		rec("bo@k.dk", ActionMailboxReply, mail, "securemailbox", "sent", "m5")
		rec("anna@k.dk", ActionReplyMailbox, "", "", "kommune", "m1")
		rec("bo@k.dk", ActionReplyMailbox, "", "", "jobcenter", "m4")
		rec("sf1606", ActionReplyReceived, cpr, "digitalpost", "accepted", "r1")
		rec("sf1606", ActionReplyReceived, cpr, "digitalpost", "duplicate", "r1")
		rec("anna@k.dk", ActionReplyDeliver, cpr, "digitalpost", "correlated", "r1")
		rec("anna@k.dk", ActionReplyMailbox, "", "", "kommune", "r1")
		at = time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC) // 01:30 in Copenhagen: December
		rec("anna@k.dk", ActionDeliver, cpr, "digitalpost", "delivered", "m7")

		from, _ := ParseDay("2026-11-01")
		to, _ := ParseDay("2026-12-01")
		rep, err := Count(ctx, l, from, to, ByChannel)
		if err != nil {
			t.Fatal(err)
		}
		want := Row{Key: "I alt", DigitalPost: 2, Print: 1, Tunnelmail: 1, SecureMailbox: 1, SMSCodes: 2, Lookups: 2, Replies: 2}
		if rep.Total != want {
			t.Fatalf("total %+v, want %+v", rep.Total, want)
		}
		bySender, _ := Count(ctx, l, from, to, BySender)
		var csv bytes.Buffer
		bySender.WriteCSV(&csv)
		for _, line := range []string{"sender,digitalPost,print,tunnelmail,secureMailbox,smsCodes,lookups,replies", "anna@k.dk,2,0,0,0,0,2,1", "bo@k.dk,0,1,1,1,2,0,1"} {
			if !strings.Contains(csv.String(), line+"\n") {
				t.Errorf("by sender lacks %q:\n%s", line, csv.String())
			}
		}
		byMailbox, _ := Count(ctx, l, from, to, ByReplyMailbox)
		csv.Reset()
		byMailbox.WriteCSV(&csv)
		if !strings.Contains(csv.String(), "kommune,1,0,0,0,0,0,1\n") || !strings.Contains(csv.String(), "jobcenter,0,0,1,0,0,0,0\n") {
			t.Errorf("by reply mailbox:\n%s", csv.String())
		}
		byMonth, _ := Count(ctx, l, from, to.AddDate(0, 1, 0), ByMonth)
		if len(byMonth.Rows) != 2 || byMonth.Rows[0].Key != "2026-11" || byMonth.Rows[1].Key != "2026-12" || byMonth.Rows[1].DigitalPost != 1 {
			t.Errorf("by month: %+v", byMonth.Rows)
		}
		if _, err := Count(ctx, l, from, to, "colour"); err == nil {
			t.Error("unknown grouping accepted")
		}
		// Prometheus saw the same facts.
		if counted[MetricLetters+"channel=digitalpost"] != 3 || counted[MetricLetters+"channel=print"] != 1 || counted[MetricSMSCodes] != 2 ||
			counted[MetricLookups] != 2 || counted[MetricReplies+"channel=digitalpost"] != 1 || counted[MetricReplies+"channel=securemailbox"] != 1 {
			t.Errorf("metrics: %v", counted)
		}
	})
}
