#!/bin/sh
# Waits until gnome-keyring owns org.freedesktop.secrets on the session bus.
# `gnome-keyring-daemon --unlock` returns before it has claimed the name; a
# client that calls in that gap makes D-Bus start a second daemon, and the
# two write the same login keyring ("invalid or unrecognized format").
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "gnome-keyring did not claim org.freedesktop.secrets within 10 s" >&2
    exit 1
  fi
  sleep 0.1
done
