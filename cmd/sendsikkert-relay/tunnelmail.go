package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
	return ch, nil
}
