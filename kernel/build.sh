#!/bin/bash
# Build the hostdevd kernel from Debian's linux-source-6.12, out of tree.
#
#   kernel/build.sh [--variant lab|debug|nested] [--print-paths] [--config-only] [--force]
#
# --print-paths: print the paths of the cached build, fail if there is none.
# --config-only: merge and verify the configuration (seconds), do not build.
#
# Variants (config = base + fragments, merged with merge_config.sh -m):
#   lab     x86_64_defconfig + kvm_guest.config + host.config + lab.config
#   debug   lab + debug.config (KASAN, lockdep) for the race suite
#   nested  tinyconfig + tests/lab/nested/nested.config (the L2 guest kernel)
#
# Everything lives outside the checkout in ${HOSTDEVD_CACHE:-/var/cache/hostdevd}/kernel:
#   src-<debver>/      the unpacked source with kernel/patches/series applied
#   build-<variant>/   the O= build dir, kept so a patch change rebuilds only
#                      the files it touches (~24 s for drivers/vfio/vfio_main.c)
#   out/<variant>-<hash>/bzImage, modules/lib/modules/<release>, config, build.log
# <hash> = sha256 of the linux-source version, the series and its patches, the
# variant's fragments and this script. A warm run (output present) only prints
# paths. The last two lines are always BZIMAGE=... and MODULES=... (eval-able).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${HOSTDEVD_CACHE:-/var/cache/hostdevd}/kernel
tarball=${HOSTDEVD_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=${HOSTDEVD_JOBS:-$(nproc)}
variant=lab print_only=0 force=0 config_only=0

while [ $# -gt 0 ]; do
    case $1 in
    --variant) variant=$2; shift ;;
    --variant=*) variant=${1#*=} ;;
    --print-paths) print_only=1 ;;
    --force) force=1 ;;
    --config-only) config_only=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "build.sh: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

case $variant in
lab)    base="arch/x86/configs/x86_64_defconfig kernel/configs/kvm_guest.config"
        frags="$here/config/host.config $here/config/lab.config" ;;
debug)  base="arch/x86/configs/x86_64_defconfig kernel/configs/kvm_guest.config"
        frags="$here/config/host.config $here/config/lab.config $here/config/debug.config" ;;
nested) base=tinyconfig
        frags="$top/tests/lab/nested/nested.config" ;;
*) die "unknown variant '$variant' (lab, debug, nested)" ;;
esac

# The series: non-comment lines of kernel/patches/series, in order.
series_file=$here/patches/series
mapfile -t patches < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$series_file")
for p in "${patches[@]}"; do [ -f "$here/patches/$p" ] || die "series lists missing patch $p"; done

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) \
    || die "linux-source-6.12 is not installed (run tests/lab/deps.sh)"
[ -f "$tarball" ] || die "$tarball not found"

# Hash of the series alone (decides what is applied to the source tree) and of
# everything that determines the output (decides whether to build at all).
series_hash=$( { cat "$series_file"; for p in "${patches[@]}"; do cat "$here/patches/$p"; done; } | sha256sum | cut -c1-16)
# Fragments by name, not path: every clone of the checkout shares the cache.
hash=$( { echo "$srcver $variant $series_hash"; for f in $frags; do echo "== ${f##*/}"; cat "$f"; done; cat "$0"; } \
        | sha256sum | cut -c1-16)

src=$cache/src-${srcver//[^A-Za-z0-9.+-]/_}
build=$cache/build-$variant
out=$cache/out/$variant-$hash

print_paths() {
    echo "BZIMAGE=$out/bzImage"
    echo "MODULES=$out/modules/lib/modules/$(cat "$out/kernelrelease")"
}

if [ "$force" = 0 ] && [ "$config_only" = 0 ] && [ -f "$out/bzImage" ] && [ -f "$out/kernelrelease" ]; then
    log "up to date ($variant-$hash)"
    [ "$print_only" = 1 ] || ln -sfn "$out" "$cache/$variant"
    print_paths
    exit 0
fi
[ "$print_only" = 1 ] && die "no $variant kernel built for the current inputs ($out); run kernel/build.sh --variant $variant"

mkdir -p "$cache/out"
# Locks: one build per variant (its build directory), and the source tree,
# which every variant reads. The tree is changed (unpacked, a series
# swapped) only under an exclusive lock and read by builds under a shared
# one, so two variants may build at once: make check builds the debug
# kernel at the lowest priority while the lab's single-threaded TCG host
# leaves a core idle. (Converting the lock to shared is not atomic; a build
# of another series that slips in between would swap the tree under us.
# Only a developer building two different series at once could do that.)
exec 8>"$cache/.lock-$variant"
flock -n 8 || { log "waiting for another $variant build to finish"; flock 8; }
exec 9>"$cache/.lock"
applied=$src/.hostdevd-applied
source_ready() {
    [ -f "$src/.hostdevd-unpacked" ] && [ "$(cat "$applied/hash" 2>/dev/null)" = "$series_hash" ]
}
flock -s 9
if ! source_ready; then
    flock -u 9
    flock -n 9 || { log "waiting for other kernel builds to finish"; flock 9; }
fi

# --- source tree -----------------------------------------------------------
if [ ! -f "$src/.hostdevd-unpacked" ]; then
    log "unpacking $tarball"
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
    touch "$src.tmp/.hostdevd-unpacked"
    mv "$src.tmp" "$src"
fi

# Swap the applied series for the wanted one by reverse-applying the old one,
# so untouched files keep their mtimes and the build dir stays warm.
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
            || die "patch $p does not apply to linux-source $srcver"
        cp "$here/patches/$p" "$applied/$p"
        echo "$p" >> "$applied/list"
    done
    echo "$series_hash" > "$applied/hash"
fi
flock -s 9   # the tree is as wanted: other variants may build from it too

# --- configuration ---------------------------------------------------------
mkdir -p "$build"
cd "$src"
if [ "$base" = tinyconfig ]; then
    # tinyconfig, then the fragment, then allnoconfig so that everything not
    # asked for stays off (olddefconfig would turn on defaults).
    make -s O="$build" tinyconfig >/dev/null
    scripts/kconfig/merge_config.sh -m -O "$build" "$build/.config" $frags >/dev/null
    cp "$build/.config" "$build/.hostdevd-allconfig"
    make -s O="$build" KCONFIG_ALLCONFIG="$build/.hostdevd-allconfig" allnoconfig >/dev/null
else
    scripts/kconfig/merge_config.sh -m -O "$build" $base $frags >/dev/null
    make -s O="$build" olddefconfig >/dev/null
fi

# merge_config drops options whose dependencies are unmet without failing:
# check every option of the fragments (later fragments win) in the result.
declare -A want=()
while read -r line; do
    case $line in
    CONFIG_*=*) want[${line%%=*}]=${line#*=} ;;
    "# CONFIG_"*" is not set") o=${line#\# }; want[${o%% *}]=n ;;
    esac
done < <(cat $frags)
bad=()
for o in "${!want[@]}"; do
    got=$(sed -n "s/^$o=//p" "$build/.config")
    case ${want[$o]} in
    n) [ -z "$got" ] || bad+=("$o: wanted unset, got $got") ;;
    *) [ "$got" = "${want[$o]}" ] || bad+=("$o: wanted ${want[$o]}, got ${got:-unset}") ;;
    esac
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'build.sh: option not in the final .config: %s\n' "${bad[@]}" | sort >&2
    die "config fragments not satisfied (unmet dependencies?); see $build/.config"
fi
log "config ok: ${#want[@]} fragment options verified ($build/.config)"
[ "$config_only" = 1 ] && exit 0

# --- build -----------------------------------------------------------------
tmpout=$out.tmp
rm -rf "$tmpout"; mkdir -p "$tmpout"
targets="bzImage"
grep -q '^CONFIG_MODULES=y' "$build/.config" && targets="bzImage modules"
log "building $variant ($targets) with -j$jobs, log: $tmpout/build.log"
start=$(date +%s)
if ! make O="$build" -j"$jobs" $targets > "$tmpout/build.log" 2>&1; then
    tail -n 40 "$tmpout/build.log" >&2
    die "kernel build failed; full log in $tmpout/build.log"
fi
if [ "$targets" != bzImage ]; then
    make -s O="$build" INSTALL_MOD_PATH="$tmpout/modules" INSTALL_MOD_STRIP=1 \
        DEPMOD=/sbin/depmod modules_install >> "$tmpout/build.log" 2>&1
    # Links back into the build dir are useless in a guest image.
    rm -f "$tmpout"/modules/lib/modules/*/build "$tmpout"/modules/lib/modules/*/source
else
    mkdir -p "$tmpout/modules/lib/modules"
fi
warnings=$(grep -ci 'warning:' "$tmpout/build.log" || true)
[ "$warnings" = 0 ] || { grep -i 'warning:' "$tmpout/build.log" | sort -u | head -n 20 >&2
                         log "WARNING: $warnings compiler/kbuild warnings (see build.log)"; }
cp "$build/arch/x86/boot/bzImage" "$tmpout/bzImage"
cp "$build/.config" "$tmpout/config"
make -s O="$build" kernelrelease > "$tmpout/kernelrelease"
echo "$(( $(date +%s) - start ))" > "$tmpout/build-seconds"
rm -rf "$out"; mv "$tmpout" "$out"
ln -sfn "$out" "$cache/$variant"   # stable name for humans; scripts use the output below
log "built $variant in $(cat "$out/build-seconds") s ($(du -h "$out/bzImage" | cut -f1) bzImage)"
print_paths
