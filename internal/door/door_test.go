package door

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// shortDir is a temporary folder with a path short enough for sockets.
func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "door")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

type testDoor struct {
	port   int
	runDir string
	client *http.Client
	door   *Door
}

func startDoor(t *testing.T, timeout time.Duration) *testDoor {
	t.Helper()
	td := &testDoor{port: freePort(t), runDir: filepath.Join(shortDir(t), "run")}
	ready := make(chan *Door, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Port: td.port, StateDir: filepath.Join(shortDir(t), "state"), RunDir: td.runDir,
			Hosts: []string{"127.0.0.1"}, AgentTimeout: timeout, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(d *Door) { ready <- d }})
	}()
	select {
	case td.door = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	pem, err := os.ReadFile(td.door.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	td.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return td
}

func (td *testDoor) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := td.client.Get("https://localhost:" + strconv.Itoa(td.port) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (td *testDoor) waitAgents(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if len(td.door.Agents()) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("agents %v, want %d", td.door.Agents(), n)
}

func TestDoorForwardsToTheUsersAgent(t *testing.T) {
	td := startDoor(t, 0)
	code, body := td.get(t, "/")
	if code != 503 || !strings.Contains(body, NotRunningText) {
		t.Fatalf("no agent: %d %q", code, body)
	}
	code, body = td.get(t, "/api/v1/settings")
	if code != 503 || !strings.Contains(body, `"agent_not_running"`) {
		t.Fatalf("no agent, API: %d %q", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	place, err := Join(ctx, JoinConfig{Port: td.port, RunDir: td.runDir, FallbackDir: shortDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(place.Listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "agent sees host "+r.Host+" path "+r.URL.Path+" xff="+r.Header.Get("X-Forwarded-For"))
	}))
	code, body = td.get(t, "/healthz")
	want := "agent sees host localhost:" + strconv.Itoa(td.port) + " path /healthz xff="
	if code != 200 || body != want {
		t.Fatalf("through the door: %d %q, want %q", code, body, want)
	}

	// The agent goes: its user gets the 503 page again, the door lives on.
	place.Close()
	td.waitAgents(t, 0)
	if code, _ := td.get(t, "/"); code != 503 {
		t.Fatalf("after the agent left: %d", code)
	}
	// And its restart takes its place.
	place2, err := Join(ctx, JoinConfig{Port: td.port, RunDir: td.runDir, FallbackDir: shortDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer place2.Close()
	go http.Serve(place2.Listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "second") }))
	if code, body := td.get(t, "/"); code != 200 || body != "second" {
		t.Fatalf("restarted agent: %d %q", code, body)
	}
}

func TestNoDoor(t *testing.T) {
	_, err := Join(context.Background(), JoinConfig{Port: freePort(t), RunDir: shortDir(t), FallbackDir: shortDir(t)})
	if !IsNoDoor(err) {
		t.Fatalf("%v", err)
	}
}

// TestMachineCertificateKept: the key that seals the machine certificate
// is the door's alone, and a restarted door serves the same CA, so users'
// trust survives restarts.
func TestMachineCertificateKept(t *testing.T) {
	state := filepath.Join(shortDir(t), "state")
	var cas [][]byte
	for range 2 {
		ready := make(chan *Door, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Port: freePort(t), StateDir: state, RunDir: filepath.Join(shortDir(t), "run"),
				Hosts: []string{"127.0.0.1"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(d *Door) { ready <- d }})
		}()
		var d *Door
		select {
		case d = <-ready:
		case err := <-done:
			t.Fatal(err)
		}
		ca, err := os.ReadFile(d.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		cas = append(cas, ca)
		cancel()
		<-done
	}
	if string(cas[0]) != string(cas[1]) {
		t.Fatal("a restarted door made a new CA")
	}
	fi, err := os.Stat(filepath.Join(state, "door.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("door.key: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(state, "tls", "ca.crt")); fi.Mode().Perm() != 0o644 {
		t.Fatalf("ca.crt mode %v", fi.Mode().Perm())
	}
}

// TestAgentRejoinsRestartedDoor: the door restarts (an update, a crash);
// the agent registers again by itself, with the same endpoint.
func TestAgentRejoinsRestartedDoor(t *testing.T) {
	port, runDir, state := freePort(t), filepath.Join(shortDir(t), "run"), filepath.Join(shortDir(t), "state")
	run := func() (*testDoor, func()) {
		td := &testDoor{port: port, runDir: runDir}
		ready := make(chan *Door, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Port: port, StateDir: state, RunDir: runDir, Hosts: []string{"127.0.0.1"},
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(d *Door) { ready <- d }})
		}()
		select {
		case td.door = <-ready:
		case err := <-done:
			t.Fatal(err)
		}
		pem, _ := os.ReadFile(td.door.CAFile)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		td.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		return td, func() { cancel(); <-done }
	}
	td, stop := run()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	place, err := Join(ctx, JoinConfig{Port: port, RunDir: runDir, FallbackDir: shortDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer place.Close()
	go http.Serve(place.Listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "still here") }))
	if code, body := td.get(t, "/"); code != 200 || body != "still here" {
		t.Fatalf("before: %d %q", code, body)
	}
	stop()
	td, stop = run()
	defer stop()
	td.waitAgents(t, 1)
	if code, body := td.get(t, "/"); code != 200 || body != "still here" {
		t.Fatalf("after the door's restart: %d %q", code, body)
	}
}

// TestSecondAgentOfAUserRefused: while a user's agent is registered, a
// second one of the same user is refused (after retrying for a few
// seconds, in case the first just died) rather than taking its place.
func TestSecondAgentOfAUserRefused(t *testing.T) {
	td := startDoor(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := Join(ctx, JoinConfig{Port: td.port, RunDir: td.runDir, FallbackDir: shortDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	dir := shortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", dir) // its own socket path
	_, err = Join(ctx, JoinConfig{Port: td.port, RunDir: td.runDir, FallbackDir: shortDir(t)})
	if err == nil || !strings.Contains(err.Error(), ErrCodeRegistered) {
		t.Fatalf("second agent: %v", err)
	}
}
