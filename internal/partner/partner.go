// Package partner admits calls from named partner systems — Serviceplatformen's
// Beskedfordeler pushing delivery statuses, Digital Post delivering replies
// (SF1606) — by their TLS client certificate. A certificate that merely
// chains to the configured CA is not enough: any other system with a
// certificate from that CA could then forge statuses or letters. Its subject
// DN, written the way Go's pkix.Name.String() writes it (RFC 4514), must be
// one of the listed subjects exactly; a substring never matches.
package partner

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
)

// Config is a partner listener's configuration, as in the relay's YAML:
// `{listen, clientCA, allowedSubjects: [...]}`.
type Config struct {
	Listen          string   `yaml:"listen"`
	ClientCA        string   `yaml:"clientCA"`
	AllowedSubjects []string `yaml:"allowedSubjects"`
}

// Refusals.
var (
	ErrNoCertificate = errors.New("partner: no verified client certificate")
	ErrNotListed     = errors.New("partner: certificate subject not listed")
)

// Gate checks one partner's calls.
type Gate struct {
	name    string
	pool    *x509.CertPool
	allowed map[string]bool
	log     *slog.Logger
}

// New makes a gate for the partner called name (for logs) that accepts
// certificates chaining to pool whose subject is one of allowed.
func New(name string, pool *x509.CertPool, allowed []string, log *slog.Logger) (*Gate, error) {
	if pool == nil {
		return nil, fmt.Errorf("partner %s: no client CA", name)
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("partner %s: allowedSubjects is empty: name the partner's certificate subject", name)
	}
	g := &Gate{name: name, pool: pool, allowed: map[string]bool{}, log: log}
	for _, s := range allowed {
		if s == "" {
			return nil, fmt.Errorf("partner %s: an empty subject in allowedSubjects", name)
		}
		g.allowed[s] = true
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	return g, nil
}

// Load is New with the CA read from the PEM file c.ClientCA.
func Load(name string, c Config, log *slog.Logger) (*Gate, error) {
	pem, err := os.ReadFile(c.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("partner %s: client CA: %w", name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("partner %s: %s holds no certificate", name, c.ClientCA)
	}
	return New(name, pool, c.AllowedSubjects, log)
}

// TLSConfig returns base (or a new config) set to require a client
// certificate that chains to the partner CA.
func (g *Gate) TLSConfig(base *tls.Config) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		c = base.Clone()
	}
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = g.pool
	return c
}

// Check returns the subject of the request's client certificate, or an
// error when there is none, it does not chain to the partner CA, or its
// subject is not listed. The chain is verified here against the gate's
// own CA, not taken from the TLS state, so a certificate that another
// listener's CA verified (a device certificate on the public listener)
// never counts as the partner's.
func (g *Gate) Check(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", ErrNoCertificate
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	subject := leaf.Subject.String()
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: g.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return subject, fmt.Errorf("%w: %v", ErrNoCertificate, err)
	}
	if !g.allowed[subject] {
		return subject, fmt.Errorf("%w: %q", ErrNotListed, subject)
	}
	return subject, nil
}

// Admits is Check as a yes or no, for a route table's guard.
func (g *Gate) Admits(r *http.Request) bool {
	_, err := g.Check(r)
	return err == nil
}

// Wrap runs h only for an admitted partner; others get 403 and a log line.
func (g *Gate) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subject, err := g.Check(r)
		if err != nil {
			g.log.Warn("partner call refused", "partner", g.name, "subject", subject, "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
			http.Error(w, "forbidden: client certificate not admitted", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
