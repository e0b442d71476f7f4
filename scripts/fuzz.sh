#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for FUZZTIME (default 20s)
# each. Called by scripts/test.sh; a failure stops the run, and the failing
# input is saved under the package's testdata/fuzz/ to be checked in.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
count=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$file"); do
    echo "-- $dir $target"
    # -parallel 2: the machine has two cores and the rest of the suite
    # has finished by now.
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 "./$dir" 2>&1 | grep -v '^fuzz: elapsed' || exit 1
    count=$((count + 1))
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzzed $count targets for $fuzztime each"
