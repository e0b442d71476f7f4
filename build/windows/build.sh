#!/usr/bin/env bash
# Builds the Windows installer on Linux: cross-compiles both programs and
# runs makensis. Signing (optional): set SIGN_CERT and SIGN_KEY (PEM) to
# sign binaries and installer with osslsigncode.
set -euo pipefail
cd "$(dirname "$0")/../.."
# ONE version string, MAJOR.MINOR.PATCH (what an MSI ProductVersion can
# carry): VERSION, or the latest vX.Y.Z tag, or 1.0.0. It goes into every
# exe (-X sendsikkert/internal/version.String, shown by --version, /healthz
# and both manifests' <Version>), their version resources (.syso from
# versionres), the MSI's ProductVersion and the NSIS installer.
version="${VERSION:-$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null | sed 's/^v//' || true)}"
version="${version:-1.0.0}"
if ! echo "$version" | grep -Eq '^[0-9]{1,5}\.[0-9]{1,5}\.[0-9]{1,5}$'; then
  echo "build.sh: VERSION must be MAJOR.MINOR.PATCH, not $version" >&2; exit 1
fi
nsis_version="$version"
out=bin/windows
mkdir -p "$out"
ldflags="-H=windowsgui -X sendsikkert/internal/version.String=$version"
# The version resources, linked by go build for windows/amd64 only, and
# removed again so the tree stays clean.
sysos=(cmd/sendsikkert/rsrc_windows_amd64.syso cmd/sendsikkert-window/rsrc_windows_amd64.syso)
trap 'rm -f "${sysos[@]}"' EXIT
go run ./build/windows/versionres -version "$version" -name sendsikkert.exe -description "Send sikkert" -out "${sysos[0]}"
go run ./build/windows/versionres -version "$version" -name sendsikkert-window.exe -description "Send sikkert – vindue" -out "${sysos[1]}"
# The shipped agent: no demo relay at all (-tags nodemo), and a
# GUI-subsystem program (-H=windowsgui) so autostart opens no console; its
# subcommands attach to the console they are run from.
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags nodemo -ldflags "$ldflags" -o "$out/sendsikkert.exe" ./cmd/sendsikkert
if [ -d cmd/sendsikkert-window ]; then
  # The Wails tags make the real window (without them Wails builds a stub
  # that only says it was built wrong); -H=windowsgui: no console window.
  # Wails needs no cgo on Windows.
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags desktop,production,nodemo -ldflags "$ldflags" \
    -o "$out/sendsikkert-window.exe" ./cmd/sendsikkert-window
else
  echo "cmd/sendsikkert-window missing" >&2; exit 1
fi
sign() {
  [ -n "${SIGN_CERT:-}" ] || return 0
  osslsigncode sign -certs "$SIGN_CERT" -key "$SIGN_KEY" -h sha256 -t http://timestamp.digicert.com -in "$1" -out "$1.signed" && mv "$1.signed" "$1"
}
sign "$out/sendsikkert.exe"; sign "$out/sendsikkert-window.exe"
(cd build/windows && makensis -V2 -DVERSION="$nsis_version" -DBINDIR="..\\..\\$out" installer.nsi)
mv "build/windows/Sendsikkert-setup-$nsis_version.exe" "$out/"
sign "$out/Sendsikkert-setup-$nsis_version.exe"
echo "$out/Sendsikkert-setup-$nsis_version.exe"
# The MSI (wixl, Debian wixl/msitools) of the same programs: what IT deploys
# with Intune, Configuration Manager or Group Policy.
bash build/windows/msi.sh "$nsis_version" "$out" "$out/Sendsikkert-$nsis_version.msi"
sign "$out/Sendsikkert-$nsis_version.msi"
