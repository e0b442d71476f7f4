//go:build !windows

package door

// defaultTrust: on Linux and macOS the door does not touch the system's
// trust store; each user trusts the machine's ca.crt (sendsikkert trust).
func defaultTrust() MachineTrust { return nil }
