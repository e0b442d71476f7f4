package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"sendsikkert/addin"
	"sendsikkert/internal/enroll/authority"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/vault"
)

// TestHostedSmartAlertPolicy: the relay's smartAlert.sendAnyway reaches
// the Smart Alert script the hosted add-in serves, as it reaches the
// agent's through GET /v1/policy.
func TestHostedSmartAlertPolicy(t *testing.T) {
	for _, allow := range []bool{false, true} {
		cfg := &Config{Data: t.TempDir(), HostedAddin: &HostedAddinConfig{BaseURL: "https://sendsikkert.kommune.dk", ClientID: "11111111-2222-3333-4444-555555555555",
			Tenants: []string{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, Scope: "access_as_user",
			OpenIDConfiguration: "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"}}
		cfg.SmartAlert.SendAnyway = allow
		key, _ := vault.New(vault.NewRandomKey())
		rs := &relay.Server{}
		stop, err := hostedAddin(cfg, rs, &authority.Authority{}, key, tls.Certificate{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		rs.AddinSite.ServeHTTP(w, httptest.NewRequest("GET", "/addin/"+addin.LaunchEventJS, nil))
		stop()
		b, _ := io.ReadAll(w.Body)
		want := addin.WithPolicy(addin.PolicyPlaceholder, addin.SmartAlertPolicy{SmartAlert: true, SendAnyway: allow})
		if w.Code != 200 || !bytes.Contains(b, want) {
			t.Errorf("sendAnyway %v: %d, script lacks %s", allow, w.Code, want)
		}
	}
}
