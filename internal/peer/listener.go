package peer

import (
	"errors"
	"net"
	"sync/atomic"
)

// Listener hands out only connections whose peer Allow accepts; every other
// connection is closed at once, before TLS or HTTP see it, so not a byte of
// a page or an API answer reaches it.
type Listener struct {
	net.Listener
	// Allow decides; it sees the peer's user.
	Allow func(User) bool
	// Refused, when set, hears each refusal (user empty when it could not
	// be determined, err then says why). It must not block.
	Refused func(u User, err error)
	// Count of refused connections.
	Count atomic.Int64
}

// Accept returns the next connection from an allowed user.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		u, err := Owner(c)
		if err == nil && l.Allow(u) {
			return c, nil
		}
		if err == nil {
			err = errors.New("peer: another user")
		}
		c.Close()
		l.Count.Add(1)
		if l.Refused != nil {
			l.Refused(u, err)
		}
	}
}

// Only returns an Allow function that accepts exactly u.
func Only(u User) func(User) bool {
	return func(p User) bool { return p == u }
}
