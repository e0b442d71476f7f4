package relay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
)

// changes answers the agent's one batched changedSince query
// (POST /v1/messages/changes): which of the sender's messages were read or
// replied to after since. Messages of other senders and unknown ids are
// left out, not refused, so one stale id does not spoil the batch.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	var req relayapi.ChangesRequest
	if !decodeStrict(w, r, 128<<10, &req) {
		return
	}
	if len(req.IDs) > relayapi.MaxChangesIDs {
		writeTooManyIDs(w)
		return
	}
	out := relayapi.Changes{Now: s.now().UTC(), Messages: []relayapi.MessageFacts{}}
	facts, err := s.ownFacts(r.Context(), Owner(r), req.IDs, req.Since)
	if err != nil {
		s.fail(w, "changes", err)
		return
	}
	out.Messages = append(out.Messages, facts...)
	writeJSON(w, http.StatusOK, out)
}

// facts answers the hosted pages' GET /api/v1/messages/facts?ids=a,b as
// the agent does: {"facts":[{id, read, replied}]}, the "Læst" and
// "Besvaret" of the caller's own messages named, from the same query as
// the devices' changes. The relay keeps no list of a user's sends, so
// without ids the answer is empty (the pages always name theirs).
func (s *Server) facts(w http.ResponseWriter, r *http.Request) {
	var ids []string
	if q := r.URL.Query().Get("ids"); q != "" {
		ids = strings.Split(q, ",")
	}
	if len(ids) > relayapi.MaxChangesIDs {
		writeTooManyIDs(w)
		return
	}
	mf, err := s.ownFacts(r.Context(), Owner(r), ids, time.Time{})
	if err != nil {
		s.fail(w, "facts", err)
		return
	}
	out := make([]relayapi.Facts, 0, len(mf))
	for _, f := range mf {
		out = append(out, relayapi.Facts{ID: f.ID, Read: f.Read, Replied: f.Replied})
	}
	writeJSON(w, http.StatusOK, map[string]any{"facts": out})
}

// ownFacts are the read and replied facts after since of the messages
// among ids that owner owns (Owner: a device's user, or an Entra user's
// tid/oid); others' messages and unknown ids are left out.
func (s *Server) ownFacts(ctx context.Context, owner string, ids []string, since time.Time) ([]relayapi.MessageFacts, error) {
	var out []relayapi.MessageFacts
	for _, id := range ids {
		m, err := s.Store.Get(ctx, id)
		if errors.Is(err, queue.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.Owner() != owner {
			continue
		}
		if f, ok := relayapi.FactsOf(m.ID, m.Events, since); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

func writeTooManyIDs(w http.ResponseWriter) {
	WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "too_many_ids", Message: "Der kan højst spørges om 1000 forsendelser ad gangen."})
}
