package localapi

import "net/http"

// csrfToken hands a page the current CSRF token. The agent makes a new
// token at every start, so a pane left open across a restart holds a stale
// one; rather than "Genindlæs siden", the page asks here and tries again.
//
// This gives nothing a foreign page could not already get: the token is
// in every add-in page the agent serves, and a foreign origin can fetch
// neither without CORS, which only the configured add-in origins get. A
// request the browser marks as cross-site, or one with a foreign Origin,
// is refused outright.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" && !s.Guard.originOK(origin) {
		s.Guard.refuse(w, http.StatusForbidden, "bad_origin", "Forespørgslen er afvist: den kommer fra en side uden for Send sikkert.")
		return
	}
	if origin == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		s.Guard.refuse(w, http.StatusForbidden, "bad_origin", "Forespørgslen er afvist: den kommer fra en side uden for Send sikkert.")
		return
	}
	if origin != "" && s.Guard.allowedExtra(origin) {
		corsHeaders(w, origin)
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": s.Guard.Token})
}
