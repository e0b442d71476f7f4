package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/enroll/authority"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

// hostedAddin turns on the add-in served by the relay (hostedAddin): the
// Entra verifier behind the page API (/api/v1/…) and the public pages,
// allowed-origins file and /v1/addin-config. With hostedAddin.listen these
// are served on a listener of their own that asks for no client
// certificate; the returned stop closes it. Without hostedAddin it does
// nothing. The site is also served on the relay's main listener (its
// parts are public).
func hostedAddin(cfg *Config, rs *relay.Server, auth *authority.Authority, key *vault.Key, cert tls.Certificate, log *slog.Logger) (stop func(), err error) {
	h := cfg.HostedAddin
	if h == nil {
		return func() {}, nil
	}
	v, err := entra.New(h.Verifier())
	if err != nil {
		return nil, err
	}
	site, err := hostedaddin.New(hostedaddin.Config{BaseURL: h.BaseURL, ClientID: h.ClientID, Tenants: h.Tenants, Scope: h.Scope, SendAnyway: cfg.SmartAlert.SendAnyway})
	if err != nil {
		return nil, err
	}
	rs.Entra = v.Authenticate
	// Zero-touch enrolment: the classic agent's pages hand over the same
	// token; the device is the token's user.
	auth.Token = func(ctx context.Context, tok string) (string, error) {
		p, err := v.Verify(ctx, tok)
		if err != nil {
			return "", err
		}
		if p.Username == "" {
			return "", &entra.Error{Kind: entra.Invalid, Reason: "no preferred_username to name the device's user"}
		}
		return p.Username, nil
	}
	rs.AddinSite = site.Handler()
	// Del sikkert's documents in slices: in the relay's store when it is
	// SQL (relayConfig), else kept by this instance in a bbolt file.
	// Sealed with the store key, dropped after a day unless sent.
	closeDB := func() {}
	if rs.Uploads == nil {
		db, err := bolt.Open(filepath.Join(cfg.Data, "hosted-uploads.db"), 0o600, &bolt.Options{Timeout: 3 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("hosted uploads: %w", err)
		}
		if rs.Uploads, err = upload.Open(db, filepath.Join(cfg.Data, "hosted-uploads"), key); err != nil {
			db.Close()
			return nil, err
		}
		closeDB = func() { db.Close() }
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			rs.Uploads.Expire()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	closeUploads := func() { close(done); closeDB() }
	if h.Listen == "" {
		log.Info("hosted add-in on the relay's listener", "origin", site.Origin())
		return closeUploads, nil
	}
	// Only what the hosted add-in needs: its public parts, the page API
	// and the health check.
	handler := rs.HandlerOf(func(r relay.Route) bool {
		switch r.Pattern {
		case "GET /healthz", "/addin/", "GET " + hostedaddin.AllowedPath, "GET " + hostedaddin.ConfigPath:
			return true
		}
		return r.Auth == relay.AuthEntra
	})
	// No client certificate is asked for here: browsers in Office must
	// not be offered a certificate picker.
	srv := httptimeout.Server(h.Listen, handler, log)
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	go func() {
		log.Info("hosted add-in listening", "addr", h.Listen, "origin", site.Origin())
		if err := srv.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("hosted add-in listener", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		closeUploads()
	}, nil
}
