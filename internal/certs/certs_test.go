package certs

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testSealer is AES-256-GCM with a random key and the nonce prepended, as
// the keyring-backed Sealer does.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t testing.TB) *testSealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, ad), nil
}

func (s *testSealer) Open(ciphertext, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("short ciphertext")
	}
	return s.aead.Open(nil, ciphertext[:n], ciphertext[n:], ad)
}

var created = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

func mustLoad(t testing.TB, dir string, s Sealer, now time.Time) *Identity {
	t.Helper()
	id, err := LoadOrCreate(dir, s, now)
	if err != nil {
		t.Fatalf("LoadOrCreate at %v: %v", now, err)
	}
	return id
}

func TestCreateThenLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s := newTestSealer(t)

	first := mustLoad(t, dir, s, created)
	if !first.Created || first.Reason != ReasonNew || first.PreviousCACertPEM != nil {
		t.Fatalf("first call: Created=%v Reason=%q Previous=%v, want a new CA", first.Created, first.Reason, first.PreviousCACertPEM != nil)
	}
	second := mustLoad(t, dir, s, created.Add(40*day))
	if second.Created || second.Reason != ReasonNone {
		t.Fatalf("second call: Created=%v Reason=%q, want loaded", second.Created, second.Reason)
	}
	if second.CAFingerprint != first.CAFingerprint || !bytes.Equal(second.CACertPEM, first.CACertPEM) {
		t.Fatal("second call has another CA")
	}
	if got := Fingerprint(second.CACert().Raw); got != second.CAFingerprint {
		t.Fatalf("CAFingerprint %s, SHA-256 of DER is %s", second.CAFingerprint, got)
	}
	if !bytes.Equal(second.Leaf.Certificate[0], first.Leaf.Certificate[0]) {
		t.Fatal("leaf changed within its first year")
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil || !bytes.Equal(onDisk, first.CACertPEM) {
		t.Fatalf("ca.crt does not hold the CA PEM: %v", err)
	}

	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{".": 0o700, CACertFile: 0o644, LeavesFile: 0o600} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode %o, want %o", name, got, want)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("dir holds %d entries, want ca.crt and leaves.enc only", len(entries))
	}
}

func TestLeafShape(t *testing.T) {
	id := mustLoad(t, t.TempDir(), newTestSealer(t), created)
	if len(id.series) != SeriesLength {
		t.Fatalf("series of %d leaves, want %d", len(id.series), SeriesLength)
	}
	wantIPs := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	for i, c := range id.series {
		leaf := c.Leaf
		if leaf.IsCA || !leaf.BasicConstraintsValid {
			t.Errorf("leaf %d: IsCA=%v BasicConstraintsValid=%v, want CA:false present", i, leaf.IsCA, leaf.BasicConstraintsValid)
		}
		if !slices.Equal(leaf.DNSNames, []string{"localhost"}) {
			t.Errorf("leaf %d DNS names %v", i, leaf.DNSNames)
		}
		if !slices.EqualFunc(leaf.IPAddresses, wantIPs, net.IP.Equal) {
			t.Errorf("leaf %d IPs %v", i, leaf.IPAddresses)
		}
		if len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
			t.Errorf("leaf %d has other names: %v %v", i, leaf.EmailAddresses, leaf.URIs)
		}
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || len(leaf.UnknownExtKeyUsage) != 0 {
			t.Errorf("leaf %d EKU %v %v, want serverAuth only", i, leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage)
		}
		if leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
			t.Errorf("leaf %d may sign certificates", i)
		}
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got != leafLifetime {
			t.Errorf("leaf %d lives %v", i, got)
		}
		if len(c.Certificate) != 2 || !bytes.Equal(c.Certificate[1], id.CACert().Raw) {
			t.Errorf("leaf %d chain is not [leaf, ca]", i)
		}
		for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName:     name,
				Roots:       id.CertPool(),
				CurrentTime: leaf.NotBefore.Add(time.Hour),
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("leaf %d for %s: %v", i, name, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: id.CertPool(), CurrentTime: leaf.NotBefore.Add(time.Hour)}); err == nil {
			t.Errorf("leaf %d verifies for example.com", i)
		}
	}
	// Consecutive leaves overlap by more than RenewBefore: the handover.
	for i := 1; i < len(id.series); i++ {
		overlap := id.series[i-1].Leaf.NotAfter.Sub(id.series[i].Leaf.NotBefore)
		if overlap <= RenewBefore {
			t.Errorf("leaves %d and %d overlap by %v only", i-1, i, overlap)
		}
	}
}

func TestHandshake(t *testing.T) {
	// Serve an identity read back from disk, not the one just made, so
	// the sealed round trip is what gets exercised.
	dir, sealer := t.TempDir(), newTestSealer(t)
	mustLoad(t, dir, sealer, time.Now())
	id := mustLoad(t, dir, sealer, time.Now())
	srv := NewServer(id, nil)

	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		t.Run("pipe/"+name, func(t *testing.T) {
			c, s := net.Pipe()
			done := make(chan error, 1)
			go func() {
				defer s.Close()
				done <- tls.Server(s, srv.TLSConfig()).Handshake()
			}()
			client := tls.Client(c, &tls.Config{ServerName: name, RootCAs: id.CertPool()})
			err := client.Handshake()
			c.Close()
			if err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server handshake: %v", err)
			}
			if got := client.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, id.Leaf.Certificate[0]) {
				t.Fatal("served another leaf than Identity.Leaf")
			}
		})
	}

	// A foreign name must fail, or the positive cases above prove nothing.
	c, s := net.Pipe()
	go func() { tls.Server(s, srv.TLSConfig()).Handshake(); s.Close() }()
	err := tls.Client(c, &tls.Config{ServerName: "example.com", RootCAs: id.CertPool()}).Handshake()
	c.Close()
	if err == nil {
		t.Fatal("handshake for example.com succeeded")
	}

	for _, network := range []string{"127.0.0.1", "[::1]", "localhost"} {
		t.Run("listener/"+network, func(t *testing.T) {
			host := network
			if host == "localhost" {
				host = "127.0.0.1"
			}
			ln, err := tls.Listen("tcp", host+":0", srv.TLSConfig())
			if err != nil {
				t.Skipf("no loopback %s: %v", host, err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			// ServerName comes from the address, as a browser's would.
			conn, err := tls.Dial("tcp", net.JoinHostPort(strings.Trim(network, "[]"), port), &tls.Config{RootCAs: id.CertPool()})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			conn.Close()
		})
	}
}

// privateKeyAt reports whether a DER private key (PKCS #8, SEC 1 or
// PKCS #1) starts at data[0].
func privateKeyAt(data []byte) bool {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(data, &raw)
	if err != nil {
		return false
	}
	der := data[:len(data)-len(rest)]
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return true
	}
	_, err = x509.ParsePKCS1PrivateKey(der)
	return err == nil
}

// clearPrivateKey reports whether data holds a private key in clear.
func clearPrivateKey(data []byte) bool {
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		return true
	}
	for i, b := range data {
		if b == 0x30 && privateKeyAt(data[i:]) {
			return true
		}
	}
	return false
}

func TestNoClearPrivateKey(t *testing.T) {
	// The scanner must see a clear key, or the test below is hollow.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	sec1, _ := x509.MarshalECPrivateKey(k)
	for name, sample := range map[string][]byte{"pkcs8": p8, "sec1": sec1} {
		if !clearPrivateKey(append(append([]byte("junk\x30\x03"), sample...), "tail"...)) {
			t.Fatalf("scanner misses a clear %s key", name)
		}
	}

	dir := t.TempDir()
	s := newTestSealer(t)
	id := mustLoad(t, dir, s, created)

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if clearPrivateKey(data) {
			t.Errorf("%s holds a clear private key", e.Name())
		}
	}

	// Inside the sealed file: leaf keys only, none of them the CA's, and
	// none of their bytes visible from outside.
	sealed, err := os.ReadFile(filepath.Join(dir, LeavesFile))
	if err != nil {
		t.Fatal(err)
	}
	plaintext, err := s.Open(sealed, []byte(LeavesAdditionalData))
	if err != nil {
		t.Fatal(err)
	}
	var blob sealedSeries
	if err := json.Unmarshal(plaintext, &blob); err != nil {
		t.Fatal(err)
	}
	if len(blob.Leaves) != SeriesLength {
		t.Fatalf("sealed %d leaves", len(blob.Leaves))
	}
	if bytes.Contains(sealed, []byte(`"key"`)) {
		t.Error("sealed file shows its plaintext")
	}
	for i, l := range blob.Leaves {
		key, err := x509.ParsePKCS8PrivateKey(l.Key)
		if err != nil {
			t.Fatalf("sealed key %d: %v", i, err)
		}
		ek := key.(*ecdsa.PrivateKey)
		if ek.PublicKey.Equal(id.CACert().PublicKey) {
			t.Fatalf("sealed key %d is the CA key", i)
		}
		scalar, _ := ek.Bytes()
		for what, b := range map[string][]byte{"pkcs8": l.Key, "scalar": scalar, "base64": []byte(base64.StdEncoding.EncodeToString(l.Key))} {
			if bytes.Contains(sealed, b) {
				t.Errorf("sealed file contains leaf %d key (%s) in clear", i, what)
			}
		}
	}
	for i, c := range id.series {
		if c.PrivateKey.(*ecdsa.PrivateKey).PublicKey.Equal(id.CACert().PublicKey) {
			t.Fatalf("identity leaf %d holds the CA key", i)
		}
	}
}

func TestRenewal(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	first := mustLoad(t, dir, s, created)

	early := mustLoad(t, dir, s, created.Add(1*day))
	late := mustLoad(t, dir, s, created.Add(380*day))
	if late.Created || late.CAFingerprint != first.CAFingerprint {
		t.Fatal("renewal made a new CA")
	}
	if bytes.Equal(early.Leaf.Certificate[0], late.Leaf.Certificate[0]) {
		t.Fatal("same leaf served at +1d and +380d")
	}
	if left := late.NotAfter.Sub(created.Add(380 * day)); left < RenewBefore {
		t.Fatalf("leaf at +380d has %v left", left)
	}

	// Every hour of the series: the served leaf is valid and has at least
	// RenewBefore left, until the series is due for a new CA.
	dueAt := first.SeriesEnd.Add(-RenewBefore)
	for now := created; now.Before(first.SeriesEnd); now = now.Add(time.Hour) {
		i, due := pick(first.series, now)
		if due != now.After(dueAt) {
			t.Fatalf("at %v due=%v, want due after %v", now, due, dueAt)
		}
		if due {
			continue
		}
		leaf := first.series[i].Leaf
		if now.Before(leaf.NotBefore) || leaf.NotAfter.Sub(now) < RenewBefore {
			t.Fatalf("at %v leaf %d (%v–%v) served", now, i, leaf.NotBefore, leaf.NotAfter)
		}
	}
	if dueAt.Sub(created) < 10*365*day-RenewBefore {
		t.Fatalf("series due after %v only", dueAt.Sub(created))
	}
	if !first.CACert().NotAfter.After(first.SeriesEnd) {
		t.Fatal("CA expires before its last leaf")
	}

	again := mustLoad(t, dir, s, dueAt.Add(-time.Minute))
	if again.Created {
		t.Fatal("new CA before the series was due")
	}

	renewed := mustLoad(t, dir, s, created.AddDate(11, 0, 0))
	if !renewed.Created || renewed.Reason != ReasonExhausted {
		t.Fatalf("at +11y: Created=%v Reason=%q, want a new CA", renewed.Created, renewed.Reason)
	}
	if renewed.CAFingerprint == first.CAFingerprint {
		t.Fatal("at +11y: same CA")
	}
	if !bytes.Equal(renewed.PreviousCACertPEM, first.CACertPEM) {
		t.Fatal("at +11y: PreviousCACertPEM is not the old CA")
	}
	if reloaded := mustLoad(t, dir, s, created.AddDate(11, 0, 1)); reloaded.Created || reloaded.CAFingerprint != renewed.CAFingerprint {
		t.Fatal("the new CA was not kept")
	}
}

func TestClockBehind(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	first := mustLoad(t, dir, s, created)
	behind := mustLoad(t, dir, s, created.Add(-30*day))
	if behind.Created || behind.CAFingerprint != first.CAFingerprint {
		t.Fatal("a clock behind the creation time replaced the CA")
	}
	if !bytes.Equal(behind.Leaf.Certificate[0], first.series[0].Certificate[0]) {
		t.Fatal("a clock behind should serve the first leaf")
	}
}

func TestServerSwitchesWithoutRestart(t *testing.T) {
	id := mustLoad(t, t.TempDir(), newTestSealer(t), created)
	var clock atomic.Int64
	set := func(t time.Time) { clock.Store(t.UnixNano()) }
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	handover := id.series[1].Leaf.NotBefore
	set(handover.Add(-30 * time.Second))
	srv := NewServer(id, now)
	serves := func() []byte {
		c, err := srv.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		return c.Certificate[0]
	}
	leaf0, leaf1 := id.series[0].Certificate[0], id.series[1].Certificate[0]

	if !bytes.Equal(serves(), leaf0) {
		t.Fatal("before handover: not leaf 0")
	}
	set(handover.Add(20 * time.Second)) // 50s after the last check
	if !bytes.Equal(serves(), leaf0) {
		t.Fatal("checked again within a minute")
	}
	set(handover.Add(31 * time.Second)) // 61s after the last check
	if !bytes.Equal(serves(), leaf1) {
		t.Fatal("after handover and a minute: not leaf 1")
	}
	set(handover.Add(-time.Hour)) // clock set back: check at once
	if !bytes.Equal(serves(), leaf0) {
		t.Fatal("clock set back: not leaf 0")
	}

	if srv.RenewalDue() {
		t.Fatal("renewal due in the first year")
	}
	set(id.SeriesEnd.Add(-RenewBefore + time.Hour))
	if !srv.RenewalDue() {
		t.Fatal("renewal not due near the end of the series")
	}
	other := mustLoad(t, t.TempDir(), newTestSealer(t), now())
	srv.Use(other)
	if c, _ := srv.GetCertificate(nil); !bytes.Equal(c.Certificate[1], other.CACert().Raw) {
		t.Fatal("Use did not switch identity")
	}
	if srv.RenewalDue() {
		t.Fatal("renewal due for a fresh identity")
	}
}

type fileState struct {
	data    []byte
	mode    os.FileMode
	modTime time.Time
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]fileState{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fileState{data, fi.Mode(), fi.ModTime()}
	}
	return m
}

func sameFiles(a, b map[string]fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for name, fa := range a {
		fb, ok := b[name]
		if !ok || !bytes.Equal(fa.data, fb.data) || fa.mode != fb.mode || !fa.modTime.Equal(fb.modTime) {
			return false
		}
	}
	return true
}

func TestCorrupt(t *testing.T) {
	tamper := func(t *testing.T, dir string) {
		path := filepath.Join(dir, LeavesFile)
		data, _ := os.ReadFile(path)
		data[len(data)/2] ^= 1
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, tc := range map[string]struct {
		breakIt func(t *testing.T, dir string)
		sealer  func(own Sealer) Sealer
	}{
		"wrong key": {func(*testing.T, string) {}, func(Sealer) Sealer { return newTestSealer(t) }},
		"tampered":  {tamper, func(own Sealer) Sealer { return own }},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			own := newTestSealer(t)
			old := mustLoad(t, dir, own, created)
			tc.breakIt(t, dir)
			before := snapshot(t, dir)

			_, err := LoadOrCreate(dir, tc.sealer(own), created.Add(day))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if !sameFiles(before, snapshot(t, dir)) {
				t.Fatal("files changed after ErrCorrupt")
			}

			id, err := LoadOrCreateWith(dir, tc.sealer(own), created.Add(day), Options{ReplaceCorrupt: true})
			if err != nil {
				t.Fatal(err)
			}
			if !id.Created || id.Reason != ReasonReplacedCorrupt || id.CAFingerprint == old.CAFingerprint {
				t.Fatalf("Created=%v Reason=%q: want a new CA", id.Created, id.Reason)
			}
			if !bytes.Equal(id.PreviousCACertPEM, old.CACertPEM) {
				t.Fatal("PreviousCACertPEM is not the replaced CA")
			}
		})
	}

	t.Run("wrong additional data", func(t *testing.T) {
		dir := t.TempDir()
		s := newTestSealer(t)
		mustLoad(t, dir, s, created)
		// A blob sealed for another purpose must not be accepted.
		other, _ := s.Seal([]byte(`{"version":1}`), []byte("sendsikkert/other"))
		os.WriteFile(filepath.Join(dir, LeavesFile), other, 0o600)
		if _, err := LoadOrCreate(dir, s, created); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
	})
}

func TestCACertRestored(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	id := mustLoad(t, dir, s, created)
	caPath := filepath.Join(dir, CACertFile)
	foreign := mustLoad(t, t.TempDir(), newTestSealer(t), created)

	for name, breakIt := range map[string]func(){
		"missing":  func() { os.Remove(caPath) },
		"replaced": func() { os.WriteFile(caPath, foreign.CACertPEM, 0o644) },
		"garbage":  func() { os.WriteFile(caPath, []byte("nonsense"), 0o644) },
	} {
		breakIt()
		got := mustLoad(t, dir, s, created.Add(day))
		if got.Created || got.CAFingerprint != id.CAFingerprint {
			t.Fatalf("%s ca.crt: CA changed", name)
		}
		if data, _ := os.ReadFile(caPath); !bytes.Equal(data, id.CACertPEM) {
			t.Fatalf("%s ca.crt: not restored from the sealed copy", name)
		}
	}
}

func TestLeavesMissing(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	old := mustLoad(t, dir, s, created)
	os.Remove(filepath.Join(dir, LeavesFile))
	id := mustLoad(t, dir, s, created.Add(day))
	if !id.Created || id.Reason != ReasonMissing || !bytes.Equal(id.PreviousCACertPEM, old.CACertPEM) {
		t.Fatalf("Created=%v Reason=%q: want a new CA replacing the old", id.Created, id.Reason)
	}
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	old := mustLoad(t, dir, s, created)
	os.WriteFile(filepath.Join(dir, ".ca.crt.tmp-123"), []byte("x"), 0o600)
	keep := filepath.Join(dir, "unrelated")
	os.WriteFile(keep, []byte("x"), 0o600)

	if err := Reset(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "unrelated" {
		t.Fatalf("after Reset: %v", entries)
	}
	if err := Reset(dir); err != nil {
		t.Fatalf("second Reset: %v", err)
	}
	id := mustLoad(t, dir, s, created)
	if !id.Created || id.Reason != ReasonNew || id.CAFingerprint == old.CAFingerprint {
		t.Fatal("no new CA after Reset")
	}
}

func TestNameConstraints(t *testing.T) {
	id := mustLoad(t, t.TempDir(), newTestSealer(t), created)
	ca := id.CACert()
	if !ca.IsCA || !ca.MaxPathLenZero || ca.MaxPathLen != 0 {
		t.Errorf("CA basic constraints: IsCA=%v MaxPathLen=%d zero=%v", ca.IsCA, ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if !slices.Equal(ca.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("CA EKU %v, want serverAuth only", ca.ExtKeyUsage)
	}
	if !ca.PermittedDNSDomainsCritical || !slices.Equal(ca.PermittedDNSDomains, []string{"localhost"}) {
		t.Errorf("CA DNS constraints critical=%v %v", ca.PermittedDNSDomainsCritical, ca.PermittedDNSDomains)
	}
	var ranges []string
	for _, r := range ca.PermittedIPRanges {
		ranges = append(ranges, r.String())
	}
	if !slices.Equal(ranges, []string{"127.0.0.1/32", "::1/128"}) {
		t.Errorf("CA IP constraints %v", ranges)
	}
	oidNameConstraints := asn1.ObjectIdentifier{2, 5, 29, 30}
	found := false
	for _, e := range ca.Extensions {
		if e.Id.Equal(oidNameConstraints) {
			found = e.Critical
		}
	}
	if !found {
		t.Error("name constraints extension missing or not critical")
	}

	// The key of the real CA is gone, so prove what the template does with
	// a CA made from it with a test key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := newCATemplate(created, created.Add(365*day))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	testCA, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(testCA)
	sign := func(tmpl *x509.Certificate) *x509.Certificate {
		leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, testCA, &leafKey.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	opts := func(name string) x509.VerifyOptions {
		return x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: created.Add(day)}
	}
	good := sign(newLeafTemplate(created, 0))
	if _, err := good.Verify(opts("localhost")); err != nil {
		t.Fatalf("localhost leaf from the template: %v", err)
	}
	for name, names := range map[string]struct {
		dns []string
		ips []net.IP
	}{
		"example.com":       {dns: []string{"example.com"}},
		"localhost+example": {dns: []string{"localhost", "example.com"}},
		"10.0.0.1":          {ips: []net.IP{net.ParseIP("10.0.0.1")}},
	} {
		bad := newLeafTemplate(created, 0)
		bad.Subject = pkix.Name{CommonName: name}
		bad.DNSNames, bad.IPAddresses = names.dns, names.ips
		verifyName := name
		if name == "localhost+example" {
			verifyName = "localhost"
		}
		_, err := sign(bad).Verify(opts(verifyName))
		var invalid x509.CertificateInvalidError
		if !errors.As(err, &invalid) || invalid.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("%s: err = %v, want CANotAuthorizedForThisName", name, err)
		}
	}
	// serverAuth only: a client certificate from this CA is refused.
	client := newLeafTemplate(created, 0)
	client.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	o := opts("localhost")
	o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if _, err := sign(client).Verify(o); err == nil {
		t.Error("a clientAuth certificate verifies under the CA")
	}
}

func BenchmarkLoadOrCreate(b *testing.B) {
	dir := b.TempDir()
	s := newTestSealer(b)
	mustLoad(b, dir, s, created)
	now := created.Add(400 * day)
	for b.Loop() {
		id, err := LoadOrCreate(dir, s, now)
		if err != nil || id.Created {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	id := mustLoad(b, b.TempDir(), newTestSealer(b), time.Now())
	srv := NewServer(id, nil)
	for b.Loop() {
		srv.GetCertificate(nil)
	}
}

func BenchmarkCreate(b *testing.B) {
	s := newTestSealer(b)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		mustLoad(b, dir, s, created)
	}
}
