//go:build linux

package multiuser

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/door"
	"sendsikkert/internal/localapi"
)

// everyPath is one request path per route of the agent's table, plus one
// it does not know.
func everyPath() []string {
	var ps []string
	for _, rt := range (&localapi.Server{}).Routes() {
		_, p, _ := strings.Cut(rt.Pattern, " ")
		p = strings.NewReplacer("{$}", "", "{id}", "x", "{index}", "0", "{path...}", "outlook/taskpane.html").Replace(p)
		ps = append(ps, p)
	}
	return append(ps, "/no/such/path")
}

// TestAgentRefusesOtherUser: without a door, user A's agent owns the port;
// user B's connections are closed before a byte, on every path and on
// both loopback addresses, while A is served.
func TestAgentRefusesOtherUser(t *testing.T) {
	need(t)
	a, b := newUser(t, "a"), newUser(t, "b")
	port := freePort(t)
	a.startAgent(t, port, filepath.Join(base, "no-door-here"))
	ca := filepath.Join(a.data, "tls", "ca.crt")
	r := a.waitFor(t, ca, url(port, "localhost", "/healthz"), func(r result) bool { return r.Status == 200 })
	if healthUser(r) != a.name {
		t.Fatalf("A's /healthz user %q, want %q: %s", healthUser(r), a.name, r.Body)
	}
	hosts := []string{"127.0.0.1"}
	if rs := a.get(t, ca, url(port, "::1", "/healthz")); rs[0].Status == 200 {
		hosts = append(hosts, "::1")
	}
	var urls []string
	for _, h := range hosts {
		for _, p := range everyPath() {
			urls = append(urls, url(port, h, p))
		}
	}
	for _, r := range b.get(t, "", urls...) {
		if r.Err == "" || r.Status != 0 {
			t.Errorf("B reached A's agent at %s: HTTP %d %.80q", r.URL, r.Status, r.Body)
		}
	}
	// A still is served on each address, the page with its token too.
	for _, h := range hosts {
		if r := a.get(t, ca, url(port, h, "/"))[0]; r.Status != 200 || !strings.Contains(r.Body, "sendsikkert-csrf") {
			t.Errorf("A on %s: %+v", h, r)
		}
	}
	// A's data folder and the window's credential are A's alone.
	for path, mode := range map[string]os.FileMode{a.data: 0o700, filepath.Join(a.data, localapi.WindowTokenFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
}

// startDoor runs `sendsikkert door` as root.
func startDoor(t *testing.T, port int) (runDir, ca string, p *proc) {
	t.Helper()
	dir, err := os.MkdirTemp(base, "door")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	runDir, state := filepath.Join(dir, "run"), filepath.Join(dir, "state")
	c := exec.Command(agentBin, "door", "--port", strconv.Itoa(port), "--state", state, "--run-dir", runDir, "--agent-timeout", "2s")
	p = start(t, c, "door")
	sock := filepath.Join(runDir, "door-"+strconv.Itoa(port)+".sock")
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 300 {
			t.Fatal("the door did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return runDir, filepath.Join(state, "tls", "ca.crt"), p
}

// TestDoorHandsEachUserTheirAgent: one door on one port; A and B each reach
// their own agent through it, C without an agent gets the Danish 503, a
// killed agent's restart takes its place without the door restarting, and
// hostile agents hurt nobody but their own user.
func TestDoorHandsEachUserTheirAgent(t *testing.T) {
	need(t)
	a, b, c := newUser(t, "a"), newUser(t, "b"), newUser(t, "c")
	port := freePort(t)
	runDir, ca, doorProc := startDoor(t, port)
	home := url(port, "localhost", "/healthz")
	served := func(u *osUser) func(result) bool {
		return func(r result) bool { return r.Status == 200 && healthUser(r) == u.name }
	}

	agentA := a.startAgent(t, port, runDir)
	b.startAgent(t, port, runDir)
	a.waitFor(t, ca, home, served(a))
	b.waitFor(t, ca, home, served(b))
	for _, u := range []*osUser{a, b} {
		if r := u.get(t, ca, url(port, "127.0.0.1", "/"))[0]; r.Status != 200 || !strings.Contains(r.Body, "sendsikkert-csrf") {
			t.Fatalf("%s's page through the door: %+v", u.name, r)
		}
	}

	notRunning := func(u *osUser) {
		t.Helper()
		rs := u.get(t, ca, url(port, "localhost", "/"), url(port, "localhost", "/api/v1/settings"))
		if rs[0].Status != 503 || !strings.Contains(rs[0].Body, door.NotRunningText) {
			t.Fatalf("%s without an agent, page: %+v", u.name, rs[0])
		}
		if rs[1].Status != 503 || !has(rs[1].Body, `"agent_not_running"`, "kører ikke for dig") {
			t.Fatalf("%s without an agent, API: %+v", u.name, rs[1])
		}
	}
	notRunning(c)

	// A's agent is killed: A gets the 503 page, B is untouched; A's
	// restarted agent is served by the same door process.
	agentA.kill()
	a.waitFor(t, ca, home, func(r result) bool { return r.Status == 503 })
	notRunning(a)
	if r := b.get(t, ca, home)[0]; !served(b)(r) {
		t.Fatalf("B after A's agent died: %+v", r)
	}
	a.startAgent(t, port, runDir)
	a.waitFor(t, ca, home, served(a))
	if doorProc.cmd.ProcessState != nil {
		t.Fatal("the door stopped")
	}

	control := filepath.Join(runDir, "door-"+strconv.Itoa(port)+".sock")
	// C claims B's endpoint: the door asks the kernel who listens there.
	bEndpoint := filepath.Join(b.runtime, "sendsikkert", "agent-"+strconv.Itoa(port)+".sock")
	if reply := hostile(t, c, control, "claim", bEndpoint); !strings.Contains(reply, door.ErrCodeNotYours) {
		t.Fatalf("C claiming B's endpoint: %q", reply)
	}
	notRunning(c)

	// C's hostile agent answers garbage: C gets 502, A and B are served.
	garbage := hostileProc(t, c, control, "garbage", filepath.Join(c.runtime, "garbage.sock"))
	if r := c.get(t, ca, home)[0]; r.Status != 502 {
		t.Fatalf("C with a garbage agent: %+v", r)
	}
	for _, u := range []*osUser{a, b} {
		if r := u.get(t, ca, home)[0]; !served(u)(r) {
			t.Fatalf("%s beside a garbage agent: %+v", u.name, r)
		}
	}
	garbage.kill()
	c.waitFor(t, ca, home, func(r result) bool { return r.Status == 503 })

	// C's hostile agent never accepts: while C's request hangs until the
	// door's timeout, A and B are answered at once.
	silent := hostileProc(t, c, control, "silent", filepath.Join(c.runtime, "silent.sock"))
	var wg sync.WaitGroup
	wg.Add(1)
	var cr result
	go func() {
		defer wg.Done()
		cr = c.get(t, ca, home)[0]
	}()
	time.Sleep(300 * time.Millisecond)
	for _, u := range []*osUser{a, b} {
		start := time.Now()
		if r := u.get(t, ca, home)[0]; !served(u)(r) || time.Since(start) > 1500*time.Millisecond {
			t.Fatalf("%s beside a silent agent: %+v after %v", u.name, r, time.Since(start))
		}
	}
	wg.Wait()
	if cr.Status != 502 {
		t.Fatalf("C with a silent agent: %+v", cr)
	}
	silent.kill()
	if doorProc.cmd.ProcessState != nil {
		t.Fatal("the door stopped")
	}
}

// hostileProc starts a hostile agent as u and waits for the door's answer
// to its registration, which must be an acceptance.
func hostileProc(t *testing.T, u *osUser, control, mode, endpoint string) *proc {
	t.Helper()
	p, reply := startHostile(t, u, control, mode, endpoint)
	if !strings.Contains(reply, `"ok":true`) {
		t.Fatalf("%s agent of %s not registered: %q", mode, u.name, reply)
	}
	return p
}

func hostile(t *testing.T, u *osUser, control, mode, endpoint string) string {
	t.Helper()
	p, reply := startHostile(t, u, control, mode, endpoint)
	p.kill()
	return reply
}

func startHostile(t *testing.T, u *osUser, control, mode, endpoint string) (*proc, string) {
	t.Helper()
	j, _ := json.Marshal(job{Role: "hostile", Control: control, Endpoint: endpoint, Mode: mode})
	cmd := u.cmd("", clientBin)
	cmd.Env = append(cmd.Env, roleEnv+"="+string(j))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd}
	t.Cleanup(p.kill)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		return p, s
	case <-time.After(15 * time.Second):
		t.Fatalf("%s agent of %s: no answer from the door", mode, u.name)
		return nil, ""
	}
}
