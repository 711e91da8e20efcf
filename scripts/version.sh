#!/bin/sh
# Prints cloudkeep's version, the one source for the binary's -X, the
# packages and release builds:
#   - on a tagged commit, the tag without its "v" (v1.2.0 -> 1.2.0);
#   - after a tag, the tag, then the commits since it and the commit
#     (1.2.0+3.g9f6f0ba);
#   - before any tag, 0.0.0+<commits>.g<commit> (0.0.0+412.g9f6f0ba);
# with ".dirty" (or "+dirty" on a tag) when the tree has uncommitted
# changes. The count makes dpkg and rpm order builds as the commits go (a
# bare commit hash would not); the hash names the commit. All are valid
# Debian and RPM versions: no "-", which rpm refuses in Version (a
# pre-release tag's "-" becomes "~").
set -eu
cd "$(dirname "$0")/.."
if ! commit=$(git rev-parse --short HEAD 2>/dev/null); then
	echo 0.0.0+unknown
	exit 0
fi
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
	version=${tag#v}
elif described=$(git describe --tags --long --match 'v[0-9]*' HEAD 2>/dev/null); then
	# v1.2.0-3-g9f6f0ba: the tag may hold "-" itself, so cut from the end.
	rest=${described%-g*}
	version=${rest%-*}+${rest##*-}.g$commit
	version=${version#v}
else
	version=0.0.0+$(git rev-list --count HEAD).g$commit
fi
# v1.2.0-rc.1 -> 1.2.0~rc.1: sorts before 1.2.0 for dpkg and rpm alike.
version=$(echo "$version" | tr - '~')
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	case $version in
	*+*) version=$version.dirty ;;
	*) version=$version+dirty ;;
	esac
fi
echo "$version"
