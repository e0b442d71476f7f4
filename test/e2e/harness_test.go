// Package e2e starts the real agent binary in demo mode and talks to it
// over HTTPS on loopback, as the add-in would.
package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var agentBin, relayBin string

func TestMain(m *testing.M) {
	if path := os.Getenv(lockerEnv); path != "" {
		os.Exit(holdSQLiteLock(path)) // the second process of TestFaultSQLiteLocked
	}
	dir, err := os.MkdirTemp("", "sendsikkert-e2e-")
	if err != nil {
		panic(err)
	}
	agentBin = filepath.Join(dir, "sendsikkert")
	if runtime.GOOS == "windows" {
		agentBin += ".exe"
	}
	relayBin = filepath.Join(dir, "sendsikkert-relay")
	for bin, pkg := range map[string]string{agentBin: "sendsikkert/cmd/sendsikkert", relayBin: "sendsikkert/cmd/sendsikkert-relay"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (SENDSIKKERT_REQUIRE_TOOLS=1) but not on PATH", name)
		}
		t.Skipf("%s not on PATH", name)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	data   string
	port   int
	base   string
	client *http.Client
	token  string
	log    *bytes.Buffer
	// logPath is the agent's stdout and stderr.
	logPath string
	exited  chan struct{}
}

func startAgent(t *testing.T, data string, port int, args ...string) *agentProc {
	t.Helper()
	return startAgentWith(t, data, port, true, args...)
}

func startAgentWith(t *testing.T, data string, port int, demo bool, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, data: data, port: port, base: "https://localhost:" + strconv.Itoa(port), log: &bytes.Buffer{}, exited: make(chan struct{})}
	all := append([]string{"--headless", "--data", data, "--port", strconv.Itoa(port), "--log-dir", filepath.Join(data, "logs")}, args...)
	if demo {
		all = append(all, "--demo")
	}
	a.cmd = exec.Command(agentBin, all...)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	a.logPath = logFile.Name()
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.stop()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("agent log:\n%s", b)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-a.exited:
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("agent exited at start:\n%s", b)
		default:
		}
		if a.client == nil {
			if pem, err := os.ReadFile(filepath.Join(data, "tls", "ca.crt")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(pem) {
					a.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Minute}
				}
			}
		}
		if a.client != nil {
			resp, err := a.client.Get(a.base + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if _, badCert := errors.AsType[*tls.CertificateVerificationError](err); badCert {
				// The CA read was the one before this start (a new one is
				// made when the old key is gone): read it again.
				a.client = nil
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("agent did not answer /healthz within 60 s:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.token = a.csrf()
	return a
}

var metaCSRF = regexp.MustCompile(`<meta name="sendsikkert-csrf" content="([0-9a-f]+)">`)

func (a *agentProc) csrf() string {
	resp, err := a.client.Get(a.base + "/")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := metaCSRF.FindSubmatch(b)
	if m == nil {
		a.t.Fatalf("no CSRF meta in GET /: %s", b)
	}
	return string(m[1])
}

// kill ends the agent with SIGKILL: no chance to clean up.
func (a *agentProc) kill() {
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
}

func (a *agentProc) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		a.kill()
	}
}

func (a *agentProc) request(method, path string, body io.Reader, contentType string) *http.Request {
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("X-Sendsikkert-CSRF", a.token)
	req.Header.Set("Origin", a.base)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// call does a JSON API call and decodes the answer into out.
func (a *agentProc) call(method, path string, in, out any) int {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp, err := a.client.Do(a.request(method, path, body, "application/json"))
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type file struct {
	name, contentType string
	open              func() io.Reader
}

// send posts a message with attachments streamed, as the task pane does.
func (a *agentProc) send(msg map[string]any, files ...file) (int, map[string]any) {
	a.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="message"`)
		h.Set("Content-Type", "application/json")
		p, _ := mw.CreatePart(h)
		json.NewEncoder(p).Encode(msg)
		for _, f := range files {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachment"; filename=%q`, f.name))
			h.Set("Content-Type", f.contentType)
			p, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(p, f.open())
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	resp, err := a.client.Do(a.request("POST", "/api/v1/messages", pr, mw.FormDataContentType()))
	if err != nil {
		a.t.Fatalf("POST /api/v1/messages: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		a.t.Fatalf("POST /api/v1/messages: %d %q", resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

type status struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Recipients []struct {
		Input, Channel, Status, Message string
	} `json:"recipients"`
	Events []struct {
		At   time.Time `json:"at"`
		What string    `json:"what"`
	} `json:"events"`
}

// waitFinal polls a message until its status is final.
func (a *agentProc) waitFinal(id string, timeout time.Duration) status {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var st status
		if code := a.call("GET", "/api/v1/messages/"+id, nil, &st); code != 200 {
			a.t.Fatalf("status %s: HTTP %d", id, code)
		}
		switch st.Status {
		case "delivered", "failed", "needs-fallback":
			return st
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("message %s not final after %v: %+v", id, timeout, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func memoFiles(t *testing.T, data string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(data, "demo", "digitalpost", "*.xml"))
	return m
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
