package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/partner"
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

// serveStatus takes Serviceplatformen's pushed status messages on their
// own listener (handler: the route table's partner routes) and returns a
// function that stops it.
func serveStatus(c partner.Config, cert tls.Certificate, handler http.Handler, log *slog.Logger) (func(), error) {
	srv, err := statusServer(c, cert, handler, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("beskedfordeler.listen %s: %w", c.Listen, err)
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("beskedfordeler listener stopped", "err", err)
		}
	}()
	return func() { srv.Close() }, nil
}

// statusServer is Beskedfordeler's listener: TLS asks for a certificate
// from clientCA, and the shared partner gate admits it only when its whole
// subject DN is in allowedSubjects; anyone else gets 403 and a log line.
// The route table behind it checks the same gate again (Partner).
func statusServer(c partner.Config, cert tls.Certificate, handler http.Handler, log *slog.Logger) (*http.Server, error) {
	gate, err := partner.Load("beskedfordeler", c, log)
	if err != nil {
		return nil, err
	}
	srv := httptimeout.Server(c.Listen, gate.Wrap(handler), log)
	srv.TLSConfig = gate.TLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	return srv, nil
}
