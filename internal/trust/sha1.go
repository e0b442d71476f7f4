package trust

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// sha1Hex is the SHA-1 thumbprint Windows and macOS tools show.
func sha1Hex(ca CA) string {
	sum := sha1.Sum(ca.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
