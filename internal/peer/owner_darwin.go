package peer

import (
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Supported reports whether Owner works on this platform. On macOS the
// socket table that names a TCP socket's owner (sysctl
// net.inet.tcp.pcblist_n, or libproc) is not wrapped by golang.org/x/sys
// and is not done yet: macOS agents do not refuse other local users, and
// say so when they start. Macs are rarely shared hosts.
const Supported = false

func tcpOwner(server, client netip.AddrPort) (User, error) {
	return "", ErrUnsupported
}

// Self is the user this process runs as.
func Self() (User, error) {
	return User(strconv.Itoa(os.Geteuid())), nil
}

// UnixOwner returns the user of the process at the other end of a Unix
// socket (LOCAL_PEERCRED). The pid is not available there and is 0.
func UnixOwner(c *net.UnixConn) (User, int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return "", 0, err
	}
	var cred *unix.Xucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return "", 0, err
	}
	if serr != nil {
		return "", 0, serr
	}
	return User(strconv.FormatUint(uint64(cred.Uid), 10)), 0, nil
}
