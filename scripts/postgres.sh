#!/usr/bin/env bash
# Sourced by scripts/test.sh and bench/run.sh: a throwaway PostgreSQL
# cluster in a temp dir, listening on 127.0.0.1 only, owned by the postgres
# user (PostgreSQL refuses to run as root), stopped on exit by stop_pg
# (installed as the EXIT trap; a caller that sets its own trap calls it).
# Installs Debian's postgresql when run as root and it is missing. Exports
# SENDSIKKERT_PG_DSN for the relay's store tests and benchmarks; a
# database given that way from outside is used as it is. Exports
# SENDSIKKERT_PG_BIN (PostgreSQL's bin folder) for test/e2e's
# TestFaultPostgresDown, which stops and starts a throwaway cluster of its
# own with it (stopping this shared one would break the store tests that
# run in parallel).
stop_pg() { :; }
if [ -z "${SENDSIKKERT_PG_DSN:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$pgbin" ] && [ "$(id -u)" = 0 ]; then
    echo "== installing Debian package: postgresql"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends postgresql >/dev/null
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  fi
  if [ -n "$pgbin" ]; then
    export SENDSIKKERT_PG_BIN="$pgbin"
    pgdir=$(mktemp -d /tmp/sendsikkert-pg.XXXXXX)
    as_pg() { "$@"; }
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$pgdir"
      as_pg() { runuser -u postgres -- "$@"; }
    fi
    as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --no-sync >"$pgdir/initdb.log"
    pgport=""
    for p in $(shuf -i 20000-60000 -n 5); do
      if as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
          -o "-k $pgdir -p $p -h 127.0.0.1 -c max_connections=200" start >/dev/null; then
        pgport=$p; break
      fi
    done
    if [ -z "$pgport" ]; then cat "$pgdir/server.log"; echo "PostgreSQL did not start"; exit 1; fi
    stop_pg() { as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
    trap stop_pg EXIT
    as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres sendsikkert_test
    export SENDSIKKERT_PG_DSN="postgres://postgres@127.0.0.1:$pgport/sendsikkert_test?sslmode=disable"
    echo "== PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pgport (relay store tests)"
  else
    echo "!! PostgreSQL not installed (run as root to install): its relay store tests skip"
  fi
fi
