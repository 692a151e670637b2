#!/bin/bash
# Build the nested guest's (L2) initramfs: busybox-static and tests/lab/nested/init
# in a gzip'd newc cpio. Cached in ${HOSTDEVD_CACHE:-/var/cache/hostdevd}/nested
# by a hash of init, this script and the busybox binary; prints INITRAMFS=<path>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
cache=${HOSTDEVD_CACHE:-/var/cache/hostdevd}/nested
# Only a static busybox works in an initramfs without libc.
case $(ldd "$busybox" 2>&1 || true) in
*"not a dynamic"*) ;;
*) echo "mkinitramfs.sh: $busybox is not static (install busybox-static)" >&2; exit 1 ;;
esac
hash=$(cat "$here/init" "$0" "$busybox" | sha256sum | cut -c1-16)
out=$cache/initramfs-$hash.cpio.gz
if [ ! -f "$out" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys"
    cp "$busybox" "$tmp/bin/busybox"
    install -m 755 "$here/init" "$tmp/init"
    # /dev/console must exist before devtmpfs is mounted for init's output.
    mknod -m 600 "$tmp/dev/console" c 5 1
    (cd "$tmp" && find . | sort | cpio -o -H newc --quiet -R 0:0 | gzip -9) > "$out.tmp"
    mv "$out.tmp" "$out"
fi
echo "INITRAMFS=$out"
