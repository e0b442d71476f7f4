package enroll

import (
	"sendsikkert/internal/proxy"

	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Request is the body of POST /v1/enroll.
type Request struct {
	Code string `json:"code,omitempty"`
	// AccessToken, in place of Code, is an Entra ID access token for the
	// hosted add-in (zero-touch enrolment): the relay checks it as it
	// checks the page API's tokens and enrols the token's user.
	AccessToken string `json:"accessToken,omitempty"`
	CSR         string `json:"csr"`
}

// Response answers an enrolment.
type Response struct {
	Certificate   string `json:"certificate"`
	CACertificate string `json:"caCertificate"`
	User          string `json:"user"`
}

// Device is what an agent keeps after enrolling.
type Device struct {
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	User    string
}

// Join enrols this device: it makes a P-256 key here, sends a request
// signed by it together with code, and returns the key and the signed
// certificate. roots verify the relay's server certificate (nil: the
// system's). via, when given, is the proxy to the relay (proxy.For); without
// it the environment's (HTTPS_PROXY).
func Join(ctx context.Context, relayURL, code string, roots *x509.CertPool, via ...proxy.Func) (*Device, error) {
	return JoinWith(ctx, relayURL, Request{Code: code}, roots, via...)
}

// JoinWith enrols as Join does with the credential in cred (Code or
// AccessToken; CSR is made here).
func JoinWith(ctx context.Context, relayURL string, cred Request, roots *x509.CertPool, via ...proxy.Func) (*Device, error) {
	if (cred.Code == "") == (cred.AccessToken == "") {
		return nil, errors.New("enroll: a code or an access token, not both")
	}
	if !strings.HasPrefix(relayURL, "https://") {
		return nil, fmt.Errorf("enroll: the relay URL must be https://")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "sendsikkert device"}}, key)
	if err != nil {
		return nil, err
	}
	cred.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	body, _ := json.Marshal(cred)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(relayURL, "/")+"/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var through proxy.Func = http.ProxyFromEnvironment
	if len(via) > 0 {
		through = via[0]
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: through, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enroll: relay unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		json.NewDecoder(resp.Body).Decode(&e)
		return nil, &RefusedError{Status: resp.StatusCode, Code: e.Error, Message: e.Message}
	}
	var out Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("enroll: bad answer: %w", err)
	}
	blk, _ := pem.Decode([]byte(out.Certificate))
	if blk == nil {
		return nil, errors.New("enroll: relay sent no certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("enroll: relay sent a bad certificate: %w", err)
	}
	if pk, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pk.Equal(&key.PublicKey) {
		return nil, errors.New("enroll: the certificate is not for this device's key")
	}
	return &Device{Key: key, CertPEM: []byte(out.Certificate), User: out.User}, nil
}

// RefusedError is the relay's "no" to an enrolment, with its Danish text.
type RefusedError struct {
	Status        int
	Code, Message string
}

// Refusal gives the relay's status and Danish reason.
func (e *RefusedError) Refusal() (int, string) { return e.Status, e.Message }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("enroll: refused (%d %s): %s", e.Status, e.Code, e.Message)
}
