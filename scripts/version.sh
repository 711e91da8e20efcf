#!/bin/sh
# Prints cloudkeep's version, the one source for the binary's -X, the
# packages and release builds: the tag without its "v" when HEAD is tagged
# (v1.2.0 -> 1.2.0), else 0.0.0+<short commit>, with ".dirty" when the
# tree has uncommitted changes (0.0.0+27ebb04.dirty). Both are valid
# Debian and RPM versions: no "-", which rpm refuses in Version (a
# pre-release tag's "-" becomes "~").
set -eu
cd "$(dirname "$0")/.."
if ! commit=$(git rev-parse --short HEAD 2>/dev/null); then
	echo 0.0.0+unknown
	exit 0
fi
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
	# v1.2.0-rc.1 -> 1.2.0~rc.1: sorts before 1.2.0 for dpkg and rpm alike.
	version=$(echo "${tag#v}" | tr - '~')
else
	version=0.0.0+$commit
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	case $version in
	*+*) version=$version.dirty ;;
	*) version=$version+dirty ;;
	esac
fi
echo "$version"
