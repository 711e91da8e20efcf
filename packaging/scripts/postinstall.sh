#!/bin/sh
# Gives the state directory and the config to the cloudkeep user. DPKG_ROOT
# is set when dpkg installs into another root: the ids come from that root.
set -e
root="${DPKG_ROOT:-}"
ids="$(grep '^cloudkeep:' "$root/etc/passwd" | cut -d: -f3,4)"
chown "$ids" "$root/var/lib/cloudkeep"
chmod 0700 "$root/var/lib/cloudkeep"
chgrp "${ids#*:}" "$root/etc/cloudkeep/config.yaml"
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
echo "cloudkeep: edit /etc/cloudkeep/config.yaml, then: systemctl enable --now cloudkeep"
