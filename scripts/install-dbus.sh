#!/usr/bin/env bash
# Installs dbus-daemon when missing: the tests of desktop notifications and
# of NetworkManager's metered property start a private bus of their own
# (internal/dbustest). Needs root (CI runs as root); elsewhere it says what
# to run.
set -euo pipefail

if command -v dbus-daemon >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-dbus: the D-Bus tests skip; install it as root: sudo $0" >&2
	exit 0
fi
echo "install-dbus: installing dbus-daemon..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dbus-daemon >/dev/null
