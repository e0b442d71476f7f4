package agent

import (
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
func Enroll(ctx context.Context, dataDir, relayURL, code, serverCAFile string) (string, error) {
	store := keystore.NewKeyring(dataDir)
	if err := store.Probe(); err != nil {
		return "", err
	}
	var roots *x509.CertPool
	var caPEM []byte
	if serverCAFile != "" {
		b, err := os.ReadFile(serverCAFile)
		if err != nil {
			return "", fmt.Errorf("agent: relay CA: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return "", fmt.Errorf("agent: %s holds no certificate", serverCAFile)
		}
		caPEM = b
	}
	dev, err := enroll.Join(ctx, relayURL, code, roots)
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
func (e *enrolment) clientTLS(dataDir string, store keystore.Store) (*tls.Config, error) {
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
	if e.ServerCA != "" {
		b, err := os.ReadFile(e.ServerCA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(b)
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
	cfg, err = e.clientTLS(dataDir, keystore.NewKeyring(dataDir))
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
	tlsCfg, err := e.clientTLS(cfg.DataDir, store)
	if errors.Is(err, ErrNotEnrolled) {
		log.Warn("enrolment incomplete (device key or certificate missing): sends are refused; enrol again", "relay", e.URL)
		return nil, "tilmeldingen er ufuldstændig – kontakt IT for en ny kode", nil
	}
	if err != nil {
		return nil, "", err
	}
	log.Info("using the organisation's relay", "relay", e.URL, "user", e.User)
	return &relayclient.Client{BaseURL: e.URL, HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}}}, "", nil
}

// ErrNoDemo: --demo asked of a build without demo mode (-tags nodemo).
var ErrNoDemo = errors.New("agent: this build has no demo mode (built with -tags nodemo)")
