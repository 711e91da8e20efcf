#!/bin/sh
# Stops the services when the package is removed, not when it is upgraded
# (the new version's postinstall restarts them). On a system without
# systemd it removes the System V service `cloudkeep service install`
# wrote (it stops the agent first), while the binary is still there.
# dpkg calls it with "remove" or "upgrade NEW-VERSION", rpm with the number
# of versions left installed (0: erase, 1: upgrade).
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac
if [ ! -d /run/systemd/system ]; then
	if grep -qx '# Written by cloudkeep service install' /etc/init.d/cloudkeep 2>/dev/null; then
		/usr/bin/cloudkeep service uninstall ||
			echo "cloudkeep: could not remove its System V service: stop the agent, then remove /etc/init.d/cloudkeep and /etc/rc?.d/*cloudkeep" >&2
	fi
	exit 0
fi
for unit in cloudkeep.service cloudkeep-accounts.service; do
	if [ "$1" = 0 ]; then
		# rpm has no purge: nothing else would remove the links.
		systemctl disable --now "$unit" 2>/dev/null || true
	else
		systemctl stop "$unit" 2>/dev/null || true
	fi
done
