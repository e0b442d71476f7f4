package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/demo"
	"sendsikkert/internal/tunnelmail"
)

// tunnelmailChannel builds the configured tunnelmail channel, nil when
// none is configured.
func (c *Config) tunnelmailChannel() (delivery.Channel, error) {
	t := c.Tunnelmail
	if t == nil {
		return nil, nil
	}
	if t.Type == "demo" {
		dir := filepath.Join(c.Data, "demo", demo.TunnelmailDir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("tunnelmail: %w", err)
		}
		return tunnelmail.Folder{Dir: dir, From: t.From}, nil
	}
	ch := &tunnelmail.Channel{From: t.From, Hello: t.Hello}
	if t.Port != 0 {
		ch.Port = strconv.Itoa(t.Port)
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tunnelmail: caFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tunnelmail: caFile %s holds no certificate", t.CAFile)
		}
		ch.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	if t.Resolver != "" {
		// One resolver for everything tunnelmail looks up — MX, the
		// MTA-STS record, the MX hosts' and policy hosts' addresses — so
		// split DNS answers consistently.
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, t.Resolver)
		}}
		ch.Resolver = r
		dialer.Resolver = r
	}
	ch.Dial = dialer.DialContext
	// MTA-STS policies are fetched through the same dialer and roots.
	ch.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:     dialer.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: ch.RootCAs, MinVersion: tls.VersionTLS12},
		Proxy:           http.ProxyFromEnvironment,
	}}
	return ch, nil
}
