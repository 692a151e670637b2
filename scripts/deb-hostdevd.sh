#!/bin/bash
# The hostdevd Debian package, built with debhelper (debian/: dh + meson)
# from the working tree, then checked with lintian.
#
#   scripts/deb-hostdevd.sh [OUTDIR]        (default: build-deb)
#
# dpkg-buildpackage writes its results next to the source directory, so the
# tree (what git tracks and new files it does not ignore: never a build
# directory) is copied to OUTDIR/hostdevd-VERSION first; the .deb, .buildinfo
# and .changes land in OUTDIR.  Build log: OUTDIR/hostdevd-build.log.  Fails
# on any lintian error or warning (debian/hostdevd.lintian-overrides says
# which tags are accepted, and why).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/build-deb}")
die() { echo "deb-hostdevd.sh: $*" >&2; exit 1; }

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$out/hostdevd-$version
mkdir -p "$out"
rm -rf "$src" "$out"/hostdevd_*_* "$out"/hostdevd-dbgsym_*_*
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard) |
    while IFS= read -r -d '' f; do
        # Tracked but deleted in the working tree: not part of it.
        [ -e "$top/$f" ] || [ -L "$top/$f" ] || continue
        mkdir -p "$src/$(dirname "$f")"
        cp -a "$top/$f" "$src/$f"
    done

dpkg-checkbuilddeps "$src/debian/control" || die "missing build dependencies (scripts/install-deps.sh ops)"
echo "deb-hostdevd.sh: building hostdevd $version in $src" >&2
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") > "$out/hostdevd-build.log" 2>&1; then
    tail -n 40 "$out/hostdevd-build.log" >&2
    die "dpkg-buildpackage failed; full log in $out/hostdevd-build.log"
fi
rm -rf "$src"
changes=$(ls "$out"/hostdevd_"$version"_*.changes)
ls -l "$out"/hostdevd_"$version"_*.deb >&2

# -I: informational tags are shown too, but only warnings and errors fail.
lintian -I --fail-on error,warning "$changes" || die "lintian found problems in $changes (above)"
echo "deb-hostdevd.sh: lintian: no errors or warnings" >&2
echo "HOSTDEVD_DEB=$(ls "$out"/hostdevd_"$version"_*.deb)"
