// Package door is the machine service that owns the add-in's loopback port
// on a shared host (Remote Desktop, Citrix, AVD): one door per machine,
// one agent per user behind it.
//
// The door ends TLS with one machine certificate, asks the OS which user
// opened each TCP connection (package peer), and forwards that
// connection's requests to the agent of that user over the agent's own
// endpoint — a Unix socket in the user's runtime folder, or on Windows a
// named pipe only the user and SYSTEM may open. An agent registers on the
// door's control endpoint; the door learns who it is from the OS
// (SO_PEERCRED, the pipe client's token) and checks, again from the OS,
// that the endpoint it names is served by that same user, on every dial.
// A user whose agent is not running gets 503 and a Danish page.
//
// The door never logs a request's path, query, headers or body: only who
// (a uid or SID), and what went wrong in the door's own words. It depends
// on the standard library and golang.org/x/sys only (plus go-winio for
// named pipes on Windows).
package door

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/peer"
	"sendsikkert/internal/vault"
)

// ErrNoDoor means no door answers on the port: the agent binds it itself.
var ErrNoDoor = errors.New("door: no door answers")

var errNotYours = errors.New("door: endpoint is not served by the registering user")

// Config is what `sendsikkert door` parsed.
type Config struct {
	Port int
	// StateDir keeps the machine certificate and the key that seals it.
	StateDir string
	// RunDir holds the control socket (Unix).
	RunDir string
	// Hosts to listen on; default 127.0.0.1 and ::1.
	Hosts []string
	// AgentTimeout bounds how long an agent may take to start answering a
	// request it was handed (default 90 s: enrolment waits up to a minute
	// for the relay).
	AgentTimeout time.Duration
	Log          *slog.Logger
	// Ready, when set, is called once the door listens.
	Ready func(*Door)
	// Trust is the machine-wide trust store for the door's CA; nil is the
	// platform's (LocalMachine\Root on Windows, none elsewhere).
	Trust MachineTrust
	// Now is the clock of the certificate series; nil is time.Now.
	Now func() time.Time
}

// Door is a running door.
type Door struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.Mutex
	agents map[peer.User]*agent
	// ctls are the open control connections, closed when the door stops
	// so every agent notices and registers with the next door.
	ctls map[net.Conn]struct{}
	// CAFile is the machine CA users' trust stores need.
	CAFile string

	server *certs.Server // the current leaf, renewed while running
	tlsDir string
	sealer certs.Sealer
}

// agent is one registered agent.
type agent struct {
	user      peer.User
	endpoint  string
	transport *http.Transport
	proxy     *httputil.ReverseProxy
}

type userKey struct{}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if !peer.Supported {
		return fmt.Errorf("door: %w", peer.ErrUnsupported)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.AgentTimeout == 0 {
		cfg.AgentTimeout = 90 * time.Second
	}
	if cfg.Trust == nil {
		cfg.Trust = defaultTrust()
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"127.0.0.1", "::1"}
	}
	d := &Door{cfg: cfg, log: cfg.Log, agents: map[peer.User]*agent{}, ctls: map[net.Conn]struct{}{}}
	tlsCfg, err := d.machineTLS()
	if err != nil {
		return err
	}
	ctl, err := listenControl(cfg.RunDir, cfg.Port)
	if err != nil {
		return fmt.Errorf("door: control endpoint: %w", err)
	}
	defer ctl.Close()
	var lns []net.Listener
	for _, host := range cfg.Hosts {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
		if err != nil {
			if host == "::1" {
				d.log.Info("no IPv6 loopback listener", "err", err)
				continue
			}
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("door: port %d: %w", cfg.Port, err)
		}
		lns = append(lns, &peer.Listener{Listener: ln, Refused: func(u peer.User, err error) {
			d.log.Warn("refused a connection whose user is unknown", "err", err)
		}})
	}
	// Headers in 10 s, at least 64 KiB of body per 30 s: a slow client
	// cannot hold the machine's door open (httptimeout).
	srv := httptimeout.Server("", d, nil)
	srv.TLSConfig = tlsCfg
	// net/http's own messages name no content, but they go to debug.
	srv.ErrorLog = slog.NewLogLogger(d.log.Handler(), slog.LevelDebug)
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if tc, ok := c.(*tls.Conn); ok {
			if pc, ok := tc.NetConn().(*peer.Conn); ok {
				return context.WithValue(ctx, userKey{}, pc)
			}
		}
		return ctx
	}
	for _, ln := range lns {
		go func() {
			if err := srv.Serve(tls.NewListener(ln, srv.TLSConfig)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("door listener stopped", "err", err)
			}
		}()
	}
	go d.serveControl(ctl)
	go d.renewLoop(ctx)
	d.log.Info("Send sikkert door ready", "port", cfg.Port, "control", controlPath(cfg.RunDir, cfg.Port), "ca", d.CAFile)
	if cfg.Ready != nil {
		cfg.Ready(d)
	}
	<-ctx.Done()
	ctl.Close()
	d.mu.Lock()
	for c := range d.ctls {
		c.Close()
	}
	d.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	d.log.Info("Send sikkert door stopped")
	return nil
}

// machineTLS loads or makes the machine's certificate series with
// internal/certs: a per-machine CA whose key is destroyed after it signed
// the leaves. The leaves are sealed with a key in a file only the door's
// account can read (a machine service has no user keyring).
func (d *Door) machineTLS() (*tls.Config, error) {
	dir := d.cfg.StateDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("door: state folder: %w", err)
	}
	if err := restrictState(dir); err != nil {
		return nil, fmt.Errorf("door: state folder: %w", err)
	}
	raw, err := loadOrCreateKey(filepath.Join(dir, "door.key"))
	if err != nil {
		return nil, err
	}
	key, err := vault.New(raw)
	if err != nil {
		return nil, err
	}
	tlsDir := filepath.Join(dir, "tls")
	// ca.crt must be readable by every user (their trust stores); the
	// leaves file is 0600 and sealed anyway.
	if err := os.MkdirAll(tlsDir, 0o755); err != nil {
		return nil, err
	}
	d.tlsDir, d.sealer = tlsDir, key.Derive("tls")
	id, err := certs.LoadOrCreate(tlsDir, d.sealer, d.now())
	if err != nil {
		return nil, fmt.Errorf("door: machine certificate: %w", err)
	}
	d.CAFile = filepath.Join(tlsDir, certs.CACertFile)
	if id.Created {
		d.log.Info("made a new machine CA (its private key is destroyed after signing)", "ca", d.CAFile, "fingerprint", id.CAFingerprint, "reason", id.Reason)
	}
	if err := d.trustCA(id); err != nil {
		return nil, err
	}
	d.server = certs.NewServer(id, d.cfg.Now)
	return d.server.TLSConfig(), nil
}

func loadOrCreateKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		if len(raw) != vault.KeySize {
			return nil, fmt.Errorf("door: %s is not a key", path)
		}
		return raw, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("door: read key: %w", err)
	}
	// Restricted while still empty: on Windows a new file first inherits
	// the state folder's ACL, which lets users read (ca.crt).
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("door: create key: %w", err)
	}
	if err := restrictKey(path); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("door: restrict key: %w", err)
	}
	raw = vault.NewRandomKey()
	if _, err := f.Write(raw); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("door: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("door: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("door: write key: %w", err)
	}
	return raw, nil
}

func (d *Door) lookup(u peer.User) *agent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.agents[u]
}

// ServeHTTP hands the request to the agent of the connection's user.
func (d *Door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pc, ok := r.Context().Value(userKey{}).(*peer.Conn)
	if !ok {
		// Every connection comes through a peer.Listener; this is a bug.
		http.Error(w, "no user", http.StatusInternalServerError)
		return
	}
	// Known by now: TLS had to read through the connection first.
	u, err := pc.User()
	if err != nil || u == "" {
		http.Error(w, "no user", http.StatusForbidden)
		return
	}
	a := d.lookup(u)
	if a == nil {
		notRunning(w, r)
		return
	}
	a.proxy.ServeHTTP(w, r)
}

// NotRunningText is what a user whose agent is not running is told.
const NotRunningText = "Send sikkert kører ikke for dig — start det fra menuen Start"

var notRunningPage = template.Must(template.New("").Parse(`<!DOCTYPE html>
<html lang="da"><head><meta charset="utf-8"><title>Send sikkert kører ikke</title>
<style>body{font-family:"Segoe UI",system-ui,sans-serif;margin:2rem;color:#242424;max-width:40rem}</style></head>
<body><h1>Send sikkert kører ikke</h1><p>{{.}}.</p></body></html>
`))

// notRunning answers 503: as JSON to the add-in's API calls (the pages
// show the message), as a page otherwise.
func notRunning(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", "5")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":"agent_not_running","message":%q}`+"\n", NotRunningText+".")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusServiceUnavailable)
	notRunningPage.Execute(w, NotRunningText)
}

// agentGone marks a failure to reach the agent at all.
type agentGone struct{ err error }

func (e *agentGone) Error() string { return "agent unreachable: " + e.err.Error() }
func (e *agentGone) Unwrap() error { return e.err }

func (d *Door) newAgent(u peer.User, endpoint string) *agent {
	a := &agent{user: u, endpoint: endpoint}
	a.transport = &http.Transport{
		// Every connection is checked, from the OS, to be served by u.
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			c, err := dialEndpoint(ctx, endpoint, u)
			if err != nil {
				return nil, &agentGone{err}
			}
			return c, nil
		},
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: d.cfg.AgentTimeout,
		DisableCompression:    true,
	}
	a.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The agent's guard checks Host and Origin as the browser
			// sent them; no X-Forwarded-* is added.
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pr.In.Host
			pr.Out.Host = pr.In.Host
		},
		Transport: a.transport,
		ErrorLog:  slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var gone *agentGone
			if errors.As(err, &gone) {
				d.log.Info("agent unreachable", "user", u)
				notRunning(w, r)
				return
			}
			// Not the error text: a hostile or broken agent's bytes may
			// be quoted in it.
			d.log.Warn("agent answered badly", "user", u, "timeout", errors.Is(err, context.DeadlineExceeded) || isTimeout(err))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintln(w, "Send sikkert svarede ikke. Prøv igen, eller afslut Send sikkert og start det fra menuen Start.")
		},
	}
	return a
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// serveControl accepts registrations.
func (d *Door) serveControl(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				d.log.Error("control endpoint stopped", "err", err)
			}
			return
		}
		go d.register(c)
	}
}

// register runs one agent's registration for as long as its control
// connection lives: the agent's process holds it, so when the agent dies
// the OS closes it and the registration ends with it.
func (d *Door) register(c net.Conn) {
	d.mu.Lock()
	d.ctls[c] = struct{}{}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.ctls, c)
		d.mu.Unlock()
		c.Close()
	}()
	u, err := peerUser(c)
	if err != nil {
		d.log.Warn("registration from an unknown user refused", "err", err)
		return
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := readLine(c)
	if err != nil {
		d.log.Warn("registration refused: no hello", "user", u, "err", err)
		return
	}
	h, err := ParseHello(line)
	if err != nil {
		d.log.Warn("registration refused: bad hello", "user", u)
		writeLine(c, Reply{Error: ErrCodeBadHello})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	probe, err := dialEndpoint(ctx, h.Endpoint, u)
	cancel()
	if err != nil {
		d.log.Warn("registration refused: endpoint not served by the user", "user", u, "err", err)
		writeLine(c, Reply{Error: ErrCodeNotYours})
		return
	}
	probe.Close()
	a := d.newAgent(u, h.Endpoint)
	d.mu.Lock()
	if d.agents[u] != nil {
		d.mu.Unlock()
		writeLine(c, Reply{Error: ErrCodeRegistered})
		return
	}
	d.agents[u] = a
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if d.agents[u] == a {
			delete(d.agents, u)
		}
		d.mu.Unlock()
		a.transport.CloseIdleConnections()
		d.log.Info("agent left", "user", u)
	}()
	if err := writeLine(c, Reply{OK: true, User: string(u)}); err != nil {
		return
	}
	d.log.Info("agent registered", "user", u)
	c.SetDeadline(time.Time{})
	// The agent sends nothing more; anything (a byte, EOF, an error) ends
	// the registration.
	var b [1]byte
	c.Read(b[:])
}

// Agents returns the users with a registered agent (for tests and status).
func (d *Door) Agents() []peer.User {
	d.mu.Lock()
	defer d.mu.Unlock()
	var us []peer.User
	for u := range d.agents {
		us = append(us, u)
	}
	return us
}
