package localapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
)

// "Læst" and "Besvaret" come from the relay in one batched changedSince
// query (POST /v1/messages/changes) for every send it has: while the Log
// or a pane is open (they ask GET /api/v1/messages/facts), at most once a
// minute; otherwise the agent asks every 15 minutes (RefreshFacts). Never
// one question per message.

// factsEvery bounds how often open pages make the agent ask the relay.
const factsEvery = 20 * time.Second

// FactsInterval is how often the agent asks while no page is open.
const FactsInterval = 15 * time.Minute

// changesRelay is the part of the relay client facts need.
type changesRelay interface {
	Changes(ctx context.Context, ids []string, since time.Time) (relayapi.Changes, error)
}

// RefreshFacts asks the relay once for what changed since the last
// answer and records it in the outbox. force skips the once-a-minute
// bound (the 15-minute timer).
func (s *Server) RefreshFacts(ctx context.Context, force bool) error {
	cr, ok := s.Relay.(changesRelay)
	if !ok {
		return nil
	}
	s.factsMu.Lock()
	defer s.factsMu.Unlock()
	if !force && !s.factsAsked.IsZero() && s.now().Sub(s.factsAsked) < factsEvery {
		return nil
	}
	handed, err := s.Outbox.Handed(relayapi.MaxChangesIDs)
	if err != nil || len(handed) == 0 {
		return err
	}
	ids := make([]string, 0, len(handed))
	for rid := range handed {
		ids = append(ids, rid)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ch, err := cr.Changes(cctx, ids, s.factsSince)
	s.factsAsked = s.now()
	if err != nil {
		return err
	}
	for _, m := range ch.Messages {
		if local, ok := handed[m.ID]; ok {
			if _, err := s.Outbox.ApplyFacts(local, m); err != nil {
				return err
			}
		}
	}
	s.factsSince = ch.Now
	return nil
}

// facts answers GET /api/v1/messages/facts?ids=a,b: the read and replied
// facts of the sends named (all, without ids), after asking the relay
// when it is time.
func (s *Server) facts(w http.ResponseWriter, r *http.Request) {
	if err := s.RefreshFacts(r.Context(), false); err != nil {
		s.Log.Warn("read/replied facts not fetched", "err", err)
	}
	var want map[string]bool
	if q := r.URL.Query().Get("ids"); q != "" {
		want = map[string]bool{}
		for _, id := range strings.Split(q, ",") {
			want[id] = true
		}
	}
	items, err := s.Outbox.List("", 0)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "outbox", "Loggen kunne ikke læses.")
		return
	}
	out := []outbox.Facts{}
	for _, it := range items {
		if (want == nil || want[it.ID]) && (it.Read != nil || !it.RepliedAt.IsZero()) {
			f := outbox.Facts{ID: it.ID, Read: it.Read}
			if !it.RepliedAt.IsZero() {
				replied := it.RepliedAt
				f.Replied = &replied
			}
			out = append(out, f)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"facts": out})
}
