// Package certs owns the agent's TLS identity for localhost: the
// certificate the Office add-in pages and the local API are served with on
// 127.0.0.1 and ::1.
//
// A self-signed certificate would be a CA that can sign anything for as
// long as it lives, so a stolen key would let an attacker impersonate any
// site to this user. Instead a per-install CA signs a series of short-lived
// leaf certificates for localhost only, and its private key is dropped right
// after signing: it is never written anywhere, so nothing can ever be signed
// with it again. The CA also carries critical name constraints
// (localhost, 127.0.0.1, ::1) and the serverAuth usage only, which limits the
// damage if that ever went wrong.
//
// Renewal without the CA key works by signing the whole series up front:
// leaf i is valid from created+i·365d−1d for 397 days, so consecutive leaves
// overlap by about a month. The leaf with the longest remaining life is
// served, which moves on to the next one before the current one has fewer
// than [RenewBefore] left. A CA that the desktop part has installed into the
// trust stores therefore stays good for about ten years; only then, or when
// the files are missing, is a new CA made and [Identity.Created] says that
// trust must be installed again.
//
// Files in the identity directory:
//
//	ca.crt      the CA certificate, PEM, 0644; an export for trust stores
//	leaves.enc  the sealed series, 0600; the source of truth
//
// The leaf private keys only ever exist on disk inside leaves.enc, sealed by
// a [Sealer] whose key lives in the OS keyring.
package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File names inside the identity directory.
const (
	CACertFile = "ca.crt"
	LeavesFile = "leaves.enc"
)

// LeavesAdditionalData binds the sealed blob to its purpose, so a sealed
// secret of another kind cannot be swapped in for it.
const LeavesAdditionalData = "sendsikkert/tls/leaves"

// ErrCorrupt means the identity on disk cannot be used: the sealed file
// does not open with the Sealer's key (another key, tampering) or its
// content is malformed. The old CA may still be trusted, so the caller
// decides whether to replace it ([Options.ReplaceCorrupt] or [Reset]).
var ErrCorrupt = errors.New("certs: identity corrupt")

// Sealer encrypts small secrets with a key held in the OS keyring
// (implemented elsewhere with AES-GCM).
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(ciphertext, additionalData []byte) ([]byte, error)
}

// Reason says why LoadOrCreate made a new CA, so the UI can tell the person
// why the certificate must be trusted (again).
type Reason string

const (
	// ReasonNone: the existing identity was loaded.
	ReasonNone Reason = ""
	// ReasonNew: there was no identity in the directory (first start).
	ReasonNew Reason = "new"
	// ReasonMissing: ca.crt was there but the sealed series was not, so the
	// old CA (possibly trusted) can no longer serve anything.
	ReasonMissing Reason = "missing"
	// ReasonExhausted: the series runs out within RenewBefore.
	ReasonExhausted Reason = "exhausted"
	// ReasonReplacedCorrupt: the sealed series did not open and
	// Options.ReplaceCorrupt was set.
	ReasonReplacedCorrupt Reason = "replaced-corrupt"
)

// Identity is the agent's TLS identity as loaded at one instant. Serve it
// through a [Server], which moves on to the next leaf of the series while
// the agent keeps running.
type Identity struct {
	CACertPEM     []byte
	CAFingerprint string          // SHA-256 hex of the CA cert DER
	Leaf          tls.Certificate // current leaf with chain [leaf, ca]
	NotAfter      time.Time       // of the current leaf
	// SeriesEnd is the NotAfter of the last leaf; a new CA is made
	// RenewBefore earlier.
	SeriesEnd time.Time
	// Created is true when a new CA was made by this call: trust must be
	// (re)installed.
	Created bool
	Reason  Reason
	// PreviousCACertPEM is the CA that this call replaced (when Created and
	// a readable ca.crt was there), so the desktop part can remove it from
	// the trust stores. Nil otherwise.
	PreviousCACertPEM []byte

	ca     *x509.Certificate
	series []*tls.Certificate // sorted by NotBefore, Leaf set
}

// Options change how LoadOrCreateWith treats an unusable identity.
type Options struct {
	// ReplaceCorrupt makes a new CA instead of returning ErrCorrupt when the
	// sealed series does not open. Use it only after telling the person,
	// since the old CA may be trusted.
	ReplaceCorrupt bool
}

// LoadOrCreate loads the identity from dir (creating dir with 0700) or makes
// a new one when there is none or its series is exhausted. A sealed file
// that fails to open is an error wrapping ErrCorrupt and the files are left
// untouched.
func LoadOrCreate(dir string, s Sealer, now time.Time) (*Identity, error) {
	return LoadOrCreateWith(dir, s, now, Options{})
}

// LoadOrCreateWith is LoadOrCreate with options.
func LoadOrCreateWith(dir string, s Sealer, now time.Time, opts Options) (*Identity, error) {
	if s == nil {
		return nil, errors.New("certs: no sealer")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: create %s: %w", dir, err)
	}
	caPath := filepath.Join(dir, CACertFile)
	leavesPath := filepath.Join(dir, LeavesFile)

	sealed, err := os.ReadFile(leavesPath)
	if errors.Is(err, fs.ErrNotExist) {
		prev := readCACert(caPath)
		reason := ReasonNew
		if prev != nil {
			reason = ReasonMissing
		}
		return create(dir, s, now, reason, prev)
	}
	if err != nil {
		return nil, fmt.Errorf("certs: read %s: %w", leavesPath, err)
	}

	id, err := openSeries(sealed, s)
	if err != nil {
		if !opts.ReplaceCorrupt {
			return nil, fmt.Errorf("certs: %s: %w", leavesPath, err)
		}
		return create(dir, s, now, ReasonReplacedCorrupt, readCACert(caPath))
	}
	if _, due := pick(id.series, now); due {
		return create(dir, s, now, ReasonExhausted, id.CACertPEM)
	}

	// leaves.enc is authenticated, ca.crt is not: make the export match the
	// sealed CA (it may be missing, tampered with, or stale after a crash
	// between the two renames of create).
	onDisk, err := os.ReadFile(caPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("certs: read %s: %w", caPath, err)
	}
	if !bytes.Equal(onDisk, id.CACertPEM) {
		if err := writeFileAtomic(caPath, id.CACertPEM, 0o644); err != nil {
			return nil, err
		}
	}
	id.use(now)
	return id, nil
}

// create makes a new CA and series, seals it and writes both files.
// leaves.enc is written first: if the process dies before ca.crt follows,
// the next load restores ca.crt from the sealed copy.
func create(dir string, s Sealer, now time.Time, reason Reason, prev []byte) (*Identity, error) {
	id, plaintext, err := newSeries(now)
	if err != nil {
		return nil, err
	}
	sealed, err := s.Seal(plaintext, []byte(LeavesAdditionalData))
	clear(plaintext)
	if err != nil {
		return nil, fmt.Errorf("certs: seal series: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, LeavesFile), sealed, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, CACertFile), id.CACertPEM, 0o644); err != nil {
		return nil, err
	}
	id.Created = true
	id.Reason = reason
	id.PreviousCACertPEM = prev
	id.use(now)
	return id, nil
}

// readCACert returns the PEM of dir's ca.crt if it holds a certificate,
// nil otherwise; it only serves to tell the desktop part what to untrust.
func readCACert(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
}

// use selects the leaf to serve at now.
func (id *Identity) use(now time.Time) {
	i, _ := pick(id.series, now)
	id.Leaf = *id.series[i]
	id.NotAfter = id.series[i].Leaf.NotAfter
}

// CACert returns the parsed CA certificate.
func (id *Identity) CACert() *x509.Certificate { return id.ca }

// CertPool returns a pool holding only this identity's CA, for clients that
// talk to the agent (tests, the CLI).
func (id *Identity) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(id.ca)
	return pool
}

// Fingerprint returns the SHA-256 hex of a certificate's DER, the form
// used in CAFingerprint.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Reset deliberately removes the identity from dir, so that the next
// LoadOrCreate makes a new CA. The directory itself is kept.
func Reset(dir string) error {
	var errs []error
	for _, name := range []string{LeavesFile, CACertFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("certs: reset: %w", err))
		}
	}
	// Leftovers of interrupted atomic writes (vault.WriteFile's temporary
	// files).
	temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("certs: reset: %w", err))
		}
	}
	return errors.Join(errs...)
}
