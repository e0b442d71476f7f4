package localapi

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Errors EnrollToken reports; the handler turns them into answers.
var (
	// ErrAlreadyEnrolled: zero-touch enrolment only joins a PC that has
	// not joined a relay; an enrolled agent refuses.
	ErrAlreadyEnrolled = errors.New("localapi: already enrolled")
	// ErrNoRelay: no relay URL from policy or --relay to enrol with.
	ErrNoRelay = errors.New("localapi: no relay configured")
)

// UnenrolledRoutes are what a not yet enrolled agent serves while it waits
// for zero-touch enrolment: the pages (so they can sign the clerk in), the
// relay's add-in config, the enrolment itself, and the health check.
// Everything else answers 503 not_enrolled.
func (s *Server) UnenrolledRoutes() []Route {
	return []Route{
		{Pattern: "GET /{$}", Handler: s.index},
		{Pattern: "GET /healthz", MaxBody: 1, Handler: s.unenrolledHealth},
		{Pattern: "POST /api/v1/enroll", MaxBody: 16 << 10, Handler: s.enroll},
		{Pattern: "GET /api/v1/addin-config", MaxBody: 1, Handler: s.addinConfig},
		{Pattern: "GET /addin/{path...}", MaxBody: 1, Handler: s.addinPage},
		{Pattern: "GET /addin/outlook.xml", MaxBody: 1, Handler: s.outlookManifest},
		{Pattern: "GET /addin/office.xml", MaxBody: 1, Handler: s.officeManifest},
	}
}

// UnenrolledHandler serves UnenrolledRoutes behind the same guard.
func (s *Server) UnenrolledHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.UnenrolledRoutes() {
		mux.Handle(rt.Pattern, s.Guard.Wrap(rt))
	}
	mux.Handle("/", s.Guard.Wrap(Route{Pattern: "GET /", Handler: func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "not_enrolled", notEnrolledText)
	}}))
	return s.Guard.Outer(mux)
}

const notEnrolledText = "Send sikkert på denne pc er ikke tilmeldt organisationens relæ endnu. Du tilmeldes automatisk med din Microsoft-konto; prøv igen om lidt, eller kontakt IT."

func (s *Server) unenrolledHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "not_enrolled", "version": s.Version, "demo": false, "enrolled": false})
}

// addinConfig hands the pages what NAA needs, as the policy relay says
// it (GET /v1/addin-config there).
func (s *Server) addinConfig(w http.ResponseWriter, r *http.Request) {
	if s.AddinConfig == nil {
		writeError(w, http.StatusNotFound, "no_addin_config", "Relæet tilbyder ikke login med Microsoft-konto.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	c, err := s.AddinConfig(ctx)
	if err != nil {
		s.Log.Warn("addin-config from the relay", "err", err)
		writeError(w, http.StatusBadGateway, "relay_unavailable", "Relæet kan ikke nås lige nu. Prøv igen om lidt.")
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// enrollToken is POST /api/v1/enroll with {"accessToken"}: zero-touch
// enrolment to the relay IT chose (policy or --relay), never one the page
// names.
func (s *Server) enrollToken(w http.ResponseWriter, r *http.Request, relay, token string) {
	if relay != "" {
		writeError(w, http.StatusBadRequest, "relay_not_yours", "Relæet vælges af IT, ikke af siden.")
		return
	}
	if s.EnrollToken == nil {
		writeError(w, http.StatusNotFound, "no_enroll", "Denne Send sikkert kan ikke tilmeldes herfra.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	user, err := s.EnrollToken(ctx, token)
	var refused interface{ Refusal() (int, string) }
	switch {
	case errors.Is(err, ErrAlreadyEnrolled):
		writeError(w, http.StatusConflict, "already_enrolled", "Pc'en er allerede tilmeldt et relæ.")
	case errors.Is(err, ErrNoRelay):
		writeError(w, http.StatusConflict, "no_relay", "IT har ikke valgt et relæ for denne pc, så den kan ikke tilmeldes automatisk.")
	case errors.As(err, &refused):
		status, msg := refused.Refusal()
		if status != http.StatusUnauthorized && status != http.StatusServiceUnavailable {
			status = http.StatusForbidden
		}
		writeError(w, status, "enroll_refused", "Relæet afviste tilmeldingen: "+msg)
	case err != nil:
		s.Log.Warn("zero-touch enrolment failed", "err", err)
		writeError(w, http.StatusBadGateway, "enroll_failed", "Tilmeldingen mislykkedes: relæet kunne ikke nås, eller nøgleringen er låst. Intet er ændret.")
	default:
		s.Log.Info("enrolled with the relay by Entra token", "user", user)
		writeJSON(w, http.StatusOK, map[string]string{"user": user, "message": "Pc'en er tilmeldt relæet som " + user + "."})
	}
}
