package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVersionEverywhere builds the agent as build.sh does (-X with one
// version string) and reads the version back from --version, both
// manifests' <Version> and /healthz. (The exes' version resources and the
// MSI's ProductVersion: build/windows's TestWindowsExecutables and TestMSI.)
// On the way it checks that the agent writes its rotating log file.
func TestVersionEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent")
	}
	const v = "7.3.1"
	dir := t.TempDir()
	bin := filepath.Join(dir, "sendsikkert")
	if out, err := exec.Command("go", "build", "-ldflags", "-X sendsikkert/internal/version.String="+v, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "sendsikkert "+v {
		t.Fatalf("--version: %v %q", err, out)
	}
	tag := regexp.MustCompile(`<Version>([^<]*)</Version>`)
	for _, kind := range []string{"outlook", "office"} {
		f := filepath.Join(dir, kind+".xml")
		if out, err := exec.Command(bin, "manifest", kind, "--origin", "https://localhost:47800", "--out", f).CombinedOutput(); err != nil {
			t.Fatalf("manifest %s: %v\n%s", kind, err, out)
		}
		b, _ := os.ReadFile(f)
		if m := tag.FindSubmatch(b); m == nil || string(m[1]) != v+".0" {
			t.Errorf("%s manifest <Version>: %q", kind, m)
		}
	}
	// /healthz of the running agent (demo: no keyring or relay needed here).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := filepath.Join(dir, "data")
	logs := filepath.Join(dir, "logs")
	cmd := exec.Command(bin, "--headless", "--demo", "--data", data, "--port", strconv.Itoa(port), "--log-dir", logs)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
		if err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemBytes)
			c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			if resp, err := c.Get("https://localhost:" + strconv.Itoa(port) + "/healthz"); err == nil {
				var h struct{ Version string }
				json.NewDecoder(resp.Body).Decode(&h)
				resp.Body.Close()
				if h.Version != v {
					t.Fatalf("/healthz version %q", h.Version)
				}
				// The agent's log file, rotating under --log-dir.
				b, err := os.ReadFile(filepath.Join(logs, "sendsikkert.log"))
				if err != nil || !strings.Contains(string(b), "Send sikkert agent ready") {
					t.Fatalf("log file: %v\n%s", err, b)
				}
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the agent did not answer /healthz")
}
