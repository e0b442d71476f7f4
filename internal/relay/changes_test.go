package relay

import (
	"io"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestChangesSince: one batched query tells which of the sender's messages
// were read or replied to after since, with the times; other senders'
// messages and unknown ids are left out.
func TestChangesSince(t *testing.T) {
	s, _, ts := testRelay(t, func(s *Server, _ *queue.Worker) { s.Registry = registry.Demo{} })
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	file := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "a.txt", ContentType: "text/plain"}, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("x")), nil
	}}
	var ids []string
	for _, k := range []string{"c1", "c2", "c3"} {
		res, err := c.Submit(t.Context(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: k}, []relayclient.Upload{file})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	t0 := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	read, replied := t0.Add(time.Hour), t0.Add(2*time.Hour)
	add := func(id string, evs ...relayapi.Event) {
		t.Helper()
		if err := queue.Modify(t.Context(), s.Store, id, "test", func(m *queue.Message) error {
			m.Events = append(m.Events, evs...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	add(ids[0], relayapi.Event{At: read, Kind: relayapi.EventMailboxRead, Recipient: "a@b.dk", What: "Læst"})
	add(ids[1], relayapi.Event{At: read, Kind: relayapi.EventMailboxRead, Recipient: "a@b.dk", What: "Læst"},
		relayapi.Event{At: replied, Kind: relayapi.EventReplied, What: "Besvaret"})
	add(ids[2], relayapi.Event{At: t0.Add(-time.Hour), Kind: relayapi.EventMailboxRead, What: "Læst før"})

	got, err := c.Changes(t.Context(), append(ids, "unknown"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Now.IsZero() {
		t.Fatalf("changes %+v, want two messages", got)
	}
	byID := map[string]relayapi.MessageFacts{}
	for _, m := range got.Messages {
		byID[m.ID] = m
	}
	if f := byID[ids[0]]; f.Read == nil || !f.Read.Equal(read) || f.Replied != nil || len(f.Recipients) != 1 || f.Recipients[0].Recipient != "a@b.dk" {
		t.Errorf("first: %+v", f)
	}
	if f := byID[ids[1]]; f.Read == nil || f.Replied == nil || !f.Replied.Equal(replied) {
		t.Errorf("second: %+v", f)
	}
	// Later, nothing new.
	if again, _ := c.Changes(t.Context(), ids, replied); len(again.Messages) != 0 {
		t.Errorf("since the last fact: %+v", again.Messages)
	}
}
