package certs

import (
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"
)

// checkInterval bounds how often the Server looks for a better leaf; the
// handshake path otherwise only reads an atomic pointer and the clock.
const checkInterval = time.Minute

// Server hands the current leaf of an identity to crypto/tls, and moves on
// to the next leaf of the series when it is due, without a restart.
type Server struct {
	now   func() time.Time
	mu    sync.Mutex // serialises Use and refreshes
	state atomic.Pointer[serving]
}

type serving struct {
	id      *Identity
	cert    *tls.Certificate
	checked time.Time
}

// NewServer returns a Server for id. now is the clock; nil means time.Now.
func NewServer(id *Identity, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{now: now}
	s.Use(id)
	return s
}

// Use switches to another identity, e.g. the one LoadOrCreate made when
// RenewalDue said the series was running out.
func (s *Server) Use(id *Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh(id, s.now())
}

func (s *Server) refresh(id *Identity, now time.Time) *tls.Certificate {
	i, _ := pick(id.series, now)
	st := &serving{id: id, cert: id.series[i], checked: now}
	s.state.Store(st)
	return st.cert
}

// GetCertificate is a tls.Config.GetCertificate callback. It serves the
// same leaf for every name; crypto/tls and the client check the name.
func (s *Server) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := s.now()
	st := s.state.Load()
	// A clock that went backwards also forces a check.
	if !now.Before(st.checked) && now.Sub(st.checked) < checkInterval {
		return st.cert, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st = s.state.Load() // Use may have run meanwhile
	return s.refresh(st.id, now), nil
}

// RenewalDue reports whether the series ends within RenewBefore: the
// agent should then call LoadOrCreate (which makes a new CA and reports
// Created) and pass the result to Use. Checking once a day is plenty.
func (s *Server) RenewalDue() bool {
	_, due := pick(s.state.Load().id.series, s.now())
	return due
}

// Identity returns the identity being served.
func (s *Server) Identity() *Identity { return s.state.Load().id }

// TLSConfig returns a server configuration that serves this Server's
// leaves with TLS 1.2 or later.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.GetCertificate,
	}
}
