// Package version holds a build's one version string. build/windows/build.sh
// sets it for every program it builds:
//
//	go build -ldflags "-X sendsikkert/internal/version.String=1.4.2"
//
// and passes the same string to the MSI (ProductVersion), the NSIS
// installer and the exes' version resources; the agent shows it in
// --version, /healthz and both add-in manifests' <Version>.
package version

import (
	"regexp"
)

// String is the version; a development build says so.
var String = "0.1.0-dev"

var release = regexp.MustCompile(`^([0-9]{1,5})\.([0-9]{1,5})\.([0-9]{1,5})$`)

// Release reports whether String is a release version, MAJOR.MINOR.PATCH
// (what an MSI ProductVersion and a manifest's <Version> can carry).
func Release() bool { return release.MatchString(String) }

// Manifest is the four-part <Version> of an add-in manifest: the release
// version with .0, or, in a development build, contentVersion (the
// manifest's own version, which its fingerprint test keeps honest).
func Manifest(contentVersion string) string {
	if Release() {
		return String + ".0"
	}
	return contentVersion
}
