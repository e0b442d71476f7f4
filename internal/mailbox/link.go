package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
)

// StatusGetter is what the link asks of the relay when a receipt arrives,
// so the send's status is current at once rather than at the next poll.
type StatusGetter interface {
	Status(ctx context.Context, id string) (relayapi.MessageStatus, error)
}

// Notice is something the tray should show.
type Notice struct {
	ID    string // the send's outbox id
	Title string
	Body  string
}

// Status is the link as the window's status view shows it.
type Status struct {
	Configured    bool       `json:"configured"`
	Connected     bool       `json:"connected"`
	Watching      string     `json:"watching,omitempty"` // "idle" or "poll"
	LastError     string     `json:"lastError,omitempty"`
	LastErrorAt   *time.Time `json:"lastErrorAt,omitempty"`
	LastSync      *time.Time `json:"lastSync,omitempty"`
	PendingCopies int        `json:"pendingCopies"`
}

// Config is what Open needs.
type Config struct {
	DB       *bolt.DB
	Outbox   *outbox.Outbox
	Settings *settings.Store
	Secrets  keystore.Store
	// Relay, when set, is asked for a send's status when its receipt
	// arrives.
	Relay StatusGetter
	// Dir keeps the attachments retained for copies.
	Dir string
	Log *slog.Logger
	// TLS, when set, is the base TLS configuration (tests trust a test CA
	// with it); ServerName is filled in.
	TLS *tls.Config
	// PollInterval is the first wait between polls on a server without
	// IDLE (default 15 s); it doubles while nothing arrives, up to
	// MaxPoll (default 5 min).
	PollInterval, MaxPoll time.Duration
	// ForcePoll polls even where the server offers IDLE (a server whose
	// IDLE is broken; tests).
	ForcePoll bool
	// MaxBackoff bounds the wait between reconnects (default 2 min).
	MaxBackoff time.Duration
	Now        func() time.Time
}

// Link is the mailbox link.
type Link struct {
	cfg    Config
	db     *bolt.DB
	outbox *outbox.Outbox
	blobs  blobstore.Store
	log    *slog.Logger

	work     chan struct{} // copies may be due
	retained chan struct{} // Retain recorded a send
	inbox    chan struct{} // INBOX changed (IDLE)
	reconf   chan struct{}

	mu     sync.Mutex
	status Status
	notify func(Notice)
}

// Open prepares the link's buckets and folder. Call Run to start it.
func Open(cfg Config) (*Link, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 15 * time.Second
	}
	if cfg.MaxPoll == 0 {
		cfg.MaxPoll = 5 * time.Minute
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 2 * time.Minute
	}
	dir := filepath.Join(cfg.Dir, "blobs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	err := cfg.DB.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCopies, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailbox: init: %w", err)
	}
	l := &Link{
		cfg: cfg, db: cfg.DB, outbox: cfg.Outbox, log: cfg.Log,
		blobs: blobstore.Store{Dir: dir, Key: cfg.Outbox.Blobs().Key},
		work:  make(chan struct{}, 1), inbox: make(chan struct{}, 1), reconf: make(chan struct{}, 1), retained: make(chan struct{}, 1),
	}
	_, _, err = l.account()
	l.status.Configured = err == nil || errors.Is(err, ErrNoSecret)
	l.status.PendingCopies = len(l.pending())
	return l, nil
}

func (l *Link) now() time.Time {
	if l.cfg.Now != nil {
		return l.cfg.Now()
	}
	return time.Now()
}

// SetNotify sets the tray's hook for receipts and replies.
func (l *Link) SetNotify(f func(Notice)) {
	l.mu.Lock()
	l.notify = f
	l.mu.Unlock()
}

func (l *Link) tell(n Notice) {
	l.mu.Lock()
	f := l.notify
	l.mu.Unlock()
	if f != nil {
		f(n)
	}
}

// Status is the link's state now.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Link) setStatus(change func(*Status)) {
	l.mu.Lock()
	change(&l.status)
	l.mu.Unlock()
}

// fail records an error for the status view: English in the log, Danish
// for the clerk.
func (l *Link) fail(err error, danish string) {
	at := l.now().UTC()
	l.log.Warn("mailbox link", "err", err)
	l.setStatus(func(s *Status) { s.LastError, s.LastErrorAt = danish, &at })
}

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Changed is the outbox's OnChange: a send whose status changed may now
// be due for its copy.
func (l *Link) Changed(relayapi.MessageStatus) { kick(l.work) }

// watchPending looks now and then whether a send waiting for its copy
// has become final, in case no OnChange said so (its status was read by
// some other path). It reads only the local database.
// With nothing pending it sleeps until Retain records a send: an idle
// agent wakes no CPU for it.
func (l *Link) watchPending(ctx context.Context) {
	for {
		ids := l.pending()
		var tick <-chan time.Time
		if len(ids) > 0 {
			tick = time.After(2 * time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-l.retained:
			continue
		case <-tick:
		}
		for _, id := range ids {
			e, err := l.outbox.Get(id)
			if err != nil {
				continue
			}
			if final, _ := copyable(e.Status()); final || e.State == outbox.StateDone {
				kick(l.work)
				break
			}
		}
	}
}

// Reconfigure makes the link pick up a changed account or secret. A removed
// account drops the copies still waiting: the user chose to have none.
func (l *Link) Reconfigure() {
	if _, _, err := l.account(); err != nil && !errors.Is(err, ErrNoSecret) {
		for _, id := range l.pending() {
			if r, ok := l.record(id); ok {
				l.finish(id, r, copyDropped)
			}
		}
		l.setStatus(func(s *Status) { s.Configured, s.Connected, s.PendingCopies = false, false, 0 })
	}
	kick(l.reconf)
}

// SetSecret stores the account's password or token in the OS keyring (an
// empty one deletes it) and reconnects with it.
func (l *Link) SetSecret(secret string) error {
	if err := SaveSecret(l.cfg.Secrets, secret); err != nil {
		return err
	}
	kick(l.reconf)
	return nil
}

// errNoAccount means no account is set up.
var errNoAccount = errors.New("mailbox: no account set up")

func (l *Link) account() (settings.MailAccount, string, error) {
	st, err := l.cfg.Settings.Get()
	if err != nil {
		return settings.MailAccount{}, "", err
	}
	if st.MailAccount == nil {
		return settings.MailAccount{}, "", errNoAccount
	}
	a, err := Normalize(*st.MailAccount)
	if err != nil {
		return a, "", err
	}
	secret, err := LoadSecret(l.cfg.Secrets)
	return a, secret, err
}

// commandTimeout bounds one round of copies and INBOX reading (an APPEND
// of a 100 MB send over a slow line included).
const commandTimeout = 15 * time.Minute

// errReconfigured ends a session so the next one uses the new account.
var errReconfigured = errors.New("mailbox: account changed")

// Run keeps the link up until ctx ends: connect, copy, watch; on any
// failure wait (1 s, doubling to MaxBackoff, with jitter) and connect again.
func (l *Link) Run(ctx context.Context) {
	go l.watchPending(ctx)
	backoff := time.Second
	for ctx.Err() == nil {
		a, secret, err := l.account()
		if err != nil {
			configured := errors.Is(err, ErrNoSecret)
			l.setStatus(func(s *Status) { s.Configured, s.Connected, s.Watching = configured, false, "" })
			if configured {
				l.fail(err, "Adgangskoden eller tokenet til postkassen mangler. Angiv den under Indstillinger.")
			}
			select {
			case <-ctx.Done():
				return
			case <-l.reconf:
			}
			continue
		}
		l.setStatus(func(s *Status) { s.Configured = true })
		started := l.now()
		err = l.session(ctx, a, secret)
		l.setStatus(func(s *Status) { s.Connected, s.Watching = false, "" })
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errReconfigured) {
			backoff = time.Second
			continue
		}
		l.fail(err, danish(err, a))
		if l.now().Sub(started) > time.Minute {
			backoff = time.Second
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, l.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-l.reconf:
			backoff = time.Second
		case <-t.C:
		}
		t.Stop()
	}
}

// danish says what went wrong in the clerk's words.
func danish(err error, a settings.MailAccount) string {
	var ie *imap.Error
	var ne net.Error
	var ue *UserError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ue):
		return ue.Message
	case errors.As(err, &ce):
		return "Postkassens certifikat kunne ikke bekræftes (" + a.Server + "). Send sikkert forbinder ikke uden sikker forbindelse. Kontakt IT."
	case errors.Is(err, errAuth):
		return "Postkassen afviste login. Kontrollér brugernavn og adgangskode (eller token) under Indstillinger."
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		return "Postkassen (" + a.Server + ") kan ikke nås. Send sikkert prøver igen automatisk; sikre forsendelser sendes som normalt."
	case errors.As(err, &ie):
		return "Postkassen svarede med en fejl: " + ie.Text + ". Send sikkert prøver igen automatisk."
	}
	return "Forbindelsen til postkassen blev afbrudt. Send sikkert prøver igen automatisk; sikre forsendelser sendes som normalt."
}

var errAuth = errors.New("mailbox: login refused")

func (l *Link) dial(a settings.MailAccount) (*imapclient.Client, error) {
	var tcfg *tls.Config
	if l.cfg.TLS != nil {
		tcfg = l.cfg.TLS.Clone()
	} else {
		tcfg = &tls.Config{}
	}
	if tcfg.ServerName == "" {
		tcfg.ServerName = a.Server
	}
	if tcfg.MinVersion == 0 {
		tcfg.MinVersion = tls.VersionTLS12
	}
	opts := &imapclient.Options{
		TLSConfig: tcfg,
		Dialer:    &net.Dialer{Timeout: 20 * time.Second, KeepAlive: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					kick(l.inbox)
				}
			},
		},
	}
	var c *imapclient.Client
	var err error
	switch a.TLS {
	case TLSImplicit:
		c, err = imapclient.DialTLS(addr(a), opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(addr(a), opts)
	default:
		c, err = imapclient.DialInsecure(addr(a), opts)
	}
	if err != nil {
		return nil, fmt.Errorf("mailbox: connect %s: %w", addr(a), err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailbox: greeting: %w", err)
	}
	return c, nil
}

func login(c *imapclient.Client, a settings.MailAccount, secret string) error {
	var err error
	if sc := saslClient(a, secret); sc != nil {
		err = c.Authenticate(sc)
	} else {
		err = c.Login(a.User, secret).Wait()
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%w: %s", errAuth, ie.Text)
	}
	return err
}

// session is one connection: log in, then copy and watch until something
// breaks.
func (l *Link) session(ctx context.Context, a settings.MailAccount, secret string) error {
	c, err := l.dial(a)
	if err != nil {
		return err
	}
	// Close on the way out, and at once when ctx ends (unblocks IDLE).
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	if err := login(c, a, secret); err != nil {
		return err
	}
	idle := (c.Caps().Has(imap.CapIdle) || c.Caps().Has(imap.CapIMAP4rev2)) && !l.cfg.ForcePoll
	watching := "poll"
	if idle {
		watching = "idle"
	}
	l.setStatus(func(s *Status) { s.Connected, s.Watching, s.LastError, s.LastErrorAt = true, watching, "", nil })
	l.log.Info("mailbox link connected", "server", addr(a), "watching", watching)
	s := &session{link: l, c: c, acct: a}
	poll := l.cfg.PollInterval
	for {
		// Drain before looking, so a change during the look wakes us again.
		select {
		case <-l.inbox:
		default:
		}
		select {
		case <-l.work:
		default:
		}
		// A server that stops answering mid-command must not hang the
		// link: the watchdog closes the connection and the link reconnects.
		dog := time.AfterFunc(commandTimeout, func() { c.Close() })
		err := s.copies(ctx)
		var found bool
		if err == nil {
			found, err = s.scanInbox(ctx)
		}
		dog.Stop()
		if err != nil {
			return err
		}
		at := l.now().UTC()
		l.setStatus(func(st *Status) { st.LastSync, st.PendingCopies = &at, len(l.pending()) })
		if idle {
			if err := s.idle(ctx); err != nil {
				return err
			}
			continue
		}
		if found {
			poll = l.cfg.PollInterval
		} else if poll = poll * 2; poll > l.cfg.MaxPoll {
			poll = l.cfg.MaxPoll
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-l.reconf:
			t.Stop()
			return errReconfigured
		case <-l.work:
			// Copies first; the mark is kept so the inbox is looked at
			// on the next round as well.
			kick(l.work)
		case <-t.C:
		case <-c.Closed():
		}
		t.Stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// idle waits in IDLE on INBOX for new mail, work or a change of account.
func (s *session) idle(ctx context.Context) error {
	cmd, err := s.c.Idle()
	if err != nil {
		return fmt.Errorf("mailbox: IDLE: %w", err)
	}
	// Restart IDLE well inside servers' 30-minute limit.
	t := time.NewTimer(20 * time.Minute)
	defer t.Stop()
	var reconf bool
	select {
	case <-ctx.Done():
	case <-s.link.inbox:
		kick(s.link.inbox)
	case <-s.link.work:
		kick(s.link.work)
	case <-s.link.reconf:
		reconf = true
	case <-t.C:
	case <-s.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("mailbox: IDLE: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("mailbox: IDLE: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if reconf {
		return errReconfigured
	}
	return nil
}
