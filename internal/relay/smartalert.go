package relay

import (
	"net/http"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// policy answers GET /v1/policy: the organisation's decisions for every
// clerk's PC.
func (s *Server) policy(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Policy)
}

// smartAlertOverride records in the audit log that a clerk sends anyway
// what the Smart Alert stopped, with the reason. Refused when the
// organisation does not allow it, and when it cannot be recorded.
func (s *Server) smartAlertOverride(w http.ResponseWriter, r *http.Request) {
	if !s.Policy.SmartAlertSendAnyway {
		WriteError(w, http.StatusForbidden, &relayapi.Error{Code: "not_allowed", Message: "Organisationen tillader ikke at sende alligevel, når Smart Alert har fundet et CPR-nummer. Brug Send sikkert."})
		return
	}
	var req relayapi.OverrideRequest
	if !decodeStrict(w, r, 16<<10, &req) {
		return
	}
	if e := req.Validate(); e != nil {
		WriteError(w, http.StatusBadRequest, e)
		return
	}
	if s.Audit == nil {
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "audit", Message: "Relæet har ingen log, så begrundelsen kan ikke gemmes."})
		return
	}
	text := req.AuditText(func(t string) string { return maskCPRs(t, s) })
	if err := s.audit(r.Context(), User(r), "smart_alert_override", recipient.ID{}, "", text, ""); err != nil {
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "audit", Message: "Relæets log kan ikke skrives, så begrundelsen er ikke gemt. Prøv igen."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recorded": true, "at": s.now().UTC()})
}

// maskCPRs replaces every CPR number in free text by its masked form.
func maskCPRs(t string, s *Server) string {
	found := recipient.FindCPR(t, s.now())
	for i := len(found) - 1; i >= 0; i-- {
		f := found[i]
		t = t[:f.Start] + f.Masked + t[f.End:]
	}
	return t
}

// PageSettings is the part of the agent's settings (GET /api/v1/settings)
// that the relay decides, in the agent's JSON, for the hosted pages: the
// task pane offers "Send alligevel" from it as it does on a PC.
type PageSettings struct {
	// SmartAlert is always on for the hosted add-in (its manifest has
	// the OnMessageSend handler).
	SmartAlert bool `json:"smartAlert"`
	// SmartAlertSendAnyway is the organisation's smartAlert.sendAnyway.
	SmartAlertSendAnyway bool `json:"smartAlertSendAnyway"`
}

// pageSettings answers the hosted pages' GET /api/v1/settings.
func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, PageSettings{SmartAlert: true, SmartAlertSendAnyway: s.Policy.SmartAlertSendAnyway})
}
