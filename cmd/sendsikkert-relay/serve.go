package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/audit"
	"sendsikkert/internal/clientaddr"
	"sendsikkert/internal/database"
	"sendsikkert/internal/demo"
	"sendsikkert/internal/digitalpost"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/directory/sqlbook"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/inbound"
	"sendsikkert/internal/metrics"
	"sendsikkert/internal/partner"
	"sendsikkert/internal/print"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/queue/sqlstore"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayd"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/usage"
)

// serve runs the relay until SIGINT or SIGTERM: the API on cfg.Listen
// (mTLS), Beskedfordeler's status messages on their own listener, the
// delivery worker, the secure mailbox's sweeper and the audit retention.
func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	dbFlag := fs.String("database", "", "overrides the configuration's database (postgres://…)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A damaged store is refused before anything opens it: starting would
	// serve an empty queue over accepted messages.
	if err := checkStore(ctx, *config, *dbFlag); err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay: refusing to start:", err)
		return 1
	}
	e, err := open(ctx, *config, *dbFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	markClosed, err := database.MarkOpen(ctx, e.db, e.cfg.Database, e.cfg.Data, storeName)
	if err != nil {
		e.db.Close()
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	// Deferred in this order, the marker goes only after the database
	// is closed cleanly (its WAL checkpointed).
	defer markClosed()
	defer e.db.Close()
	cfg, log := e.cfg, e.log
	cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		log.Error("TLS certificate", "err", err)
		return 1
	}
	met := relayMetrics()
	e.meter = usage.Meter{Auditor: e.audit, Count: func(name string, labels ...string) { met.Add(name, 1, labels...) }}
	rc, closeAll, err := e.relayConfig(ctx, met)
	defer closeAll()
	if err != nil {
		log.Error("relay", "err", err)
		return 1
	}
	r := relayd.Assemble(rc)
	stopHosted, err := hostedAddin(cfg, r.Server, e.auth, e.key, cert, log)
	if err != nil {
		log.Error("hostedAddin", "err", err)
		return 1
	}
	defer stopHosted()
	if rc.Partner != nil {
		stopStatus, err := serveStatus(cfg.Beskedfordeler, cert, r.Server.HandlerFor(relay.AuthPartner), log)
		if err != nil {
			log.Error("beskedfordeler listener", "err", err)
			return 1
		}
		defer stopStatus()
	}
	stopMetrics, err := serveMetrics(cfg.Metrics.Listen, met, log)
	if err != nil {
		log.Error("metrics listener", "err", err)
		return 1
	}
	defer stopMetrics()
	proxies, err := clientaddr.Parse(cfg.TrustedProxies)
	if err != nil {
		log.Error("configuration", "err", err)
		return 1
	}
	// Headers in 10 s, at least 64 KiB per 30 s (httptimeout); the real
	// client named by a trusted load balancer for everything behind it
	// (the enrolment lockout counts per client).
	srv := httptimeout.Server(cfg.Listen, proxies.Handler(met.Count(r.Handler())), log)
	srv.TLSConfig = e.auth.ServerTLS(cert)
	mailer, err := e.mailer()
	if err != nil {
		log.Error("smtp", "err", err)
		return 1
	}
	if cfg.Inbound != nil {
		host, _ := os.Hostname()
		stopInbound, err := serveInbound(ctx, e, e.inbound, rc.Store, rc.Org, mailer, cert, met.Registry, fmt.Sprintf("%s-%d", host, os.Getpid()))
		if err != nil {
			log.Error("inbound", "err", err)
			return 1
		}
		defer stopInbound()
	}
	relayDone := make(chan struct{})
	go func() { r.Run(ctx); close(relayDone) }()
	go retention(ctx, e.audit, cfg.Audit.RetentionDays, log)
	go checkpoints(ctx, e, mailer, log)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Finish requests in flight; accepted work is on disk already.
		srv.Shutdown(sctx)
	}()
	log.Info("relay listening", "addr", cfg.Listen, "version", version, "database", dbKind(cfg.Database))
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	if err := srv.ServeTLS(proxies.Listener(ln), "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	<-relayDone
	log.Info("relay stopped")
	return 0
}

// relayConfig opens and builds what the configuration names, in the
// order a reader would look for it. closeAll closes what was opened, also
// after an error.
func (e *env) relayConfig(ctx context.Context, met *relayMetricsSet) (rc relayd.Config, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	cfg, log := e.cfg, e.log
	rc = relayd.Config{Printable: attachment.Printable, Authenticate: e.auth.Authenticate(relay.ErrUnauthenticated), Audit: e.audit, Log: log, Version: version,
		Policy: relayapi.OrgPolicy{SmartAlertSendAnyway: cfg.SmartAlert.SendAnyway}}
	if e.meter != nil {
		rc.Audit = e.meter
	}
	if rc.Org, err = cfg.organisation(); err != nil {
		return rc, closeAll, fmt.Errorf("configuration: %w", err)
	}
	store, err := sqlstore.OpenStore(ctx, cfg.Database, cfg.Data, e.key)
	if err != nil {
		return rc, closeAll, fmt.Errorf("open store: %w", err)
	}
	closers = append(closers, func() { store.Close() })
	// Every sent message's MeMo UUIDs are indexed, so that a reply that
	// arrives later (SF1606) finds the letter it answers.
	if e.inbound, err = inbound.OpenStore(ctx, e.db, e.key.Derive("inbound")); err != nil {
		return rc, closeAll, fmt.Errorf("inbound store: %w", err)
	}
	if !e.db.Postgres {
		if err := e.inbound.DropLeases(ctx); err != nil {
			return rc, closeAll, err
		}
	}
	rc.Store = inbound.IndexingStore{Store: store, Index: e.inbound}
	// The hosted add-in's users' reply-mailbox choices live beside the
	// messages, shared by every instance of the store.
	rc.Choices, _ = store.(queue.ReplyChoices)
	// The hosted add-in's documents in slices: states and slices in the
	// store (its database and blobs), so that on PostgreSQL any instance
	// takes any slice and sends any upload. A bbolt store has none; the
	// hosted add-in then keeps them per instance (hostedAddin).
	if sq, ok := store.(*sqlstore.SQLStore); ok && cfg.HostedAddin != nil {
		rc.Uploads = upload.OpenShared(sq.Uploads(), sq.Blobs(), e.key)
	}
	// The store, the index and the audit log share cfg.Database
	// (relay.sqlite in the data folder, or the PostgreSQL database): a
	// submit's message, index rows and audit rows are one commit. A bbolt
	// store is apart from them.
	rc.AuditInStore = cfg.Database != "bolt"
	if rc.Registry, err = e.registry(); err != nil {
		return rc, closeAll, err
	}
	if rc.Book, err = sqlbook.Open(ctx, e.db); err != nil {
		return rc, closeAll, fmt.Errorf("address book: %w", err)
	}
	if rc.Domains, err = e.domains(ctx); err != nil {
		return rc, closeAll, err
	}
	statusBook, err := e.channels(&rc)
	if err != nil {
		return rc, closeAll, err
	}
	if statusBook != nil {
		closers = append(closers, func() { statusBook.Close() })
	}
	mailer, err := e.mailer()
	if err != nil {
		return rc, closeAll, err
	}
	rc.OnDone = receipts(mailer, met, log, e.audit)
	if rc.Mailbox, err = e.secureMailbox(ctx, mailer); err != nil {
		return rc, closeAll, fmt.Errorf("secure mailbox: %w", err)
	}
	rc.Enrol, rc.Metrics = e.auth.Handler(log), met
	rc.AuditLog, rc.Receipts = auditAPI(e, cfg.Audit.Auditors), receiptAPI(store, mailer)
	if statusBook != nil && cfg.Beskedfordeler.Listen != "" {
		// The one partner check (package partner): the CA and the whole
		// subject DN, here for the route table and again on the listener.
		gate, err := partner.Load("beskedfordeler", cfg.Beskedfordeler, log)
		if err != nil {
			return rc, closeAll, fmt.Errorf("beskedfordeler listener: %w", err)
		}
		rc.Partner, rc.StatusMessages = gate.Admits, statusBook
	}
	return rc, closeAll, nil
}

// registry opens the register lookups answer from.
func (e *env) registry() (recipient.Registry, error) {
	reg, err := registry.Open(e.cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if e.cfg.Registry.Type == "" || e.cfg.Registry.Type == "demo" {
		e.log.Warn("DEMO register: lookups answer from the fictitious demo fixtures")
	}
	return reg, nil
}

// domains loads the direct-addressing list and keeps it fresh.
func (e *env) domains(ctx context.Context) (*directory.Domains, error) {
	d := &directory.Domains{}
	src := e.cfg.Directory.Domains
	if src == "" {
		return d, nil
	}
	list, err := directory.Load(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("direct-addressing list: %w", err)
	}
	d.Set(list)
	go reloadDomains(ctx, d, src, time.Duration(e.cfg.Directory.ReloadMinutes)*time.Minute, e.log)
	return d, nil
}

// channels sets rc's channels and follower: the demo folders unless
// Digital Post is configured, an IPP printer, tunnelmail. It returns
// Digital Post's status book (nil in demo), which Beskedfordeler feeds.
func (e *env) channels(rc *relayd.Config) (*digitalpost.StatusBook, error) {
	cfg, log := e.cfg, e.log
	channels, err := demo.Channels(filepath.Join(cfg.Data, "demo"))
	if err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	rc.Channels = channels
	if cfg.Printer != "" {
		channels[recipient.ChannelPrint] = print.Channel{Printer: print.IPP{URL: cfg.Printer}}
	}
	var book *digitalpost.StatusBook
	if cfg.DigitalPost.IsDemo() {
		log.Warn("DEMO channels: Digital Post and letters are written to " + filepath.Join(cfg.Data, "demo") + "; nothing reaches real recipients")
	} else {
		svc, err := digitalpost.Open(cfg.DigitalPost, cfg.Registry.Serviceplatformen)
		if err != nil {
			return nil, fmt.Errorf("digital post: %w", err)
		}
		channels[recipient.ChannelDigitalPost] = svc.Digital
		channels[recipient.ChannelPrint] = svc.Print
		rc.Follower, book = svc.Status, svc.Status
		if cfg.Beskedfordeler.Listen == "" {
			log.Warn("no beskedfordeler listener: accepted Digital Post stays 'sending' until status messages can arrive")
		}
	}
	tm, err := cfg.tunnelmailChannel()
	if err != nil {
		return book, fmt.Errorf("tunnelmail: %w", err)
	}
	if tm != nil {
		channels[recipient.ChannelTunnelmail] = tm
		if cfg.Tunnelmail.Type == "demo" {
			log.Warn("DEMO tunnelmail: mail to direct-addressing domains is written as .eml files to " + filepath.Join(cfg.Data, "demo", demo.TunnelmailDir) + " and not sent")
		}
	}
	return book, nil
}

// mailer is the configured SMTP relay for receipts and the secure
// mailbox, nil without one.
func (e *env) mailer() (*receipt.Mailer, error) {
	c := e.cfg.SMTP
	if c == nil {
		if e.cfg.SecureMailbox != nil {
			return nil, errors.New("secureMailbox needs smtp")
		}
		return nil, nil
	}
	m := &receipt.Mailer{Addr: c.Addr, From: c.From}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp caFile: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		m.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return m, nil
}

// receipts counts final messages and mails their senders a receipt.
// It also writes the message's reply mailbox to the audit log, by which
// the usage report groups letters.
func receipts(mailer *receipt.Mailer, met *relayMetricsSet, log *slog.Logger, al *audit.Log) func(*queue.Message) {
	return func(m *queue.Message) {
		met.Add("sendsikkert_relay_messages_final_total", 1, "status="+string(m.Status().Status))
		if mb := replyMailboxOf(m); mb != "" {
			if err := al.Record(context.Background(), m.Sender, usage.ActionReplyMailbox, zeroID, "", mb, m.ID); err != nil {
				log.Error("audit", "err", err)
			}
		}
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
}

// relayMetricsSet is the relay's metrics, with the HTTP counter.
type relayMetricsSet struct{ *metrics.Registry }

func relayMetrics() *relayMetricsSet {
	met := metrics.New()
	met.Help("sendsikkert_relay_http_requests_total", "HTTP requests by status code.")
	met.Help("sendsikkert_relay_messages_final_total", "Messages that reached a final status.")
	met.Help(usage.MetricLetters, "Letters sent, by channel (from the audit log's rows).")
	met.Help(usage.MetricSMSCodes, "One-time codes sent by SMS.")
	met.Help(usage.MetricLookups, "Recipient lookups.")
	met.Help(usage.MetricReplies, "Replies received, by channel.")
	return &relayMetricsSet{met}
}

// Count counts h's answers by status code.
func (m *relayMetricsSet) Count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &metrics.StatusRecorder{ResponseWriter: w, Status: 200}
		h.ServeHTTP(rec, r)
		m.Add("sendsikkert_relay_http_requests_total", 1, fmt.Sprintf("code=%d", rec.Status))
	})
}

func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgresql"
	}
	return "sqlite"
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

// replyMailboxOf is the reply mailbox a message's letters answer to: the
// citizens' choice when any recipient is not a company.
func replyMailboxOf(m *queue.Message) string {
	for _, r := range m.Recipients {
		if r.ID.Kind != recipient.KindCVR {
			return m.Reply.Citizen
		}
	}
	return m.Reply.Company
}
