package relay

import (
	"encoding/json"
	"errors"
	"net/http"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
)

// changes answers the agent's one batched changedSince query
// (POST /v1/messages/changes): which of the sender's messages were read or
// replied to after since. Messages of other senders and unknown ids are
// left out, not refused, so one stale id does not spoil the batch.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	var req relayapi.ChangesRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 128<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return
	}
	if len(req.IDs) > relayapi.MaxChangesIDs {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "too_many_ids", Message: "Der kan højst spørges om 1000 forsendelser ad gangen."})
		return
	}
	out := relayapi.Changes{Now: s.now().UTC(), Messages: []relayapi.MessageFacts{}}
	user := User(r)
	for _, id := range req.IDs {
		m, err := s.Store.Get(r.Context(), id)
		if errors.Is(err, queue.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fail(w, "changes", err)
			return
		}
		if m.Sender != user {
			continue
		}
		if f, ok := relayapi.FactsOf(m.ID, m.Events, req.Since); ok {
			out.Messages = append(out.Messages, f)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
