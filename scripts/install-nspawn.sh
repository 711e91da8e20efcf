#!/usr/bin/env bash
# Installs systemd-nspawn and debootstrap when missing, then builds once the
# Debian bookworm root file system the package tests boot under a real
# systemd (internal/nspawntest): ~/.cache/cloudkeep/rootfs/bookworm (or
# $CLOUDKEEP_CACHE/rootfs/bookworm). The root is built in a temporary
# directory and renamed when complete, so an interrupted build is never
# taken for a cache; a stamp inside it names what it holds, and a change of
# the package list below builds it again.
# Needs root (CI runs as root); elsewhere it says what to run.
set -euo pipefail

suite=bookworm
include=systemd,systemd-sysv,dbus,libpam-systemd
stamp="debootstrap --variant=minbase --include=$include $suite"

cache="${CLOUDKEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudkeep}/rootfs"
dest="$cache/$suite"
if [ "$(cat "$dest/.cloudkeep-rootfs" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-nspawn: the container tests skip; build their root as root: sudo $0" >&2
	exit 0
fi

if ! command -v systemd-nspawn >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
	echo "install-nspawn: installing systemd-container and debootstrap..." >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap >/dev/null
fi

# The Debian mirror apt already uses (deb822 .sources or one-line .list),
# else the default one.
mirror="$(awk -v suite="$suite" '
	/^URIs:/ { uris = $2 }
	/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uris != "") { print uris; exit } }
	/^deb / { for (i = 2; i < NF; i++) if ($i ~ /^[a-z]+:\/\// && $(i + 1) == suite) { print $i; exit } }
	/^$/ { uris = "" }
' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null | head -n 1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

echo "install-nspawn: building the $suite root from $mirror (about 2 minutes, first time only)..." >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
	{ tail -n 20 "$tmp.log" >&2; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
echo "$stamp" >"$tmp/.cloudkeep-rootfs"
chmod 0755 "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
