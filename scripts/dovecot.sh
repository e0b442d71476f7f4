#!/usr/bin/env bash
# Sourced by scripts/test.sh (and bench/run.sh): a throwaway Dovecot IMAP
# server for the mailbox link's tests (internal/mailbox). Installs Debian's
# dovecot-imapd when run as root and it is missing. Dovecot runs as the
# current user from a temporary config: IMAP on 127.0.0.1 only, STARTTLS
# required before login (test certificate made here, signed by a test CA),
# passwords from a static passdb, Maildir under the temp dir. Exports
#   SENDSIKKERT_DOVECOT_ADDR  127.0.0.1:PORT
#   SENDSIKKERT_DOVECOT_CA    the test CA (PEM) the tests trust
#   SENDSIKKERT_DOVECOT_PASS  the password of every test user
#   SENDSIKKERT_DOVECOT_CONF  the config, so a test can stop and restart it
# and chains stop_dovecot into stop_pg (scripts/postgres.sh), which the
# callers' EXIT traps run.
stop_dovecot() { :; }
if [ -z "${SENDSIKKERT_DOVECOT_ADDR:-}" ]; then
  if ! command -v dovecot >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing Debian package: dovecot-imapd"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends dovecot-imapd >/dev/null
    # The package starts a system-wide Dovecot where it can; the tests
    # need none.
    (command -v invoke-rc.d >/dev/null && invoke-rc.d dovecot stop || dovecot stop) >/dev/null 2>&1 || true
  fi
  if command -v dovecot >/dev/null && command -v openssl >/dev/null; then
    dvdir=$(mktemp -d /tmp/sendsikkert-dovecot.XXXXXX)
    chmod 755 "$dvdir"
    (
      cd "$dvdir"
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=Send sikkert test CA" -keyout ca.key -out ca.crt >/dev/null 2>&1
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out server.crt >/dev/null 2>&1
      rm -f ca.key server.csr
    )
    dvuser=$(id -un); dvgroup=$(id -gn); dvlogin=$dvuser; dvuid=$(id -u); dvgid=$(id -g)
    if [ "$(id -u)" = 0 ]; then
      # Dovecot's login and mail processes refuse to run as root: as root,
      # they run as the package's own users.
      dvlogin=dovenull; dvuid=$(id -u dovecot); dvgid=$(id -g dovecot)
      mkdir -p "$dvdir/mail" "$dvdir/home"; chown dovecot: "$dvdir/mail" "$dvdir/home"
    fi
    dvpass="dovecot-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    dvport=""
    for p in $(shuf -i 20000-60000 -n 5); do
      cat >"$dvdir/dovecot.conf" <<EOF
base_dir = $dvdir/run
state_dir = $dvdir/state
log_path = $dvdir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$dvdir/server.crt
ssl_key = <$dvdir/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = $dvuser
default_internal_group = $dvgroup
default_login_user = $dvlogin
first_valid_uid = 1
mail_location = maildir:$dvdir/mail/%u
mail_privileged_group =
passdb {
  driver = static
  args = password=$dvpass
}
userdb {
  driver = static
  args = uid=$dvuid gid=$dvgid home=$dvdir/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $p
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
service auth {
  user = $dvuser
}
service auth-worker {
  user = $dvuser
}
EOF
      if dovecot -c "$dvdir/dovecot.conf" 2>>"$dvdir/start.log"; then
        for _ in $(seq 50); do
          (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && { dvport=$p; break; }
          sleep 0.1
        done
      fi
      [ -n "$dvport" ] && break
      dovecot -c "$dvdir/dovecot.conf" stop >/dev/null 2>&1 || true
    done
    if [ -z "$dvport" ]; then
      cat "$dvdir/start.log" "$dvdir/dovecot.log" 2>/dev/null
      echo "Dovecot did not start"; exit 1
    fi
    stop_dovecot() { dovecot -c "$dvdir/dovecot.conf" stop >/dev/null 2>&1 || true; sleep 0.2; rm -rf "$dvdir"; }
    export SENDSIKKERT_DOVECOT_ADDR="127.0.0.1:$dvport" SENDSIKKERT_DOVECOT_CA="$dvdir/ca.crt" \
      SENDSIKKERT_DOVECOT_PASS="$dvpass" SENDSIKKERT_DOVECOT_CONF="$dvdir/dovecot.conf"
    echo "== Dovecot $(dovecot --version | awk '{print $1}') on $SENDSIKKERT_DOVECOT_ADDR, STARTTLS (mailbox link tests)"
  else
    echo "!! Dovecot not installed (run as root to install): its mailbox link tests skip"
  fi
fi
# Chain into stop_pg, which the EXIT traps call; keep what it did before.
if declare -f stop_pg >/dev/null; then
  eval "$(declare -f stop_pg | sed '1s/^stop_pg /stop_pg_before_dovecot /')"
  stop_pg() { stop_dovecot; stop_pg_before_dovecot; }
else
  stop_pg() { stop_dovecot; }
  trap stop_pg EXIT
fi
