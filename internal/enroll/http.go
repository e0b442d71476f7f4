package enroll

import (
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
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is the body of POST /v1/enroll.
type Request struct {
	Code string `json:"code"`
	CSR  string `json:"csr"`
}

// Response answers an enrolment.
type Response struct {
	Certificate   string `json:"certificate"`
	CACertificate string `json:"caCertificate"`
	User          string `json:"user"`
}

// Handler serves POST /v1/enroll. Failed attempts are limited per client
// address, so a code cannot be guessed.
func (a *Authority) Handler(log *slog.Logger) http.Handler {
	lim := &limiter{fails: map[string][]time.Time{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "method", "Kun POST.")
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if lim.blocked(host, a.Now()) {
			writeErr(w, http.StatusTooManyRequests, "too_many_attempts", "For mange forkerte tilmeldingskoder. Vent 15 minutter, og prøv igen.")
			return
		}
		var req Request
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, "bad_json", "Tilmeldingen kunne ikke læses.")
			return
		}
		cert, user, err := a.Enroll(r.Context(), req.Code, []byte(req.CSR))
		switch {
		case errors.Is(err, ErrBadCode):
			lim.fail(host, a.Now())
			log.Warn("enrolment refused: bad code", "remote", host)
			writeErr(w, http.StatusForbidden, "bad_code", "Tilmeldingskoden er forkert, brugt eller udløbet. Bed IT om en ny kode.")
			return
		case errors.Is(err, ErrBadCSR):
			writeErr(w, http.StatusBadRequest, "bad_csr", "Certifikatanmodningen er ugyldig.")
			return
		case err != nil:
			log.Error("enrolment failed", "err", err)
			writeErr(w, http.StatusInternalServerError, "enroll", "Tilmeldingen mislykkedes. Prøv igen.")
			return
		}
		log.Info("device enrolled", "user", user)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Response{Certificate: string(cert), CACertificate: string(a.CACertPEM()), User: user})
	})
}

// Authenticate names the sender of a request by its client certificate:
// verified by TLS against ClientCAs, then checked against the device list.
func (a *Authority) Authenticate(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", false
	}
	user, err := a.Verify(r.Context(), r.TLS.VerifiedChains[0][0])
	return user, err == nil
}

// ServerTLS returns the relay's TLS settings: its server certificate, and
// client certificates asked for and verified when given (enrolment and
// health checks come without one; the API refuses them).
func (a *Authority) ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    a.pool,
	}
}

type limiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

const (
	maxFails   = 10
	failWindow = 15 * time.Minute
)

func (l *limiter) recent(host string, now time.Time) []time.Time {
	var keep []time.Time
	for _, t := range l.fails[host] {
		if now.Sub(t) < failWindow {
			keep = append(keep, t)
		}
	}
	l.fails[host] = keep
	return keep
}

func (l *limiter) blocked(host string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(host, now)) >= maxFails
}

func (l *limiter) fail(host string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[host] = append(l.recent(host, now), now)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
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
// system's).
func Join(ctx context.Context, relayURL, code string, roots *x509.CertPool) (*Device, error) {
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
	body, _ := json.Marshal(Request{Code: code, CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(relayURL, "/")+"/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
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

func (e *RefusedError) Error() string {
	return fmt.Sprintf("enroll: refused (%d %s): %s", e.Status, e.Code, e.Message)
}
