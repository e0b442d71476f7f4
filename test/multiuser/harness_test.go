//go:build linux

package multiuser

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	base      string // 0755, so every test user can reach what is theirs in it
	agentBin  string
	clientBin string
	skipWhy   string
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	if os.Geteuid() != 0 {
		skipWhy = "needs root to create throwaway users and run programs as them"
	} else if _, err := exec.LookPath("useradd"); err != nil {
		skipWhy = "needs useradd (Debian package passwd)"
	}
	if skipWhy != "" {
		os.Exit(m.Run())
	}
	var err error
	if base, err = os.MkdirTemp("", "ssmu"); err != nil {
		panic(err)
	}
	os.Chmod(base, 0o755)
	os.Mkdir(filepath.Join(base, "bin"), 0o755)
	agentBin = filepath.Join(base, "bin", "sendsikkert")
	build := exec.Command("go", "build", "-o", agentBin, "sendsikkert/cmd/sendsikkert")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	// The test binary itself is the other users' client.
	self, _ := os.Executable()
	clientBin = filepath.Join(base, "bin", "client")
	if err := copyFile(self, clientBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(base)
	os.Exit(code)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Close()
}

func need(t *testing.T) {
	t.Helper()
	if skipWhy == "" {
		return
	}
	if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
		t.Fatal(skipWhy + " (SENDSIKKERT_REQUIRE_TOOLS=1)")
	}
	t.Skip(skipWhy)
}

// osUser is a throwaway account with its own home, data and runtime
// folders under base.
type osUser struct {
	name     string
	uid, gid uint32
	home     string
	data     string
	runtime  string
}

func newUser(t *testing.T, label string) *osUser {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	name := "ss" + label + hex.EncodeToString(b[:])
	out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ou := &osUser{name: name, uid: uint32(uid), gid: uint32(gid), home: filepath.Join(base, name)}
	ou.data = filepath.Join(ou.home, "data")
	ou.runtime = filepath.Join(ou.home, "run")
	for _, d := range []string{ou.home, ou.runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return ou
}

// cmd runs bin as the user, with a minimal environment of its own (no
// D-Bus: the demo agent keeps its fictitious keys in a file).
func (u *osUser) cmd(doorDir string, bin string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.Dir = u.home
	c.Env = []string{"HOME=" + u.home, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + u.runtime, "USER=" + u.name}
	if doorDir != "" {
		c.Env = append(c.Env, "SENDSIKKERT_DOOR_DIR="+doorDir)
	}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}, Setpgid: true}
	return c
}

// proc is a running program and its log.
type proc struct {
	cmd *exec.Cmd
	log *os.File
}

func start(t *testing.T, c *exec.Cmd, name string) *proc {
	t.Helper()
	f, err := os.CreateTemp(base, name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: c, log: f}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(f.Name())
			t.Logf("--- %s log:\n%s", name, b)
		}
	})
	return p
}

func (p *proc) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// startAgent runs a headless demo agent as u on port; doorDir is where it
// looks for a door.
func (u *osUser) startAgent(t *testing.T, port int, doorDir string) *proc {
	return start(t, u.cmd(doorDir, agentBin, "--headless", "--demo", "--data", u.data, "--port", strconv.Itoa(port)), "agent-"+u.name)
}

// get runs the client as u and returns what it saw for each URL.
func (u *osUser) get(t *testing.T, ca string, urls ...string) []result {
	t.Helper()
	j, _ := json.Marshal(job{Role: "get", URLs: urls, CA: ca})
	c := u.cmd("", clientBin)
	c.Env = append(c.Env, roleEnv+"="+string(j))
	out, err := c.Output()
	if err != nil {
		t.Fatalf("client as %s: %v", u.name, err)
	}
	var rs []result
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("client as %s: %v: %s", u.name, err, out)
	}
	return rs
}

// waitFor polls url as u until ok says yes.
func (u *osUser) waitFor(t *testing.T, ca, url string, ok func(result) bool) result {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := u.get(t, ca, url)[0]
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("as %s, %s never became ready: %+v", u.name, url, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func healthUser(r result) string {
	var h struct{ User string }
	json.Unmarshal([]byte(r.Body), &h)
	return h.User
}

func url(port int, host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}

func has(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
