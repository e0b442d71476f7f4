package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestDoor proves the loopback door holds against what a hostile web page
// or a DNS-rebinding attack can send.
func TestDoor(t *testing.T) {
	a := startAgent(t, t.TempDir(), freePort(t))
	body := `{"recipients":["2211771212"]}`
	port := strconv.Itoa(a.port)
	tests := []struct {
		name   string
		mutate func(*http.Request)
		want   int
	}{
		{"ok", func(r *http.Request) {}, 200},
		{"ok without Origin", func(r *http.Request) { r.Header.Del("Origin") }, 200},
		{"ok 127.0.0.1", func(r *http.Request) { r.Host = "127.0.0.1:" + port }, 200},
		{"no token", func(r *http.Request) { r.Header.Del("X-Sendsikkert-CSRF") }, 403},
		{"wrong token", func(r *http.Request) { r.Header.Set("X-Sendsikkert-CSRF", strings.Repeat("0", 64)) }, 403},
		{"foreign origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
		{"origin other port", func(r *http.Request) { r.Header.Set("Origin", "https://localhost:1") }, 403},
		{"http origin", func(r *http.Request) { r.Header.Set("Origin", "http://localhost:"+port) }, 403},
		{"null origin", func(r *http.Request) { r.Header.Set("Origin", "null") }, 403},
		{"evil host", func(r *http.Request) { r.Host = "evil.example:" + port }, 403},
		{"host without port", func(r *http.Request) { r.Host = "localhost" }, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := a.request("POST", "/api/v1/recipients/check", strings.NewReader(body), "application/json")
			tt.mutate(req)
			resp, err := a.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.want == 403 && !strings.Contains(string(b), `"error"`) {
				t.Fatalf("403 without JSON error: %s", b)
			}
			if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Fatalf("CORS header sent: %q", v)
			}
		})
	}

	t.Run("foreign preflight", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", a.base+"/api/v1/messages", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "x-sendsikkert-csrf")
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Headers") != "" {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("evil host on the page with the token", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.base+"/", nil)
		req.Host = "evil.example:" + port
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || strings.Contains(string(b), a.token) {
			t.Fatalf("GET / with evil Host: %d", resp.StatusCode)
		}
	})

	// Traversal is sent raw: Go's client would clean the path.
	for _, p := range []string{"/../etc/passwd", "/api/v1/../../etc/passwd", "/%2e%2e/etc/passwd", "/api/v1/messages/..%2f..%2fx", "/addin/..\\..\\x"} {
		t.Run("traversal "+p, func(t *testing.T) {
			status := rawRequest(t, a, "GET "+p+" HTTP/1.1\r\nHost: localhost:"+port+"\r\nX-Sendsikkert-CSRF: "+a.token+"\r\nConnection: close\r\n\r\n")
			if status != 400 {
				t.Fatalf("HTTP %d, want 400", status)
			}
		})
	}

	t.Run("attachment over 99.5 MB", func(t *testing.T) {
		const limit = 104_333_312
		code, out := a.send(map[string]any{
			"recipients": []string{"2211771212"}, "subject": "Stor fil", "bodyHtml": "x", "idempotencyKey": "too-big",
		}, file{"stor.pdf", "application/pdf", func() io.Reader {
			return io.LimitReader(io.MultiReader(strings.NewReader("%PDF-1.4\n"), zeros{}), limit+1)
		}})
		if code != 413 || out["error"] != "attachments_too_large" {
			t.Fatalf("HTTP %d %v, want 413", code, out)
		}
		// Exactly the limit split over files is fine; checked by size only.
		var rep map[string]any
		if a.call("GET", "/api/v1/reply-mailboxes", nil, &rep) != 200 {
			t.Fatal("agent unwell after 413")
		}
	})

	t.Run("eleven attachments", func(t *testing.T) {
		var files []file
		for i := range 11 {
			files = append(files, file{fmt.Sprintf("f%d.pdf", i), "application/pdf", func() io.Reader { return strings.NewReader("%PDF-1.4") }})
		}
		code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": "Mange", "bodyHtml": "x", "idempotencyKey": "eleven"}, files...)
		if code != 413 || out["error"] != "too_many_attachments" {
			t.Fatalf("HTTP %d %v", code, out)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			msg  map[string]any
			code string
		}{
			{map[string]any{"recipients": []string{"3102991234"}, "subject": "x", "idempotencyKey": "b1"}, "recipient_rejected"},
			{map[string]any{"recipients": []string{"0101010101"}, "subject": "x", "idempotencyKey": "b2"}, "recipient_rejected"},
			{map[string]any{"recipients": []string{"2211771212"}, "subject": strings.Repeat("æ", 257), "idempotencyKey": "b3"}, "subject_too_long"},
			{map[string]any{"recipients": []string{"2211771212"}, "subject": "Sag om 221177-1212", "idempotencyKey": "b4"}, "cpr_in_subject"},
			{map[string]any{"recipients": []string{}, "subject": "x", "idempotencyKey": "b5"}, "no_recipients"},
			{map[string]any{"recipients": []string{"2211771212"}, "subject": "x", "idempotencyKey": "b6", "replyMailbox": map[string]string{"citizen": "nope"}}, "bad_reply_mailbox"},
		}
		for _, c := range cases {
			code, out := a.send(c.msg)
			if code != 400 || out["error"] != c.code || out["message"] == "" {
				t.Errorf("%v: HTTP %d %v, want 400 %s", c.msg, code, out, c.code)
			}
		}
		// Subject of exactly 256 characters is fine.
		code, out := a.send(map[string]any{"recipients": []string{"2211771212"}, "subject": strings.Repeat("æ", 256), "idempotencyKey": "b7"})
		if code != 202 {
			t.Errorf("256-character subject: %d %v", code, out)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func rawRequest(t *testing.T, a *agentProc, req string) int {
	t.Helper()
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port)), a.client.Transport.(*http.Transport).TLSClientConfig.Clone())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, req)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
