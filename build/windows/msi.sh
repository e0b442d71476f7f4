#!/usr/bin/env bash
# msi.sh VERSION BINDIR OUT: builds the per-machine MSI from msi/sendsikkert.wxs with wixl, then sets
# with msibuild what wixl's XML reader cannot express: the component conditions of the policy defaults
# (written only when RELAY / RELAYCA are given) and the properties a silent, elevated install may pass
# from the command line (SecureCustomProperties).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=$1 bindir=$(cd "$2" && pwd) out=$3
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
# wixl reads File sources relative to the working folder only.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$bindir" "$work/bin"
ln -s "$here/policy" "$work/policy"
(cd "$work" && wixl -a x64 -D Version="$version" -D BinDir=bin -D PolicyDir=policy -o "$out" "$here/msi/sendsikkert.wxs")
msibuild "$out" -q "UPDATE \`Component\` SET \`Condition\` = 'RELAY' WHERE \`Component\` = 'PolicyRelay'"
msibuild "$out" -q "UPDATE \`Component\` SET \`Condition\` = 'RELAYCA' WHERE \`Component\` = 'PolicyRelayCA'"
msibuild "$out" -q "UPDATE \`Property\` SET \`Value\` = 'OLDERFOUND;NEWERFOUND;RELAY;RELAYCA;PORT;PURGE' WHERE \`Property\` = 'SecureCustomProperties'"
echo "$out"
