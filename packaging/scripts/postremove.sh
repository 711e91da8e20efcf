#!/bin/sh
# Remove keeps the backups' journal (/var/lib/cloudkeep), the config and the
# credentials in /etc/cloudkeep; purge removes them, the links that enable
# the units, the administrator's drop-ins for them, and the cloudkeep user.
# The watched folders are never touched.
# dpkg calls it with "remove", "purge" or "upgrade NEW-VERSION" (and more),
# rpm with the number of versions left installed (0: erase, 1: upgrade);
# rpm has no purge: an erase keeps the data like a remove.
set -e
root="${DPKG_ROOT:-}"
if [ "$1" = "purge" ]; then
	rm -rf "$root/var/lib/cloudkeep" "$root/etc/cloudkeep"
	rm -f "$root"/etc/systemd/system/*.wants/cloudkeep.service "$root"/etc/systemd/system/*.wants/cloudkeep-accounts.service
	# The administrator's drop-ins (systemctl edit): a later install would
	# bring them back, a low-port capability grant included.
	rm -rf "$root/etc/systemd/system/cloudkeep.service.d" "$root/etc/systemd/system/cloudkeep-accounts.service.d"
	# userdel also removes the user's group, unless another user is in it.
	for db in passwd:userdel group:groupdel; do
		grep -q '^cloudkeep:' "$root/etc/${db%:*}" 2>/dev/null || continue
		if [ -n "$root" ]; then "${db#*:}" --prefix "$root" cloudkeep; else "${db#*:}" cloudkeep; fi ||
			echo "cloudkeep: purge left the cloudkeep entry of /etc/${db%:*}: ${db#*:} cloudkeep removes it" >&2
	done
fi
# The account server's accounts database and its user (cloudkeep-accounts).
if [ "$1" = "purge" ]; then
	rm -rf "$root/var/lib/cloudkeep-accounts"
	for db in passwd:userdel group:groupdel; do
		grep -q '^cloudkeep-accounts:' "$root/etc/${db%:*}" 2>/dev/null || continue
		if [ -n "$root" ]; then "${db#*:}" --prefix "$root" cloudkeep-accounts; else "${db#*:}" cloudkeep-accounts; fi ||
			echo "cloudkeep: purge left the cloudkeep-accounts entry of /etc/${db%:*}: ${db#*:} cloudkeep-accounts removes it" >&2
	done
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
