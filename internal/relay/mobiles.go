package relay

import (
	"net/http"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// setMobile corrects or removes the mobile number the address book
// remembers for an e-mail recipient (PUT /v1/directory/mobiles): a number
// given once for the secure mailbox's code must not be stuck there.
func (s *Server) setMobile(w http.ResponseWriter, r *http.Request) {
	var req relayapi.MobileRequest
	if !decodeStrict(w, r, 4<<10, &req) {
		return
	}
	id := recipient.Parse(req.Email, s.now())
	if id.Kind != recipient.KindEmail {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_email", Message: "»" + req.Email + "« er ikke en gyldig e-mailadresse."})
		return
	}
	mobile := ""
	if req.Mobile != "" {
		n, ok := recipient.NormalizeMobile(req.Mobile)
		if !ok {
			WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_mobile", Message: "»" + req.Mobile + "« er ikke et gyldigt mobilnummer. Skriv 8 cifre, eller +landekode og nummer."})
			return
		}
		mobile = n
	}
	ms, ok := s.Book.(directory.MobileSetter)
	if !ok {
		WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "no_book", Message: "Relæet husker ingen mobilnumre."})
		return
	}
	if err := ms.SetMobile(r.Context(), id.Value, mobile); err != nil {
		s.fail(w, "set mobile", err)
		return
	}
	action, outcome := "mobile_removed", ""
	if mobile != "" {
		action, outcome = "mobile_changed", recipient.MaskMobile(mobile)
	}
	s.audit(r.Context(), User(r), action, id, string(recipient.ChannelSecureMailbox), outcome, "")
	writeJSON(w, http.StatusOK, relayapi.MobileRequest{Email: id.Value, Mobile: recipient.MaskMobile(mobile)})
}
