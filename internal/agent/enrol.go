package agent

import (
	"sendsikkert/internal/policy"
	"sendsikkert/internal/proxy"

	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"sendsikkert/internal/enroll"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/relayclient"
)

// The device's enrolment: its key in the keyring, its certificate and the
// relay's address under DATA/relay.
const (
	clientKeyName = "relay-client-key"
	relayDir      = "relay"
)

type enrolment struct {
	URL  string `json:"url"`
	User string `json:"user"`
	// ServerCA is the file with the CA of the relay's server certificate,
	// when it is not in the system's trust store.
	ServerCA string `json:"serverCa,omitempty"`
}

// ErrNotEnrolled means a relay is configured but this PC has not enrolled.
var ErrNotEnrolled = errors.New("agent: not enrolled with the relay")

// Enroll joins this PC to the relay with a code from IT. The private key
// is made here and kept in the OS keyring; there is no demo fallback.
// IT's policy supplies the relay's CA (RelayCA, the MSI's RELAYCA) when
// serverCAFile is empty, and the proxy to the relay.
func Enroll(ctx context.Context, dataDir, relayURL, code, serverCAFile string) (string, error) {
	return EnrollWith(ctx, dataDir, relayURL, enroll.Request{Code: code}, serverCAFile)
}

// EnrollWith joins as Enroll does with the credential in cred: a code, or
// an Entra ID access token (zero-touch enrolment).
func EnrollWith(ctx context.Context, dataDir, relayURL string, cred enroll.Request, serverCAFile string) (string, error) {
	store := keystore.NewKeyring(dataDir)
	if err := store.Probe(); err != nil {
		return "", err
	}
	pol, _ := policy.Load() // an invalid policy stopped the agent already
	if serverCAFile == "" {
		serverCAFile = pol.RelayCA
	}
	via, _ := proxy.For(pol.Proxy)
	var roots *x509.CertPool
	var caPEM []byte
	if serverCAFile != "" {
		r, b, err := RelayRoots(serverCAFile)
		if err != nil {
			return "", err
		}
		roots, caPEM = r, b
	}
	dev, err := enroll.JoinWith(ctx, relayURL, cred, roots, via)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(dev.Key)
	if err != nil {
		return "", err
	}
	if err := store.Set(clientKeyName, der); err != nil {
		return "", err
	}
	dir := filepath.Join(dataDir, relayDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	e := enrolment{URL: strings.TrimRight(relayURL, "/"), User: dev.User}
	if caPEM != nil {
		e.ServerCA = filepath.Join(dir, "server-ca.crt")
		if err := os.WriteFile(e.ServerCA, caPEM, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "client.crt"), dev.CertPEM, 0o644); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(e, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "relay.json"), b, 0o600); err != nil {
		return "", err
	}
	return dev.User, nil
}

// loadEnrolment reads the enrolment, or returns ErrNotEnrolled.
func loadEnrolment(dataDir string) (*enrolment, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, relayDir, "relay.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, err
	}
	var e enrolment
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("agent: relay.json damaged: %w", err)
	}
	return &e, nil
}

// clientTLS is the mTLS configuration for the relay: the device key from
// the keyring with its certificate.
// relayCA, when set (IT's policy), replaces the CA saved at enrolment.
func (e *enrolment) clientTLS(dataDir string, store keystore.Store, relayCA string) (*tls.Config, error) {
	der, err := store.Get(clientKeyName)
	if err != nil {
		if errors.Is(err, keystore.ErrNotFound) {
			return nil, ErrNotEnrolled
		}
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("agent: device key damaged: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dataDir, relayDir, "client.crt"))
	if err != nil {
		return nil, ErrNotEnrolled
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		return nil, fmt.Errorf("agent: client.crt damaged")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{blk.Bytes}, PrivateKey: key}}}
	if relayCA == "" {
		relayCA = e.ServerCA
	}
	if relayCA != "" {
		roots, _, err := RelayRoots(relayCA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = roots
	}
	return cfg, nil
}

// Enrolled returns the relay this PC is enrolled with and the device's TLS
// settings for it (doctor); enrolled is false when it is not.
func Enrolled(dataDir string) (url string, cfg *tls.Config, enrolled bool, err error) {
	e, err := loadEnrolment(dataDir)
	if errors.Is(err, ErrNotEnrolled) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	pol, _ := policy.Load()
	cfg, err = e.clientTLS(dataDir, keystore.NewKeyring(dataDir), pol.RelayCA)
	if err != nil {
		return e.URL, nil, false, err
	}
	return e.URL, cfg, true, nil
}

// client is the relay client for this enrolment, or nil when the PC is
// not (or no longer) enrolled with the relay IT names: the agent then runs
// not enrolled, says why in its log and returns why in Danish for the tray.
func (e *enrolment) client(cfg Config, store keystore.Store, log *slog.Logger) (*relayclient.Client, string, error) {
	if e == nil {
		log.Warn("not enrolled with a relay: sends are refused; enrol with a code from IT (sendsikkert enroll, or the window's Kom i gang page)", "relay", cfg.RelayURL)
		return nil, "pc'en er ikke tilmeldt relæet – kontakt IT", nil
	}
	if cfg.RelayURL != "" && strings.TrimRight(cfg.RelayURL, "/") != strings.TrimRight(e.URL, "/") {
		log.Warn("enrolled with another relay than the one configured: sends are refused until this PC is enrolled with it", "enrolled", e.URL, "configured", cfg.RelayURL)
		return nil, "pc'en er tilmeldt " + e.URL + ", men IT har valgt " + cfg.RelayURL + " – kontakt IT", nil
	}
	tlsCfg, err := e.clientTLS(cfg.DataDir, store, cfg.Policy.RelayCA)
	var caErr *RelayCAError
	switch {
	case errors.Is(err, ErrNotEnrolled):
		log.Warn("enrolment incomplete (device key or certificate missing): sends are refused; enrol again", "relay", e.URL)
		return nil, "tilmeldingen er ufuldstændig – kontakt IT for en ny kode", nil
	case errors.As(err, &caErr):
		log.Warn("the relay's CA file is unusable: sends are refused until IT fixes it", "err", err)
		return nil, caErr.Danish() + " – kontakt IT", nil
	case err != nil:
		return nil, "", err
	}
	via, source := proxy.For(cfg.Policy.Proxy)
	log.Info("using the organisation's relay", "relay", e.URL, "user", e.User, "proxy", source.String())
	return &relayclient.Client{BaseURL: e.URL, HTTP: &http.Client{Transport: &http.Transport{Proxy: via, TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}}}, "", nil
}

// ErrNoDemo: --demo asked of a build without demo mode (-tags nodemo).
var ErrNoDemo = errors.New("agent: this build has no demo mode (built with -tags nodemo)")

// RelayCAError: the file that should hold the relay's CA (policy RelayCA,
// the MSI's RELAYCA, or enroll --relay-ca) cannot be used.
type RelayCAError struct {
	Path    string
	Missing bool // no such file (or unreadable); else it holds no certificate
	Err     error
}

func (e *RelayCAError) Error() string {
	if e.Missing {
		return fmt.Sprintf("agent: relay CA %s cannot be read: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("agent: relay CA %s holds no PEM certificate", e.Path)
}

func (e *RelayCAError) Unwrap() error { return e.Err }

// Danish says what is wrong, for the tray and the clerk.
func (e *RelayCAError) Danish() string {
	if e.Missing {
		return "relæets CA-fil " + e.Path + " findes ikke eller kan ikke læses"
	}
	return "relæets CA-fil " + e.Path + " indeholder intet certifikat (PEM)"
}

// RelayRoots reads a PEM file with the relay's CA.
func RelayRoots(path string) (*x509.CertPool, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &RelayCAError{Path: path, Missing: true, Err: err}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		return nil, nil, &RelayCAError{Path: path}
	}
	return roots, b, nil
}
