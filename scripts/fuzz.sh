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
    # A run that failed without writing a failing input (go's fuzzing
    # coordinator sometimes ends with "context deadline exceeded" on a
    # loaded machine) is tried once more; a found failure is never retried.
    for try in 1 2; do
      out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 "./$dir" 2>&1) && { grep -v '^fuzz: elapsed' <<<"$out"; break; }
      grep -v '^fuzz: elapsed' <<<"$out"
      if [ "$try" = 2 ] || grep -q 'Failing input written\|failure while testing seed corpus' <<<"$out"; then exit 1; fi
      echo "-- $target ended without a failing input; once more"
    done
    count=$((count + 1))
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzzed $count targets for $fuzztime each"
