// Package agent wires the desktop agent together: keys from the OS keyring,
// the TLS identity, the outbox, the relay client (or, in demo mode, an
// in-process relay reached over its own loopback listener), and the local
// API on loopback.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"sendsikkert/internal/attachment"
	"sendsikkert/internal/certs"
	"sendsikkert/internal/door"
	"sendsikkert/internal/health"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/mailbox"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/peer"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/privdir"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

// DefaultPort is the agent's fixed loopback port; the add-in manifests name it.
const DefaultPort = 47800

// Config is what cmd/sendsikkert parsed.
type Config struct {
	DataDir  string
	Port     int
	RelayURL string
	Demo     bool
	Version  string
	// AllowedOrigins are extra add-in origins allowed to call the API.
	AllowedOrigins []string
	// Policy is what IT has locked (already applied to the fields above).
	Policy policy.Policy
	Log    *slog.Logger
	// Ready, when set, is called once the API listens, and again with the
	// new Agent when the PC enrols while the agent runs (no restart).
	Ready func(*Agent)
	// OnChange, when set, hears every change of a send's status (the tray:
	// icon, outbox count, desktop notices). It must not block.
	OnChange func(relayapi.MessageStatus)
	// Health, when set, is the board the agent reports its problems on
	// (the tray listens to it); nil makes one.
	Health *health.Board
	// OnMailNotice, when set, hears receipts and replies the mailbox link
	// matched to a send (the tray's desktop notices). It must not block.
	OnMailNotice func(mailbox.Notice)
}

// DefaultDataDir is the per-user data folder.
func DefaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "sendsikkert")
}

// Agent is a running agent.
type Agent struct {
	Config Config
	Demo   bool
	// NotEnrolled, when set, says in Danish why the agent has no relay
	// and refuses sends (the tray's status line).
	NotEnrolled string
	Outbox      *outbox.Outbox
	API         *localapi.Server
	// Store says whether secrets live in the OS keyring.
	Store keystore.Store
	// Mailbox is the IMAP mailbox link (marked copies, receipts); its
	// SetNotify and Status serve the tray and the window.
	Mailbox *mailbox.Link
	// Health is what is wrong now (/healthz "problems", the tray).
	Health *health.Board
}

// enrolmentPoll is how often an agent without an enrolment looks for one
// made by another process (sendsikkert enroll).
const enrolmentPoll = 3 * time.Second

// ProblemNotEnrolled is the board's code for an agent without a relay.
const ProblemNotEnrolled = "not_enrolled"

// ErrKeyring is returned when the OS keyring is needed but unreachable.
var ErrKeyring = errors.New("agent: OS keyring unavailable")

// Run starts the agent and blocks until ctx ends; then it shuts down
// cleanly, finishing the request in flight.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	// Private to this user: on a shared host nobody else may even list it.
	if err := privdir.Ensure(cfg.DataDir); err != nil {
		return fmt.Errorf("agent: data folder: %w", err)
	}
	osUser, err := peer.Self()
	if err != nil {
		return fmt.Errorf("agent: who am I: %w", err)
	}
	// Demo only when asked for with --demo; without it and without an
	// enrolment the agent runs "not enrolled": it serves the add-in and
	// the window's Kom i gang page, and refuses sends.
	demo := cfg.Demo
	if demo && !DemoBuilt {
		return ErrNoDemo
	}
	var enr *enrolment
	if !demo {
		e, err := loadEnrolment(cfg.DataDir)
		if err != nil && !errors.Is(err, ErrNotEnrolled) {
			return err
		}
		enr = e
	}
	store, err := keystore.Open(cfg.DataDir, demo)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	if !store.Secure() {
		log.Warn("DEMO: no OS keyring reachable; keys are kept UNPROTECTED in " + filepath.Join(cfg.DataDir, keystore.InsecureFileName) + " (demo data is fictitious; never use this for real data)")
	}
	// What is wrong is told on one board: /healthz, the tray, the window.
	board := cfg.Health
	if board == nil {
		board = &health.Board{}
	}
	board.Source(func() []health.Problem { return asideProblems(cfg.DataDir, time.Now()) })
	// A locked or unreachable keyring is waited for (ErrKeyring); a key
	// that is gone sets the old store aside and starts a new one.
	raw, err := storeKey(cfg.DataDir, store, time.Now(), log)
	if err != nil {
		return err
	}
	key, err := vault.New(raw)
	if err != nil {
		return err
	}
	id, err := certs.LoadOrCreate(filepath.Join(cfg.DataDir, "tls"), key.Derive("tls"), time.Now())
	if err != nil {
		return fmt.Errorf("agent: TLS identity: %w", err)
	}
	if id.Created {
		log.Info("made a new localhost CA; it must be trusted by this user's browsers and Office", "ca", filepath.Join(cfg.DataDir, "tls", certs.CACertFile), "fingerprint", id.CAFingerprint)
	}
	tlsServer := certs.NewServer(id, nil)
	// No enrolment: if the relay offers the hosted add-in, the pages can
	// enrol this PC with the clerk's Entra sign-in (zero-touch); until then
	// the agent serves only what that needs. Otherwise it runs "not
	// enrolled": IT's one-time code (the window's Kom i gang, or
	// sendsikkert enroll) is the way. Either way the agent goes on
	// enrolled in this process once the PC has joined (takeUpEnrolment).
	zeroTouch := false
	if !demo && enr == nil {
		if _, err := fetchAddinConfig(ctx, cfg.RelayURL, cfg.Policy.Proxy); err != nil {
			log.Info("the relay offers no zero-touch enrolment", "relay", cfg.RelayURL, "err", err)
		} else {
			zeroTouch = true
		}
	}

	db, err := openStore(cfg.DataDir, time.Now(), log)
	if err != nil {
		return err
	}
	defer db.Close()
	ob, err := outbox.Open(db, filepath.Join(cfg.DataDir, "outbox"), key)
	if err != nil {
		return err
	}
	ob.OnChange = cfg.OnChange
	st, err := settings.Open(db, key)
	if err != nil {
		return err
	}
	uploads, err := upload.Open(db, filepath.Join(cfg.DataDir, "uploads"), key)
	if err != nil {
		return err
	}
	uploads.Expire()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The worker, the mailbox link and the facts ticker; all end with ctx.
	var background sync.WaitGroup
	var client *relayclient.Client
	var notEnrolled string // why, in Danish, when there is no relay
	if demo {
		log.Warn("DEMO MODE: using the embedded demo relay; messages go to " + filepath.Join(cfg.DataDir, "demo") + ", nothing reaches real recipients")
		c, stop, err := startDemoRelay(ctx, cfg.DataDir, key, cfg.Policy.PrintAdapter, log)
		if err != nil {
			return err
		}
		defer stop()
		client = c
	} else {
		c, why, err := enr.client(cfg, store, log)
		if err != nil {
			return err
		}
		client, notEnrolled = c, why
	}
	// The relay the mailbox link asks about a receipt: none until the PC
	// is enrolled (the link then leaves the status to the worker's poll).
	relays := &relaySwitch{}
	if client != nil {
		relays.set(client)
	}

	// The mailbox link: a marked copy of every delivered send, receipts
	// and replies followed. It runs beside the worker and never holds up
	// a send.
	link, err := mailbox.Open(mailbox.Config{DB: db, Outbox: ob, Settings: st, Secrets: store, Relay: relays, Dir: filepath.Join(cfg.DataDir, "mailbox"), Log: log})
	if err != nil {
		return err
	}
	link.SetNotify(cfg.OnMailNotice)
	ob.OnChange = func(s relayapi.MessageStatus) {
		link.Changed(s)
		if cfg.OnChange != nil {
			cfg.OnChange(s)
		}
	}

	// One guard and one window credential for the life of the process:
	// a page or window that holds them keeps working when the agent
	// enrols and its API changes behind the same listener.
	guard := &localapi.Guard{Port: cfg.Port, Token: localapi.NewToken(), Allowed: cfg.AllowedOrigins}
	// The window's own credential: in a file only this user can read,
	// never in a page, so a page cannot re-point an enrolled agent.
	windowToken, err := localapi.WriteWindowToken(cfg.DataDir)
	if err != nil {
		return err
	}
	// An enrolment made through this agent (the window's code, the
	// pages' Entra token) is taken up here before its answer goes back,
	// so the page's next request already reaches the enrolled agent.
	joined := make(chan chan struct{})
	takeUp := func(rctx context.Context) {
		reply := make(chan struct{})
		select {
		case joined <- reply:
		case <-rctx.Done():
			return
		case <-ctx.Done():
			return
		}
		select {
		case <-reply:
		case <-rctx.Done():
		case <-ctx.Done():
		}
	}
	newAPI := func(client *relayclient.Client) *localapi.Server {
		// The relay's parts: left nil (not a typed nil) when not
		// enrolled, so they answer "not enrolled".
		var relay localapi.Relay
		var dir localapi.Directory
		if client != nil {
			relay, dir = client, client
		}
		api := &localapi.Server{Health: board, WindowToken: windowToken, User: accountName(), Uploads: uploads, Printable: attachment.Printable, Policy: cfg.Policy, Guard: guard, Outbox: ob, Relay: relay, Directory: dir, Settings: st, Demo: demo, Version: cfg.Version, Log: log}
		api.Enroll = func(rctx context.Context, relayURL, code string) (string, error) {
			user, err := Enroll(rctx, cfg.DataDir, relayURL, code, "")
			if err == nil {
				takeUp(rctx)
			}
			return user, err
		}
		join := enrollToken(cfg)
		api.EnrollToken = func(rctx context.Context, token string) (string, error) {
			user, err := join(rctx, token)
			if err == nil {
				takeUp(rctx)
			}
			return user, err
		}
		if cfg.RelayURL != "" {
			api.AddinConfig = func(ctx context.Context) (hostedaddin.AddinConfig, error) {
				return fetchAddinConfig(ctx, cfg.RelayURL, cfg.Policy.Proxy)
			}
		}
		api.Mailbox = link
		api.Enrolled = func() bool {
			e, _ := loadEnrolment(cfg.DataDir)
			return e != nil
		}
		return api
	}
	api := newAPI(client)
	var current atomic.Pointer[localapi.Server]
	current.Store(api)
	handler := &handlerSwitch{}
	if zeroTouch && client == nil {
		// While waiting for zero-touch enrolment: the pages, the relay's
		// add-in config and the enrolment, nothing else.
		handler.set(api.UnenrolledHandler())
	} else {
		handler.set(api.Handler())
	}
	a := &Agent{Config: cfg, Demo: demo, NotEnrolled: notEnrolled, Outbox: ob, API: api, Store: store, Mailbox: link, Health: board}

	// Headers in 10 s, at least 64 KiB of body per 30 s (see httptimeout).
	srv := httptimeout.Server("", handler, log)
	srv.TLSConfig = tlsServer.TLSConfig()
	srv.IdleTimeout = 2 * time.Minute
	srv.MaxHeaderBytes = 64 << 10
	// Browsers' aborted handshakes are routine on loopback.
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	if err := serve(ctx, cfg, srv, osUser, log); err != nil {
		return err
	}
	board.Source(ob.Problems)
	startWorker := func(c *relayclient.Client) {
		worker := &outbox.Worker{Outbox: ob, Relay: c, Handing: link.Retain, Log: log, Health: board}
		board.Source(worker.Problems)
		background.Go(func() { worker.Run(ctx) })
	}
	if client != nil {
		startWorker(client)
	} else {
		// Nothing may be sent: no worker. Told on the board: /healthz
		// "problems", the tray, the window.
		board.Set(health.Problem{Code: ProblemNotEnrolled, Message: "Send sikkert sender intet: " + notEnrolled})
		if zeroTouch {
			log.Warn("not enrolled: waiting for zero-touch enrolment from the add-in (Entra sign-in) or the window's Kom i gang", "relay", cfg.RelayURL, "port", cfg.Port)
		}
	}
	background.Go(func() { link.Run(ctx) })
	// "Læst" and "Besvaret" for the Log and the tray: one batched
	// question to the relay every 15 minutes while no page asks sooner.
	background.Go(func() {
		t := time.NewTicker(localapi.FactsInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := current.Load().RefreshFacts(ctx, true); err != nil {
					log.Warn("read/replied facts not fetched", "err", err)
				}
			}
		}
	})
	mode := ""
	switch {
	case demo:
		mode = " (DEMO)"
	case client == nil:
		mode = " (NOT ENROLLED: sends are refused until this PC is enrolled with the organisation's relay)"
	}
	log.Info("Send sikkert agent ready"+mode, "url", "https://localhost:"+strconv.Itoa(cfg.Port), "data", cfg.DataDir, "keyring", store.Secure(), "pending", ob.Pending())
	if cfg.Ready != nil {
		cfg.Ready(a)
	}
	// takeUpEnrolment goes on enrolled: the relay client, the worker, the enrolled
	// API behind the same listener. An agent that is enrolled already (the
	// window may enrol it again) keeps its relay until it is restarted.
	takeUpEnrolment := func() {
		if client != nil || demo {
			return
		}
		c := enrolledNow(cfg, store, board, log)
		if c == nil {
			return
		}
		client = c
		relays.set(c)
		api = newAPI(c)
		current.Store(api)
		handler.set(api.Handler())
		startWorker(c)
		a = &Agent{Config: cfg, Outbox: ob, API: api, Store: store, Mailbox: link, Health: board}
		log.Info("Send sikkert agent enrolled and sending through the relay; no restart needed", "url", "https://localhost:"+strconv.Itoa(cfg.Port))
		if cfg.Ready != nil {
			cfg.Ready(a)
		}
	}
	// `sendsikkert enroll` in a console is another process: while this
	// agent has no enrolment it looks for the one that process leaves.
	var appeared <-chan time.Time
	if client == nil && !demo && enr == nil {
		t := time.NewTicker(enrolmentPoll)
		defer t.Stop()
		appeared = t.C
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case reply := <-joined:
			takeUpEnrolment()
			close(reply)
			appeared = nil
		case <-appeared:
			if _, err := loadEnrolment(cfg.DataDir); !errors.Is(err, ErrNotEnrolled) {
				log.Info("an enrolment appeared (sendsikkert enroll); taking it up")
				takeUpEnrolment()
				appeared = nil
			}
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	background.Wait()
	log.Info("Send sikkert agent stopped")
	return nil
}

// enrolledNow is the relay client for the enrolment just made while the
// agent ran, or nil when it cannot be used (then the board says why).
func enrolledNow(cfg Config, store keystore.Store, board *health.Board, log *slog.Logger) *relayclient.Client {
	e, err := loadEnrolment(cfg.DataDir)
	if err != nil {
		log.Error("the enrolment just made cannot be read; sends stay refused until the agent is restarted", "err", err)
		return nil
	}
	c, why, err := e.client(cfg, store, log)
	if err != nil {
		log.Error("the enrolment just made cannot be used; sends stay refused until the agent is restarted", "err", err)
		return nil
	}
	if c == nil {
		board.Set(health.Problem{Code: ProblemNotEnrolled, Message: "Send sikkert sender intet: " + why})
		return nil
	}
	board.Clear(ProblemNotEnrolled)
	return c
}

// serve puts the local API where the add-in reaches it. When a door owns
// the port (a shared host), the agent registers with it and serves plain
// HTTP on its private endpoint: the door ends TLS and hands over only this
// user's connections. Otherwise the agent binds the port itself with its
// own certificate, and refuses every connection the OS says is not this
// user's before a byte is read or written.
func serve(ctx context.Context, cfg Config, srv *http.Server, self peer.User, log *slog.Logger) error {
	place, err := door.Join(ctx, door.JoinConfig{Port: cfg.Port, FallbackDir: cfg.DataDir, Log: log})
	if err == nil {
		log.Info("registered with the machine's door", "port", cfg.Port, "endpoint", place.Endpoint, "user", place.User)
		go func() {
			if err := srv.Serve(place.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("local API stopped", "err", err)
			}
		}()
		return nil
	}
	if !door.IsNoDoor(err) {
		return fmt.Errorf("agent: the door on port %d: %w", cfg.Port, err)
	}
	// Said in the log on purpose: on an installed PC the door service
	// should own the port; an administrator reading this knows it is not
	// running.
	log.Warn("no door service answers on this port; the agent binds it itself with its own certificate", "port", cfg.Port, "detail", err)
	if !peer.Supported {
		log.Warn("this platform cannot tell which user opens a loopback connection; other local users are not refused")
	}
	var lns []net.Listener
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
		if err != nil {
			if host == "::1" {
				// Some machines have no IPv6 loopback; 127.0.0.1 suffices.
				log.Info("no IPv6 loopback listener", "err", err)
				continue
			}
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("agent: port %d is taken (is another Send sikkert running?): %w", cfg.Port, err)
		}
		if peer.Supported {
			ln = &peer.Listener{Listener: ln, Allow: peer.Only(self), Refused: func(u peer.User, err error) {
				log.Warn("refused a connection from another user", "user", u, "err", err)
			}}
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		go func() {
			if err := srv.Serve(tls.NewListener(ln, srv.TLSConfig)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("local API stopped", "err", err)
			}
		}()
	}
	return nil
}

// accountName is the OS account the agent runs as, for /healthz.
func accountName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
