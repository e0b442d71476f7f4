package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/health"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// fakeRelay speaks the relay's HTTP API as far as the worker uses it: it
// accepts a submit once per idempotency key (as the real relay does),
// reports every accepted message delivered, and answers as script says
// when script returns an answer. It counts what reached it.
type fakeRelay struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   func(n int, key string) *answer
	submits  int
	ids      map[string]string // idempotency key → relay id
	accepted map[string]int    // idempotency key → times accepted anew
	order    []string          // subjects in the order accepted
	statuses int
	// statusAnswer, when set, answers status questions instead.
	statusAnswer *answer
}

func newFakeRelay(t *testing.T) *fakeRelay {
	f := &fakeRelay{ids: map[string]string{}, accepted: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", f.submit)
	mux.HandleFunc("GET /v1/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.statuses++
		a := f.statusAnswer
		f.mu.Unlock()
		if a != nil {
			w.Header().Set("Content-Type", a.contentType)
			w.WriteHeader(a.status)
			io.WriteString(w, a.body)
			return
		}
		st := relayapi.MessageStatus{ID: r.PathValue("id"), Status: relayapi.StatusDelivered,
			Recipients: []relayapi.RecipientStatus{{Input: "2211771212", Status: relayapi.StatusDelivered}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRelay) submit(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "no multipart", 400)
		return
	}
	var msg relayapi.MessageRequest
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err == nil && p.FormName() == "message" {
			err = json.NewDecoder(p).Decode(&msg)
		} else if err == nil {
			_, err = io.Copy(io.Discard, p)
		}
		if err != nil {
			// As the relay: a body cut short is not a message.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, relayBody("bad_multipart", "Forsendelsen blev afbrudt."))
			return
		}
	}
	f.mu.Lock()
	f.submits++
	var a *answer
	if f.script != nil {
		a = f.script(f.submits, msg.IdempotencyKey)
	}
	if a == nil || a.status < 300 {
		id, ok := f.ids[msg.IdempotencyKey]
		if !ok {
			id = fmt.Sprintf("r%d", len(f.ids)+1)
			f.ids[msg.IdempotencyKey] = id
			f.accepted[msg.IdempotencyKey]++
			f.order = append(f.order, msg.Subject)
		}
		if a == nil {
			a = &answer{202, "application/json", fmt.Sprintf(`{"id":%q,"status":"queued"}`, id), nil}
		}
	}
	f.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fakeRelay) client() *relayclient.Client { return &relayclient.Client{BaseURL: f.srv.URL} }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     *testing.T
	dir   string
	db    *bolt.DB
	ob    *Outbox
	key   *vault.Key
	clock *clock
	w     *Worker
	rel   *fakeRelay
}

func testLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _ := vault.New(vault.NewRandomKey())
	ob, err := Open(db, filepath.Join(dir, "outbox"), key)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, db: db, ob: ob, key: key, clock: &clock{t: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}, rel: newFakeRelay(t)}
	h.w = &Worker{Outbox: ob, Relay: h.rel.client(), Log: testLog(), Now: h.clock.now, Health: &health.Board{},
		Jitter: func(d time.Duration) time.Duration { return d - 1 }}
	return h
}

// add queues a message with one attachment, created now.
func (h *harness) add(subject string) string {
	h.t.Helper()
	name, bw, err := h.ob.Blobs().Create()
	if err != nil {
		h.t.Fatal(err)
	}
	io.WriteString(bw, "%PDF-1.7 "+subject)
	if err := bw.Commit(); err != nil {
		h.t.Fatal(err)
	}
	e := &Entry{ID: "id-" + subject, Created: h.clock.now(), State: StatePending, NextAttempt: h.clock.now(),
		Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: subject, IdempotencyKey: "key-" + subject},
		Files:   []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "afgørelse.pdf", ContentType: "application/pdf"}, Blob: name}}}
	id, added, err := h.ob.Add(e)
	if err != nil || !added {
		h.t.Fatalf("add %s: %v %v", subject, added, err)
	}
	h.clock.add(time.Millisecond)
	return id
}

// run passes until nothing is due now and returns the next due time.
func (h *harness) run() time.Time {
	h.t.Helper()
	for range 1000 {
		worked, next := h.w.Pass(context.Background())
		if worked == 0 {
			return next
		}
	}
	h.t.Fatal("worker never rests")
	return time.Time{}
}

func (h *harness) entry(id string) *Entry {
	h.t.Helper()
	e, err := h.ob.Get(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

func TestWorkerDelivers(t *testing.T) {
	h := newHarness(t)
	id := h.add("Sag 1")
	h.w.Pass(context.Background())
	e := h.entry(id)
	if e.State != StateHanded || e.RelayID != "r1" {
		t.Fatalf("after a pass: state %s relay id %q", e.State, e.RelayID)
	}
	// The attachment left the PC with the relay.
	if _, err := h.ob.Blobs().Open(e.Files[0].Blob); err == nil {
		t.Fatal("attachment still kept after the relay took it")
	}
	h.clock.add(time.Second)
	h.run()
	if e := h.entry(id); e.State != StateDone || e.Relay == nil || e.Relay.Status != relayapi.StatusDelivered {
		t.Fatalf("after the poll: %s %+v", e.State, e.Relay)
	}
	if h.ob.Pending() != 0 {
		t.Fatalf("pending %d", h.ob.Pending())
	}
}

func TestWorkerFinal(t *testing.T) {
	h := newHarness(t)
	h.rel.script = func(int, string) *answer {
		return &answer{400, "application/json", relayBody("recipient_rejected", "CPR-nummeret 221177-xxxx kan ikke modtage Digital Post."), nil}
	}
	var heard []relayapi.MessageStatus
	h.ob.OnChange = func(st relayapi.MessageStatus) { heard = append(heard, st) }
	id := h.add("Sag 2")
	if next := h.run(); !next.IsZero() {
		t.Fatalf("a final message is due again at %v", next)
	}
	e := h.entry(id)
	if e.State != StateDone || e.Failure == nil || e.Failure.Code != "recipient_rejected" {
		t.Fatalf("state %s failure %+v", e.State, e.Failure)
	}
	if st := e.Status(); st.Status != relayapi.StatusFailed || !strings.Contains(st.Recipients[0].Message, "kan ikke modtage Digital Post") {
		t.Fatalf("the clerk is not told why: %+v", st)
	}
	if len(heard) != 1 || heard[0].Status != relayapi.StatusFailed {
		t.Fatalf("OnChange heard %+v", heard)
	}
	if h.rel.submits != 1 {
		t.Fatalf("%d submits for a final refusal", h.rel.submits)
	}
	if len(h.w.Problems()) != 0 {
		t.Fatalf("a refusal is not an outage: %+v", h.w.Problems())
	}
}

// TestWorkerRetryAfter: a 503 with Retry-After holds every message back
// for that long, and only one message asks in the meantime.
func TestWorkerRetryAfter(t *testing.T) {
	h := newHarness(t)
	down := true
	h.rel.script = func(int, string) *answer {
		if down {
			return &answer{503, "application/json", relayBody("store", "Relæets lager svarer ikke."), map[string]string{"Retry-After": "120"}}
		}
		return nil
	}
	ids := []string{h.add("A"), h.add("B"), h.add("C")}
	next := h.run()
	if h.rel.submits != 1 {
		t.Fatalf("%d submits while the relay is away, want one probe", h.rel.submits)
	}
	if want := h.clock.now().Add(2 * time.Minute); !next.Equal(want) {
		t.Fatalf("next attempt %v, want the relay's Retry-After %v", next, want)
	}
	for _, id := range ids {
		if e := h.entry(id); e.State != StatePending {
			t.Fatalf("%s: state %s, want pending", id, e.State)
		}
	}
	probs := h.w.Problems()
	if len(probs) != 1 || probs[0].Code != ProblemRelayUnreachable || probs[0].Message != "Relæet kan ikke nås — 3 beskeder venter" {
		t.Fatalf("problems %+v", probs)
	}
	// Before the wait is over nothing is tried, however often woken.
	h.clock.add(119 * time.Second)
	for range 5 {
		h.run()
	}
	if h.rel.submits != 1 {
		t.Fatalf("%d submits before Retry-After passed", h.rel.submits)
	}
	down = false
	h.clock.add(time.Second)
	h.run()
	if h.rel.submits != 4 {
		t.Fatalf("%d submits after recovery, want 4", h.rel.submits)
	}
	if got := strings.Join(h.rel.order, ","); got != "A,B,C" {
		t.Fatalf("delivered in order %s, want A,B,C", got)
	}
	if len(h.w.Problems()) != 0 {
		t.Fatalf("problems after recovery: %+v", h.w.Problems())
	}
}

// TestWorkerOutageCalm: with the relay down, the wait grows to the cap
// and stays there; attempts are never given up, and after a day the
// messages are named to the clerk.
func TestWorkerOutageCalm(t *testing.T) {
	h := newHarness(t)
	h.rel.srv.Close() // connection refused from now on
	for i := range 50 {
		h.add(fmt.Sprintf("M%02d", i))
	}
	var waits []time.Duration
	start := h.clock.now()
	for h.clock.now().Sub(start) < 25*time.Hour {
		before := h.clock.now()
		next := h.run()
		if next.IsZero() || !next.After(before) {
			t.Fatalf("next %v at %v: the worker would spin", next, before)
		}
		waits = append(waits, next.Sub(before))
		h.clock.t = next
	}
	for i, d := range waits {
		if d > MaxInterval {
			t.Fatalf("wait %d is %v, over the cap", i, d)
		}
		if i > 0 && d < waits[i-1] && waits[i-1] != MaxInterval {
			t.Fatalf("wait %d shrank: %v after %v", i, d, waits[i-1])
		}
	}
	if last := waits[len(waits)-1]; last != MaxInterval-1 && last != MaxInterval {
		t.Fatalf("the wait settled at %v, want the cap", last)
	}
	// A day at the cap is about 100 probes, not 50 messages' worth each.
	if n := len(waits); n > 130 {
		t.Fatalf("%d probes in 25 h", n)
	}
	if h.ob.Pending() != 50 {
		t.Fatalf("pending %d, want all 50 still queued", h.ob.Pending())
	}
	var long *health.Problem
	for _, p := range h.w.Problems() {
		if p.Code == ProblemLongWait {
			long = &p
		}
	}
	if long == nil || !strings.HasPrefix(long.Message, "50 beskeder har ventet mere end et døgn") || len(long.Affected) != 20 ||
		long.Affected[0].Subject != "M00" || long.Affected[0].Created.IsZero() {
		t.Fatalf("long-wait problem %+v", long)
	}
}

// TestWorkerPoisonMessage: a message the relay fails with a 500 of its own
// waits with its own backoff and does not hold the others up.
func TestWorkerPoisonMessage(t *testing.T) {
	h := newHarness(t)
	h.rel.script = func(_ int, key string) *answer {
		if key == "id-A" {
			return &answer{500, "text/html", "<html>Internal error</html>", nil}
		}
		return nil
	}
	a := h.add("A")
	h.add("B")
	h.add("C")
	h.run()
	if got := strings.Join(h.rel.order, ","); got != "B,C" {
		t.Fatalf("accepted %q, want B,C past the failing A", got)
	}
	e := h.entry(a)
	if e.State != StatePending || e.Attempts != 1 || !e.NextAttempt.After(h.clock.now()) {
		t.Fatalf("A: %s attempts %d next %v", e.State, e.Attempts, e.NextAttempt)
	}
	if !hasEvent(e.Events, "Relæet svarer ikke. Send sikkert prøver igen automatisk.") {
		t.Fatalf("A's events %+v", e.Events)
	}
}

// TestWorkerProxyFailsAll: three messages in a row failing alike (a
// captive portal answering for the relay) is an outage too.
func TestWorkerProxyFailsAll(t *testing.T) {
	h := newHarness(t)
	h.rel.script = func(int, string) *answer { return &answer{200, "text/html", "<html>Log ind</html>", nil} }
	for i := range 10 {
		h.add(fmt.Sprintf("M%d", i))
	}
	h.run()
	if h.rel.submits != 3 {
		t.Fatalf("%d submits, want 3 then a shared wait", h.rel.submits)
	}
	if probs := h.w.Problems(); len(probs) != 1 || probs[0].Code != ProblemRelayUnreachable {
		t.Fatalf("problems %+v", probs)
	}
}

// TestWorkerLostAnswer: the relay accepted but its answer was lost (a
// truncated body): the retry carries the same key, and the relay's
// de-duplication makes it one message.
func TestWorkerLostAnswer(t *testing.T) {
	h := newHarness(t)
	h.rel.script = func(n int, _ string) *answer {
		if n == 1 {
			return &answer{202, "application/json", `{"id":"r`, nil}
		}
		return nil
	}
	id := h.add("A")
	next := h.run()
	h.clock.t = next
	h.run()
	if e := h.entry(id); e.State == StatePending {
		t.Fatalf("still pending after the retry")
	}
	if h.rel.submits != 2 || h.rel.accepted["id-A"] != 1 {
		t.Fatalf("submits %d, accepted %d: want 2 and 1", h.rel.submits, h.rel.accepted["id-A"])
	}
}

// TestWorkerCertificate: a relay whose certificate fails verification
// holds the messages (not final, no tight loop) and says IT must act.
func TestWorkerCertificate(t *testing.T) {
	h := newHarness(t)
	tlsSrv := httptest.NewTLSServer(h.rel.srv.Config.Handler)
	defer tlsSrv.Close()
	h.w.Relay = &relayclient.Client{BaseURL: tlsSrv.URL} // the system roots do not know httptest's CA
	id := h.add("A")
	h.add("B")
	next := h.run()
	if h.rel.submits != 0 || next.IsZero() || !next.After(h.clock.now()) {
		t.Fatalf("submits %d next %v", h.rel.submits, next)
	}
	e := h.entry(id)
	if e.State != StatePending || e.Failure != nil {
		t.Fatalf("state %s failure %+v: a certificate problem is not final", e.State, e.Failure)
	}
	probs := h.w.Problems()
	if len(probs) != 1 || probs[0].Code != ProblemRelayCertificate || !strings.Contains(probs[0].Message, "IT skal rette relæets certifikat") || !strings.Contains(probs[0].Message, "2 beskeder venter") {
		t.Fatalf("problems %+v", probs)
	}
}

// TestWorkerDamagedAttachment: a damaged attachment fails its message
// once, with that reason, and the file is kept for IT.
func TestWorkerDamagedAttachment(t *testing.T) {
	h := newHarness(t)
	id := h.add("A")
	e := h.entry(id)
	path := filepath.Join(h.ob.Blobs().Dir, e.Files[0].Blob)
	b, _ := os.ReadFile(path)
	b[len(b)-5] ^= 0xff
	os.WriteFile(path, b, 0o600)
	if next := h.run(); !next.IsZero() {
		t.Fatalf("due again at %v", next)
	}
	e = h.entry(id)
	if e.State != StateDone || e.Failure == nil || e.Failure.Code != "attachment_damaged" || !strings.Contains(e.Failure.Message, "afgørelse.pdf") {
		t.Fatalf("state %s failure %+v", e.State, e.Failure)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the damaged file was removed: %v", err)
	}
	if h.rel.accepted["id-A"] != 0 {
		t.Fatal("a damaged message reached the relay")
	}
	if len(h.w.Problems()) != 0 {
		t.Fatalf("a damaged file is not an outage: %+v", h.w.Problems())
	}
}

func TestAddIdempotent(t *testing.T) {
	h := newHarness(t)
	first := h.add("A")
	again := &Entry{ID: "other", Created: h.clock.now(), State: StatePending, Message: relayapi.MessageRequest{IdempotencyKey: "key-A"}}
	id, added, err := h.ob.Add(again)
	if err != nil || added || id != first {
		t.Fatalf("second add with the same key: %q %v %v", id, added, err)
	}
	if got, ok := h.ob.ByKey("key-A"); !ok || got != first {
		t.Fatalf("ByKey = %q %v", got, ok)
	}
	if _, ok := h.ob.ByKey("nope"); ok {
		t.Fatal("ByKey found an unknown key")
	}
	if _, err := h.ob.Get("nope"); err != ErrNotFound {
		t.Fatalf("Get unknown: %v", err)
	}
	if h.ob.Pending() != 1 {
		t.Fatalf("pending %d", h.ob.Pending())
	}
}

// TestWorkerDamagedRecord: a record that cannot be opened (damaged, or
// sealed with another key) is set aside once — kept, not deleted — and
// told; the others go on.
func TestWorkerDamagedRecord(t *testing.T) {
	h := newHarness(t)
	bad := h.add("A")
	h.add("B")
	h.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		v := append([]byte(nil), b.Get([]byte(bad))...)
		v[len(v)/2] ^= 0xff
		return b.Put([]byte(bad), v)
	})
	if _, err := h.ob.Get(bad); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Get of a damaged record: %v", err)
	}
	if items, err := h.ob.List("", 0); err != nil || len(items) != 1 {
		t.Fatalf("List with a damaged record: %v %v", items, err)
	}
	h.run()
	if got := strings.Join(h.rel.order, ","); got != "B" {
		t.Fatalf("accepted %q, want B", got)
	}
	if h.ob.Pending() != 0 {
		t.Fatalf("pending %d: the damaged record is still queued", h.ob.Pending())
	}
	probs := h.ob.Problems()
	if len(probs) != 1 || probs[0].Code != ProblemRecordDamaged || !strings.HasPrefix(probs[0].Message, "1 forsendelse i udbakken kan ikke læses") ||
		len(probs[0].Affected) != 1 || probs[0].Affected[0].ID != bad || probs[0].Affected[0].Created.IsZero() {
		t.Fatalf("problems %+v", probs)
	}
	var kept []byte
	h.db.View(func(tx *bolt.Tx) error {
		kept = tx.Bucket(bucketDamaged).Get([]byte(bad))
		return nil
	})
	if len(kept) == 0 {
		t.Fatal("the damaged record was not kept")
	}
	// A readable record is never set aside.
	if moved, err := h.ob.SetAside("id-B", errors.New("x"), h.clock.now()); moved || err != nil {
		t.Fatalf("SetAside of a good record: %v %v", moved, err)
	}
}

// TestWorkerClockSkew: a relay whose clock is two days ahead asks for 30 s
// by an HTTP date; the wait is 30 s, and nothing counts as waiting long.
func TestWorkerClockSkew(t *testing.T) {
	h := newHarness(t)
	relayNow := h.clock.now().Add(48 * time.Hour)
	h.rel.script = func(int, string) *answer {
		return &answer{503, "text/plain", "busy", map[string]string{
			"Date": relayNow.UTC().Format(http.TimeFormat), "Retry-After": relayNow.Add(30 * time.Second).UTC().Format(http.TimeFormat)}}
	}
	h.add("A")
	next := h.run()
	if got := next.Sub(h.clock.now()); got != 30*time.Second {
		t.Fatalf("waits %v, want the 30 s the relay asked for", got)
	}
	for _, p := range h.w.Problems() {
		if p.Code == ProblemLongWait {
			t.Fatalf("the relay's clock made a long wait: %+v", p)
		}
	}
}

// TestWorkerRelayRestored: a relay restored from a backup older than a
// handed message answers its status with its own 404 not_found: the clerk
// is told (the files left with the relay, so the PC cannot send it again
// by itself) instead of the PC asking forever. A 404 from a proxy is no
// such answer.
func TestWorkerRelayRestored(t *testing.T) {
	h := newHarness(t)
	proxy := &answer{404, "text/html", "<html>Not Found</html>", nil}
	h.rel.statusAnswer = proxy
	id := h.add("Sag 9")
	h.w.Pass(context.Background())
	for range 3 {
		h.clock.add(time.Minute)
		h.run()
	}
	if e := h.entry(id); e.State != StateHanded {
		t.Fatalf("a proxy's 404 ended the message: %s %+v", e.State, e.Failure)
	}
	h.rel.mu.Lock()
	h.rel.statusAnswer = &answer{404, "application/json", relayBody("not_found", "Forsendelsen findes ikke."), nil}
	h.rel.mu.Unlock()
	h.clock.add(time.Minute)
	if next := h.run(); !next.IsZero() {
		t.Fatalf("still asking at %v", next)
	}
	e := h.entry(id)
	if e.State != StateDone || e.Failure == nil || e.Failure.Code != ProblemNotAtRelay {
		t.Fatalf("state %s failure %+v", e.State, e.Failure)
	}
	if st := e.Status(); st.Status != relayapi.StatusFailed || !strings.Contains(st.Recipients[0].Message, "send den igen") {
		t.Fatalf("the clerk is not told: %+v", st)
	}
}
