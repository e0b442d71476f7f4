package peer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Supported reports whether Owner works on this platform.
const Supported = true

// tcpOwner reads the kernel's TCP socket list, sysctl
// net.inet.tcp.pcblist_n (what netstat reads), and returns the so_uid of
// the client's socket. That sysctl needs no privilege, costs one system
// call and lists every user's sockets, so an agent running as its user
// sees who connected. libproc (proc_pidinfo per process and file) was the
// alternative: it walks every process, and an unprivileged agent may not
// inspect other users' processes at all, so it could only ever answer
// "not found" for the very users it must name.
func tcpOwner(server, client netip.AddrPort) (User, error) {
	for try := 1; ; try++ {
		buf, err := unix.SysctlRaw("net.inet.tcp.pcblist_n")
		// The size asked first has room for an eighth more sockets; a
		// list that outgrew even that is asked for again.
		if errors.Is(err, unix.ENOMEM) && try < 3 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("peer: sysctl net.inet.tcp.pcblist_n: %w", err)
		}
		return pcbListOwner(buf, client, server)
	}
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
