package relay

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

// testStoreKey is the store key of the relays of one test database (every
// instance has the same, from the configuration).
var testStoreKey, _ = vault.New(vault.NewRandomKey())

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
	if sq, ok := store.(*sqlstore.SQLStore); ok {
		// As sendsikkert-relay serve: uploads in the store.
		s.Uploads = upload.OpenShared(sq.Uploads(), sq.Blobs(), testStoreKey)
	}
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
	key := testStoreKey
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
	key := testStoreKey
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

// TestUploadsAcrossInstances: Del sikkert behind a load balancer without
// affinity — two relays on one PostgreSQL database: the upload is created
// on one, its slices land on either, the other answers where to resume,
// and the message naming it is sent through the first; the document
// arrives whole, and the upload is gone from both.
func TestUploadsAcrossInstances(t *testing.T) {
	_, dsn := databasetest.PostgresDSN(t)
	iss := entratest.New(t)
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	bo := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "bo@kommune.dk")
	var relays []*httptest.Server
	var stores []*sqlstore.SQLStore
	for range 2 {
		s, err := sqlstore.OpenPostgres(context.Background(), dsn, testStoreKey)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
		relays = append(relays, hostedOn(t, iss, s))
	}
	a, b := relays[0], relays[1]
	// 9 MB: three slices; a PDF by its first bytes.
	doc := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("dokument "), 1_000_000)...)
	const slice = 4 << 20
	code, _, out := call(t, a, "POST", "/api/v1/uploads", anna, "application/json",
		strings.NewReader(fmt.Sprintf(`{"filename":"afgoerelse.pdf","contentType":"application/pdf","size":%d}`, len(doc))))
	if code != 201 {
		t.Fatalf("create on a: %d %v", code, out)
	}
	id := out["id"].(string)
	if code, _, out := call(t, b, "PUT", "/api/v1/uploads/"+id+"/0", anna, "application/octet-stream", bytes.NewReader(doc[:slice])); code != 200 || out["next"] != float64(1) {
		t.Fatalf("slice 0 on b: %d %v", code, out)
	}
	// Slice 1 twice, on each instance (a retry after a dropped
	// connection that went elsewhere): the second replaces the first.
	for _, ts := range []*httptest.Server{a, b} {
		if code, _, out := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/1", anna, "application/octet-stream", bytes.NewReader(doc[slice:2*slice])); code != 200 || out["next"] != float64(2) {
			t.Fatalf("slice 1: %d %v", code, out)
		}
	}
	if code, _, _ := call(t, b, "GET", "/api/v1/uploads/"+id, bo, "", nil); code != 404 {
		t.Fatalf("bo sees anna's upload on b: %d", code)
	}
	if code, _, out := call(t, a, "GET", "/api/v1/uploads/"+id, anna, "", nil); code != 200 || out["next"] != float64(2) || out["received"] != float64(2*slice) {
		t.Fatalf("resume point on a: %d %v", code, out)
	}
	if code, _, out := call(t, b, "PUT", "/api/v1/uploads/"+id+"/2", anna, "application/octet-stream", bytes.NewReader(doc[2*slice:])); code != 200 || out["complete"] != true {
		t.Fatalf("slice 2 on b: %d %v", code, out)
	}
	ct, body := sendBodyUpload(t, "across-1", id)
	code, _, out = call(t, a, "POST", "/api/v1/messages", anna, ct, body)
	if code != 202 {
		t.Fatalf("send on a: %d %v", code, out)
	}
	m, err := stores[1].Get(context.Background(), out["id"].(string))
	if err != nil || len(m.Attachments) != 2 || m.Attachments[0].Filename != "afgoerelse.pdf" || m.Attachments[0].Size != int64(len(doc)) {
		t.Fatalf("stored attachments %+v %v", m, err)
	}
	// The document as the other instance reads it from the blob store.
	rc, err := stores[1].Blobs().Open(m.Attachments[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("document read back: %d bytes, %v", len(got), err)
	}
	for i, ts := range relays {
		if code, _, _ := call(t, ts, "GET", "/api/v1/uploads/"+id, anna, "", nil); code != 404 {
			t.Fatalf("upload still on relay %d after the send: %d", i+1, code)
		}
	}
	// Its slices went with it: only the attachments' blobs are left.
	var chunks int
	if err := stores[0].DB().QueryRow(`SELECT COUNT(DISTINCT blob) FROM relay_blob_chunks`).Scan(&chunks); err != nil || chunks != len(m.Attachments) {
		t.Fatalf("%d blobs left (%v), want the message's %d", chunks, err, len(m.Attachments))
	}
}

// TestUploadSurvivesRestart: a half-sent document on a single SQLite
// relay is still there, where the pane left it, after a restart.
func TestUploadSurvivesRestart(t *testing.T) {
	iss := entratest.New(t)
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	dir := t.TempDir()
	open := func() *sqlstore.SQLStore {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "relay.sqlite"), filepath.Join(dir, "blobs"), testStoreKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	doc := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 100)...)
	first := open()
	ts := hostedOn(t, iss, first)
	code, _, out := call(t, ts, "POST", "/api/v1/uploads", anna, "application/json",
		strings.NewReader(fmt.Sprintf(`{"filename":"a.pdf","contentType":"application/pdf","size":%d}`, len(doc))))
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["id"].(string)
	if code, _, out := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/0", anna, "application/octet-stream", bytes.NewReader(doc[:50])); code != 200 {
		t.Fatalf("slice 0: %d %v", code, out)
	}
	ts.Close()
	first.Close()
	again := open()
	defer again.Close()
	ts = hostedOn(t, iss, again)
	if code, _, out := call(t, ts, "GET", "/api/v1/uploads/"+id, anna, "", nil); code != 200 || out["next"] != float64(1) || out["received"] != float64(50) {
		t.Fatalf("after a restart: %d %v", code, out)
	}
	if code, _, out := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/1", anna, "application/octet-stream", bytes.NewReader(doc[50:])); code != 200 || out["complete"] != true {
		t.Fatalf("slice 1: %d %v", code, out)
	}
	ct, body := sendBodyUpload(t, "restart-up", id)
	if code, _, out := call(t, ts, "POST", "/api/v1/messages", anna, ct, body); code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
}
