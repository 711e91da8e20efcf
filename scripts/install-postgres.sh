#!/usr/bin/env bash
# Installs Debian's postgresql package when its initdb is missing, for the
# tests that start a throwaway PostgreSQL of their own (internal/pgtest).
# The package's own cluster is not wanted: it is stopped and kept from
# starting again. Needs root (CI runs as root); elsewhere it says what to
# run, and those tests skip.
set -euo pipefail

if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-postgres: the PostgreSQL tests skip; install it as root: sudo $0" >&2
	exit 0
fi

echo "install-postgres: installing postgresql..." >&2
# No service starts during the install (policy-rc.d 101: "action not
# allowed"), whether or not systemd runs the machine.
policy=/usr/sbin/policy-rc.d
had_policy=0
if [ -e "$policy" ]; then had_policy=1; fi
if [ "$had_policy" = 0 ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null

# Stop the package's cluster if it started anyway, and keep it from
# starting at boot: the tests run their own.
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters --no-header 2>/dev/null | while read -r version name _; do
		pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true
		echo manual >"/etc/postgresql/$version/$name/start.conf"
	done
fi
