package outbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// answer is what a fake relay (or whatever stands in its place) says.
type answer struct {
	status      int
	contentType string
	body        string
	header      map[string]string
}

func relayBody(code, msg string) string {
	return fmt.Sprintf(`{"error":%q,"message":%q}`, code, msg)
}

// TestDecide shows the one decision every relay answer and error shape:
// the answer goes through the real relay client, so what is tested is what
// the worker sees.
func TestDecide(t *testing.T) {
	const js = "application/json; charset=utf-8"
	tests := []struct {
		name    string
		ans     answer
		outcome Outcome
		shared  bool
		after   time.Duration
		code    string
	}{
		{"invalid recipient", answer{400, js, relayBody("recipient_rejected", "CPR-nummeret findes ikke."), nil}, Final, false, 0, "recipient_rejected"},
		{"too large", answer{413, js, relayBody("attachments_too_large", "For store."), nil}, Final, false, 0, "attachments_too_large"},
		{"message part too large", answer{413, js, relayBody("message_too_large", "For stor."), nil}, Final, false, 0, "message_too_large"},
		{"validation", answer{400, js, relayBody("subject_missing", "Emne mangler."), nil}, Final, false, 0, "subject_missing"},
		{"cpr in subject", answer{400, js, relayBody("cpr_in_subject", "CPR i emnet."), nil}, Final, false, 0, "cpr_in_subject"},
		{"relay could not convert an attachment", answer{415, js, relayBody("attachment_not_converted", "Bilaget »noter.txt« ... det lykkedes ikke."), nil}, Final, false, 0, "attachment_not_converted"},
		{"too large to convert at the relay", answer{415, js, relayBody("attachment_too_large_to_convert", "For stor."), nil}, Final, false, 0, "attachment_too_large_to_convert"},
		{"revoked device", answer{403, js, relayBody("device_revoked", "Pc'en er spærret."), nil}, Final, false, 0, "device_revoked"},
		{"relay cannot read upload (disk full)", answer{400, js, relayBody("bad_multipart", "Bilaget blev ikke modtaget helt."), nil}, Retry, false, 0, ""},
		{"relay store failed, 4xx", answer{400, js, relayBody("store", "Lageret svarer ikke."), nil}, Retry, false, 0, ""},
		{"unknown code", answer{400, js, relayBody("something_new", "Noget nyt."), nil}, Retry, false, 0, ""},
		{"device unknown while its database is down", answer{401, js, relayBody("unauthorized", "Relæet kender ikke denne afsender."), nil}, Hold, true, 0, ProblemDeviceRefused},
		{"408", answer{408, "text/plain", "timeout", nil}, Retry, true, 0, ""},
		{"408 with relay body", answer{408, js, relayBody("recipient_rejected", "x"), nil}, Retry, true, 0, ""},
		{"425", answer{425, "text/plain", "", nil}, Retry, true, 0, ""},
		{"429 Retry-After seconds", answer{429, js, relayBody("rate_limited", "Vent."), map[string]string{"Retry-After": "120"}}, Retry, true, 2 * time.Minute, ""},
		{"503 Retry-After date", answer{503, js, relayBody("store", "Vent."), map[string]string{"Date": "Wed, 02 Dec 2026 10:00:00 GMT", "Retry-After": "Wed, 02 Dec 2026 10:00:30 GMT"}}, Retry, true, 30 * time.Second, ""},
		{"503 Retry-After garbage", answer{503, "", "", map[string]string{"Retry-After": "soon"}}, Retry, true, 0, ""},
		{"500 with relay body", answer{500, js, relayBody("recipient_rejected", "x"), nil}, Retry, false, 0, ""},
		{"502 proxy", answer{502, "text/html", "<html>Bad gateway</html>", nil}, Retry, true, 0, ""},
		{"504 proxy", answer{504, "text/html", "<html>Gateway timeout</html>", nil}, Retry, true, 0, ""},
		{"507 disk full", answer{507, js, relayBody("store", "Disken er fuld."), nil}, Retry, true, 0, ""},
		{"400 from a proxy (HTML)", answer{400, "text/html", "<html><body>Bad Request</body></html>", nil}, Retry, false, 0, ""},
		{"403 captive portal", answer{403, "text/html", "<html>Log ind på hotellets net</html>", nil}, Retry, false, 0, ""},
		{"404 proxy JSON without our fields", answer{404, js, `{"status":404}`, nil}, Retry, false, 0, ""},
		{"400 truncated relay body", answer{400, js, `{"error":"recipient_rej`, nil}, Retry, false, 0, ""},
		{"400 relay code without message", answer{400, js, `{"error":"recipient_rejected"}`, nil}, Retry, false, 0, ""},
		{"400 relay body in an HTML page", answer{400, "text/html", relayBody("recipient_rejected", "x"), nil}, Retry, false, 0, ""},
		{"202 captive portal HTML", answer{202, "text/html", "<html>Velkommen</html>", nil}, Retry, false, 0, ""},
		{"202 truncated", answer{202, js, `{"id":"ab`, nil}, Retry, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				for k, v := range tt.ans.header {
					w.Header().Set(k, v)
				}
				if tt.ans.contentType != "" {
					w.Header().Set("Content-Type", tt.ans.contentType)
				}
				w.WriteHeader(tt.ans.status)
				io.WriteString(w, tt.ans.body)
			}))
			defer srv.Close()
			c := &relayclient.Client{BaseURL: srv.URL}
			_, err := c.Submit(context.Background(), &relayapi.MessageRequest{Subject: "x", IdempotencyKey: "k"}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			d := Decide(err)
			if d.Outcome != tt.outcome || d.Shared != tt.shared || d.RetryAfter != tt.after {
				t.Fatalf("Decide(%v) = outcome %d shared %v after %v, want %d %v %v", err, d.Outcome, d.Shared, d.RetryAfter, tt.outcome, tt.shared, tt.after)
			}
			if tt.code != "" && (d.Reason == nil || d.Reason.Code != tt.code || d.Reason.Message == "") {
				t.Fatalf("reason %+v, want code %s with a message", d.Reason, tt.code)
			}
			if tt.outcome == Retry && d.Reason != nil {
				t.Fatalf("a retry carries no final reason: %+v", d.Reason)
			}
		})
	}
}

// TestDecideConnection covers errors that never reach an HTTP answer.
func TestDecideConnection(t *testing.T) {
	// Connection refused: a port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, refused := (&relayclient.Client{BaseURL: "http://" + addr}).Submit(context.Background(), &relayapi.MessageRequest{}, nil)

	// A TLS handshake cut off (the relay restarting): the server closes
	// every connection at once.
	cut, _ := net.Listen("tcp", "127.0.0.1:0")
	defer cut.Close()
	go func() {
		for {
			c, err := cut.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, handshake := (&relayclient.Client{BaseURL: "https://" + cut.Addr().String()}).Submit(context.Background(), &relayapi.MessageRequest{}, nil)

	// A relay certificate that fails verification.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	_, untrusted := (&relayclient.Client{BaseURL: tlsSrv.URL, HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}}).Submit(context.Background(), &relayapi.MessageRequest{}, nil)
	// The right CA but the wrong name.
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	_, wrongName := (&relayclient.Client{BaseURL: strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1), HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "relay.kommune.dk"}}}}).Submit(context.Background(), &relayapi.MessageRequest{}, nil)

	// A timeout.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, timeout := (&relayclient.Client{BaseURL: slow.URL}).Submit(ctx, &relayapi.MessageRequest{}, nil)

	// A damaged attachment on this PC.
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"r1","status":"queued"}`)
	}))
	defer ok.Close()
	bad := func() (io.ReadCloser, error) { return io.NopCloser(&failing{}), nil }
	_, damaged := (&relayclient.Client{BaseURL: ok.URL}).Submit(context.Background(), &relayapi.MessageRequest{}, []relayclient.Upload{{FileInfo: relayapi.FileInfo{Filename: "afgørelse.pdf"}, Open: bad}})
	missing := func() (io.ReadCloser, error) { return nil, errors.New("no such file") }
	_, gone := (&relayclient.Client{BaseURL: ok.URL}).Submit(context.Background(), &relayapi.MessageRequest{}, []relayclient.Upload{{FileInfo: relayapi.FileInfo{Filename: "bilag.pdf"}, Open: missing}})

	tests := []struct {
		name    string
		err     error
		outcome Outcome
		shared  bool
		code    string
	}{
		{"connection refused", refused, Retry, true, ""},
		{"TLS handshake cut off", handshake, Retry, true, ""},
		{"certificate not trusted", untrusted, Hold, true, ProblemRelayCertificate},
		{"certificate for another name", wrongName, Hold, true, ProblemRelayCertificate},
		{"timeout", timeout, Retry, true, ""},
		{"attachment damaged while read", damaged, Final, false, "attachment_damaged"},
		{"attachment gone", gone, Final, false, "attachment_damaged"},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		d := Decide(tt.err)
		if d.Outcome != tt.outcome || d.Shared != tt.shared {
			t.Errorf("%s: Decide(%v) = %d shared %v, want %d %v", tt.name, tt.err, d.Outcome, d.Shared, tt.outcome, tt.shared)
		}
		if tt.code != "" && (d.Reason == nil || d.Reason.Code != tt.code) {
			t.Errorf("%s: reason %+v, want %s", tt.name, d.Reason, tt.code)
		}
	}
}

type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n == 0 {
		f.n++
		return copy(p, "%PDF-1.7"), nil
	}
	return 0, errors.New("vault: message authentication failed")
}

func TestBackoff(t *testing.T) {
	none := func(time.Duration) time.Duration { return 0 }
	all := func(d time.Duration) time.Duration { return d - 1 }
	tests := []struct {
		n          int
		retryAfter time.Duration
		jitter     func(time.Duration) time.Duration
		want       time.Duration
	}{
		{1, 0, none, 750 * time.Millisecond},
		{2, 0, none, 1500 * time.Millisecond},
		{3, 0, none, 3 * time.Second},
		{1, 0, all, time.Second},
		{4, 0, all, 8 * time.Second},
		{10, 0, none, 384 * time.Second},
		{11, 0, none, MaxInterval * 3 / 4},
		{11, 0, all, MaxInterval},
		{1000, 0, all, MaxInterval},                 // the cap on the interval
		{1 << 30, 0, all, MaxInterval},              // no overflow
		{0, 0, none, 750 * time.Millisecond},        // a first failure counted as 0
		{1, 2 * time.Minute, none, 2 * time.Minute}, // Retry-After honoured
		{3, time.Second, none, 3 * time.Second},     // ... but never shortens the backoff
		{1, 5 * time.Hour, none, MaxInterval},       // ... and is held to the cap
	}
	for _, tt := range tests {
		if got := Backoff(tt.n, tt.retryAfter, tt.jitter); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.retryAfter, got, tt.want)
		}
	}
	// Random jitter stays within [¾d, d].
	for range 1000 {
		if d := Backoff(5, 0, nil); d < 12*time.Second || d > 16*time.Second {
			t.Fatalf("Backoff(5) = %v, outside [12s, 16s]", d)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"absent", nil, 0},
		{"seconds", map[string]string{"Retry-After": "30"}, 30 * time.Second},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"negative", map[string]string{"Retry-After": "-5"}, 0},
		{"huge seconds held to a day", map[string]string{"Retry-After": "99999999999"}, 24 * time.Hour},
		{"date from the answer's own clock", map[string]string{"Date": "Tue, 01 Dec 2026 12:00:00 GMT", "Retry-After": "Tue, 01 Dec 2026 12:01:00 GMT"}, time.Minute},
		{"date without Date: our clock", map[string]string{"Retry-After": "Thu, 03 Dec 2026 08:00:10 GMT"}, 10 * time.Second},
		{"date in the past", map[string]string{"Retry-After": "Thu, 03 Dec 2026 07:00:00 GMT"}, 0},
		{"garbage", map[string]string{"Retry-After": "later"}, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := relayclient.RetryAfter(h, now); got != tt.want {
			t.Errorf("%s: RetryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
}
