#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and as the README says.
# Installs what it needs: Go modules always; Debian packages when run as
# root (xmllint, gnome-keyring, dbus, poppler-utils, qpdf). Then: gofmt, go vet,
# a Windows cross-build, and every Go test — unit tests and the end-to-end
# tests that start the real agent — inside a private D-Bus session with a
# real gnome-keyring and a throwaway HOME. Run as root (as CI does), the
# multi-user tests (test/multiuser) create throwaway OS users with useradd
# and run agents, the door and clients as them; not as root they skip, or
# fail under SENDSIKKERT_REQUIRE_TOOLS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(libxml2-utils gnome-keyring dbus poppler-utils qpdf nsis wixl msitools passwd)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages (run as root to install them): ${missing[*]}"; exit 1
  fi
fi

# A missing test tool is an error, never a skip — on a developer's machine
# as in CI (CI=true or not): a suite that skipped what it could not run
# would pass without having tested.
export SENDSIKKERT_REQUIRE_TOOLS=1

# The MeMo and fjernprint schemas live in schemas/ (package sendsikkert/schemas).

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

echo "== go vet (CGO_ENABLED=0)"
CGO_ENABLED=0 go vet ./...

echo "== cross-build for Windows"
GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/...

echo "== cross-build for macOS (arm64, amd64; no cgo)"
# The macOS peer lookup (internal/peer, sysctl net.inet.tcp.pcblist_n), the
# door and the headless agent are compiled and vetted for both Macs.
# fyne.io/systray reaches AppKit only through cgo, so internal/tray is left
# out and cmd/sendsikkert builds without its tray (desktop_nocgo_darwin.go);
# the Mac release is built on a Mac, with cgo.
darwin_pkgs=$(GOOS=darwin go list ./... | grep -v '^sendsikkert/internal/tray')
darwin_build=$(GOOS=darwin go list -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' $darwin_pkgs)
for arch in arm64 amd64; do
  GOOS=darwin GOARCH=$arch CGO_ENABLED=0 go build $darwin_build
  GOOS=darwin GOARCH=$arch CGO_ENABLED=0 go vet $darwin_pkgs
done

echo "== the shipped build (-tags nodemo): no demo code, no PDF typesetter, no SQLite, no IMAP server, --demo refused"
go build -tags nodemo -o /dev/null ./cmd/sendsikkert
heavy=$(go list -tags nodemo -deps ./cmd/sendsikkert | grep -E '^(sendsikkert/internal/(demo|relay|relayd|letter|attachment/topdf|print)|codeberg\.org/go-pdf/fpdf|github\.com/pdfcpu/pdfcpu|github\.com/yuin/goldmark|golang\.org/x/image|modernc\.org/sqlite|github\.com/emersion/go-imap/v2/imapserver)(/|$)' || true)
if [ -n "$heavy" ]; then
  echo "!! the shipped agent links:"; echo "$heavy"; exit 1
fi
go test -count=1 -tags nodemo -run 'NoDemo|Usage|Version' ./cmd/sendsikkert

# ---- Windows installer (build/windows): makensis on Linux ------------------
echo "== Windows installer (makensis)"
if [ ! -d cmd/sendsikkert-window ]; then
  echo "!! cmd/sendsikkert-window not in this tree: installer not built (the script is still compiled by build/windows's test)"
elif command -v makensis >/dev/null; then
  bash build/windows/build.sh
  # The MSI built from the real programs: its tables, read with msiinfo.
  msi_version=$(ls bin/windows/Sendsikkert-*.msi | sed -n 's/.*Sendsikkert-\(.*\)\.msi$/\1/p' | tail -1)
  SENDSIKKERT_MSI="$PWD/bin/windows/Sendsikkert-$msi_version.msi" SENDSIKKERT_MSI_VERSION="$msi_version" \
    SENDSIKKERT_WINDOWS_BIN="$PWD/bin/windows" go test -count=1 -run 'TestMSI|TestWindowsExecutables' ./build/windows
elif [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then
  echo "makensis (Debian nsis) is required"; exit 1
else
  echo "!! makensis missing: installer not built"
fi
# ---- end Windows installer -------------------------------------------------

# ---- PostgreSQL for the relay store tests (internal/queue/sqlstore) --------
# scripts/postgres.sh starts a throwaway cluster (installing Debian's
# postgresql as root if missing) and exports SENDSIKKERT_PG_DSN.
. scripts/postgres.sh
# A CUPS queue with the cups-pdf backend for the IPP print adapter.
. scripts/cups.sh
# ---- end PostgreSQL --------------------------------------------------------

# ---- Relay fault tests (test/e2e/faults_test.go, issue 15) ------------------
# They run in `go test ./...` below, with the real agent (enrolled, key in the
# gnome-keyring) and the real relay: PostgreSQL stopped and started mid-send
# (a throwaway cluster of their own, from SENDSIKKERT_PG_BIN above), the
# SQLite store locked by a second process, the relay killed with SIGKILL, its
# data folder a small tmpfs filled up (mount: root only), a damaged store
# restored from a backup. About a minute in all.
if [ "$(id -u)" != 0 ] && [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then
  echo "!! not root: TestFaultRelayDiskFull cannot mount its tmpfs and fails (SENDSIKKERT_REQUIRE_TOOLS=1)"
fi
# ---- end relay fault tests ---------------------------------------------------

# ---- Dovecot for the mailbox link tests (internal/mailbox) ----------------
# scripts/dovecot.sh starts a throwaway Dovecot as the current user on
# 127.0.0.1 (STARTTLS, test certificate; installs Debian's dovecot-imapd as
# root if missing), exports SENDSIKKERT_DOVECOT_ADDR and friends, and chains
# its stop into stop_pg, which every EXIT trap here runs.
. scripts/dovecot.sh
# ---- end Dovecot -------------------------------------------------------------

# ---- Desktop: trust stores, tray, window (issue 6) --------------------------
# certutil (libnss3-tools) for the trust tests (internal/trust,
# cmd/sendsikkert); Xvfb, ImageMagick's import and WebKitGTK 4.1 for the GUI
# test (test/gui, build tag gui): the real agent's tray registers with a
# stand-in StatusNotifier host inside a private D-Bus session, its menu starts
# the real Wails window (cgo build), every view renders, screenshots go to
# test-output/screenshots/window/.
desktop_debs=(libnss3-tools xvfb imagemagick libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config gcc)
desktop_missing=()
for p in "${desktop_debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || desktop_missing+=("$p")
done
if ((${#desktop_missing[@]})) && [ "$(id -u)" = 0 ]; then
  echo "== installing Debian packages: ${desktop_missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${desktop_missing[@]}" >/dev/null
fi
if command -v Xvfb >/dev/null && command -v import >/dev/null && command -v dbus-run-session >/dev/null &&
  pkg-config --exists webkit2gtk-4.1 2>/dev/null; then
  echo "== desktop GUI test (Xvfb, tray, Wails window)"
  window_bin="$(mktemp -d)/sendsikkert-window"
  CGO_ENABLED=1 go build -tags desktop,production,webkit2_41 -o "$window_bin" ./cmd/sendsikkert-window
  gui_home=$(mktemp -d)
  # Go's caches stay where they are (read before HOME changes).
  gui_cache=(GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPATH="$(go env GOPATH)")
  env HOME="$gui_home" "${gui_cache[@]}" SENDSIKKERT_WINDOW_BIN="$window_bin" dbus-run-session -- \
    go test -tags gui -count=1 -timeout 10m ./test/gui/ 2>&1 | grep -v 'Failed to set fd limit'
  rm -rf "$gui_home" "$(dirname "$window_bin")"
elif [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then
  echo "the desktop GUI test needs Xvfb, ImageMagick, dbus-run-session and libwebkit2gtk-4.1-dev"; exit 1
else
  echo "!! desktop GUI test skipped (needs Xvfb, ImageMagick, libwebkit2gtk-4.1-dev)"
fi
# ---- end desktop -------------------------------------------------------------

# The keyring lives in a throwaway HOME; keep Go's caches where they are.
export GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPATH="$(go env GOPATH)"
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  echo "== go test ./... (real gnome-keyring in a private D-Bus session)"
  home=$(mktemp -d)
  trap 'rm -rf "$home"; stop_pg' EXIT
  HOME="$home" SENDSIKKERT_REAL_KEYRING=1 dbus-run-session -- sh -c \
    'echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "$0" && exec go test -count=1 -timeout 20m ./...' \
    "$PWD/scripts/keyring-wait.sh" 2>&1 \
    | grep -v 'Failed to set fd limit'
else
  if [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then echo "dbus-run-session and gnome-keyring are required"; exit 1; fi
  echo "== go test ./... (no gnome-keyring: real-keyring tests skip)"
  go test -count=1 -timeout 20m ./...
fi

# Fuzz every Go fuzz target in the tree (func FuzzX in a _test.go file) for
# FUZZTIME each (20 s); the seed corpora in testdata/fuzz already ran above
# as plain tests. A new target is picked up without editing this file.
echo "== go fuzz targets (${FUZZTIME:-20s} each)"
bash scripts/fuzz.sh

# browser_suite NAME DIR BIN_ENV PACKAGE TIMEOUT_MS [TOOL ...]: builds
# PACKAGE, installs the suite's npm packages in DIR and runs its tests in
# Debian's headless Chromium with the binary's path in BIN_ENV. Without
# node, npm, chromium or a further TOOL it is skipped, or fails under CI.
browser_suite() {
  local name=$1 dir=$2 bin_env=$3 pkg=$4 timeout=$5 tool bin_dir
  shift 5
  local missing=()
  for tool in node npm chromium "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if ((${#missing[@]})); then
    if [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then
      echo "$name need: ${missing[*]}"; exit 1
    fi
    echo "!! $name skipped; missing: ${missing[*]}"
    return 0
  fi
  bin_dir="$(mktemp -d)"
  go build -o "$bin_dir/$(basename "$pkg")" "$pkg"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error &&
    env "$bin_env=$bin_dir/$(basename "$pkg")" SENDSIKKERT_CHROMIUM="$(command -v chromium)" \
      node --test --test-concurrency=1 --test-timeout="$timeout" ./*.test.js)
  rm -rf "$bin_dir"
}

# ---- Outlook add-in: browser tests (test/browser) ----------------------------
# The real add-in pages, served by the real agent in demo mode, driven in
# Debian's headless Chromium through playwright-core (never a downloaded
# browser), with Office.js replaced by a shim built on office-addin-mock, and
# axe-core on every pane state. Screenshots land in test-output/screenshots/.
echo "== add-in browser tests (Node test runner, headless Chromium)"
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "== installing Debian package: chromium"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
fi
browser_suite "add-in browser tests" test/browser SENDSIKKERT_AGENT_BIN ./cmd/sendsikkert 600000
# ---- end of the add-in block -------------------------------------------------

# ---- Secure mailbox: browser tests (test/securemailbox) ---------------------
# The recipient pages of the secure mailbox, served by the demo relay with
# the demo secure mailbox (test/securemailbox/server), driven in Debian's
# headless Chromium (installed by the add-in block above) through
# playwright-core: code from the demo SMS file, read, download, reply,
# lockout, revoke, unread-by-deadline alert. Screenshots land in
# test-output/screenshots/securemailbox/.
echo "== secure mailbox browser tests (Node test runner, headless Chromium)"
browser_suite "secure mailbox browser tests" test/securemailbox SENDSIKKERT_SM_SERVER ./test/securemailbox/server 300000
# ---- end of the secure mailbox block ------------------------------------------

# ---- Del sikkert (Word, Excel, PowerPoint): browser tests (test/office) -------
# The share pane served by the real agent in demo mode, in Debian's headless
# Chromium (installed by the Outlook block above) through playwright-core;
# office-addin-mock plays Office, its getFileAsync handing out 4 MB slices of
# .docx/.xlsx/.pptx/.pdf files the tests make (1 KB, 30 MB, 99 MB); each share
# must arrive byte-identical in the demo Digital Post channel. Also: a cut after
# slice 3 resumes, the signature, exempt → letter confirmed → printed, Office
# errors, axe-core. Screenshots: test-output/screenshots/office-*.png. The IPP
# adapter against the CUPS queue (scripts/cups.sh, internal/print/ipp_test.go)
# and the fjernprint XML against its XSD (internal/fjernprint) ran with go test.
echo "== Del sikkert browser tests (test/office)"
browser_suite "Del sikkert browser tests" test/office SENDSIKKERT_AGENT_BIN ./cmd/sendsikkert 600000 openssl
# ---- end of the Del sikkert block ----------------------------------------------

# ---- The relay's OpenAPI document: Redocly lint (test/openapi) ---------------
# @redocly/cli, pinned with its lock file in test/openapi, lints
# internal/relay/openapi.yaml with recommended-strict (every warning an
# error); TestOpenAPIMatchesRouteTable (go test above) checked it against the
# relay's route table.
echo "== OpenAPI lint (Redocly, test/openapi)"
if ! command -v npx >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "== installing Debian package: npm"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends npm >/dev/null
fi
if command -v npm >/dev/null && command -v npx >/dev/null; then
  # No telemetry or update check: the test talks to the npm registry only.
  (cd test/openapi && npm ci --no-audit --no-fund --loglevel=error &&
    REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npm run --silent lint)
elif [ -n "${SENDSIKKERT_REQUIRE_TOOLS:-}" ]; then
  echo "the OpenAPI lint needs npm and npx (Debian: npm)"; exit 1
else
  echo "!! OpenAPI lint skipped: npm/npx missing"
fi
# ---- end of the OpenAPI block --------------------------------------------------
