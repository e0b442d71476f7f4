package door

import (
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/trust"
)

// recordingTrust stands in for LocalMachine\Root (Windows only); it keeps
// what a real store would.
type recordingTrust struct {
	mu    sync.Mutex
	roots map[string]bool // fingerprints
	adds  int
}

func (r *recordingTrust) Name() string { return "test root store" }
func (r *recordingTrust) Install(ca trust.CA) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roots[certs.Fingerprint(ca.Cert.Raw)] = true
	r.adds++
	return nil
}
func (r *recordingTrust) Remove(ca trust.CA) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.roots, certs.Fingerprint(ca.Cert.Raw))
	return nil
}
func (r *recordingTrust) Trusted(ca trust.CA) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roots[certs.Fingerprint(ca.Cert.Raw)], nil
}

// TestMachineCATrustedAndRenewed: at first start the door trusts its CA
// machine-wide, once (a restart adds nothing); within 30 days of the
// series' end it makes a new CA, trusts it, takes the old one out and
// serves the new leaf without a restart.
func TestMachineCATrustedAndRenewed(t *testing.T) {
	store := &recordingTrust{roots: map[string]bool{}}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	dir := filepath.Join(t.TempDir(), "state")
	open := func() *Door {
		d := &Door{cfg: Config{StateDir: dir, Trust: store, Now: clock}, log: slog.New(slog.DiscardHandler)}
		if _, err := d.machineTLS(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open()
	first := d.server.Identity().CAFingerprint
	if !store.roots[first] || store.adds != 1 {
		t.Fatalf("first start: trusted %v, adds %d", store.roots, store.adds)
	}
	open() // a restart: the same CA, already trusted
	if store.adds != 1 || len(store.roots) != 1 {
		t.Fatalf("restart: adds %d, roots %v", store.adds, store.roots)
	}
	if err := d.renewIfDue(); err != nil || d.server.Identity().CAFingerprint != first {
		t.Fatalf("renewed too early: %v", err)
	}
	now = d.server.Identity().SeriesEnd.Add(-certs.RenewBefore + time.Hour)
	if err := d.renewIfDue(); err != nil {
		t.Fatal(err)
	}
	second := d.server.Identity().CAFingerprint
	if second == first || !store.roots[second] || store.roots[first] || len(store.roots) != 1 {
		t.Fatalf("after renewal: first %s, second %s, roots %v", first, second, store.roots)
	}
	leaf, err := d.server.GetCertificate(nil)
	if err != nil || len(leaf.Certificate) < 2 || certs.Fingerprint(leaf.Certificate[1]) != second {
		t.Fatalf("the new leaf is not served: %v", err)
	}
}
