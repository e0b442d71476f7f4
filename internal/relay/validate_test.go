package relay

import (
	"context"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestSubmitKeepsSecureMailboxFields: the deadline (written with the
// clerk's UTC offset, as the panes do) and the question travel from the
// client into the relay's record, where the secure mailbox reads them.
func TestSubmitKeepsSecureMailboxFields(t *testing.T) {
	s, _, ts := testRelay(t)
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	deadline, err := time.Parse(time.RFC3339, time.Now().AddDate(0, 0, 7).Format("2006-01-02")+"T23:59:59+01:00")
	if err != nil {
		t.Fatal(err)
	}
	question := &relayapi.SecurityQuestion{Question: "Hvad hed din første hund?", Answer: "Fido"}
	r, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", IdempotencyKey: "sm-1",
		ReadDeadline: &deadline, Question: question}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Store.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.ReadDeadline.Equal(deadline) {
		t.Errorf("deadline %v, want %v", m.ReadDeadline, deadline)
	}
	if m.Question == nil || *m.Question != *question {
		t.Errorf("question %+v, want %+v", m.Question, question)
	}
}
