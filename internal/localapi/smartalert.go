package localapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"sendsikkert/addin"
	"sendsikkert/internal/relayapi"
)

// The Smart Alert runs in Outlook (launchevent.js); what it may do is
// decided here: the organisation's policy from the relay, made stricter
// by this PC's policy (ADMX). The agent writes the outcome into
// launchevent.js as it serves it.

// launchEventJS is the Smart Alert script under /addin/.
const launchEventJS = addin.LaunchEventJS

// policyPlaceholder is the line of launchevent.js that carries the policy.
var policyPlaceholder = addin.PolicyPlaceholder

// SmartAlertPolicy is what the Smart Alert is told.
type SmartAlertPolicy = addin.SmartAlertPolicy

// orgPolicyTTL is how long the relay's policy is taken as known.
const orgPolicyTTL = 10 * time.Minute

// policyRelay is the part of the relay client the Smart Alert needs.
type policyRelay interface {
	Policy(ctx context.Context) (relayapi.OrgPolicy, error)
	RecordOverride(ctx context.Context, o relayapi.OverrideRequest) (time.Time, error)
}

// orgPolicy is the organisation's policy as the relay last told it; while
// the relay has never answered, the strict default (nothing allowed).
func (s *Server) orgPolicy(ctx context.Context) relayapi.OrgPolicy {
	pr, ok := s.Relay.(policyRelay)
	if !ok {
		return relayapi.OrgPolicy{}
	}
	s.cacheMu.Lock()
	p, at := s.org, s.orgAt
	s.cacheMu.Unlock()
	if !at.IsZero() && s.now().Sub(at) < orgPolicyTTL {
		return p
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	fresh, err := pr.Policy(cctx)
	if err != nil {
		s.Log.Warn("relay policy not fetched; using the last known", "err", err)
		return p
	}
	s.cacheMu.Lock()
	s.org, s.orgAt = fresh, s.now()
	s.cacheMu.Unlock()
	return fresh
}

// smartAlertPolicy is the Smart Alert's policy on this PC now.
func (s *Server) smartAlertPolicy(ctx context.Context) SmartAlertPolicy {
	return SmartAlertPolicy{SmartAlert: s.Policy.SmartAlertOn(), SendAnyway: s.Policy.SendAnyway(s.orgPolicy(ctx).SmartAlertSendAnyway)}
}

// withPolicy writes the policy into launchevent.js.
func (s *Server) withPolicy(ctx context.Context, js []byte) []byte {
	return addin.WithPolicy(js, s.smartAlertPolicy(ctx))
}

// smartAlertOverride records the clerk's reason for sending anyway what
// the Smart Alert stopped (in the organisation's audit log, through the
// relay) and answers when it was recorded; the pane then lets the next
// send of that mail through. Refused unless this PC's policy allows it.
func (s *Server) smartAlertOverride(w http.ResponseWriter, r *http.Request) {
	var req relayapi.OverrideRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !s.smartAlertPolicy(r.Context()).SendAnyway {
		writeError(w, http.StatusForbidden, "not_allowed", "Organisationen tillader ikke at sende alligevel, når Smart Alert har fundet et CPR-nummer. Brug Send sikkert.")
		return
	}
	if e := req.Validate(); e != nil {
		writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	pr := s.Relay.(policyRelay) // SendAnyway is false without it
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	at, err := pr.RecordOverride(ctx, req)
	var e *relayapi.Error
	switch {
	case errors.As(err, &e):
		writeAPIError(w, http.StatusForbidden, e)
		return
	case err != nil:
		s.Log.Warn("smart alert override not recorded", "err", err)
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, så begrundelsen kan ikke gemmes, og mailen kan ikke sendes alligevel lige nu. Brug Send sikkert, eller prøv igen om lidt.")
		return
	}
	s.Log.Info("smart alert override recorded", "findings", len(req.Findings))
	writeJSON(w, http.StatusOK, map[string]any{"recorded": true, "at": at})
}
