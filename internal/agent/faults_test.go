package agent

import (
	"bytes"
	"context"
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
	"sendsikkert/internal/demo"
	"sendsikkert/internal/health"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// A fault the proxy in front of the real (demo) relay plays on a submit.
type fault int

const (
	pass       fault = iota
	status429        // rate limited, Retry-After
	status503        // relay storage down, Retry-After
	status502        // a proxy's HTML page
	portal           // a captive portal's 200 HTML, the relay never asked
	reset            // the connection dropped before the relay saw it
	lostAnswer       // the relay accepted; the answer is cut short
	proxy400         // a proxy's 400 HTML page
)

// faultProxy plays faults on the first submits, then passes everything.
type faultProxy struct {
	mu     sync.Mutex
	n      int
	faults int
	kind   fault
	next   http.Handler
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	k := pass
	if r.Method == http.MethodPost && p.n < p.faults {
		p.n++
		k = p.kind
	}
	p.mu.Unlock()
	body := func(code int, ct, s string, h ...string) {
		io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(h); i += 2 {
			w.Header().Set(h[i], h[i+1])
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		io.WriteString(w, s)
	}
	switch k {
	case status429:
		body(429, "application/json", `{"error":"rate_limited","message":"For mange forespørgsler."}`, "Retry-After", "1")
	case status503:
		body(503, "application/json", `{"error":"store","message":"Relæets lager svarer ikke."}`, "Retry-After", "2")
	case status502:
		body(502, "text/html", "<html><body>502 Bad Gateway</body></html>")
	case portal:
		body(200, "text/html", "<html>Log ind på gæstenettet</html>")
	case proxy400:
		body(400, "text/html", "<html>400 Bad Request</html>")
	case reset:
		io.Copy(io.Discard, r.Body)
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	case lostAnswer:
		rec := httptest.NewRecorder()
		p.next.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		b := rec.Body.Bytes()
		w.Write(b[:len(b)/2])
	default:
		p.next.ServeHTTP(w, r)
	}
}

type faultRun struct {
	sent, delivered, duplicated, lost, told int
}

// runFault sends n messages through the agent's outbox and worker to the
// real demo relay behind the proxy, damage applied to the outbox first,
// and counts the outcome: delivered exactly once, more than once, or not
// at all — and of those not delivered, how many the clerk was told of
// with a reason.
func runFault(t *testing.T, kind fault, faults, n int, damage func(*outbox.Outbox, *bolt.DB, []string)) faultRun {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	key, _ := vault.New(vault.NewRandomKey())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rl, closeRelay, err := demo.NewRelay(ctx, demo.Options{Dir: filepath.Join(dir, "demo"), Key: key, Auth: relay.BearerAuth("tok", "demo"), BaseURL: "http://127.0.0.1:1", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	relayDone := make(chan struct{})
	go func() {
		rl.Run(ctx)
		close(relayDone)
	}()
	defer func() {
		cancel()
		<-relayDone
		closeRelay()
	}()
	front := httptest.NewServer(&faultProxy{faults: faults, kind: kind, next: rl.Handler()})
	defer front.Close()

	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := outbox.Open(db, filepath.Join(dir, "outbox"), key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var ids []string
	for i := range n {
		name, bw, err := ob.Blobs().Create()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(bw, "%%PDF-1.7 bilag %d", i)
		bw.Commit()
		subject := fmt.Sprintf("Fejltest %02d", i)
		e := &outbox.Entry{ID: fmt.Sprintf("fault-%02d", i), Created: now.Add(time.Duration(i) * time.Millisecond), State: outbox.StatePending, NextAttempt: now,
			Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: subject, BodyHTML: "<p>Hej</p>", IdempotencyKey: "k" + subject},
			Files:   []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "bilag.pdf", ContentType: "application/pdf"}, Blob: name}}}
		if _, _, err := ob.Add(e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if damage != nil {
		damage(ob, db, ids)
	}
	// The worker on a clock of its own, moved on to each due time, so
	// that backoffs of seconds take none; the relay works in real time.
	var mu sync.Mutex
	clock := now
	w := &outbox.Worker{Outbox: ob, Relay: &relayclient.Client{BaseURL: front.URL, Token: "tok"}, Log: log, Health: &health.Board{},
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}
	deadline := time.Now().Add(60 * time.Second)
	for ob.Pending() > 0 && time.Now().Before(deadline) {
		worked, next := w.Pass(ctx)
		if worked == 0 {
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			if !next.IsZero() && next.After(clock) {
				clock = next
			} else {
				clock = clock.Add(time.Second)
			}
			mu.Unlock()
		}
	}
	if p := ob.Pending(); p > 0 {
		t.Fatalf("%d messages still pending after a minute", p)
	}
	// Count what the relay delivered: one MeMo file per delivery.
	files, _ := filepath.Glob(filepath.Join(dir, "demo", demo.DigitalPostDir, "*.xml"))
	perSubject := map[string]int{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for i := range n {
			if s := fmt.Sprintf("Fejltest %02d", i); bytes.Contains(b, []byte(s)) {
				perSubject[s]++
			}
		}
	}
	told := map[string]bool{}
	for _, id := range ids {
		if e, err := ob.Get(id); err == nil && e.Failure != nil && e.Failure.Message != "" && e.Status().Status == relayapi.StatusFailed {
			told[e.Message.Subject] = true
		}
	}
	for _, p := range ob.Problems() {
		for _, a := range p.Affected {
			told["record "+a.ID] = true
		}
	}
	r := faultRun{sent: n}
	for i := range n {
		s := fmt.Sprintf("Fejltest %02d", i)
		switch c := perSubject[s]; {
		case c == 1:
			r.delivered++
		case c > 1:
			r.delivered++
			r.duplicated++
		default:
			r.lost++
		}
	}
	r.told = len(told)
	return r
}

// TestFaults: every accepted message is delivered exactly once, or the
// clerk is told exactly which were not and why. The figures are logged.
func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		kind      fault
		faults    int
		damage    func(*outbox.Outbox, *bolt.DB, []string)
		delivered int
		told      int
	}{
		{"429 with Retry-After", status429, 6, nil, 20, 0},
		{"503 with Retry-After", status503, 6, nil, 20, 0},
		{"502 from a proxy", status502, 4, nil, 20, 0},
		{"captive portal 200 HTML", portal, 5, nil, 20, 0},
		{"400 HTML from a proxy", proxy400, 5, nil, 20, 0},
		{"connection reset", reset, 5, nil, 20, 0},
		{"answer lost after the relay accepted", lostAnswer, 5, nil, 20, 0},
		{"damaged attachment", pass, 0, func(ob *outbox.Outbox, _ *bolt.DB, ids []string) {
			for _, id := range ids[:3] {
				e, _ := ob.Get(id)
				p := filepath.Join(ob.Blobs().Dir, e.Files[0].Blob)
				b, _ := os.ReadFile(p)
				b[len(b)-4] ^= 0x55
				os.WriteFile(p, b, 0o600)
			}
		}, 17, 3},
		{"damaged outbox records", pass, 0, func(_ *outbox.Outbox, db *bolt.DB, ids []string) {
			db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("outbox"))
				for _, id := range ids[5:7] {
					v := append([]byte(nil), b.Get([]byte(id))...)
					v[len(v)/2] ^= 0xff
					b.Put([]byte(id), v)
				}
				return nil
			})
		}, 18, 2},
	}
	var report []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runFault(t, tt.kind, tt.faults, 20, tt.damage)
			line := fmt.Sprintf("%-40s sent %d, delivered %d, duplicated %d, lost %d (told %d)", tt.name, r.sent, r.delivered, r.duplicated, r.lost, r.told)
			report = append(report, line)
			t.Log(line)
			if r.delivered != tt.delivered || r.duplicated != 0 || r.lost != r.told || r.told != tt.told {
				t.Fatalf("%+v, want %d delivered once each and every other one told", r, tt.delivered)
			}
		})
	}
	t.Log("fault figures:\n" + strings.Join(report, "\n"))
}
