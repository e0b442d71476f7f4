// Package app is the desktop window's thin layer of methods bound into the
// Wails window: each one calls the agent's local API and returns what the
// page shows. It holds no secrets and no business logic.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

// App is bound into the window.
type App struct {
	// AgentURL is the agent's base URL, e.g. https://localhost:47800.
	AgentURL string
	// CAFile is the agent's per-install CA certificate (DATA/tls/ca.crt).
	CAFile string
	client *http.Client
}

// Health is the agent's /healthz answer.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Demo    bool   `json:"demo"`
}

func (a *App) http() (*http.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("app: agent CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("app: agent CA %s holds no certificate", a.CAFile)
	}
	a.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return a.client, nil
}

// Status asks the agent how it is.
func (a *App) Status(ctx context.Context) (Health, error) {
	var h Health
	c, err := a.http()
	if err != nil {
		return h, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.AgentURL+"/healthz", nil)
	if err != nil {
		return h, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return h, fmt.Errorf("app: agent unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("app: agent answered HTTP %d", resp.StatusCode)
	}
	return h, json.NewDecoder(resp.Body).Decode(&h)
}
