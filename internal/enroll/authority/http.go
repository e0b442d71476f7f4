package authority

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"sendsikkert/internal/enroll"
	"sendsikkert/internal/entra"
)

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
		var req enroll.Request
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, "bad_json", "Tilmeldingen kunne ikke læses.")
			return
		}
		if req.AccessToken != "" {
			a.enrollByToken(w, r, req, log)
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
		json.NewEncoder(w).Encode(enroll.Response{Certificate: string(cert), CACertificate: string(a.CACertPEM()), User: user})
	})
}

// enrollByToken is zero-touch enrolment: an Entra ID access token, checked
// by Token as the page API checks it, in place of a one-time code. A
// refused token is answered as the page API answers it (401 or 503).
func (a *Authority) enrollByToken(w http.ResponseWriter, r *http.Request, req enroll.Request, log *slog.Logger) {
	if a.Token == nil || req.Code != "" {
		writeErr(w, http.StatusBadRequest, "token_enroll_off", "Relæet tilmelder kun pc'er med en kode fra IT.")
		return
	}
	user, err := a.Token(r.Context(), req.AccessToken)
	if err != nil {
		log.Warn("enrolment refused: access token", "err", err)
		entra.WriteError(w, err)
		return
	}
	cert, err := a.EnrollUser(r.Context(), user, []byte(req.CSR))
	switch {
	case errors.Is(err, ErrBadCSR):
		writeErr(w, http.StatusBadRequest, "bad_csr", "Certifikatanmodningen er ugyldig.")
		return
	case err != nil:
		log.Error("enrolment failed", "err", err)
		writeErr(w, http.StatusInternalServerError, "enroll", "Tilmeldingen mislykkedes. Prøv igen.")
		return
	}
	log.Info("device enrolled by Entra token", "user", user)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(enroll.Response{Certificate: string(cert), CACertificate: string(a.CACertPEM()), User: user})
}

// Authenticate names the sender of a request by its client certificate:
// verified by TLS against ClientCAs, then checked against the device list.
// A missing, unknown or revoked certificate is refused with an error
// wrapping unauthenticated; a device list that cannot be read is any other
// error, so the relay answers "try again", never "unknown device".
func (a *Authority) Authenticate(unauthenticated error) func(r *http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			return "", fmt.Errorf("%w: no client certificate", unauthenticated)
		}
		user, err := a.Verify(r.Context(), r.TLS.VerifiedChains[0][0])
		if errors.Is(err, ErrUnknown) || errors.Is(err, ErrRevoked) {
			return "", fmt.Errorf("%w: %v", unauthenticated, err)
		}
		return user, err
	}
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
