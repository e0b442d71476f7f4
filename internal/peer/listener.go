package peer

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// ErrRefused is what a refused connection's reads and writes return.
var ErrRefused = errors.New("peer: connection from another user refused")

// Listener finds the OS user of every accepted connection. Asking the OS
// takes milliseconds (the kernel walks its whole socket table), so it is
// done beside the accept loop, one goroutine per connection, and the
// connection's first Read or Write waits for the answer: a connection Allow
// refuses is closed before TLS or HTTP read or write a byte of it.
type Listener struct {
	net.Listener
	// Allow decides; nil allows every user whose user is known (the door,
	// which routes by user).
	Allow func(User) bool
	// Refused, when set, hears each refusal (user empty when it could not
	// be determined, err then says why). It must not block.
	Refused func(u User, err error)
	// Count of refused connections.
	Count atomic.Int64

	once sync.Once
	sem  chan struct{}
}

// maxLookups bounds the lookups running at once, so a flood of
// connections costs the host a few cores' worth of table walks at most.
const maxLookups = 4

// Conn is an accepted connection and, once known, its peer's user.
type Conn struct {
	net.Conn
	done chan struct{}
	user User
	err  error
}

// User waits for the lookup and returns the peer's user, or why the
// connection was refused.
func (c *Conn) User() (User, error) {
	<-c.done
	return c.user, c.err
}

func (c *Conn) Read(p []byte) (int, error) {
	if _, err := c.User(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *Conn) Write(p []byte) (int, error) {
	if _, err := c.User(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Accept returns the next connection, a *Conn whose user is being looked
// up.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc := &Conn{Conn: c, done: make(chan struct{})}
	go l.check(pc)
	return pc, nil
}

func (l *Listener) check(c *Conn) {
	defer close(c.done)
	l.once.Do(func() { l.sem = make(chan struct{}, maxLookups) })
	l.sem <- struct{}{}
	u, err := Owner(c.Conn)
	<-l.sem
	if err == nil && (l.Allow == nil || l.Allow(u)) {
		c.user = u
		return
	}
	if err == nil {
		err = ErrRefused
	}
	c.err = err
	c.Conn.Close()
	l.Count.Add(1)
	if l.Refused != nil {
		l.Refused(u, err)
	}
}

// Only returns an Allow function that accepts exactly u.
func Only(u User) func(User) bool {
	return func(p User) bool { return p == u }
}
