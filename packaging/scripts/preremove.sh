#!/bin/sh
# Stops the services when the package is removed, not when it is upgraded
# (the new version's postinstall restarts them).
# dpkg calls it with "remove" or "upgrade NEW-VERSION", rpm with the number
# of versions left installed (0: erase, 1: upgrade).
set -e
[ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] || exit 0
case "$1" in
remove | 0)
	for unit in cloudkeep.service cloudkeep-accounts.service; do
		if [ "$1" = 0 ]; then
			# rpm has no purge: nothing else would remove the links.
			systemctl disable --now "$unit" 2>/dev/null || true
		else
			systemctl stop "$unit" 2>/dev/null || true
		fi
	done
	;;
esac
