// Package trust puts the agent's per-install CA into the user's trust
// stores, takes it out again, and says where it is trusted: Windows
// CurrentUser Root, the macOS login keychain, on Linux the user's NSS
// databases (Chromium's ~/.pki/nssdb, Firefox profiles) and, when asked
// and allowed, the system bundle. The portable part is here; each
// platform's stores are in trust_<os>.go.
package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CA is the certificate to trust, with its file (DATA/tls/ca.crt), which
// some platform tools want as a path.
type CA struct {
	Cert *x509.Certificate
	Path string
}

// LoadCA reads a PEM CA certificate file.
func LoadCA(path string) (CA, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CA{}, fmt.Errorf("trust: read CA: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return CA{}, fmt.Errorf("trust: %s holds no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return CA{}, fmt.Errorf("trust: parse CA: %w", err)
	}
	if !c.IsCA {
		return CA{}, fmt.Errorf("trust: %s is not a CA certificate", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return CA{Cert: c, Path: abs}, nil
}

// CAFile is where the agent keeps its CA inside its data folder.
func CAFile(dataDir string) string { return filepath.Join(dataDir, "tls", "ca.crt") }

// Fingerprint is the SHA-256 hex of the CA's DER.
func (c CA) Fingerprint() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Nickname names the CA in stores that want a name (NSS, file names); it
// carries part of the fingerprint, so two installs never collide and an
// old CA is never mistaken for the current one.
func (c CA) Nickname() string { return "Send sikkert lokal CA " + c.Fingerprint()[:16] }

// Store is one place a CA can be trusted.
type Store interface {
	// Name says which store, for people ("NSS ~/.pki/nssdb").
	Name() string
	Install(CA) error
	Remove(CA) error
	// Trusted reports whether the CA is present and trusted for TLS servers.
	Trusted(CA) (bool, error)
}

// Options choose the stores.
type Options struct {
	// NSSDBs overrides the Linux NSS databases (directories holding
	// cert9.db); empty means ~/.pki/nssdb plus every Firefox profile.
	NSSDBs []string
	// System also uses the system-wide bundle (Linux, needs root).
	System bool
	// SystemAnchors overrides the Linux anchor folder (tests).
	SystemAnchors string
}

// State is one store's answer.
type State struct {
	Store   string `json:"store"`
	Trusted bool   `json:"trusted"`
	Error   string `json:"error,omitempty"`
}

// Report is the status of every store.
type Report struct {
	Fingerprint string  `json:"fingerprint"`
	States      []State `json:"stores"`
}

// Trusted says whether the CA is trusted in every store that answered and
// in at least one.
func (r Report) Trusted() bool {
	ok := false
	for _, s := range r.States {
		if s.Error != "" || !s.Trusted {
			return false
		}
		ok = true
	}
	return ok
}

// ErrNoStore means the platform offers no store this build can use (for
// example a Linux machine without certutil).
var ErrNoStore = errors.New("trust: no trust store available")

// Status asks every store.
func Status(ca CA, opts Options) (Report, error) {
	stores, err := Stores(opts)
	r := Report{Fingerprint: ca.Fingerprint()}
	if err != nil {
		return r, err
	}
	for _, s := range stores {
		ok, err := s.Trusted(ca)
		st := State{Store: s.Name(), Trusted: ok}
		if err != nil {
			st.Error = err.Error()
		}
		r.States = append(r.States, st)
	}
	return r, nil
}

// Install trusts the CA in every store; it goes on past a failing store and
// returns every failure.
func Install(ca CA, opts Options) error {
	return each(opts, func(s Store) error { return s.Install(ca) })
}

// Remove takes the CA out of every store.
func Remove(ca CA, opts Options) error {
	return each(opts, func(s Store) error { return s.Remove(ca) })
}

func each(opts Options, f func(Store) error) error {
	stores, err := Stores(opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range stores {
		if err := f(s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}
