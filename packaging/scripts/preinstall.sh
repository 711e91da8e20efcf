#!/bin/sh
# Creates the cloudkeep system user. DPKG_ROOT is set when dpkg installs
# into another root (dpkg --root with --force-script-chrootless).
set -e
root="${DPKG_ROOT:-}"
if ! grep -q '^cloudkeep:' "$root/etc/passwd" 2>/dev/null; then
	if [ -n "$root" ]; then
		useradd --prefix "$root" --system --user-group --home-dir /var/lib/cloudkeep --no-create-home \
			--shell /usr/sbin/nologin --comment "cloudkeep backup agent" cloudkeep
	else
		useradd --system --user-group --home-dir /var/lib/cloudkeep --no-create-home \
			--shell /usr/sbin/nologin --comment "cloudkeep backup agent" cloudkeep
	fi
fi

# The account server's system user (cloudkeep-accounts.service).
if ! grep -q '^cloudkeep-accounts:' "$root/etc/passwd" 2>/dev/null; then
	if [ -n "$root" ]; then
		useradd --prefix "$root" --system --user-group --home-dir /var/lib/cloudkeep-accounts --no-create-home \
			--shell /usr/sbin/nologin --comment "cloudkeep account service" cloudkeep-accounts
	else
		useradd --system --user-group --home-dir /var/lib/cloudkeep-accounts --no-create-home \
			--shell /usr/sbin/nologin --comment "cloudkeep account service" cloudkeep-accounts
	fi
fi
