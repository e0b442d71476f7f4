package door

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"sendsikkert/internal/peer"
)

// RunDirEnv overrides the folder where an agent looks for the door's
// control socket (tests; a door started with --run-dir).
const RunDirEnv = "SENDSIKKERT_DOOR_DIR"

// JoinConfig is what an agent needs to find its door.
type JoinConfig struct {
	Port int
	// RunDir is the door's run folder; empty means $SENDSIKKERT_DOOR_DIR,
	// else DefaultRunDir.
	RunDir string
	// FallbackDir holds the agent's socket when $XDG_RUNTIME_DIR is unset
	// (the agent's data folder, private to the user).
	FallbackDir string
	Log         *slog.Logger
}

// Place is an agent's registration with a door: requests arrive on
// Listener, in plain HTTP (the door ended TLS), from the door only.
type Place struct {
	Listener net.Listener
	Endpoint string
	// User is this agent's user as the door saw it.
	User peer.User

	cfg    JoinConfig
	self   peer.User
	mu     sync.Mutex
	ctl    net.Conn
	closed bool
	done   chan struct{}
}

// Join registers with the door on cfg.Port. It returns an error wrapping
// ErrNoDoor when no door answers: the agent then binds the port itself.
func Join(ctx context.Context, cfg JoinConfig) (*Place, error) {
	if cfg.RunDir == "" {
		cfg.RunDir = os.Getenv(RunDirEnv)
	}
	if cfg.RunDir == "" {
		cfg.RunDir = DefaultRunDir
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	self, err := peer.Self()
	if err != nil {
		return nil, err
	}
	ctl, du, err := connect(ctx, cfg, self)
	if err != nil {
		return nil, err
	}
	endpoint, ln, err := listenEndpoint(cfg.Port, self, cfg.FallbackDir)
	if err != nil {
		ctl.Close()
		return nil, err
	}
	p := &Place{Endpoint: endpoint, cfg: cfg, self: self, done: make(chan struct{})}
	p.Listener = ln
	if checkEndpointPeers {
		p.Listener = &peerListener{Listener: ln, allow: map[peer.User]bool{self: true, du: true}, log: cfg.Log}
	}
	reply, err := p.hello(ctx, ctl)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.User = peer.User(reply.User)
	p.ctl = ctl
	go p.hold(ctx)
	return p, nil
}

// connect opens the control endpoint and checks, from the OS, that the
// door runs as the machine's service account (or, in tests, as this very
// user): anything else listening there is not our door.
func connect(ctx context.Context, cfg JoinConfig, self peer.User) (net.Conn, peer.User, error) {
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ctl, err := dialControl(dctx, cfg.RunDir, cfg.Port)
	if err != nil {
		return nil, "", err
	}
	du, err := doorUser(ctl)
	if err != nil || (!machineUsers[du] && du != self) {
		ctl.Close()
		return nil, "", fmt.Errorf("door: the control endpoint is served by %q, not by the machine's door (%v)", du, err)
	}
	return ctl, du, nil
}

// hello sends the registration; a door that still holds this user's
// previous agent (killed a moment ago, its connection not yet seen closed)
// is asked again for a few seconds.
func (p *Place) hello(ctx context.Context, ctl net.Conn) (Reply, error) {
	for attempt := 0; ; attempt++ {
		ctl.SetDeadline(time.Now().Add(10 * time.Second))
		if err := writeLine(ctl, Hello{V: Version, Endpoint: p.Endpoint}); err != nil {
			ctl.Close()
			return Reply{}, fmt.Errorf("door: send hello: %w", err)
		}
		line, err := readLine(ctl)
		if err != nil {
			ctl.Close()
			return Reply{}, fmt.Errorf("door: read reply: %w", err)
		}
		r, err := ParseReply(line)
		if err != nil {
			ctl.Close()
			return Reply{}, err
		}
		if r.OK {
			ctl.SetDeadline(time.Time{})
			return r, nil
		}
		ctl.Close()
		if r.Error != ErrCodeRegistered || attempt >= 20 {
			return Reply{}, fmt.Errorf("door: registration refused: %s", r.Error)
		}
		select {
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if ctl, _, err = connect(ctx, p.cfg, p.self); err != nil {
			return Reply{}, err
		}
	}
}

// hold keeps the registration while ctx lives; when the door goes away
// (restarted, updated) it registers again as soon as a door answers.
func (p *Place) hold(ctx context.Context) {
	defer close(p.done)
	for {
		p.mu.Lock()
		ctl := p.ctl
		p.mu.Unlock()
		lost := make(chan struct{})
		go func() {
			var b [1]byte
			ctl.Read(b[:])
			close(lost)
		}()
		select {
		case <-ctx.Done():
			ctl.Close()
			return
		case <-lost:
		}
		ctl.Close()
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		p.cfg.Log.Warn("lost the door; registering again when it answers")
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			c, _, err := connect(ctx, p.cfg, p.self)
			if err != nil {
				continue
			}
			if _, err := p.hello(ctx, c); err != nil {
				p.cfg.Log.Warn("door refused the registration", "err", err)
				continue
			}
			p.mu.Lock()
			p.ctl = c
			p.mu.Unlock()
			p.cfg.Log.Info("registered with the door again")
			break
		}
	}
}

// Close ends the registration and the endpoint.
func (p *Place) Close() error {
	p.mu.Lock()
	p.closed = true
	p.ctl.Close()
	p.mu.Unlock()
	return p.Listener.Close()
}

// peerListener admits only the door and the agent's own user on the
// agent's endpoint (the folder or ACL already keeps others out; this
// holds even if that is ever loosened).
type peerListener struct {
	net.Listener
	allow map[peer.User]bool
	log   *slog.Logger
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		u, err := peerUser(c)
		if err == nil && l.allow[u] {
			return c, nil
		}
		l.log.Warn("refused a connection on the agent's endpoint", "user", u, "err", err)
		c.Close()
	}
}

// IsNoDoor reports whether err means no door answers.
func IsNoDoor(err error) bool { return errors.Is(err, ErrNoDoor) }
