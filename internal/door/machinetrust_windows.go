package door

import "sendsikkert/internal/trust"

// defaultTrust: the door service runs as SYSTEM and trusts its CA in
// LocalMachine\Root for every user, without a prompt.
func defaultTrust() MachineTrust { return trust.MachineRoot{} }
