// Command sendsikkert-relay is the organisation's relay.
//
//	sendsikkert-relay serve --config relay.yaml
//	sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay audit verify|export --config relay.yaml [--user U] [--recipient R]
//
// The relay speaks HTTPS only; agents authenticate with client
// certificates from their enrolment (mTLS).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for PostgreSQL

	"sendsikkert/internal/audit"
	"sendsikkert/internal/database"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/demo"
	"sendsikkert/internal/digitalpost"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/directory/sqlbook"
	"sendsikkert/internal/enroll/authority"
	"sendsikkert/internal/metrics"
	"sendsikkert/internal/print"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/queue/sqlstore"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/securemailbox"
	"sendsikkert/internal/vault"
)

var version = "0.1.0-dev"

const usage = `brug:
  sendsikkert-relay serve --config relay.yaml
  sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay audit verify --config relay.yaml
  sendsikkert-relay audit export --config relay.yaml [--user U] [--recipient CPR/CVR] [--from 2026-01-01] [--to 2026-12-31]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var code int
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		code = serve(args)
	case "enroll-code":
		code = enrollCode(args)
	case "revoke":
		code = revoke(args)
	case "audit":
		code = auditCmd(args)
	default:
		fmt.Fprintln(os.Stderr, usage)
		code = 2
	}
	os.Exit(code)
}

// env is what every subcommand opens.
type env struct {
	cfg   *Config
	key   *vault.Key
	db    *database.DB
	auth  *authority.Authority
	audit *audit.Log
	log   *slog.Logger
}

// open loads the configuration and opens what every subcommand needs;
// dbOverride, when set, replaces the configured database.
func open(ctx context.Context, configPath, dbOverride string) (*env, error) {
	if configPath == "" {
		return nil, errors.New("--config is required")
	}
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	if dbOverride != "" {
		cfg.Database = dbOverride
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	key, err := cfg.storeKey()
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, cfg.Database, cfg.Data, "relay.sqlite")
	if err != nil {
		return nil, err
	}
	auth, err := authority.Open(ctx, db, key)
	if err != nil {
		db.Close()
		return nil, err
	}
	hk := key.Derive("audit")
	al, err := audit.Open(ctx, db, hk.Raw())
	if err != nil {
		db.Close()
		return nil, err
	}
	return &env{cfg: cfg, key: key, db: db, auth: auth, audit: al, log: slog.New(slog.NewJSONHandler(os.Stderr, nil))}, nil
}

// userCmd runs an administrator's command about one user.
func userCmd(name string, args []string, run func(context.Context, *env, string) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "the user's e-mail address")
	if err := fs.Parse(args); err != nil || *user == "" {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		if err := run(ctx, e, *user); err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		return 0
	})
}

// withEnv opens what an administrator's command needs from the
// configuration file, runs the command and closes it again; the result is
// the command's exit status.
func withEnv(config string, run func(context.Context, *env) int) int {
	ctx := context.Background()
	e, err := open(ctx, config, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	defer e.db.Close()
	return run(ctx, e)
}

func enrollCode(args []string) int {
	return userCmd("enroll-code", args, func(ctx context.Context, e *env, user string) error {
		code, expires, err := e.auth.NewCode(ctx, user)
		if err != nil {
			return err
		}
		e.audit.Record(ctx, "admin", "enroll-code", zeroID, "", strings.ToLower(user), "")
		fmt.Println(code)
		fmt.Fprintf(os.Stderr, "Engangskode til %s, gyldig til %s. Brugeren kører: sendsikkert enroll --relay https://… --code %s\n", user, expires.Format("02-01-2006 15:04"), code)
		return nil
	})
}

func revoke(args []string) int {
	return userCmd("revoke", args, func(ctx context.Context, e *env, user string) error {
		n, err := e.auth.Revoke(ctx, user)
		if err != nil {
			return err
		}
		e.audit.Record(ctx, "admin", "revoke", zeroID, "", fmt.Sprintf("%s: %d", strings.ToLower(user), n), "")
		fmt.Printf("%d enhed(er) for %s er frakoblet.\n", n, user)
		return nil
	})
}

func auditCmd(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "only this user")
	rcpt := fs.String("recipient", "", "only this recipient (full CPR/CVR; matched by keyed hash)")
	from := fs.String("from", "", "from date (YYYY-MM-DD)")
	to := fs.String("to", "", "to date, exclusive (YYYY-MM-DD)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		switch args[0] {
		case "verify":
			n, err := e.audit.Verify(ctx)
			if err != nil {
				fmt.Fprintf(os.Stderr, "LOG-modulet er IKKE intakt efter %d rækker: %v\n", n, err)
				return 1
			}
			fmt.Printf("LOG-modulet er intakt: %d rækker kontrolleret.\n", n)
			return 0
		case "export":
			q := audit.Query{User: *user, Recipient: *rcpt, Limit: 100000}
			for _, d := range []struct {
				s string
				t *time.Time
			}{{*from, &q.From}, {*to, &q.To}} {
				if d.s != "" {
					t, err := time.Parse("2006-01-02", d.s)
					if err != nil {
						fmt.Fprintln(os.Stderr, "dato:", err)
						return 2
					}
					*d.t = t
				}
			}
			rows, err := e.audit.Search(ctx, q)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
				return 1
			}
			if err := audit.WriteCSV(os.Stdout, rows); err != nil {
				return 1
			}
			return 0
		}
		fmt.Fprintln(os.Stderr, usage)
		return 2
	})
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	dbFlag := fs.String("database", "", "overrides the configuration's database (postgres://…)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := open(ctx, *config, *dbFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	defer e.db.Close()
	cfg, log := e.cfg, e.log
	org, err := cfg.organisation()
	if err != nil {
		log.Error("configuration", "err", err)
		return 1
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		log.Error("TLS certificate", "err", err)
		return 1
	}
	met := metrics.New()
	met.Help("sendsikkert_relay_http_requests_total", "HTTP requests by status code.")
	met.Help("sendsikkert_relay_messages_final_total", "Messages that reached a final status.")
	channels, err := demo.Channels(filepath.Join(cfg.Data, "demo"))
	if err != nil {
		log.Error("channels", "err", err)
		return 1
	}
	store, err := sqlstore.OpenStore(ctx, cfg.Database, cfg.Data, e.key)
	if err != nil {
		log.Error("open store", "err", err)
		return 1
	}
	defer store.Close()
	book, err := sqlbook.Open(ctx, e.db)
	if err != nil {
		log.Error("address book", "err", err)
		return 1
	}
	domains := &directory.Domains{}
	if cfg.Directory.Domains != "" {
		list, err := directory.Load(ctx, cfg.Directory.Domains)
		if err != nil {
			log.Error("direct-addressing list", "err", err)
			return 1
		}
		domains.Set(list)
		go reloadDomains(ctx, domains, cfg.Directory.Domains, time.Duration(cfg.Directory.ReloadMinutes)*time.Minute, log)
	}
	if cfg.Printer != "" {
		channels[recipient.ChannelPrint] = print.Channel{Printer: print.IPP{URL: cfg.Printer}}
	}
	var follower delivery.Follower
	var statusBook *digitalpost.StatusBook
	if cfg.DigitalPost.IsDemo() {
		log.Warn("DEMO channels: Digital Post and letters are written to " + filepath.Join(cfg.Data, "demo") + "; nothing reaches real recipients")
	} else {
		svc, err := digitalpost.Open(cfg.DigitalPost, cfg.Registry.Serviceplatformen)
		if err != nil {
			log.Error("digital post", "err", err)
			return 1
		}
		defer svc.Status.Close()
		channels[recipient.ChannelDigitalPost] = svc.Digital
		channels[recipient.ChannelPrint] = svc.Print
		follower = svc.Status
		statusBook = svc.Status
		if cfg.Beskedfordeler.Listen == "" {
			log.Warn("no beskedfordeler listener: accepted Digital Post stays 'sending' until status messages can arrive")
		}
	}
	if tm, err := cfg.tunnelmailChannel(); err != nil {
		log.Error("tunnelmail", "err", err)
		return 1
	} else if tm != nil {
		channels[recipient.ChannelTunnelmail] = tm
		if cfg.Tunnelmail.Type == "demo" {
			log.Warn("DEMO tunnelmail: mail to direct-addressing domains is written as .eml files to " + filepath.Join(cfg.Data, "demo", demo.TunnelmailDir) + " and not sent")
		}
	}
	reg, err := registry.Open(cfg.Registry)
	if err != nil {
		log.Error("register", "err", err)
		return 1
	}
	if cfg.Registry.Type == "" || cfg.Registry.Type == "demo" {
		log.Warn("DEMO register: lookups answer from the fictitious demo fixtures")
	}
	worker := &queue.Worker{Store: store, Org: org, Channels: channels, Audit: e.audit, Follower: follower, Log: log}
	rs := &relay.Server{
		Store: store, Registry: reg, Org: org, Channels: channels, Printable: print.Printable,
		Authenticate: e.auth.Authenticate, Audit: e.audit, Log: log, Version: version,
		Domains: domains, Book: book, Queued: worker.Wake,
		Policy: relayapi.OrgPolicy{SmartAlertSendAnyway: cfg.SmartAlert.SendAnyway},
	}

	var mailer *receipt.Mailer
	if cfg.SMTP != nil {
		mailer = &receipt.Mailer{Addr: cfg.SMTP.Addr, From: cfg.SMTP.From}
		if cfg.SMTP.CAFile != "" {
			pem, err := os.ReadFile(cfg.SMTP.CAFile)
			if err != nil {
				log.Error("smtp caFile", "err", err)
				return 1
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			mailer.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	worker.OnDone = func(m *queue.Message) {
		st := m.Status().Status
		met.Add("sendsikkert_relay_messages_final_total", 1, "status="+string(st))
		if mailer == nil || !strings.Contains(m.Sender, "@") {
			return
		}
		// Receipts must not hold up delivery.
		go func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := mailer.Send(sctx, m.Sender, receipt.Build(mailer.From, m.Sender, m, time.Now())); err != nil {
				log.Error("receipt not sent", "id", m.ID, "err", err)
				return
			}
			log.Info("receipt sent", "id", m.ID)
		}()
	}

	if mailer == nil && cfg.SecureMailbox != nil {
		log.Error("secureMailbox needs smtp")
		return 1
	}
	var smb *securemailbox.Service
	if mailer != nil {
		if smb, err = e.secureMailbox(ctx, store, org, mailer, book); err != nil {
			log.Error("secure mailbox", "err", err)
			return 1
		}
	}

	if smb != nil {
		channels[recipient.ChannelSecureMailbox] = smb
		rs.Revoke = smb.Revoke
		rs.Extra = append(rs.Extra, relay.Route{Pattern: "/m/", Auth: relay.AuthPublic, Handler: smb.Handler()})
		go smb.Run(ctx)
	}
	rs.Extra = append(rs.Extra,
		relay.Route{Pattern: "POST /v1/enroll", Auth: relay.AuthPublic, Handler: e.auth.Handler(log)},
		relay.Route{Pattern: "GET /metrics", Auth: relay.AuthPublic, Handler: met},
		relay.Route{Pattern: "GET /v1/audit", Auth: relay.AuthDevice, Handler: auditAPI(e, cfg.Audit.Auditors)},
		relay.Route{Pattern: "GET /v1/messages/{id}/receipt", Auth: relay.AuthDevice, Handler: receiptAPI(store, mailer)},
	)
	if statusBook != nil && cfg.Beskedfordeler.Listen != "" {
		pool, err := partnerPool(cfg.Beskedfordeler.ClientCA)
		if err != nil {
			log.Error("beskedfordeler listener", "err", err)
			return 1
		}
		rs.Partner = relay.PartnerCertificate(pool)
		rs.Extra = append(rs.Extra, relay.Route{Pattern: "POST /beskedfordeler/PostStatusBeskedModtag", Auth: relay.AuthPartner, Handler: statusBook})
		defer serveStatus(cfg, cert, pool, rs.HandlerFor(relay.AuthPartner), log)()
	}
	api := rs.Handler()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &metrics.StatusRecorder{ResponseWriter: w, Status: 200}
		api.ServeHTTP(rec, r)
		met.Add("sendsikkert_relay_http_requests_total", 1, fmt.Sprintf("code=%d", rec.Status))
	})
	srv := &http.Server{Addr: cfg.Listen, Handler: handler, TLSConfig: e.auth.ServerTLS(cert), ReadHeaderTimeout: 10 * time.Second}
	workerDone := make(chan struct{})
	go func() { worker.Run(ctx); close(workerDone) }()
	go retention(ctx, e.audit, cfg.Audit.RetentionDays, log)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Finish requests in flight; accepted work is on disk already.
		srv.Shutdown(sctx)
	}()
	log.Info("relay listening", "addr", cfg.Listen, "version", version, "database", dbKind(cfg.Database))
	if err := srv.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	<-workerDone
	log.Info("relay stopped")
	return 0
}

func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgresql"
	}
	return "sqlite"
}

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
// own listener, from its client certificate only: TLS asks for it, and the
// route table (handler: the partner's routes only) checks it again.
func serveStatus(cfg *Config, cert tls.Certificate, pool *x509.CertPool, handler http.Handler, log *slog.Logger) func() {
	srv := &http.Server{Addr: cfg.Beskedfordeler.Listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}
	go func() {
		if err := srv.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("beskedfordeler listener stopped", "err", err)
		}
	}()
	return func() { srv.Close() }
}

// reloadDomains refreshes the list; a failed reload keeps the old one.
func reloadDomains(ctx context.Context, d *directory.Domains, source string, every time.Duration, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		list, err := directory.Load(ctx, source)
		if err != nil {
			log.Error("direct-addressing list reload failed; keeping the old list", "err", err)
			continue
		}
		d.Set(list)
	}
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

func retention(ctx context.Context, l *audit.Log, days int, log *slog.Logger) {
	for {
		if n, err := l.Purge(ctx, time.Now().AddDate(0, 0, -days)); err != nil {
			log.Error("audit retention", "err", err)
		} else if n > 0 {
			log.Info("audit retention purged rows", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}
