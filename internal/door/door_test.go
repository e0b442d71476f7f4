package door

import (
	"bufio"
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

// register speaks the handshake by hand, as a hostile agent would.
func register(t *testing.T, td *testDoor, hello string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("unix", controlPath(td.runDir, td.port))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, hello)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, line
}

func TestHostileAgents(t *testing.T) {
	td := startDoor(t, time.Second)
	dir := shortDir(t)

	// Garbage instead of a hello, and a hello never finished: refused,
	// the door carries on.
	c, line := register(t, td, "GET / HTTP/1.0\r\n\r\n\n")
	c.Close()
	if !strings.Contains(line, ErrCodeBadHello) {
		t.Fatalf("garbage hello: %q", line)
	}
	c, _ = register(t, td, `{"v":1,"endpoint":"`+dir+`/nothing.sock"}`+"\n")
	c.Close()

	// An endpoint that answers HTTP with garbage.
	garbage := filepath.Join(dir, "garbage.sock")
	gl, err := net.Listen("unix", garbage)
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	go func() {
		for {
			c, err := gl.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "\x00\xffnot http at all\r\n\r\n")
			c.Close()
		}
	}()
	ctl, line := register(t, td, `{"v":1,"endpoint":"`+garbage+`"}`+"\n")
	if !strings.Contains(line, `"ok":true`) {
		t.Fatalf("garbage endpoint: %q", line)
	}
	if code, _ := td.get(t, "/"); code != http.StatusBadGateway {
		t.Fatalf("garbage agent: %d", code)
	}
	ctl.Close()
	td.waitAgents(t, 0)

	// An endpoint that never accepts: the door gives up after its timeout.
	silent := filepath.Join(dir, "silent.sock")
	sl, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	ctl, line = register(t, td, `{"v":1,"endpoint":"`+silent+`"}`+"\n")
	if !strings.Contains(line, `"ok":true`) {
		t.Fatalf("silent endpoint: %q", line)
	}
	start := time.Now()
	if code, _ := td.get(t, "/"); code != http.StatusBadGateway || time.Since(start) > 10*time.Second {
		t.Fatalf("silent agent: %d after %v", code, time.Since(start))
	}
	ctl.Close()
	td.waitAgents(t, 0)

	// After all that, a proper agent is served.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	place, err := Join(ctx, JoinConfig{Port: td.port, RunDir: td.runDir, FallbackDir: shortDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer place.Close()
	go http.Serve(place.Listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") }))
	if code, body := td.get(t, "/"); code != 200 || body != "fine" {
		t.Fatalf("after hostile agents: %d %q", code, body)
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
