//go:build bench

package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sendsikkert/internal/tray/traytest"
)

// startDesktop runs the agent as a clerk's PC does: not headless, demo
// mode, its tray registered with a stand-in StatusNotifier host.
func startDesktop(b *testing.B, env ...string) (*exec.Cmd, *traytest.Watcher, string, string) {
	b.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		b.Skip("needs a session bus: run inside dbus-run-session (bench/run.sh does)")
	}
	w, err := traytest.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := b.TempDir()
	cmd := exec.Command(agentBin, "--demo", "--data", data, "--port", strconv.Itoa(port), "--log-level", "warn")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	if _, err := w.Wait(30 * time.Second); err != nil {
		b.Fatal(err)
	}
	return cmd, w, "https://localhost:" + strconv.Itoa(port), filepath.Join(data, "tls", "ca.crt")
}

// BenchmarkTrayIdle: the agent with its tray, idle for 60 s after start-up.
// Goal: RSS ≤ 10 MiB, CPU 0.0 %.
func BenchmarkTrayIdle(b *testing.B) {
	cmd, _, _, _ := startDesktop(b)
	time.Sleep(5 * time.Second)
	pid := cmd.Process.Pid
	t0 := cpuTicks(pid)
	time.Sleep(60 * time.Second)
	ticks := cpuTicks(pid) - t0
	cpu := ticks / 100 / 60 * 100
	rss := procKiB(pid, "VmRSS") / 1024
	anon := procKiB(pid, "RssAnon") / 1024
	b.ReportMetric(rss, "idle-RSS-MiB")
	b.ReportMetric(anon, "idle-anon-MiB")
	b.ReportMetric(cpu, "idle-CPU-%")
	// File-backed RSS is the binary's own pages (shared, reclaimable); anon
	// is what the agent and its tray hold.
	fmt.Printf("agent with tray: idle RSS %.1f MiB (anonymous %.1f MiB, the rest the binary's mapped pages), CPU %.3f %% (%.0f ticks) over 60 s\n", rss, anon, cpu, ticks)
}

// BenchmarkWindowFirstPaint: the window program (a real Wails build, under
// Xvfb) started against a running agent with its tray, to its first drawn
// view (Status, holding the agent's answer); then its memory with its
// WebKit processes. Needs SENDSIKKERT_WINDOW_BIN.
func BenchmarkWindowFirstPaint(b *testing.B) {
	win := os.Getenv("SENDSIKKERT_WINDOW_BIN")
	if win == "" {
		b.Skip("SENDSIKKERT_WINDOW_BIN not set (a window built with -tags desktop,production,webkit2_41)")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		b.Skip("no Xvfb")
	}
	r, wr, _ := os.Pipe()
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{wr}
	if err := x.Start(); err != nil {
		b.Fatal(err)
	}
	wr.Close()
	b.Cleanup(func() { x.Process.Kill(); x.Wait() })
	line, _ := bufio.NewReader(r).ReadString('\n')
	display := ":" + strings.TrimSpace(line)
	_, _, url, ca := startDesktop(b)

	var first []time.Duration
	var rss float64
	for i := 0; i < 3; i++ {
		cmd := exec.Command(win, "--agent", url, "--ca", ca, "--view", "status")
		cmd.Env = append(os.Environ(), "DISPLAY="+display, "SENDSIKKERT_WINDOW_REPORT=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, _ := cmd.StderrPipe()
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		painted := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "rendered status: agent ok") {
				painted = true
				break
			}
		}
		if !painted {
			b.Fatal("the window drew no status view")
		}
		first = append(first, time.Since(t0))
		go io.Copy(io.Discard, out)
		time.Sleep(3 * time.Second)
		rss = treeRSS(cmd.Process.Pid) / 1024
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}
	best := first[0]
	for _, d := range first {
		best = min(best, d)
	}
	b.ReportMetric(float64(best.Milliseconds()), "first-view-ms")
	b.ReportMetric(rss, "window-RSS-MiB")
	fmt.Printf("window start to first drawn view: %v (runs %v); window with WebKit processes: %.0f MiB RSS\n", best, first, rss)
}

// treeRSS sums VmRSS (KiB) over pid and its descendants.
func treeRSS(pid int) float64 {
	total := max(procKiB(pid, "VmRSS"), 0)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				total += treeRSS(c)
			}
		}
	}
	return total
}
