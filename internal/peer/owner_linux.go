package peer

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Supported reports whether Owner works on this platform.
const Supported = true

// procNetFiles are the kernel's TCP socket tables. A client may reach an
// IPv4 listener from an IPv6 (dual-stack) socket, which the kernel lists
// in tcp6 with an IPv4-mapped address, so both are searched.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

func tcpOwner(server, client netip.AddrPort) (User, error) {
	for _, f := range procNetFiles {
		table, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return "", err
		}
		u, err := procNetOwner(table, client, server)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return u, err
	}
	return "", ErrNotFound
}

// Self is the user this process runs as.
func Self() (User, error) {
	return User(strconv.Itoa(os.Geteuid())), nil
}

// UnixOwner returns the user of the process at the other end of a Unix
// socket, from the kernel (SO_PEERCRED): the credentials the peer had when
// it connected or, seen from the client, when the server called listen.
func UnixOwner(c *net.UnixConn) (User, int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return "", 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return "", 0, err
	}
	if serr != nil {
		return "", 0, serr
	}
	return User(strconv.FormatUint(uint64(cred.Uid), 10)), int(cred.Pid), nil
}
