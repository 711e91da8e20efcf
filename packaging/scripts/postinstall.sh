#!/bin/sh
# Gives the state directory (all of it) and the config to the cloudkeep
# user. On an upgrade it restarts the services that run, so that they run
# the new binary; a reinstall after a remove starts the services still
# enabled; a fresh install enables and starts nothing.
# dpkg calls it with "configure OLD-VERSION" (OLD-VERSION empty on a fresh
# install), rpm with the number of installed versions (1: fresh, 2: upgrade).
# DPKG_ROOT is set when dpkg installs into another root: the ids come from
# that root, and no service is touched.
set -e
root="${DPKG_ROOT:-}"
ids="$(grep '^cloudkeep:' "$root/etc/passwd" | cut -d: -f3,4)"
# The whole state directory: a file a root command made there (a journal
# before the first start) would stop the agent, and systemd's
# StateDirectory= repairs owners only when the folder itself is wrong.
chown -R "$ids" "$root/var/lib/cloudkeep"
chmod 0700 "$root/var/lib/cloudkeep"
# An administrator may delete a config the machine does not use (dpkg then
# leaves it deleted): only the configs that exist are given their group.
if [ -e "$root/etc/cloudkeep/config.yaml" ]; then
	chgrp "${ids#*:}" "$root/etc/cloudkeep/config.yaml"
fi
# The account server reads its config as cloudkeep-accounts.
if [ -e "$root/etc/cloudkeep/account.yaml" ]; then
	chgrp "$(grep '^cloudkeep-accounts:' "$root/etc/passwd" | cut -d: -f4)" "$root/etc/cloudkeep/account.yaml"
fi

upgrade=no
case "$1" in
configure) [ -z "$2" ] || upgrade=yes ;;
[2-9] | [1-9][0-9]*) upgrade=yes ;;
esac

systemd=no
[ -n "$root" ] || [ ! -d /run/systemd/system ] || systemd=yes
if [ "$systemd" = yes ]; then
	systemctl daemon-reload || true
fi
if [ "$systemd" = yes ] && [ -e /run/cloudkeep.reinstall ]; then
	# A reinstall after a remove (preinstall left the mark): the remove
	# stopped the units; start those still enabled.
	rm -f /run/cloudkeep.reinstall
	for unit in cloudkeep.service cloudkeep-accounts.service; do
		if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
			systemctl start "$unit" || echo "cloudkeep: $unit did not start: see journalctl -u $unit" >&2
		fi
	done
elif [ "$upgrade" = yes ] && [ "$systemd" = yes ]; then
	for unit in cloudkeep.service cloudkeep-accounts.service; do
		systemctl try-restart "$unit" || echo "cloudkeep: $unit did not restart: see journalctl -u $unit" >&2
	done
elif [ "$upgrade" = no ] && [ -z "$root" ] && [ "$systemd" = no ]; then
	echo "cloudkeep: edit /etc/cloudkeep/config.yaml; this system has no systemd: have its init system run" \
		"cloudkeep run --config /etc/cloudkeep/config.yaml as the cloudkeep user"
elif [ "$upgrade" = no ]; then
	echo "cloudkeep: edit /etc/cloudkeep/config.yaml, then: systemctl enable --now cloudkeep"
	echo "cloudkeep: to run the account service here: edit /etc/cloudkeep/account.yaml, then: systemctl enable --now cloudkeep-accounts"
fi
