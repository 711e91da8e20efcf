#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing.
# Needs root (CI runs as root); elsewhere it says what to run.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-chromium: chromium is missing; the browser tests skip. Install it with: sudo apt-get install -y chromium" >&2
	exit 0
fi
echo "install-chromium: installing Debian's chromium (about a minute)..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
