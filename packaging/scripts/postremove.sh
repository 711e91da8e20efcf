#!/bin/sh
# Backed-up data and the journal stay unless the package is purged.
set -e
root="${DPKG_ROOT:-}"
if [ "$1" = "purge" ]; then
	rm -rf "$root/var/lib/cloudkeep"
	if grep -q '^cloudkeep:' "$root/etc/passwd" 2>/dev/null; then
		if [ -n "$root" ]; then userdel --prefix "$root" cloudkeep || true; else userdel cloudkeep || true; fi
	fi
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
