package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/entra"
	"sendsikkert/internal/entra/entratest"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

const (
	pageTenant   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	pageClientID = "11111111-2222-3333-4444-555555555555"
)

// pageRelay is a relay with the page API, tokens from an in-process issuer.
func pageRelay(t *testing.T, setup ...func(*Server, *queue.Worker)) (*Server, *entratest.Issuer, *httptest.Server) {
	t.Helper()
	iss := entratest.New(t)
	v, err := entra.New(entra.Config{BaseURL: "https://sendsikkert.kommune.dk", ClientID: pageClientID,
		Tenants: []string{pageTenant}, Scope: "access_as_user", OpenIDConfiguration: iss.OpenIDConfiguration(), RootCAs: iss.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	s, _, ts := testRelay(t, append([]func(*Server, *queue.Worker){func(s *Server, _ *queue.Worker) { s.Entra = v.Authenticate }}, setup...)...)
	return s, iss, ts
}

func userToken(t *testing.T, iss *entratest.Issuer, oid, upn string) string {
	c := iss.Claims(pageTenant, pageClientID, "access_as_user")
	c["oid"], c["preferred_username"] = oid, upn
	return iss.Token(t, c)
}

func call(t *testing.T, ts *httptest.Server, method, path, token, ctype string, body io.Reader) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// sendBody is the pages' multipart send: the message part, one attachment.
func sendBody(t *testing.T, key string) (string, io.Reader) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	msg, _ := json.Marshal(relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", IdempotencyKey: key})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment"; filename="afgoerelse.pdf"`)
	h.Set("Content-Type", "application/pdf")
	pw, _ = mw.CreatePart(h)
	pw.Write([]byte("%PDF-1.4 afgørelse"))
	mw.Close()
	return mw.FormDataContentType(), &b
}

// TestPageAPI: the hosted pages' calls — check, send with an attachment,
// status, reply mailboxes — answer the agent's JSON for a bearer token;
// the sender is the token's user, owned by tid/oid.
func TestPageAPI(t *testing.T) {
	s, iss, ts := pageRelay(t)
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")

	code, _, out := call(t, ts, "POST", "/api/v1/recipients/check", anna, "application/json", strings.NewReader(`{"recipients":["2211771212"]}`))
	if code != 200 {
		t.Fatalf("check: %d %v", code, out)
	}
	var rep recipient.Report
	b, _ := json.Marshal(out)
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 1 || !rep.Results[0].Secure {
		t.Fatalf("check answer %s", b)
	}

	ct, body := sendBody(t, "page-1")
	code, _, out = call(t, ts, "POST", "/api/v1/messages", anna, ct, body)
	if code != http.StatusAccepted || out["id"] == "" || out["status"] != "queued" {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["id"].(string)
	m, err := s.Store.Get(context.Background(), id)
	if err != nil || m.Sender != "anna@kommune.dk" || m.SenderID != "entra:"+pageTenant+"/00000000-0000-0000-0000-0000000000a1" || len(m.Attachments) != 1 {
		t.Fatalf("stored %+v %v", m, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, out = call(t, ts, "GET", "/api/v1/messages/"+id, anna, "", nil)
		if code != 200 {
			t.Fatalf("status: %d %v", code, out)
		}
		if out["status"] == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Another user of the same name (a reused UPN) is someone else.
	other := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "anna@kommune.dk")
	if code, _, _ := call(t, ts, "GET", "/api/v1/messages/"+id, other, "", nil); code != 404 {
		t.Fatalf("another oid sees the message: %d", code)
	}
	// A device of the same user name does not see an Entra user's message.
	if code, _, _ := call(t, ts, "GET", "/v1/messages/"+id, "tok", "", nil); code != 404 {
		t.Fatalf("device sees the Entra user's message: %d", code)
	}

	code, _, out = call(t, ts, "GET", "/api/v1/reply-mailboxes", anna, "", nil)
	if code != 200 || out["citizen"] == nil {
		t.Fatalf("reply mailboxes: %d %v", code, out)
	}
	opts := queue.DemoOrganisation().ReplyMailboxes
	pick := opts[len(opts)-1].ID
	code, _, out = call(t, ts, "PUT", "/api/v1/reply-mailboxes", anna, "application/json", strings.NewReader(`{"citizen":"`+pick+`"}`))
	if code != 200 || out["citizen"].(map[string]any)["selected"] != pick {
		t.Fatalf("set reply mailbox: %d %v", code, out)
	}
	if code, _, out := call(t, ts, "GET", "/api/v1/reply-mailboxes", other, "", nil); code != 200 || (len(opts) > 1 && out["citizen"].(map[string]any)["selected"] == pick && pick != queue.DemoOrganisation().DefaultCitizen) {
		t.Fatalf("another user got anna's choice: %v", out)
	}
	if code, _, _ := call(t, ts, "PUT", "/api/v1/reply-mailboxes", anna, "application/json", strings.NewReader(`{"citizen":"nope"}`)); code != 400 {
		t.Fatalf("unknown mailbox: %d", code)
	}
}

// TestPageAPIRefusals: no token, a device's token, a bad token, a
// stranger's tenant: refused with RFC 6750's header before any handler;
// no CORS for a foreign origin.
func TestPageAPIRefusals(t *testing.T) {
	_, iss, ts := pageRelay(t)
	stranger := iss.Claims("99999999-8888-7777-6666-555555555555", pageClientID, "access_as_user")
	stranger["iss"] = iss.IssuerFor("99999999-8888-7777-6666-555555555555")
	for name, tok := range map[string]string{"none": "", "device": "tok", "garbage": "a.b.c", "stranger": iss.Token(t, stranger)} {
		code, h, out := call(t, ts, "POST", "/api/v1/recipients/check", tok, "application/json", strings.NewReader(`{"recipients":["2211771212"]}`))
		if code != 401 || h.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("%s: %d %v %v", name, code, h, out)
		}
		if name == "stranger" && out["error"] != "tenant_not_enabled" {
			t.Errorf("stranger: %v", out)
		}
	}
	// An Entra token does not open the devices' API.
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	if code, _, _ := call(t, ts, "POST", "/v1/recipients/check", anna, "application/json", strings.NewReader(`{"recipients":["2211771212"]}`)); code != 401 {
		t.Errorf("entra token on a device route: %d", code)
	}
	req, _ := http.NewRequest("OPTIONS", ts.URL+"/api/v1/recipients/check", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode < 400 {
		t.Errorf("preflight answered: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestPageAPIRateLimit: one user's budget, not everyone's.
func TestPageAPIRateLimit(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	_, iss, ts := pageRelay(t, func(s *Server, _ *queue.Worker) {
		s.Limit = &UserLimit{Requests: 3, Sends: 1, Window: time.Minute, Now: func() time.Time { return time.Unix(0, now.Load()) }}
	})
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	bo := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "bo@kommune.dk")
	for i := range 4 {
		code, h, _ := call(t, ts, "GET", "/api/v1/reply-mailboxes", anna, "", nil)
		if want := map[bool]int{true: 200, false: 429}[i < 3]; code != want || (code == 429 && h.Get("Retry-After") == "") {
			t.Fatalf("request %d: %d %v", i+1, code, h)
		}
	}
	if code, _, _ := call(t, ts, "GET", "/api/v1/reply-mailboxes", bo, "", nil); code != 200 {
		t.Fatalf("bo limited by anna's requests: %d", code)
	}
	now.Add(int64(time.Minute))
	ct, body := sendBody(t, "rl-1")
	if code, _, out := call(t, ts, "POST", "/api/v1/messages", anna, ct, body); code != 202 {
		t.Fatalf("first send: %d %v", code, out)
	}
	ct, body = sendBody(t, "rl-2")
	if code, _, _ := call(t, ts, "POST", "/api/v1/messages", anna, ct, body); code != 429 {
		t.Fatalf("second send in the minute: %d", code)
	}
}

// TestPageAPIUploads: Del sikkert from the relay — a document in slices,
// owned by its user, resumable, then sent by uploadId with the message.
func TestPageAPIUploads(t *testing.T) {
	s, iss, ts := pageRelay(t, func(s *Server, _ *queue.Worker) {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "uploads.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		key, _ := vault.New(vault.NewRandomKey())
		if s.Uploads, err = upload.Open(db, filepath.Join(t.TempDir(), "uploads"), key); err != nil {
			t.Fatal(err)
		}
	})
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	bo := userToken(t, iss, "00000000-0000-0000-0000-0000000000b2", "bo@kommune.dk")
	doc := bytes.Repeat([]byte("dokument "), 700_000) // 6.3 MB: two slices
	code, _, out := call(t, ts, "POST", "/api/v1/uploads", anna, "application/json",
		strings.NewReader(fmt.Sprintf(`{"filename":"afgoerelse.pdf","contentType":"application/pdf","size":%d}`, len(doc))))
	if code != 201 || out["next"] != float64(0) {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["id"].(string)
	slice := 4 << 20
	if code, _, out := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/0", anna, "application/octet-stream", bytes.NewReader(doc[:slice])); code != 200 || out["next"] != float64(1) {
		t.Fatalf("slice 0: %d %v", code, out)
	}
	// Another user can neither see nor add to it.
	if code, _, _ := call(t, ts, "GET", "/api/v1/uploads/"+id, bo, "", nil); code != 404 {
		t.Fatalf("bo sees anna's upload: %d", code)
	}
	if code, _, _ := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/1", bo, "application/octet-stream", bytes.NewReader(doc[slice:])); code != 404 {
		t.Fatalf("bo adds to anna's upload: %d", code)
	}
	// Incomplete: not sendable yet.
	ct, body := sendBodyUpload(t, "up-1", id)
	if code, _, out := call(t, ts, "POST", "/api/v1/messages", anna, ct, body); code != 400 || out["error"] != "upload_incomplete" {
		t.Fatalf("incomplete upload sent: %d %v", code, out)
	}
	if code, _, out := call(t, ts, "GET", "/api/v1/uploads/"+id, anna, "", nil); code != 200 || out["next"] != float64(1) || out["received"] != float64(slice) {
		t.Fatalf("resume point: %d %v", code, out)
	}
	if code, _, out := call(t, ts, "PUT", "/api/v1/uploads/"+id+"/1", anna, "application/octet-stream", bytes.NewReader(doc[slice:])); code != 200 || out["complete"] != true {
		t.Fatalf("slice 1: %d %v", code, out)
	}
	// Bo cannot send anna's document.
	ct, body = sendBodyUpload(t, "up-bo", id)
	if code, _, out := call(t, ts, "POST", "/api/v1/messages", bo, ct, body); code != 400 || out["error"] != "upload_not_found" {
		t.Fatalf("bo sends anna's upload: %d %v", code, out)
	}
	ct, body = sendBodyUpload(t, "up-2", id)
	code, _, out = call(t, ts, "POST", "/api/v1/messages", anna, ct, body)
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	m, err := s.Store.Get(context.Background(), out["id"].(string))
	if err != nil || len(m.Attachments) != 2 || m.Attachments[0].Filename != "afgoerelse.pdf" || m.Attachments[0].Size != int64(len(doc)) {
		t.Fatalf("stored attachments %+v %v", m.Attachments, err)
	}
	if code, _, _ := call(t, ts, "GET", "/api/v1/uploads/"+id, anna, "", nil); code != 404 {
		t.Fatalf("upload still there after the send: %d", code)
	}
}

// sendBodyUpload is sendBody naming an upload besides its attachment.
func sendBodyUpload(t *testing.T, key, uploadID string) (string, io.Reader) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	msg, _ := json.Marshal(relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Del sikkert", BodyHTML: "<p>Hej</p>", IdempotencyKey: key, UploadID: uploadID})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment"; filename="bilag.txt"`)
	h.Set("Content-Type", "text/plain")
	pw, _ = mw.CreatePart(h)
	pw.Write([]byte("bilag"))
	mw.Close()
	return mw.FormDataContentType(), &b
}

// exemptReg knows one citizen exempt from Digital Post.
type exemptReg struct{}

func (exemptReg) Lookup(_ context.Context, id recipient.ID) (recipient.Party, error) {
	if id.Value == "0101701234" {
		return recipient.Party{Found: true, Name: "Bo Fritaget", DigitalPost: false}, nil
	}
	return reg{}.Lookup(context.Background(), id)
}

// TestPageAPIExemptLetter: an exempt citizen's letter from the hosted
// pages goes by the relay's print channel (fjernprint in production), not
// by any agent's local printer.
func TestPageAPIExemptLetter(t *testing.T) {
	letters := &countingChannel{seen: map[string]int{}}
	_, iss, ts := pageRelay(t, func(s *Server, _ *queue.Worker) {
		s.Registry = exemptReg{}
		s.Channels[recipient.ChannelPrint] = letters
		s.Printable = func(string, string) bool { return true }
	})
	anna := userToken(t, iss, "00000000-0000-0000-0000-0000000000a1", "anna@kommune.dk")
	code, _, out := call(t, ts, "POST", "/api/v1/recipients/check", anna, "application/json", strings.NewReader(`{"recipients":["0101701234"]}`))
	res := out["results"].([]any)[0].(map[string]any)
	if code != 200 || res["channel"] != "print" {
		t.Fatalf("check: %d %v", code, out)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	msg, _ := json.Marshal(relayapi.MessageRequest{Recipients: []string{"0101701234"}, Subject: "Brev", BodyHTML: "<p>Hej</p>", IdempotencyKey: "letter-1", Fallback: "print"})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write(msg)
	mw.Close()
	code, _, out = call(t, ts, "POST", "/api/v1/messages", anna, mw.FormDataContentType(), &b)
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, st := call(t, ts, "GET", "/api/v1/messages/"+id, anna, "", nil)
		if st["status"] == "printed" || st["status"] == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("letter not printed: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	letters.mu.Lock()
	n := len(letters.seen)
	letters.mu.Unlock()
	if n != 1 {
		t.Fatalf("print channel saw %d letters", n)
	}
}
