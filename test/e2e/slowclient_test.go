package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestSlowClientsCutOff: on the real relay and the real agent, a client
// that dribbles its headers is cut off after about 10 s, and one that
// sends less than 64 KiB of body in 30 s after about 30 s.
func TestSlowClientsCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test (30 s)")
	}
	r := startRelay(t)
	a := startAgent(t, t.TempDir(), freePort(t))
	hostOf := func(u string) string { p, _ := url.Parse(u); return p.Host }
	targets := []struct {
		name, addr, post string
		headers          string
	}{
		{"relay", hostOf(r.url), "/v1/enroll", ""},
		{"agent", fmt.Sprintf("127.0.0.1:%d", a.port), "/api/v1/recipients/check",
			"X-Sendsikkert-CSRF: " + a.token + "\r\nOrigin: " + a.base + "\r\nContent-Type: application/json\r\n"},
	}
	for _, tg := range targets {
		t.Run(tg.name+"/headers", func(t *testing.T) {
			t.Parallel()
			c, err := tls.Dial("tcp", tg.addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			go func() {
				c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: localhost\r\n"))
				for range 40 {
					time.Sleep(time.Second)
					if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(25 * time.Second))
			b, _ := io.ReadAll(c)
			if d := time.Since(start); d < 9*time.Second || d > 13*time.Second || strings.Contains(string(b), "200 OK") {
				t.Fatalf("dribbled headers: connection ended after %v with %q; want a cut at about 10 s", d, b)
			}
		})
		t.Run(tg.name+"/body", func(t *testing.T) {
			t.Parallel()
			c, err := tls.Dial("tcp", tg.addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: 1000000\r\n\r\n{\"x\":\"", tg.post, tg.headers)
			go func() {
				chunk := []byte(strings.Repeat("a", 10<<10))
				for range 20 {
					time.Sleep(5 * time.Second) // 60 KiB per 30 s
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(50 * time.Second))
			b, _ := io.ReadAll(c)
			if d := time.Since(start); d < 29*time.Second || d > 36*time.Second {
				t.Fatalf("slow body: connection ended after %v with %q; want a cut at about 30 s", d, b)
			}
		})
	}
}

// throttled gives n bytes at about rate bytes per second, in 100 ms steps.
type throttled struct {
	left, rate int
	next       time.Time
}

func (r *throttled) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.next.IsZero() {
		r.next = time.Now()
	}
	time.Sleep(time.Until(r.next))
	n := min(len(p), r.left, r.rate/10)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.left -= n
	r.next = r.next.Add(time.Duration(n) * time.Second / time.Duration(r.rate))
	return n, nil
}

// TestUpload99_5MBAt1MBPerSecondToRelay: a case system submits the
// largest message the relay takes (99.5 MB of attachments) over a 1 MB/s
// line: 100 s, more than three of the 30 s windows, and accepted, because
// the read deadline moves with the bytes.
func TestUpload99_5MBAt1MBPerSecondToRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test (100 s)")
	}
	r := startRelay(t)
	c := &relayclient.Client{BaseURL: r.url, HTTP: r.deviceClient(t, "sagssystem@kommune.test")}
	c.HTTP.Timeout = 5 * time.Minute
	const size = 99_500_000
	start := time.Now()
	sub, err := c.Submit(context.Background(), &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Stor sag", BodyHTML: "<p>Bilag</p>", IdempotencyKey: "big-1"},
		[]relayclient.Upload{{FileInfo: relayapi.FileInfo{Filename: "bilag.pdf", ContentType: "application/pdf", Size: size},
			Open: func() (io.ReadCloser, error) { return io.NopCloser(&throttled{left: size, rate: 1_000_000}), nil }}})
	d := time.Since(start)
	if err != nil || sub.ID == "" {
		t.Fatalf("99.5 MB at 1 MB/s: %v after %v", err, d)
	}
	if d < 95*time.Second {
		t.Fatalf("the upload took %v: not throttled to 1 MB/s", d)
	}
	t.Logf("99.5 MB accepted after %v", d)
}
