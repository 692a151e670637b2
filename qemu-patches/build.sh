#!/bin/bash
# Build hostdevd's QEMU: Debian 12's QEMU source with qemu-patches/series.
#
#   qemu-patches/build.sh [--print-paths] [--fetch] [--force]
#
# --print-paths: print the paths of the cached build, fail if there is none.
# --fetch: only what needs apt (build dependencies, the deb-src entry, the
#          source download), so that a build started in the background
#          later never contends for apt's locks (`make lab-deps` runs it).
#
# The source comes from apt (`apt-get source qemu`, the version Debian 12
# ships; a deb-src entry is added when the machine has none). Only what the
# lab and a passthrough host need is built: qemu-system-x86_64 with KVM and
# TCG, no UI, audio or optional libraries (--without-default-features);
# firmware comes from Debian's packages, as for Debian's own binary.
#
# Everything lives outside the checkout in ${HOSTDEVD_CACHE:-/var/cache/hostdevd}/qemu:
#   dl/                the .dsc and tarballs apt downloaded
#   src-<debver>/      the unpacked source (Debian's patches applied by
#                      dpkg-source) with our series applied on top
#   build/             the meson build dir, kept so a patch change rebuilds
#                      only the files it touches
#   out/<hash>/qemu-system-x86_64, qemu-system-x86-hostdevd_<ver>_amd64.deb,
#              build.log
# <hash> = sha256 of the source version, the series and its patches and this
# script. A warm run only prints paths. The last two lines are always
# QEMU=... and QEMU_DEB=... (eval-able).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HOSTDEVD_CACHE:-/var/cache/hostdevd}/qemu
jobs=${HOSTDEVD_JOBS:-$(nproc)}
print_only=0 force=0 fetch_only=0

while [ $# -gt 0 ]; do
    case $1 in
    --print-paths) print_only=1 ;;
    --force) force=1 ;;
    --fetch) fetch_only=1 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "build.sh: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

# What the build needs besides a compiler: dpkg-source, meson and the few
# libraries a featureless qemu-system-x86_64 links (glib, pixman, zlib, fdt).
build_deps="dpkg-dev ninja-build meson pkg-config python3 libglib2.0-dev libpixman-1-dev
            zlib1g-dev libfdt-dev"
name=qemu-system-x86-hostdevd

# The series: non-comment lines of qemu-patches/series, in order.
series_file=$here/series
mapfile -t patches < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$series_file")
for p in "${patches[@]}"; do [ -f "$here/patches/$p" ] || die "series lists missing patch $p"; done
series_hash=$( { cat "$series_file"; for p in "${patches[@]}"; do cat "$here/patches/$p"; done; } \
               | sha256sum | cut -c1-16)

# The source version apt would fetch: the candidate of Debian 12's qemu.
# Without a deb-src entry apt knows no source package; add one made from
# the machine's own Debian sources (same mirrors, same keys).
src_sources=/etc/apt/sources.list.d/hostdevd-deb-src.sources
srcver() { { apt-cache showsrc qemu 2>/dev/null || true; } | sed -n 's/^Version: //p' | sort -V | tail -n 1; }
ver=$(srcver)
if [ -z "$ver" ] && [ "$print_only" = 0 ]; then
    [ "$(id -u)" = 0 ] || die "apt has no source for qemu; as root, build.sh adds a deb-src entry"
    base=/etc/apt/sources.list.d/debian.sources
    [ -f "$base" ] || die "no deb-src for qemu and no $base to derive one from"
    log "adding $src_sources (deb-src of $base)"
    sed 's/^Types:.*/Types: deb-src/' "$base" > "$src_sources"
    apt-get update -q >/dev/null || die "apt-get update failed"
    ver=$(srcver)
fi
[ -n "$ver" ] || die "apt knows no source package qemu (deb-src missing?)"

hash=$( { echo "$ver $series_hash"; cat "$0"; } | sha256sum | cut -c1-16)
out=$cache/out/$hash
debver=${ver#*:}+hostdevd1
deb=$out/${name}_${debver}_amd64.deb

print_paths() {
    echo "QEMU=$out/qemu-system-x86_64"
    echo "QEMU_DEB=$deb"
}

if [ "$force" = 0 ] && [ "$fetch_only" = 0 ] && [ -x "$out/qemu-system-x86_64" ] && [ -f "$deb" ]; then
    log "up to date ($hash, qemu $ver)"
    print_paths
    exit 0
fi
[ "$print_only" = 1 ] && die "no QEMU built for the current inputs ($out); run qemu-patches/build.sh"

missing=$(for p in $build_deps; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null \
          | grep -q '^install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || die "missing build dependencies (as root: apt-get install" $missing")"
    log "installing" $missing
    apt-get install -y -q --no-install-recommends $missing >/dev/null || die "apt-get install failed"
fi

mkdir -p "$cache/dl" "$cache/out"
exec 9>"$cache/.lock"
flock -n 9 || { log "waiting for another QEMU build to finish"; flock 9; }

# --- source tree -----------------------------------------------------------
src=$cache/src-${ver//[^A-Za-z0-9.+-]/_}
dsc=$cache/dl/qemu_${ver#*:}.dsc
if [ ! -f "$dsc" ]; then
    log "fetching qemu $ver with apt-get source"
    # apt downloads as _apt where it can write; it verified the files
    # against the signed Sources index.
    id _apt >/dev/null 2>&1 && chown _apt "$cache/dl"
    (cd "$cache/dl" && apt-get source -q --download-only "qemu=$ver" >/dev/null) \
        || die "apt-get source qemu=$ver failed"
fi
[ "$fetch_only" = 1 ] && { log "qemu $ver fetched; build dependencies installed"; exit 0; }
if [ ! -f "$src/.hostdevd-unpacked" ]; then
    log "unpacking $dsc"
    rm -rf "$src" "$src.tmp" "$cache/build"
    # (dpkg-source's own signature check has no Debian keyring to use; apt
    # checked the files already.)
    dpkg-source -q -x "$dsc" "$src.tmp" > "$cache/unpack.log" 2>&1 \
        || { cat "$cache/unpack.log" >&2; die "dpkg-source -x $dsc failed"; }
    touch "$src.tmp/.hostdevd-unpacked"
    mv "$src.tmp" "$src"
fi

# Swap the applied series for the wanted one by reverse-applying the old one,
# so untouched files keep their mtimes and the build dir stays warm.
applied=$src/.hostdevd-applied
if [ "$(cat "$applied/hash" 2>/dev/null)" != "$series_hash" ]; then
    if [ -f "$applied/list" ]; then
        log "reverting previously applied series"
        tac "$applied/list" | while read -r p; do
            patch -d "$src" -p1 -R -s --no-backup-if-mismatch < "$applied/$p" \
                || die "could not revert $p; delete $src to start clean"
        done
    fi
    rm -rf "$applied"; mkdir -p "$applied"
    for p in "${patches[@]}"; do
        log "applying $p"
        patch -d "$src" -p1 -s --no-backup-if-mismatch --forward < "$here/patches/$p" \
            || die "patch $p does not apply to qemu $ver"
        cp "$here/patches/$p" "$applied/$p"
        echo "$p" >> "$applied/list"
    done
    echo "$series_hash" > "$applied/hash"
fi

# --- build -----------------------------------------------------------------
tmpout=$out.tmp
rm -rf "$tmpout"; mkdir -p "$tmpout"
build=$cache/build
# Debian's firmware path (debian/rules), so the binary finds SeaBIOS, the
# option ROMs and iPXE from Debian's qemu-system-data, seabios and ipxe-qemu.
# (meson reconfigures by itself when a patch touches a meson.build.)
if [ ! -f "$build/build.ninja" ]; then
    rm -rf "$build"; mkdir -p "$build"
    log "configuring in $build"
    (cd "$build" && "$src/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
        --target-list=x86_64-softmmu --without-default-features --disable-docs \
        --enable-kvm --enable-tcg --enable-fdt=system --disable-werror \
        --extra-cflags=-Werror=implicit-function-declaration) > "$tmpout/build.log" 2>&1 \
        || { tail -n 30 "$tmpout/build.log" >&2; rm -rf "$build"; die "configure failed"; }
fi
log "building qemu-system-x86_64 with -j$jobs, log: $tmpout/build.log"
start=$(date +%s)
if ! ninja -C "$build" -j"$jobs" qemu-system-x86_64 >> "$tmpout/build.log" 2>&1; then
    tail -n 40 "$tmpout/build.log" >&2
    die "QEMU build failed; full log in $tmpout/build.log"
fi
# Warnings in the files the series touches are ours to fix.
touched=$(for p in "${patches[@]}"; do sed -n 's|^+++ b/\(.*\.[ch]\)$|\1|p' "$here/patches/$p"; done | sort -u)
for f in $touched; do
    if grep -F "$f" "$tmpout/build.log" | grep -q 'warning:'; then
        grep -F "$f" "$tmpout/build.log" | grep 'warning:' >&2
        die "the build warns in $f, which the series touches"
    fi
done
install -m 0755 -s "$build/qemu-system-x86_64" "$tmpout/qemu-system-x86_64"
"$tmpout/qemu-system-x86_64" -version | head -n 1 > "$tmpout/version"

# --- the host package ------------------------------------------------------
# Installs next to Debian's QEMU, not over it: domains choose it with
# <emulator>/usr/bin/qemu-system-x86_64-hostdevd</emulator>. It needs
# Debian's QEMU for its firmware and data.
pkg=$tmpout/pkg
doc=$pkg/usr/share/doc/$name
mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin" "$doc" "$pkg/usr/share/man/man1"
cp "$tmpout/qemu-system-x86_64" "$pkg/usr/bin/qemu-system-x86_64-hostdevd"
cp "$here/patches/"*.patch "$doc/"
cp "$here/qemu-system-x86_64-hostdevd.1" "$pkg/usr/share/man/man1/"
gzip -9n "$doc/"*.patch "$pkg/usr/share/man/man1/"*.1
cat > "$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: qemu
Comment: Debian's qemu $ver with the hostdevd patches in this directory.

Files: *
Copyright: 2003-2022 Fabrice Bellard and the QEMU Project developers
License: GPL-2
 On Debian systems the full text of the GNU General Public License version 2
 is in /usr/share/common-licenses/GPL-2.
EOF
printf '%s (%s) bookworm; urgency=medium\n\n  * Debian qemu %s with qemu-patches/series (%s).\n\n -- %s  %s\n' \
    "$name" "$debver" "$ver" "${#patches[@]} patches" "hostdevd developers <hostdevd@lists.invalid>" \
    "$(date -R -d @"$(stat -c %Y "$series_file")")" | gzip -9n > "$doc/changelog.Debian.gz"
# dpkg-shlibdeps wants a debian/control to sit next to.
mkdir -p "$tmpout/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: amd64\n' "$name" "$name" > "$tmpout/shlibs/debian/control"
depends=$(cd "$tmpout/shlibs" && dpkg-shlibdeps -O "$pkg/usr/bin/qemu-system-x86_64-hostdevd" \
          | sed -n 's/^shlibs:Depends=//p') || die "dpkg-shlibdeps failed"
cat > "$pkg/DEBIAN/control" <<EOF
Package: $name
Version: $debver
Architecture: amd64
Maintainer: hostdevd developers <hostdevd@lists.invalid>
Depends: ${depends:+$depends, }qemu-system-x86 (>= 1:7.2)
Section: otherosfs
Priority: optional
Description: QEMU x86_64 that reports host requests for VFIO devices
 Debian's QEMU $ver with hostdevd's series: a
 VFIO_DEVICE_REQUEST QMP event when the host kernel asks for an assigned
 device back, a VFIO_DEVICE_UNPLUG_FAILED event with the reason when the
 unplug cannot start, no repeated attention-button presses while an
 unplug is pending, and a surprise removal (VFIO_DEVICE_REVOKED) when the
 host kernel revokes the device. Installed as /usr/bin/qemu-system-x86_64-hostdevd next
 to Debian's QEMU (KVM and TCG, no UI or audio); libvirt domains use it
 through <emulator>.
EOF
dpkg-deb --root-owner-group -Zxz -b "$pkg" "$tmpout/$(basename "$deb")" >/dev/null \
    || die "dpkg-deb failed"
rm -rf "$pkg" "$tmpout/shlibs"
echo "$(( $(date +%s) - start ))" > "$tmpout/build-seconds"
rm -rf "$out"; mv "$tmpout" "$out"
ln -sfn "$out" "$cache/current"   # stable name for humans; scripts use the output below
log "built $(cat "$out/version") in $(cat "$out/build-seconds") s"
print_paths
