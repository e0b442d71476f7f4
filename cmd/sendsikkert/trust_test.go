package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The trust subcommand against a throwaway NSS database, as a user runs it.
func TestTrustCommandNSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("NSS test is for Linux")
	}
	if _, err := exec.LookPath("certutil"); err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") != "" {
			t.Fatal("certutil (libnss3-tools) is required")
		}
		t.Skip("certutil not installed")
	}
	data := t.TempDir()
	db := filepath.Join(t.TempDir(), "nssdb")
	if code := run([]string{"trust", "status", "--data", data, "--nssdb", db}); code != 1 {
		t.Fatalf("status without a CA: exit %d, want 1", code)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	os.MkdirAll(filepath.Join(data, "tls"), 0o700)
	os.WriteFile(filepath.Join(data, "tls", "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)

	for _, step := range []struct {
		args []string
		want int
	}{
		{[]string{"status"}, 3},
		{[]string{"install"}, 0},
		{[]string{"status"}, 0},
		{[]string{"status", "--json"}, 0},
		{[]string{"remove"}, 0},
		{[]string{"status"}, 3},
		{[]string{"bogus"}, 2},
	} {
		args := append([]string{"trust"}, step.args...)
		args = append(args, "--data", data, "--nssdb", db)
		if code := run(args); code != step.want {
			t.Fatalf("%v: exit %d, want %d", step.args, code, step.want)
		}
	}
}
