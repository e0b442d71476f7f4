package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNoKeyringRefusesOutsideDemo: with a relay configured (not demo) and
// no keyring on the session bus, the agent refuses to start and says why.
func TestNoKeyringRefusesOutsideDemo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bogus session bus trick is Linux-only")
	}
	cmd := exec.Command(agentBin, "--headless", "--data", t.TempDir(), "--port", "1", "--relay", "http://127.0.0.1:9")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("agent started without a keyring:\n%s", out)
	}
	if !strings.Contains(string(out), "nøglering") {
		t.Fatalf("no clear Danish message:\n%s", out)
	}
}

// TestRealKeyring runs with a real Secret Service (gnome-keyring under
// dbus-run-session, set up by the test command): the key lives in the
// keyring and survives a restart, and nothing secret lies in the clear
// under the data folder.
func TestRealKeyring(t *testing.T) {
	if os.Getenv("SENDSIKKERT_REAL_KEYRING") != "1" {
		t.Skip("set SENDSIKKERT_REAL_KEYRING=1 under a session bus with gnome-keyring (the README test command does)")
	}
	data := t.TempDir()
	port := freePort(t)
	a := startAgent(t, data, port)
	if _, err := os.Stat(filepath.Join(data, "INSECURE-demo-keys-NOT-PROTECTED.json")); err == nil {
		t.Fatal("the demo key file was written although a keyring is reachable")
	}
	secretBody := "Helbredsoplysninger-" + strings.Repeat("x", 10)
	path, _ := randomFile(t, 1<<20)
	marker := []byte("KLARTEKST-BILAG-MARKER-0123456789")
	code, out := a.send(map[string]any{
		"recipients": []string{"2211771212"}, "subject": "Fortroligt emne", "bodyHtml": "<p>" + secretBody + "</p>", "idempotencyKey": "kr-1",
	}, file{"bilag.pdf", "application/pdf", func() io.Reader {
		return io.MultiReader(bytes.NewReader(marker), openFile(t, path)())
	}})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	a.waitFinal(out["id"].(string), time.Minute)
	token := a.token
	ca, _ := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
	a.stop()

	// Everything under DATA but the demo channels' own output (which is the
	// "delivered" Digital Post and letters) must hold nothing in clear.
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(data, p)
		if strings.HasPrefix(rel, filepath.Join("demo", "digitalpost")) || strings.HasPrefix(rel, filepath.Join("demo", "print")) {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, bad := range [][]byte{[]byte("PRIVATE KEY"), []byte(token), []byte(secretBody), []byte("Fortroligt emne"), marker, []byte("2211771212")} {
			if bytes.Contains(b, bad) {
				t.Errorf("%s holds %q in clear", rel, bad[:min(len(bad), 20)])
			}
		}
		if rel != filepath.Join("tls", "ca.crt") {
			for i := 0; i < len(b); i++ {
				if b[i] != 0x30 {
					continue
				}
				if _, err := x509.ParsePKCS8PrivateKey(b[i:]); err == nil {
					t.Errorf("%s holds a clear PKCS#8 private key at %d", rel, i)
				}
				if _, err := x509.ParseECPrivateKey(b[i:]); err == nil {
					t.Errorf("%s holds a clear EC private key at %d", rel, i)
				}
			}
		}
		return nil
	})
	if blk, _ := pem.Decode(ca); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatal("ca.crt is not a certificate")
	}

	// The key came from the keyring: a restart opens the same identity and
	// the same outbox.
	b := startAgent(t, data, port)
	ca2, _ := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
	if !bytes.Equal(ca, ca2) {
		t.Fatal("a new CA was made after restart: the key did not persist in the keyring")
	}
	var st status
	if code := b.call("GET", "/api/v1/messages/"+out["id"].(string), nil, &st); code != 200 || st.Status != "delivered" {
		t.Fatalf("after restart: %d %+v", code, st)
	}
}
