package relay

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/entra/entratest"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/queue/sqlstore"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/vault"
)

// hostedOn is a relay with the page API on store, as sendsikkert-relay
// serve assembles it (Choices is the store), without a worker.
func hostedOn(t *testing.T, iss *entratest.Issuer, store queue.Store) *httptest.Server {
	t.Helper()
	v, err := entra.New(entra.Config{BaseURL: "https://sendsikkert.kommune.dk", ClientID: pageClientID,
		Tenants: []string{pageTenant}, Scope: "access_as_user", OpenIDConfiguration: iss.OpenIDConfiguration(), RootCAs: iss.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	channels := map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: &countingChannel{seen: map[string]int{}}}
	s := &Server{Store: store, Registry: reg{}, Org: queue.DemoOrganisation(), Channels: channels,
		Entra: v.Authenticate, Choices: store.(queue.ReplyChoices), Log: slog.New(slog.DiscardHandler)}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func selected(t *testing.T, ts *httptest.Server, token string) (citizen, company string) {
	t.Helper()
	code, _, out := call(t, ts, "GET", "/api/v1/reply-mailboxes", token, "", nil)
	if code != http.StatusOK {
		t.Fatalf("reply mailboxes: %d %v", code, out)
	}
	return out["citizen"].(map[string]any)["selected"].(string), out["company"].(map[string]any)["selected"].(string)
}

// TestReplyChoiceSurvivesRestart: a hosted user's Digitalpost retursvar
// choice is saved in the relay's database before PUT answers: a relay
// started again on the same SQLite file shows it, and a send from a page
// that names no reply mailbox uses it.
func TestReplyChoiceSurvivesRestart(t *testing.T) {
	iss := entratest.New(t)
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	bo := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "bo@kommune.dk")
	key, _ := vault.New(vault.NewRandomKey())
	dir := t.TempDir()
	open := func() *sqlstore.SQLStore {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "relay.sqlite"), filepath.Join(dir, "blobs"), key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := open()
	ts := hostedOn(t, iss, first)
	if code, _, out := call(t, ts, "PUT", "/api/v1/reply-mailboxes", anna, "application/json", strings.NewReader(`{"citizen":"jobcenter","company":"borgerservice"}`)); code != http.StatusOK {
		t.Fatalf("set: %d %v", code, out)
	}
	ts.Close()
	first.Close()

	again := open()
	defer again.Close()
	ts = hostedOn(t, iss, again)
	if ci, co := selected(t, ts, anna); ci != "jobcenter" || co != "borgerservice" {
		t.Fatalf("after a restart: citizen %q company %q", ci, co)
	}
	if ci, co := selected(t, ts, bo); ci != "kommune" || co != "kommune" {
		t.Fatalf("bo sees anna's choice: %q %q", ci, co)
	}
	ct, body := sendBody(t, "restart-1")
	code, _, out := call(t, ts, "POST", "/api/v1/messages", anna, ct, body)
	if code != http.StatusAccepted {
		t.Fatalf("send: %d %v", code, out)
	}
	m, err := again.Get(context.Background(), out["id"].(string))
	if err != nil || m.Reply.Citizen != "jobcenter" || m.Reply.Company != "borgerservice" {
		t.Fatalf("the send's reply mailboxes: %+v %v", m.Reply, err)
	}
}

// TestReplyChoiceSharedOnPostgres: two relays on one PostgreSQL database
// (behind one load balancer) see the choice made through either.
func TestReplyChoiceSharedOnPostgres(t *testing.T) {
	_, dsn := databasetest.PostgresDSN(t)
	iss := entratest.New(t)
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	key, _ := vault.New(vault.NewRandomKey())
	var relays []*httptest.Server
	for range 2 {
		s, err := sqlstore.OpenPostgres(context.Background(), dsn, key)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		relays = append(relays, hostedOn(t, iss, s))
	}
	if code, _, out := call(t, relays[0], "PUT", "/api/v1/reply-mailboxes", anna, "application/json", strings.NewReader(`{"citizen":"jobcenter"}`)); code != http.StatusOK {
		t.Fatalf("set on the first: %d %v", code, out)
	}
	if code, _, out := call(t, relays[1], "PUT", "/api/v1/reply-mailboxes", anna, "application/json", strings.NewReader(`{"company":"borgerservice"}`)); code != http.StatusOK {
		t.Fatalf("set on the second: %d %v", code, out)
	}
	for i, ts := range relays {
		if ci, co := selected(t, ts, anna); ci != "jobcenter" || co != "borgerservice" {
			t.Fatalf("relay %d: citizen %q company %q", i+1, ci, co)
		}
	}
}
