package localapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// countingChanges counts the relay's changedSince queries.
type countingChanges struct {
	*relayclient.Client
	n int
}

func (c *countingChanges) Changes(ctx context.Context, ids []string, since time.Time) (relayapi.Changes, error) {
	c.n++
	return c.Client.Changes(ctx, ids, since)
}

// TestReadRepliedFacts: "Læst" and "Besvaret" reach the agent in one
// batched changedSince query to the real relay, are kept as events on the
// send and shown in the Log's items; open pages make the agent ask at most
// once a minute.
func TestReadRepliedFacts(t *testing.T) {
	key, _ := vault.New(vault.NewRandomKey())
	store, err := queue.OpenBolt(filepath.Join(t.TempDir(), "relay"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	read := time.Date(2026, 12, 3, 13, 5, 0, 0, time.UTC)
	replied := read.Add(time.Hour)
	var relayIDs []string
	for i, evs := range [][]relayapi.Event{
		{{At: read, Kind: relayapi.EventMailboxRead, Recipient: "a@b.dk", What: "Læst i sikker mailboks af a@b.dk"}, {At: replied, Kind: relayapi.EventReplied, What: "Besvaret"}},
		nil,
	} {
		m := &queue.Message{ID: uuid.NewString(), Sender: "anna", IdempotencyKey: "k" + string(rune('a'+i)), Created: read.Add(-time.Hour), Events: evs}
		if _, _, err := store.Create(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		relayIDs = append(relayIDs, m.ID)
	}
	ts := httptest.NewServer((&relay.Server{Store: store, Authenticate: relay.BearerAuth("tok", "anna")}).Handler())
	defer ts.Close()

	s := testServer(t)
	now := read.Add(2 * time.Hour)
	s.Now = func() time.Time { return now }
	cc := &countingChanges{Client: &relayclient.Client{BaseURL: ts.URL, Token: "tok"}}
	s.Relay = cc
	var local []string
	for i, rid := range relayIDs {
		e := &outbox.Entry{ID: uuid.NewString(), Created: read.Add(-time.Hour), State: outbox.StateHanded, RelayID: rid,
			Message: relayapi.MessageRequest{Recipients: []string{"a@b.dk"}, Subject: "S", IdempotencyKey: "local" + string(rune('a'+i))}}
		if _, _, err := s.Outbox.Add(e); err != nil {
			t.Fatal(err)
		}
		local = append(local, e.ID)
	}
	h := s.Handler()
	get := func(path string) map[string][]outbox.Facts {
		r := httptest.NewRequest("GET", "https://localhost:47800"+path, nil)
		r.Header.Set(CSRFHeader, s.Guard.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string][]outbox.Facts
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return out
	}
	got := get("/api/v1/messages/facts")["facts"]
	if len(got) != 1 || got[0].ID != local[0] || got[0].Read == nil || !got[0].Read.Equal(read) || got[0].Replied == nil || !got[0].Replied.Equal(replied) {
		t.Fatalf("facts %+v", got)
	}
	if cc.n != 1 {
		t.Fatalf("%d queries, want one batched query", cc.n)
	}
	get("/api/v1/messages/facts?ids=" + local[0])
	if cc.n != 1 {
		t.Fatalf("asked again within 20 s: %d queries", cc.n)
	}
	now = now.Add(21 * time.Second)
	get("/api/v1/messages/facts")
	if cc.n != 2 {
		t.Fatalf("%d queries after 20 s, want 2", cc.n)
	}
	e, _ := s.Outbox.Get(local[0])
	st := s.Outbox.StatusOf(e)
	n := 0
	for _, ev := range st.Events {
		if ev.Kind.ReadFact() || ev.Kind.RepliedFact() {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("events %+v, want Læst and Besvaret once each", st.Events)
	}
	items, _ := s.Outbox.List("", 0)
	for _, it := range items {
		if it.ID == local[0] && (it.Read == nil || it.RepliedAt.IsZero()) {
			t.Fatalf("Log item %+v lacks the facts", it)
		}
	}
}
