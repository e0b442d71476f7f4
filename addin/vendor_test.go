package addin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing"
)

// MSALVersion is the vendored MSAL.js (pages/vendor/README.md).
const MSALVersion = "5.29.0"

const msalSHA256 = "1b20f9bfbabb2e33801042563761794b7818aa774606e4ed1ccb1ada6a18ce03"

// TestVendoredMSAL: the vendored MSAL.js is the pinned file, unchanged.
func TestVendoredMSAL(t *testing.T) {
	b, err := fs.ReadFile(Pages, "pages/vendor/msal-browser.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("/*! @azure/msal-browser v"+MSALVersion+" ")) {
		t.Fatalf("version line %q", b[:60])
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != msalSHA256 {
		t.Fatalf("msal-browser.min.js SHA-256 %x, pinned %s", sum, msalSHA256)
	}
	if !bytes.Contains(b, []byte("createNestablePublicClientApplication")) {
		t.Fatal("no createNestablePublicClientApplication")
	}
}
