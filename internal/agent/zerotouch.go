package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/enroll"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/peer"
)

// fetchAddinConfig asks relayURL for its hosted add-in config (GET
// /v1/addin-config, public). The relay is reached with the system's roots:
// this PC holds no credential for it yet.
func fetchAddinConfig(ctx context.Context, relayURL string) (hostedaddin.AddinConfig, error) {
	if !strings.HasPrefix(relayURL, "https://") {
		return hostedaddin.AddinConfig{}, fmt.Errorf("agent: relay %q is not https", relayURL)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(relayURL, "/")+hostedaddin.ConfigPath, nil)
	if err != nil {
		return hostedaddin.AddinConfig{}, err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}).Do(req)
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

// awaitEnrolment runs the agent's door for a PC that has a relay (policy
// or --relay) offering zero-touch enrolment but no enrolment yet: the
// pages, the relay's add-in config and POST /api/v1/enroll, nothing else.
// It returns nil once the PC has enrolled (the caller then starts the
// agent proper), or the context's error.
func awaitEnrolment(ctx context.Context, cfg Config, tlsServer *certs.Server, self peer.User, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	enrolled := make(chan struct{})
	joined := func(user string, err error) (string, error) {
		if err == nil {
			once.Do(func() { close(enrolled) })
		}
		return user, err
	}
	guard := &localapi.Guard{Port: cfg.Port, Token: localapi.NewToken(), Allowed: cfg.AllowedOrigins}
	api := &localapi.Server{User: accountName(), Policy: cfg.Policy, Guard: guard, Version: cfg.Version, Log: log}
	api.AddinConfig = func(ctx context.Context) (hostedaddin.AddinConfig, error) { return fetchAddinConfig(ctx, cfg.RelayURL) }
	join := enrollToken(cfg)
	api.EnrollToken = func(ctx context.Context, token string) (string, error) { return joined(join(ctx, token)) }
	// IT's code from the window works while waiting, too.
	api.Enroll = func(ctx context.Context, relayURL, code string) (string, error) {
		return joined(Enroll(ctx, cfg.DataDir, relayURL, code, ""))
	}
	srv := httptimeout.Server("", api.UnenrolledHandler(), log)
	srv.TLSConfig = tlsServer.TLSConfig()
	// Browsers' aborted handshakes are routine on loopback.
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	// The same door as the agent proper: the machine's door, or the port
	// bound here refusing every other OS user.
	if err := serve(ctx, cfg, srv, self, log); err != nil {
		return err
	}
	log.Warn("not enrolled: waiting for zero-touch enrolment from the add-in (Entra sign-in) or `sendsikkert enroll`", "relay", cfg.RelayURL, "port", cfg.Port)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	}()
	select {
	case <-enrolled:
		// Let the enrolment's answer reach the page before the door
		// closes for the restart.
		time.Sleep(500 * time.Millisecond)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
