package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"sendsikkert/internal/registry/serviceplatformen"
)

// ServiceplatformenTransport returns what every Serviceplatformen REST
// call needs, built from the same configuration as the register: the
// mutual-TLS HTTP client presenting the organisation's OCES3 certificate
// and a holder-of-key token source for it. The delivery channels (SF1601
// KombiPostAfsend) use it, so the organisation configures its certificate
// once. Only the STS and access-token endpoints (or an environment), the
// authority's CVR number and the certificate are required.
func ServiceplatformenTransport(c ServiceplatformenConfig) (*http.Client, *serviceplatformen.TokenSource, error) {
	var ep serviceplatformen.Endpoints
	if c.Environment != "" {
		var ok bool
		if ep, ok = serviceplatformen.Environment(c.Environment); !ok {
			return nil, nil, fmt.Errorf("registry: serviceplatformen environment %q (test or prod)", c.Environment)
		}
	}
	if c.STS != "" {
		ep.STS = c.STS
	}
	if c.AccessToken != "" {
		ep.AccessToken = c.AccessToken
	}
	var missing []string
	for name, v := range map[string]string{
		"sts": ep.STS, "accessToken": ep.AccessToken, "authorityCVR": c.AuthorityCVR, "certificate": c.Certificate,
	} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("registry: serviceplatformen: missing %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	password, err := certificatePassword(c)
	if err != nil {
		return nil, nil, err
	}
	cert, err := serviceplatformen.LoadPKCS12(c.Certificate, password)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: %w", err)
	}
	if now := time.Now(); now.After(cert.Leaf.NotAfter) {
		return nil, nil, fmt.Errorf("registry: the organisation certificate expired on %s", cert.Leaf.NotAfter.Format(time.DateOnly))
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("registry: caFile: %w", err)
		}
		tlsConf.RootCAs = x509.NewCertPool()
		if !tlsConf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, errors.New("registry: caFile holds no PEM certificate")
		}
	}
	hc := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:     tlsConf,
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		// Never follow a redirect with the organisation's credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tokens := serviceplatformen.NewTokenSource()
	tokens.HTTP, tokens.STS, tokens.AccessToken = hc, ep.STS, ep.AccessToken
	tokens.AuthorityCVR, tokens.Certificate = c.AuthorityCVR, cert.Leaf
	tokens.Retry = serviceplatformen.Retry{Attempts: c.Attempts, AttemptTimeout: c.AttemptTimeout}
	return hc, tokens, nil
}
