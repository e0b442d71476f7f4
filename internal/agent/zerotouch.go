package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"sendsikkert/internal/enroll"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/proxy"
)

// fetchAddinConfig asks relayURL for its hosted add-in config (GET
// /v1/addin-config, public). The relay is reached with the system's roots
// (this PC holds no credential for it yet), through the proxy the relay
// client uses (IT's policy, HTTPS_PROXY, the system's).
func fetchAddinConfig(ctx context.Context, relayURL, policyProxy string) (hostedaddin.AddinConfig, error) {
	if !strings.HasPrefix(relayURL, "https://") {
		return hostedaddin.AddinConfig{}, fmt.Errorf("agent: relay %q is not https", relayURL)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(relayURL, "/")+hostedaddin.ConfigPath, nil)
	if err != nil {
		return hostedaddin.AddinConfig{}, err
	}
	via, _ := proxy.For(policyProxy)
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: via, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}).Do(req)
	if err != nil {
		return hostedaddin.AddinConfig{}, fmt.Errorf("agent: addin-config: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return hostedaddin.AddinConfig{}, fmt.Errorf("agent: addin-config: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return hostedaddin.AddinConfig{}, fmt.Errorf("agent: addin-config: %w", err)
	}
	return hostedaddin.ParseAddinConfig(b)
}

// enrollToken is zero-touch enrolment for the local API: only a PC not
// yet enrolled, only to the relay from policy or --relay.
func enrollToken(cfg Config) func(ctx context.Context, token string) (string, error) {
	return func(ctx context.Context, token string) (string, error) {
		if _, err := loadEnrolment(cfg.DataDir); err == nil {
			return "", localapi.ErrAlreadyEnrolled
		} else if !errors.Is(err, ErrNotEnrolled) {
			return "", err
		}
		if cfg.RelayURL == "" {
			return "", localapi.ErrNoRelay
		}
		return EnrollWith(ctx, cfg.DataDir, cfg.RelayURL, enroll.Request{AccessToken: token}, "")
	}
}
