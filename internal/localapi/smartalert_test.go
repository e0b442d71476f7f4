package localapi

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestSmartAlertPolicyServed: the agent writes the Smart Alert's policy
// into launchevent.js as it serves it — the ADMX off switch turns the
// alert off, and "Send alligevel" needs the organisation's yes (from the
// relay) and no ADMX no — and records an override only where allowed.
func TestSmartAlertPolicyServed(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name              string
		alert, pcAnyway   *bool
		orgAnyway         bool
		wantOn, wantSendA bool
	}{
		{"defaults, organisation says no", nil, nil, false, true, false},
		{"organisation allows", nil, nil, true, true, true},
		{"ADMX takes it away", nil, &off, true, true, false},
		{"ADMX cannot give it", nil, &on, false, true, false},
		{"ADMX off switch", &off, nil, true, false, false},
		{"ADMX on", &on, nil, false, true, false},
	}
	for _, tt := range tests {
		audit := filepath.Join(t.TempDir(), "audit.jsonl")
		rs := &relay.Server{Authenticate: relay.BearerAuth("tok", "anna"), Policy: relayapi.OrgPolicy{SmartAlertSendAnyway: tt.orgAnyway}, Audit: &demo.AuditFile{Path: audit}}
		ts := httptest.NewServer(rs.Handler())
		s := testServer(t)
		s.Relay = &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
		s.Policy = policy.Policy{SmartAlert: tt.alert, SmartAlertSendAnyway: tt.pcAnyway}
		h := s.Handler()

		r := httptest.NewRequest("GET", "https://localhost:47800/addin/outlook/launchevent.js", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := `var POLICY = {"smartAlert":` + map[bool]string{true: "true", false: "false"}[tt.wantOn] + `,"sendAnyway":` + map[bool]string{true: "true", false: "false"}[tt.wantSendA] + `}; // sendsikkert:policy`
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: launchevent.js lacks %s (HTTP %d)", tt.name, want, w.Code)
		}

		body := `{"reason":"Borgeren har selv bedt om almindelig mail","findings":[{"masked":"221177-xxxx","where":"brødteksten"}]}`
		r = httptest.NewRequest("POST", "https://localhost:47800/api/v1/smart-alert/override", strings.NewReader(body))
		r.Header.Set(CSRFHeader, s.Guard.Token)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		logged, _ := os.ReadFile(audit)
		if tt.wantSendA {
			if w.Code != 200 || !strings.Contains(string(logged), "smart_alert_override") || !strings.Contains(string(logged), "har selv bedt om") {
				t.Errorf("%s: override %d %s, audit %q", tt.name, w.Code, w.Body, logged)
			}
		} else if w.Code != 403 || len(logged) != 0 {
			t.Errorf("%s: override %d %s, audit %q; want refused", tt.name, w.Code, w.Body, logged)
		}
		ts.Close()
	}
}

// TestLaunchEventPlaceholder: the shipped launchevent.js carries the
// placeholder the agent fills in, with the safe default.
func TestLaunchEventPlaceholder(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "addin", "pages", launchEventJS))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), string(policyPlaceholder)) {
		t.Fatalf("launchevent.js lacks %s", policyPlaceholder)
	}
}
