//go:build !windows

package door

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
