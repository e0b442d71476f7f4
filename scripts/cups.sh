#!/usr/bin/env bash
# Sourced by scripts/test.sh: a CUPS print queue "OneTooX" with the
# cups-pdf backend, so the IPP print adapter is tested against a real print
# server. Needs root (cupsd and lpadmin); installs Debian's cups and
# printer-driver-cups-pdf when missing. Exports SENDSIKKERT_CUPS_PRINTER and
# SENDSIKKERT_CUPS_PDF_DIR (where the printed PDFs land).
if [ "$(id -u)" = 0 ]; then
  if ! command -v cupsd >/dev/null || [ ! -x /usr/lib/cups/backend/cups-pdf ]; then
    echo "== installing Debian packages: cups printer-driver-cups-pdf"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends cups printer-driver-cups-pdf >/dev/null
  fi
  cups_out=$(mktemp -d /tmp/sendsikkert-cups-pdf.XXXXXX)
  chmod 0777 "$cups_out"
  # cups-pdf reads /etc/cups/cups-pdf-<name>.conf for the URI cups-pdf:/<name>.
  cat > /etc/cups/cups-pdf-sendsikkert.conf <<CONF
Out $cups_out
AnonDirName $cups_out
Label 0
Log $cups_out
CONF
  # lpstat -r exits 0 either way; its words tell.
  cups_up() { lpstat -r 2>/dev/null | grep -q "is running"; }
  if ! cups_up; then
    cupsd
    for _ in $(seq 50); do cups_up && break; sleep 0.2; done
  fi
  if cups_up; then
    lpadmin -p OneTooX -E -v cups-pdf:/sendsikkert -P /usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd
    cupsenable OneTooX; cupsaccept OneTooX
    export SENDSIKKERT_CUPS_PRINTER="ipp://localhost:631/printers/OneTooX" SENDSIKKERT_CUPS_PDF_DIR="$cups_out"
    echo "== CUPS queue OneTooX (cups-pdf) → $cups_out"
  else
    echo "!! cupsd did not start: IPP print tests skip"
  fi
else
  echo "!! not root: no CUPS queue, IPP print tests skip"
fi
