//go:build !linux && !darwin && !windows

package peer

import (
	"net/netip"
	"os"
	"strconv"
)

// Supported reports whether Owner works on this platform.
const Supported = false

func tcpOwner(server, client netip.AddrPort) (User, error) { return "", ErrUnsupported }

// Self is the user this process runs as.
func Self() (User, error) { return User(strconv.Itoa(os.Geteuid())), nil }
