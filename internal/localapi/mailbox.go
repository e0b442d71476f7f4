package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"sendsikkert/internal/mailbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
)

// mailAccount reads the "mailbox" field of PUT /api/v1/settings: nil and
// no error for null (remove the account), the checked account otherwise.
func mailAccount(raw json.RawMessage) (*settings.MailAccount, *relayapi.Error) {
	if raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var a settings.MailAccount
	if fe := decodeStrict(bytes.NewReader(raw), &a); fe != nil {
		msg := "Postkassens indstillinger kunne ikke læses."
		if fe.Field != "" {
			msg = "Postkassens indstillinger kunne ikke læses: " + strings.Replace(fe.Message, "»"+fe.Field+"«", "»mailbox."+fe.Field+"«", 1)
		}
		return nil, &relayapi.Error{Code: "bad_mailbox", Message: msg}
	}
	a, err := mailbox.Normalize(a)
	if err != nil {
		var ue *mailbox.UserError
		if errors.As(err, &ue) {
			return nil, &relayapi.Error{Code: "bad_mailbox", Message: ue.Message}
		}
		return nil, &relayapi.Error{Code: "bad_mailbox", Message: "Postkassens indstillinger er ugyldige."}
	}
	return &a, nil
}

// putMailboxSecret takes the mailbox password or OAuth2 token into the OS
// keyring. It is never stored elsewhere and never sent back.
func (s *Server) putMailboxSecret(w http.ResponseWriter, r *http.Request) {
	if s.Mailbox == nil {
		writeError(w, http.StatusServiceUnavailable, "no_mailbox", "Forbindelsen til postkassen er ikke tilgængelig.")
		return
	}
	var req struct {
		Password *string `json:"password"`
		Token    *string `json:"token"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if (req.Password == nil) == (req.Token == nil) {
		writeError(w, http.StatusBadRequest, "bad_json", "Angiv enten en adgangskode (password) eller et token (token).")
		return
	}
	secret := req.Password
	if secret == nil {
		secret = req.Token
	}
	if err := s.Mailbox.SetSecret(*secret); err != nil {
		var ue *mailbox.UserError
		if errors.As(err, &ue) {
			writeError(w, http.StatusBadRequest, "bad_secret", ue.Message)
			return
		}
		s.Log.Error("mailbox secret not saved", "err", err)
		writeError(w, http.StatusInternalServerError, "keyring", "Adgangskoden kunne ikke gemmes i computerens nøglering. Prøv igen.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mailboxStatus is the link's state for the window's status view.
func (s *Server) mailboxStatus(w http.ResponseWriter, r *http.Request) {
	if s.Mailbox == nil {
		writeJSON(w, http.StatusOK, mailbox.Status{})
		return
	}
	writeJSON(w, http.StatusOK, s.Mailbox.Status())
}
