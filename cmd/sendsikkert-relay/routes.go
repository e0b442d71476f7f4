package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/relay"
)

// auditAPI serves GET /v1/audit (JSON, or CSV with ?format=csv) to the
// configured auditors only (the route table authenticates the device).
func auditAPI(e *env, auditors []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := relay.User(r)
		if !slices.ContainsFunc(auditors, func(a string) bool { return strings.EqualFold(a, user) }) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":"forbidden","message":"Kun revisorer kan læse LOG-modulet."}`)
			return
		}
		q := audit.Query{User: r.URL.Query().Get("user"), Recipient: r.URL.Query().Get("recipient"), Outcome: r.URL.Query().Get("status")}
		if t, err := time.Parse("2006-01-02", r.URL.Query().Get("from")); err == nil {
			q.From = t
		}
		if t, err := time.Parse("2006-01-02", r.URL.Query().Get("to")); err == nil {
			q.To = t
		}
		rows, err := e.audit.Search(r.Context(), q)
		if err != nil {
			http.Error(w, `{"error":"audit"}`, http.StatusInternalServerError)
			return
		}
		e.audit.Record(r.Context(), user, "audit-search", zeroID, "", "", "")
		if r.URL.Query().Get("format") == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			audit.WriteCSV(w, rows)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		writeJSONRows(w, rows)
	})
}

// receiptAPI serves a message's receipt (the same mail as sent) to its
// sender, once the message is final.
func receiptAPI(store queue.Store, mailer *receipt.Mailer) http.Handler {
	from := "no-reply@sendsikkert.invalid"
	if mailer != nil {
		from = mailer.From
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := relay.User(r)
		m, err := store.Get(r.Context(), r.PathValue("id"))
		if err != nil || m.Sender != user {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"not_found","message":"Forsendelsen findes ikke."}`)
			return
		}
		if !m.Done() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":"not_final","message":"Forsendelsen er ikke afsluttet endnu; kvitteringen kommer, når den er."}`)
			return
		}
		w.Header().Set("Content-Type", "message/rfc822")
		w.Write(receipt.Build(from, m.Sender, m, time.Now()))
	})
}

// partnerPool reads Beskedfordeler's pinned CA certificates.
func partnerPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return pool, nil
}

// serveStatus takes Serviceplatformen's pushed status messages on their
// own listener, from its client certificate only: TLS asks for one under
// the pinned CA, and the route table (handler: the partner's routes only)
// checks it again.
func serveStatus(cfg *Config, cert tls.Certificate, handler http.Handler, log *slog.Logger) func() {
	pool, err := partnerPool(cfg.Beskedfordeler.ClientCA)
	if err != nil {
		// Read once already when the route was added; a file gone since
		// leaves the listener out, loudly.
		log.Error("beskedfordeler listener", "err", err)
		return func() {}
	}
	srv := &http.Server{Addr: cfg.Beskedfordeler.Listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}
	go func() {
		if err := srv.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("beskedfordeler listener stopped", "err", err)
		}
	}()
	return func() { srv.Close() }
}
