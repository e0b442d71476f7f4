//go:build gui

// Package gui tests the desktop as a clerk meets it, on Linux under Xvfb:
// the real agent (not headless, demo mode) registers its tray with a
// stand-in StatusNotifier host, the tray's menu starts the real Wails
// window, every view renders (PNG screenshots in
// test-output/screenshots/window/), and a portal search returns the demo
// rows. Run by scripts/test.sh inside dbus-run-session:
//
//	SENDSIKKERT_WINDOW_BIN=/path/to/sendsikkert-window go test -tags gui ./test/gui/
package gui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sendsikkert/internal/tray/traytest"
)

// lines collects a process's output and lets the test wait for a line.
type lines struct {
	mu   sync.Mutex
	all  []string
	wake chan struct{}
}

func newLines(r io.Reader) *lines {
	l := &lines{wake: make(chan struct{}, 1)}
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			l.mu.Lock()
			l.all = append(l.all, s.Text())
			l.mu.Unlock()
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

// wait returns the first line after index from holding all of want.
func (l *lines) wait(t *testing.T, from int, timeout time.Duration, want ...string) (string, int) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l.all[i], w)
			}
			if ok {
				l.mu.Unlock()
				return l.all[i], i + 1
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no line with %q within %s; output:\n%s", want, timeout, strings.Join(l.all, "\n"))
		}
	}
}

func (l *lines) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.all) }

func need(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for the GUI test", tool)
		}
	}
}

// xvfb starts a virtual display and returns its DISPLAY.
func xvfb(t *testing.T) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func screenshot(t *testing.T, display, name string) {
	t.Helper()
	dir := filepath.Join("..", "..", "test-output", "screenshots", "window")
	os.MkdirAll(dir, 0o755)
	out := filepath.Join(dir, name+".png")
	time.Sleep(700 * time.Millisecond) // let WebKit paint after the view reported
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "import", "-display", display, "-window", "root", out).CombinedOutput(); err != nil {
		t.Fatalf("screenshot %s: %v: %s", name, err, b)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 5000 {
		t.Fatalf("screenshot %s is empty", name)
	}
	t.Logf("screenshot %s", out)
}

func TestDesktop(t *testing.T) {
	winBin := os.Getenv("SENDSIKKERT_WINDOW_BIN")
	if winBin == "" {
		t.Fatal("SENDSIKKERT_WINDOW_BIN must name a window built with -tags desktop,production,webkit2_41")
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("run inside dbus-run-session")
	}
	need(t, "Xvfb", "import")
	display := xvfb(t)

	watcher, err := traytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

	bin := filepath.Join(t.TempDir(), "sendsikkert")
	if b, err := exec.Command("go", "build", "-o", bin, "sendsikkert/cmd/sendsikkert").CombinedOutput(); err != nil {
		t.Fatalf("build agent: %v\n%s", err, b)
	}
	data := t.TempDir()
	port := freePort(t)
	agentURL := "https://localhost:" + strconv.Itoa(port)
	ca := filepath.Join(data, "tls", "ca.crt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := exec.CommandContext(ctx, bin, "--demo", "--data", data, "--port", strconv.Itoa(port))
	xdg := t.TempDir()
	env := append(os.Environ(), "DISPLAY="+display, "SENDSIKKERT_WINDOW_BIN="+winBin, "SENDSIKKERT_WINDOW_REPORT=1", "XDG_CONFIG_HOME="+xdg)
	agent.Env = env
	// Its own process group: the window it starts goes with it at the end.
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	agent.Stdout, agent.Stderr = pw, pw
	out := newLines(pr)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-agent.Process.Pid, syscall.SIGTERM)
		time.Sleep(500 * time.Millisecond)
		syscall.Kill(-agent.Process.Pid, syscall.SIGKILL)
	}()

	// The tray registers, with its menu.
	item, err := watcher.Wait(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	out.wait(t, 0, 20*time.Second, "Send sikkert agent ready (DEMO)")
	ids := map[string]int32{}
	var labels []string
	for range 50 {
		menu, err := watcher.Menu(item)
		if err == nil && len(menu) >= 7 && strings.HasPrefix(menu[0].Label, "DEMO") {
			labels = labels[:0]
			for _, e := range menu {
				ids[e.Label] = e.ID
				labels = append(labels, e.Label)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"Åbn Send sikkert", "Sikker Mail Portal", "Log", "Indstillinger", "Afslut"} {
		if _, ok := ids[want]; !ok {
			t.Fatalf("tray menu %q lacks %q", labels, want)
		}
	}
	t.Logf("tray menu: %q", labels)

	// The tray's menu starts the window; each view renders.
	started := time.Now()
	if err := watcher.Click(item, ids["Åbn Send sikkert"]); err != nil {
		t.Fatal(err)
	}
	line, at := out.wait(t, 0, 60*time.Second, "rendered status:", "agent ok", "demo=true")
	t.Logf("window: click to first rendered view %s (%s)", time.Since(started).Round(time.Millisecond), line)
	screenshot(t, display, "status")

	for _, v := range []struct{ label, view, shot string }{
		{"Sikker Mail Portal", "portal", "portal"},
		{"Log", "log", "log"},
		{"Indstillinger", "settings", "settings"},
	} {
		if err := watcher.Click(item, ids[v.label]); err != nil {
			t.Fatal(err)
		}
		_, at = out.wait(t, at, 30*time.Second, "rendered "+v.view+":")
		screenshot(t, display, v.shot)
	}

	// The first desktop start set autostart at login.
	if b, err := os.ReadFile(filepath.Join(xdg, "autostart", "sendsikkert.desktop")); err != nil || !strings.Contains(string(b), "--autostart") {
		t.Fatalf("no XDG autostart entry: %s %v", b, err)
	}
	// A second start of the agent opens the running agent's window and
	// exits; a second start at login exits quietly.
	again := func(extra ...string) {
		cmd := exec.Command(bin, append([]string{"--demo", "--data", data, "--port", strconv.Itoa(port)}, extra...)...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "already runs") {
			t.Fatalf("second agent start %v: %v\n%s", extra, err, b)
		}
	}
	again()
	_, at = out.wait(t, at, 30*time.Second, "rendered status:")
	again("--autostart")

	// A second start of the window hands its view to the open one; with a
	// search, the portal shows the demo rows.
	open := func(view string) {
		cmd := exec.Command(winBin, "--agent", agentURL, "--ca", ca, "--view", view)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		done := make(chan error, 1)
		cmd.Start()
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("second window %s did not hand over and exit", view)
		}
	}
	open("portal?q=region")
	_, at = out.wait(t, at, 30*time.Second, "rendered portal: domains q=region", "rows=demo-region.dk|Demo Region dom=1")
	screenshot(t, display, "portal-domains-search")
	open("portal?letter=j")
	line, at = out.wait(t, at, 30*time.Second, "rendered portal: domains q= letter=j")
	if !strings.Contains(line, "jobcenter-demo.dk|Jobcenter Demo") || strings.Contains(line, "demo-region") {
		t.Fatalf("letter j: %s", line)
	}
	open("portal?tab=book&q=advokat")
	_, at = out.wait(t, at, 30*time.Second, "rendered portal: book q=advokat", "rows=Ole Olsen|ole.olsen@demo-advokat.dk dom=1")
	screenshot(t, display, "portal-addressbook-search")
	open("firstrun")
	_, at = out.wait(t, at, 30*time.Second, "rendered firstrun:")
	screenshot(t, display, "firstrun")

	// Afslut ends the agent.
	if err := watcher.Click(item, ids["Afslut"]); err != nil {
		t.Fatal(err)
	}
	out.wait(t, at, 20*time.Second, "Send sikkert agent stopped")
	fmt.Fprintln(os.Stderr, "GUI test: tray, window and views checked")
}
