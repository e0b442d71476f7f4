package localapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"sendsikkert/internal/relayapi"
)

// mobileRelay is the part of the relay client that corrects remembered
// mobile numbers.
type mobileRelay interface {
	SetMobile(ctx context.Context, email, mobile string) (relayapi.MobileRequest, error)
}

// setMobile corrects or removes (mobile "") the mobile number remembered
// for an e-mail recipient (PUT /api/v1/mobiles), from the pane or
// Indstillinger; the relay keeps the organisation's address book.
func (s *Server) setMobile(w http.ResponseWriter, r *http.Request) {
	var req relayapi.MobileRequest
	if !decodeBody(w, r, &req) {
		return
	}
	mr, ok := s.Relay.(mobileRelay)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, så mobilnummeret kan ikke ændres lige nu.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	out, err := mr.SetMobile(ctx, req.Email, req.Mobile)
	var e *relayapi.Error
	switch {
	case errors.As(err, &e):
		writeAPIError(w, http.StatusBadRequest, e)
	case err != nil:
		s.Log.Warn("mobile not changed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "relay_unavailable", "Relæet kan ikke nås, så mobilnummeret kan ikke ændres lige nu. Prøv igen om lidt.")
	default:
		writeJSON(w, http.StatusOK, out)
	}
}
