#!/usr/bin/env bash
# Builds the Windows installer on Linux: cross-compiles both programs and
# runs makensis. Signing (optional): set SIGN_CERT and SIGN_KEY (PEM) to
# sign binaries and installer with osslsigncode.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${VERSION:-$(git describe --tags --always 2>/dev/null || echo 0.1.0)}"
nsis_version="$(echo "$version" | grep -Eo '^[0-9]+\.[0-9]+\.[0-9]+' || echo 0.1.0)"
out=bin/windows
mkdir -p "$out"
GOOS=windows GOARCH=amd64 go build -ldflags "-X main.version=$version" -o "$out/sendsikkert.exe" ./cmd/sendsikkert
if [ -d cmd/sendsikkert-window ]; then
  # The Wails tags make the real window (without them Wails builds a stub
  # that only says it was built wrong); -H=windowsgui: no console window.
  # Wails needs no cgo on Windows.
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags desktop,production -ldflags "-H=windowsgui -X main.version=$version" \
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
