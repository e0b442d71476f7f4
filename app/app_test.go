package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/certs"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/trust"
	"sendsikkert/internal/vault"
)

// startAgent runs a real agent in demo mode in this process.
func startAgent(t *testing.T) (url, dataDir string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dataDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{DataDir: dataDir, Port: port, Demo: true, Version: "test",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(*agent.Agent) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not start")
	}
	t.Cleanup(func() { cancel(); <-done })
	return "https://localhost:" + itoa(port), dataDir
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAppAgainstAgent(t *testing.T) {
	url, data := startAgent(t)
	a := &App{AgentURL: url, CAFile: filepath.Join(data, "tls", "ca.crt"), Trust: trust.Options{NSSDBs: []string{filepath.Join(t.TempDir(), "nssdb")}}}

	h, err := a.Status()
	if err != nil || h.Status != "ok" || !h.Demo || h.User == "" || h.Problems == nil || len(h.Problems) != 0 {
		t.Fatalf("status %+v %v", h, err)
	}
	o, err := a.Overview()
	if err != nil || !strings.Contains(string(o.Settings), `"language":"da"`) {
		t.Fatalf("overview %s %v", o.Settings, err)
	}

	var d struct {
		Domains []struct{ Domain, Organisation string }
	}
	raw, err := a.Domains("", "d")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &d)
	if len(d.Domains) == 0 {
		t.Fatalf("no domains for letter d: %s", raw)
	}
	for _, x := range d.Domains {
		if !strings.HasPrefix(x.Domain, "d") {
			t.Fatalf("letter d gave %q", x.Domain)
		}
	}
	raw, _ = a.Domains("region", "")
	if !strings.Contains(string(raw), "demo-region.dk") {
		t.Fatalf("search region: %s", raw)
	}
	raw, err = a.AddressBook("advokat", "")
	if err != nil || !strings.Contains(string(raw), "ole.olsen@demo-advokat.dk") {
		t.Fatalf("address book: %s %v", raw, err)
	}

	// Settings round-trip through the agent.
	if _, err := a.SaveSettings(map[string]any{"language": "en"}); err != nil {
		t.Fatal(err)
	}
	raw, _ = a.Settings()
	if !strings.Contains(string(raw), `"language":"en"`) {
		t.Fatalf("settings after save: %s", raw)
	}
	_, err = a.SaveSettings(map[string]any{"language": "xx"})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "dansk") {
		t.Fatalf("bad language: %v", err)
	}
	if _, err := a.ReplyMailboxes(); err != nil {
		t.Fatal(err)
	}

	// A stale token (agent restarted) is fetched anew.
	a.token = strings.Repeat("0", 64)
	if _, err := a.Settings(); err != nil {
		t.Fatalf("stale token not renewed: %v", err)
	}

	// The token lives in memory only: nothing in the data folder holds it.
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), a.token) {
				t.Errorf("%s holds the CSRF token", p)
			}
		}
		return nil
	})

	if _, err := exec.LookPath("certutil"); err == nil {
		if ts := a.TrustStatus(); ts.Trusted {
			t.Fatalf("trusted before install: %+v", ts)
		}
		ts, err := a.InstallTrust()
		if err != nil || !ts.Trusted {
			t.Fatalf("install trust: %+v %v", ts, err)
		}
	}
}

func TestAppAgentDown(t *testing.T) {
	_, data := startAgent(t)
	a := &App{AgentURL: "https://localhost:1", CAFile: filepath.Join(data, "tls", "ca.crt")}
	_, err := a.Domains("", "")
	if !errors.Is(err, errUnreachable) {
		t.Fatalf("got %v", err)
	}
	b := &App{AgentURL: "https://localhost:1", CAFile: filepath.Join(t.TempDir(), "none")}
	if _, err := b.Status(); err == nil || !strings.Contains(err.Error(), "certifikat") {
		t.Fatalf("no CA: %v", err)
	}
}

// TestAppRevoke: the bound method takes a secure-mailbox send back through
// the agent, and the agent's refusals arrive as Danish sentences.
func TestAppRevoke(t *testing.T) {
	url, data := startAgent(t)
	a := &App{AgentURL: url, CAFile: filepath.Join(data, "tls", "ca.crt")}
	var e *Error
	if _, err := a.Revoke("unknown"); !errors.As(err, &e) || e.Status != 404 || !strings.Contains(e.Message, "findes ikke") {
		t.Fatalf("unknown: %v", err)
	}

	// A send to an e-mail address with a mobile number: the secure mailbox.
	c, err := a.http()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.csrf(c, false)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormField("message")
	json.NewEncoder(part).Encode(map[string]any{"recipients": []string{"borger@gmail.com"}, "subject": "Aftale", "bodyHtml": "<p>x</p>",
		"idempotencyKey": "app-revoke", "mobiles": map[string]string{"borger@gmail.com": "20304050"}})
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/messages", &body)
	req.Header.Set("X-Sendsikkert-CSRF", tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("send: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		raw, err := a.Messages("")
		if err == nil && strings.Contains(string(raw), `"revocable":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never revocable in the log: %s %v", raw, err)
		}
	}
	raw, err := a.Revoke(sent.ID)
	if err != nil || !strings.Contains(string(raw), "Trukket tilbage fra sikker mailboks til borger@gmail.com") {
		t.Fatalf("revoke: %s %v", raw, err)
	}
	if _, err := a.Revoke(sent.ID); !errors.As(err, &e) || e.Status != 409 || !strings.Contains(e.Message, "intet at trække tilbage") {
		t.Fatalf("second revoke: %v", err)
	}
	if raw, _ := a.Messages(""); !strings.Contains(string(raw), `"revocable":false`) || !strings.Contains(string(raw), `"revoked":true`) {
		t.Fatalf("log after revoke: %s", raw)
	}
}

// TestWindowEnrolsEnrolledAgent: once the agent is enrolled, the window's
// Enroll gets past the page barrier with its token file (the enrolment
// itself then fails: no relay there), and without it is refused in Danish.
func TestWindowEnrolsEnrolledAgent(t *testing.T) {
	if windowHeader != localapi.WindowHeader {
		t.Fatalf("window header %q, agent expects %q", windowHeader, localapi.WindowHeader)
	}
	url, data := startAgent(t)
	// Enrolled from now on (the running agent asks at each call).
	os.MkdirAll(filepath.Join(data, "relay"), 0o700)
	if err := os.WriteFile(filepath.Join(data, "relay", "relay.json"), []byte(`{"url":"https://relay.example","user":"anna"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	page := &App{AgentURL: url, CAFile: filepath.Join(data, "tls", "ca.crt")}
	_, err := page.Enroll("https://evil.example", "ABCD-EFGH")
	if e, ok := err.(*Error); !ok || e.Code != "enroll_window_only" {
		t.Fatalf("without the window's token: %v", err)
	}
	win := &App{AgentURL: url, CAFile: filepath.Join(data, "tls", "ca.crt"), TokenFile: filepath.Join(data, localapi.WindowTokenFile)}
	_, err = win.Enroll("https://127.0.0.1:1", "ABCD-EFGH")
	if e, ok := err.(*Error); !ok || e.Code != "enroll_failed" {
		t.Fatalf("with the window's token: %v", err)
	}
}

// Behind the door the certificate to trust is the machine door's CA, not
// the agent's own.
func TestServingCAIsTheDoors(t *testing.T) {
	_, data := startAgent(t)
	doorState := t.TempDir()
	key, _ := vault.New(vault.NewRandomKey())
	id, err := certs.LoadOrCreate(filepath.Join(doorState, "tls"), key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := &App{CAFile: filepath.Join(data, "tls", "ca.crt"), DoorCAFile: filepath.Join(doorState, "tls", certs.CACertFile)}
	ca, err := a.servingCA()
	if err != nil || certs.Fingerprint(ca.Cert.Raw) != id.CAFingerprint {
		t.Fatalf("serving CA: %v", err)
	}
	a.DoorCAFile = filepath.Join(t.TempDir(), "no-door.crt")
	if ca, err := a.servingCA(); err != nil || certs.Fingerprint(ca.Cert.Raw) == id.CAFingerprint {
		t.Fatalf("without a door: %v", err)
	}
}
