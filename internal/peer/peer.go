// Package peer tells who is on the other end of a local connection: the OS
// user that owns the client socket of a loopback TCP connection, or the
// process behind a Unix socket or named pipe.
//
// The loopback port is reachable by every user of a shared host (Remote
// Desktop, Citrix, AVD). Host, Origin and CSRF checks stop web pages, not a
// local user, who can simply read the page that carries the token. The
// only answer is to ask the OS who opened the connection, before a single
// byte is read or written: Linux's /proc/net/tcp{,6}, Windows'
// GetExtendedTcpTable and the owning process's token, macOS's sysctl
// net.inet.tcp.pcblist_n.
package peer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// User identifies an OS account: the numeric uid on Unix ("1000"), the SID
// on Windows ("S-1-5-21-…"). It is never a name a client claimed.
type User string

// ErrUnsupported is returned where the platform gives no way to learn a
// TCP peer's user (see owner_other.go).
var ErrUnsupported = errors.New("peer: finding the user of a TCP peer is not supported on this platform")

// ErrNotFound means the OS knows no socket for the connection (it closed
// already, or it does not come from this host).
var ErrNotFound = errors.New("peer: no local socket matches the connection")

// Owner returns the OS user owning the client end of c, a TCP connection
// accepted on a loopback address.
func Owner(c net.Conn) (User, error) {
	local, remote, err := endpoints(c)
	if err != nil {
		return "", err
	}
	return tcpOwner(local, remote)
}

// endpoints returns the server's (local) and the client's (remote) address
// of an accepted TCP connection, both loopback.
func endpoints(c net.Conn) (local, remote netip.AddrPort, err error) {
	l, ok1 := c.LocalAddr().(*net.TCPAddr)
	r, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return local, remote, fmt.Errorf("peer: %T is not a TCP connection", c)
	}
	local, remote = l.AddrPort(), r.AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !remote.Addr().IsLoopback() {
		return local, remote, fmt.Errorf("peer: %s is not a loopback peer", remote.Addr())
	}
	return local, remote, nil
}
