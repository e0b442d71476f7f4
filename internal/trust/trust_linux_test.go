package trust

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
	"strings"
	"testing"
	"time"
)

// testCA writes a fresh CA certificate to dir/ca.crt and loads it.
func testCA(t *testing.T, dir string) CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "Send sikkert test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(path)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func needCertutil(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") != "" {
			t.Fatal("certutil (libnss3-tools) is required")
		}
		t.Skip("certutil (libnss3-tools) not installed")
	}
}

// nssList is certutil's own listing, read independently of the code
// under test.
func nssList(t *testing.T, db string) string {
	out, err := exec.Command("certutil", "-d", "sql:"+db, "-L").CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L: %v: %s", err, out)
	}
	return string(out)
}

func TestNSSInstallStatusRemove(t *testing.T) {
	needCertutil(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "nssdb") // does not exist yet: Install creates it
	ca := testCA(t, dir)
	other := testCA(t, t.TempDir())
	opts := Options{NSSDBs: []string{db}}

	r, err := Status(ca, opts)
	if err != nil || r.Trusted() || len(r.States) != 1 || r.States[0].Error != "" {
		t.Fatalf("before install: %+v, %v", r, err)
	}
	// Someone else's CA in the same database must survive our remove.
	if err := Install(other, opts); err != nil {
		t.Fatal(err)
	}
	if err := Install(ca, opts); err != nil {
		t.Fatal(err)
	}
	if err := Install(ca, opts); err != nil { // twice is fine
		t.Fatalf("second install: %v", err)
	}
	list := nssList(t, db)
	if !strings.Contains(list, ca.Nickname()) || !strings.Contains(list, "C,,") {
		t.Fatalf("certutil does not list %q as a TLS CA:\n%s", ca.Nickname(), list)
	}
	r, err = Status(ca, opts)
	if err != nil || !r.Trusted() {
		t.Fatalf("after install: %+v, %v", r, err)
	}
	if r.Fingerprint != ca.Fingerprint() {
		t.Fatalf("fingerprint %s", r.Fingerprint)
	}
	if err := Remove(ca, opts); err != nil {
		t.Fatal(err)
	}
	list = nssList(t, db)
	if strings.Contains(list, ca.Nickname()) {
		t.Fatalf("still listed after remove:\n%s", list)
	}
	if !strings.Contains(list, other.Nickname()) {
		t.Fatalf("remove took another CA too:\n%s", list)
	}
	if r, _ := Status(ca, opts); r.Trusted() {
		t.Fatalf("status says trusted after remove: %+v", r)
	}
	if err := Remove(ca, opts); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

// A CA present without TLS trust ("c,," or ",,") is not trusted.
func TestNSSPresentButNotTrusted(t *testing.T) {
	needCertutil(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "nssdb")
	ca := testCA(t, dir)
	n := NSS{Dir: db}
	if err := n.ensure(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("certutil", "-d", "sql:"+db, "-A", "-n", ca.Nickname(), "-t", ",,", "-i", ca.Path).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if ok, err := n.Trusted(ca); ok || err != nil {
		t.Fatalf("Trusted = %v, %v; want false", ok, err)
	}
	if err := n.Install(ca); err != nil {
		t.Fatal(err)
	}
	if ok, err := n.Trusted(ca); !ok || err != nil {
		t.Fatalf("after install: %v, %v", ok, err)
	}
}

func TestSystemAnchors(t *testing.T) {
	dir := t.TempDir()
	ca := testCA(t, dir)
	anchors := filepath.Join(dir, "anchors")
	opts := Options{NSSDBs: []string{filepath.Join(dir, "absent")}, SystemAnchors: anchors}
	a := Anchors{Dir: anchors}
	if ok, _ := a.Trusted(ca); ok {
		t.Fatal("trusted before install")
	}
	if err := a.Install(ca); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(anchors, "sendsikkert-*.crt"))
	if len(files) != 1 {
		t.Fatalf("anchor files: %v", files)
	}
	if ok, err := a.Trusted(ca); !ok || err != nil {
		t.Fatalf("after install: %v %v", ok, err)
	}
	stores, _ := Stores(opts)
	if len(stores) != 2 {
		t.Fatalf("stores: %v", stores)
	}
	if err := a.Remove(ca); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(anchors, "*")); len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
}

func TestLoadCARejects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.crt")
	os.WriteFile(p, []byte("not a certificate"), 0o644)
	if _, err := LoadCA(p); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := LoadCA(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("absent file accepted")
	}
}
