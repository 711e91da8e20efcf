#!/usr/bin/env bash
# nfpm.sh BINARY TARGET VERSION OUTDIR [FORMAT...]
# Builds the .deb and .rpm (or only the FORMATs given) of one linux binary
# from packaging/nfpm.yaml, the one package definition. `make package`,
# goreleaser (a post-build hook) and the package test all build through here.
# TARGET is GOOS_GOARCH[_VARIANT] as goreleaser names it: linux_amd64_v1,
# linux_arm64_v8.0, linux_arm_7; other systems get no package.
set -euo pipefail

bin="$1" target="$2" version="${3#v}" out="$4"
shift 4
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(deb rpm)

IFS=_ read -r goos goarch variant <<<"$target"
[ "$goos" = linux ] || exit 0
# nfpm's names: arm7 becomes armhf (.deb) and armv7hl (.rpm).
[ "$goarch" != arm ] || goarch="arm${variant:-7}"

root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/.cache/bin:$PATH"
command -v nfpm >/dev/null || { echo "nfpm.sh: nfpm is missing: make nfpm installs it" >&2; exit 1; }

# nfpm.yaml names its sources relative to a directory holding the binary,
# packaging/, README.md and LICENSE.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/cloudkeep"
ln -s "$root/packaging" "$work/packaging"
cp "$root/README.md" "$root/LICENSE" "$work/"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
for f in "${formats[@]}"; do
	(cd "$work" && VERSION="$version" GOARCH="$goarch" nfpm package -f packaging/nfpm.yaml -p "$f" -t "$out/")
done
