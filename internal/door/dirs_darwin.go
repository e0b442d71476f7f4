package door

// DefaultRunDir holds the doors' control sockets: a folder only root can
// write, so no user can put a socket there and pose as the door. macOS has
// no /run (its system volume is read-only); /var/run is root's.
const DefaultRunDir = "/var/run/sendsikkert"

// DefaultStateDir holds the door's machine certificate, where macOS keeps
// daemons' state (/var/db is root's; /var/lib does not exist there).
const DefaultStateDir = "/var/db/sendsikkert-door"
