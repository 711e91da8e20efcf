#!/usr/bin/env bash
# Installs the pinned MinIO server used by the tests and the demo into
# .cache/bin/minio. The build is cached in ~/.cache/cloudkeep/bin so that a
# fresh clone on the same machine reuses it instead of building again.
set -euo pipefail

version="v0.0.0-20260212201848-7aac2a2c5b7c"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.cache/bin"
shared="${CLOUDKEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudkeep}/bin"
stamp="minio-$version"

mkdir -p "$dest" "$shared"
if [ -x "$dest/minio" ] && [ -f "$dest/$stamp" ]; then
	exit 0
fi
if [ ! -x "$shared/minio" ] || [ ! -f "$shared/$stamp" ]; then
	echo "install-minio: building MinIO $version (first time only, several minutes)..." >&2
	tmp="$(mktemp -d "$shared/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go install "github.com/minio/minio@$version"
	mv -f "$tmp/minio" "$shared/minio"
	rm -f "$shared"/minio-v*
	touch "$shared/$stamp"
fi
cp -f "$shared/minio" "$dest/minio.tmp"
mv -f "$dest/minio.tmp" "$dest/minio"
rm -f "$dest"/minio-v*
touch "$dest/$stamp"
echo "install-minio: $dest/minio" >&2
