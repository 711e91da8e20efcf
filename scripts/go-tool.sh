#!/usr/bin/env bash
# go-tool.sh NAME MODULE/PATH@VERSION
# Installs a pinned Go program into .cache/bin/NAME. Builds are kept in
# ~/.cache/cloudkeep/bin (or $CLOUDKEEP_CACHE/bin) under NAME@VERSION, so a
# fresh clone on the same machine reuses them instead of building again.
set -euo pipefail

name="$1"
pkg="$2"
version="${pkg##*@}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.cache/bin"
shared="${CLOUDKEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudkeep}/bin"
cached="$shared/$name@$version"

mkdir -p "$dest" "$shared"
if [ ! -x "$cached" ]; then
	echo "go-tool: building $name $version (first time only)..." >&2
	tmp="$(mktemp -d "$shared/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$pkg"
	mv -f "$tmp/$(basename "${pkg%@*}")" "$cached"
fi
if ! cmp -s "$cached" "$dest/$name"; then
	cp -f "$cached" "$dest/$name.tmp"
	mv -f "$dest/$name.tmp" "$dest/$name"
fi
