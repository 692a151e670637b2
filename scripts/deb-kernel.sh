#!/bin/bash
# The patched kernel as Debian packages (linux-image-RELEASE and
# linux-headers-RELEASE), made by the kernel's own `make bindeb-pkg` in the
# build directory kernel/build.sh keeps ($HOSTDEVD_CACHE/kernel/build-VARIANT).
#
#   scripts/deb-kernel.sh [--variant lab] [OUTDIR]     (default OUTDIR: build-deb)
#
# It never builds a kernel: bindeb-pkg in a warm build directory only
# packages what is there, a cold one would be a second full build (~20 min
# on 2 cores).  So it insists that the build directory made the output
# kernel/build.sh has for the current inputs, and says what to run if not.
# lintian runs on the packages (deb-kernel.lintian-suppress: what is
# accepted of bindeb-pkg's packaging, and why).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
variant=lab
out=$top/build-deb
while [ $# -gt 0 ]; do
    case $1 in
    --variant) variant=$2; shift ;;
    --variant=*) variant=${1#*=} ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "deb-kernel.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1 ;;
    esac
    shift
done
out=$(realpath -m "$out")
cache=${HOSTDEVD_CACHE:-/var/cache/hostdevd}/kernel
build=$cache/build-$variant

die() { echo "deb-kernel.sh: $*" >&2; exit 1; }
log() { echo "deb-kernel.sh: $*" >&2; }

paths=$("$top/kernel/build.sh" --variant "$variant" --print-paths 2>/dev/null) \
    || die "no $variant kernel is built for the current kernel/ inputs; run kernel/build.sh --variant $variant first"
bzimage=$(sed -n 's/^BZIMAGE=//p' <<<"$paths")
kout=$(dirname "$bzimage")
release=$(cat "$kout/kernelrelease")

# One kernel build at a time (kernel/build.sh takes the same lock): the
# build directory must not change under bindeb-pkg.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -n 9 || { log "waiting for a kernel build to finish"; flock 9; }

# The build directory holds the last build of the variant; if that is not
# the current output, bindeb-pkg would rebuild.
cmp -s "$build/.config" "$kout/config" && cmp -s "$build/arch/x86/boot/bzImage" "$bzimage" \
    || die "$build is not the build of $kout (another configuration was built since); run kernel/build.sh --variant $variant --force to rebuild it"

# No "-" in the version: bindeb-pkg passes what follows the last "-" as
# KBUILD_BUILD_VERSION, which would relink vmlinux with a new "#N".  The
# suffix is the kernel's build time, so that a newer build upgrades an older
# one and the same build always gets the same version.
version="$release+hostdevd.$(date -u -r "$bzimage" +%Y%m%d%H%M)"
log "packaging linux-image-$release $version from $build"
rm -f "$cache"/linux-*.deb "$cache"/linux-hostdevd_*.{buildinfo,changes}
start=$(date +%s)
# make in the O= directory (its Makefile points at the source): the
# packaging happens in $build/debian, the packages land in $build/.. ($cache).
if ! (make -C "$build" -j"$(nproc)" \
        KDEB_PKGVERSION="$version" KDEB_SOURCENAME=linux-hostdevd \
        KDEB_CHANGELOG_DIST=bookworm \
        DEBEMAIL="maintainers@users.noreply.h-seed-aad9f9ab.example" \
        DEBFULLNAME="hostdevd maintainers" \
        bindeb-pkg) > "$cache/deb-$variant.log" 2>&1; then
    tail -n 30 "$cache/deb-$variant.log" >&2
    die "bindeb-pkg failed; full log in $cache/deb-$variant.log"
fi
cmp -s "$build/arch/x86/boot/bzImage" "$bzimage" \
    || log "WARNING: bindeb-pkg rebuilt the kernel; the package holds a newer build than $bzimage"
rm -rf "$build/debian"

mkdir -p "$out"
rm -f "$out"/linux-image-*.deb "$out"/linux-headers-*.deb
# linux-libc-dev is left out: it would replace Debian's own, which glibc's
# headers are built against.
mv "$cache"/linux-image-"$release"_*.deb "$cache"/linux-headers-"$release"_*.deb "$out"/
rm -f "$cache"/linux-libc-dev_*.deb "$cache"/linux-hostdevd_*.{buildinfo,changes}
log "packaged in $(( $(date +%s) - start )) s:"
ls -l "$out"/linux-image-"$release"_*.deb "$out"/linux-headers-"$release"_*.deb >&2

# lintian: the tags bindeb-pkg's packaging always draws, and why they are
# accepted, are in deb-kernel.lintian-suppress; anything else fails.
lintian --fail-on error,warning --suppress-tags-from-file "$top/scripts/deb-kernel.lintian-suppress" \
    "$out"/linux-image-"$release"_*.deb "$out"/linux-headers-"$release"_*.deb \
    || die "lintian found problems in the kernel packages (above)"
log "lintian: no errors or warnings but the accepted ones (scripts/deb-kernel.lintian-suppress)"
echo "KERNEL_DEBS=$(ls "$out"/linux-image-"$release"_*.deb "$out"/linux-headers-"$release"_*.deb | tr '\n' ' ')"
