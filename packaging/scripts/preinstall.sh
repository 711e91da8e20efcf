#!/bin/sh
# Creates the cloudkeep system users. DPKG_ROOT is set when dpkg installs
# into another root (dpkg --root with --force-script-chrootless). A group
# of the user's name that an administrator made first becomes the user's.
set -e
root="${DPKG_ROOT:-}"

# add_user NAME HOME COMMENT creates the system user NAME unless it exists.
add_user() {
	grep -q "^$1:" "$root/etc/passwd" 2>/dev/null && return 0
	group=--user-group
	if grep -q "^$1:" "$root/etc/group" 2>/dev/null; then
		group="--gid $1"
	fi
	# shellcheck disable=SC2086 # $group is one or two words
	if [ -n "$root" ]; then
		useradd --prefix "$root" --system $group --home-dir "$2" --no-create-home \
			--shell /usr/sbin/nologin --comment "$3" "$1"
	else
		useradd --system $group --home-dir "$2" --no-create-home \
			--shell /usr/sbin/nologin --comment "$3" "$1"
	fi
}

add_user cloudkeep /var/lib/cloudkeep "cloudkeep backup agent"
# The account server's system user (cloudkeep-accounts.service).
add_user cloudkeep-accounts /var/lib/cloudkeep-accounts "cloudkeep account service"

# dpkg's "install OLD-VERSION" installs over a removed package whose
# configs were kept: postinstall then starts the units still enabled.
if [ "$1" = install ] && [ -n "${2:-}" ] && [ -z "$root" ] && [ -d /run/systemd/system ]; then
	: >/run/cloudkeep.reinstall
fi
