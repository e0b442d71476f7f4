//go:build !windows && !darwin

package door

// DefaultRunDir holds the doors' control sockets: a folder only root can
// write, so no user can put a socket there and pose as the door.
const DefaultRunDir = "/run/sendsikkert"

// DefaultStateDir holds the door's machine certificate.
const DefaultStateDir = "/var/lib/sendsikkert-door"
