#!/bin/bash
# The lab host's (L1) root filesystem, in two steps so that rebuilding
# hostdevd never rebuilds Debian:
#
#   tests/lab/mkrootfs.sh [base]
#       mmdebstrap a minbase bookworm with systemd, libvirt, QEMU, mdevctl, ssh
#       and hostdevd's runtime libraries into an ext4 image (qcow2). Cached in
#       ${HOSTDEVD_CACHE:-/var/cache/hostdevd}/rootfs/base-<hash>/ by a hash of
#       this script (it holds the package list) and the apt sources; a warm
#       run only prints paths. Needs Debian's mirror, nothing else.
#
#   tests/lab/mkrootfs.sh install-overlay [--destdir DIR] [--variant lab|debug] [-o FILE]
#       A qcow2 overlay backed by the base image with the kernel modules of
#       `kernel/build.sh --variant V` and, if given, a DESTDIR tree (hostdevd
#       built with `meson install --destdir DIR`) copied in. Takes seconds.
#
# Output lines are KEY=value (eval-able): BASE, SSH_KEY, OVERLAY.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${HOSTDEVD_CACHE:-/var/cache/hostdevd}/rootfs
sources=${HOSTDEVD_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
size=${HOSTDEVD_ROOTFS_SIZE:-4G}

die() { echo "mkrootfs.sh: $*" >&2; exit 1; }
log() { echo "mkrootfs.sh: $*" >&2; }

packages=(
    # boot, services, login
    systemd systemd-sysv dbus udev kmod iproute2 procps openssh-server
    # what the lab scenarios drive
    polkitd pciutils mdevctl python3 strace
    libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
    qemu-system-x86 seabios
    # update-grub, which the ansible role's reboot handler runs (the lab
    # itself boots with QEMU's -kernel)
    grub2-common
    # hostdevd's runtime libraries (it is installed later, from a DESTDIR)
    libglib2.0-0 libgudev-1.0-0 libjson-glib-1.0-0 libpolkit-gobject-1-0
    libsystemd0 libvirt0
)

[ -f "$sources" ] || die "$sources not found; set HOSTDEVD_APT_SOURCES"
hash=$(cat "$0" "$sources" | sha256sum | cut -c1-16)
base=$cache/base-$hash

# A killed mmdebstrap can leave /proc, /sys, /dev/* mounted inside its root:
# unmount them before deleting, and never let rm cross into another filesystem.
remove_tree() {
    local m
    for m in $(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m"
    done
    rm -rf --one-file-system "$1"
}

build_base() {
    [ "$(id -u)" = 0 ] || die "building the base image needs root (mmdebstrap root mode, chroot)"
    local tmp=$base.tmp root
    remove_tree "$tmp"; mkdir -p "$tmp" "$cache/debs"
    root=$tmp/root
    log "mmdebstrap bookworm (${#packages[@]} packages) into $root"
    local start; start=$(date +%s)
    # Downloaded .debs are kept in $cache/debs so that a changed package list
    # does not download everything again.
    mmdebstrap --variant=minbase --mode=root --format=directory \
        --include="$(IFS=,; echo "${packages[*]}")" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --skip=download/empty \
        --setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives/" \
        --setup-hook="sync-in $cache/debs /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives $cache/debs" \
        --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
        bookworm "$root" "$sources" >&2

    # Root logs in over ssh with a key made for this image only.
    ssh-keygen -q -t ed25519 -N '' -C hostdevd-lab -f "$tmp/id_ed25519"
    install -d -m 700 "$root/root/.ssh"
    install -m 600 "$tmp/id_ed25519.pub" "$root/root/.ssh/authorized_keys"

    # Where a host's GRUB keeps grub.cfg (grub-pc would make it, with a boot
    # loader the lab does not use).
    mkdir -p "$root/boot/grub"

    echo lab > "$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 lab\n' > "$root/etc/hosts"
    # No fsck (e2fsprogs is not installed); each run writes to a throwaway overlay.
    echo '/dev/vda / ext4 rw 0 0' > "$root/etc/fstab"
    : > "$root/etc/machine-id"

    # QEMU user-mode networking (virtio-net) hands out 10.0.2.15 by DHCP. The
    # e1000e NICs are passthrough fodder, not networking: leave them alone.
    cat > "$root/etc/systemd/network/20-lab.network" <<'EOF'
[Match]
Driver=virtio_net
[Network]
DHCP=ipv4
EOF
    # Fallback when ssh does not come up: root shell on the serial console.
    mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
    cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,38400,9600 %I $TERM
EOF
    chroot "$root" systemctl enable -q systemd-networkd.service
    # console=ttyS0 makes systemd start this getty anyway; enabling is belt and braces.
    chroot "$root" systemctl enable -q serial-getty@ttyS0.service || true
    # Nothing periodic may run in the middle of a scenario.
    chroot "$root" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer \
        e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service 2>/dev/null || true
    # libvirt's default NAT network needs dnsmasq, which the lab does not use.
    rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"

    log "making the ext4 image"
    mkfs.ext4 -q -L labroot -d "$root" "$tmp/base.raw" "$size"
    qemu-img convert -O qcow2 "$tmp/base.raw" "$tmp/base.qcow2"
    remove_tree "$root"; rm -f "$tmp/base.raw"
    echo "$(( $(date +%s) - start ))" > "$tmp/build-seconds"
    rm -rf "$base"; mv "$tmp" "$base"
    log "base image built in $(cat "$base/build-seconds") s ($(du -h "$base/base.qcow2" | cut -f1))"
}

# Write files into a qcow2 image without nbd: qemu-storage-daemon exports it
# over FUSE as a raw file, which is then loop-mounted.
with_mounted_qcow2() {   # image mountpoint command...
    local img=$1 mnt=$2 view pid; shift 2
    view=$(mktemp -p "$cache" view.XXXXXX)
    qemu-storage-daemon --blockdev driver=file,node-name=f,filename="$img" \
        --blockdev driver=qcow2,node-name=q,file=f \
        --export type=fuse,id=e,node-name=q,mountpoint="$view",writable=on &
    pid=$!
    for _ in $(seq 50); do [ "$(stat -c %s "$view")" -gt 0 ] && break; sleep 0.1; done
    mkdir -p "$mnt"
    local rc=0
    if mount -o loop "$view" "$mnt"; then
        "$@" || rc=$?
        umount "$mnt"
    else
        rc=1
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -f "$view"; rmdir "$mnt"
    return $rc
}

copy_in() {   # mountpoint modules-dir bzImage destdir
    local mnt=$1 mods=$2 bzimage=$3 destdir=$4
    rm -rf "$mnt/lib/modules"
    mkdir -p "$mnt/lib/modules"
    cp -a "$mods" "$mnt/lib/modules/"
    # The kernel QEMU boots, where a host has it: update-grub then writes a
    # menu entry for it with the command line of /etc/default/grub(.d).
    rm -f "$mnt"/boot/vmlinuz-*
    cp "$bzimage" "$mnt/boot/vmlinuz-$(basename "$mods")"
    if [ -n "$destdir" ]; then
        # --keep-dirlinks: /lib, /bin, /sbin are symlinks into /usr on bookworm.
        rsync -a --keep-dirlinks "$destdir"/ "$mnt"/
        # Units, D-Bus and udev files from the DESTDIR need no reload: the
        # image is not running. Shared libraries may, though.
        chroot "$mnt" ldconfig
    fi
}

install_overlay() {
    local variant=lab destdir="" out=""
    while [ $# -gt 0 ]; do
        case $1 in
        --destdir) destdir=$2; shift ;;
        --variant) variant=$2; shift ;;
        -o) out=$2; shift ;;
        *) die "install-overlay: unknown argument $1" ;;
        esac
        shift
    done
    [ -z "$destdir" ] || [ -d "$destdir" ] || die "DESTDIR $destdir is not a directory"
    [ -f "$base/base.qcow2" ] || die "no base image for the current inputs; run $0 first"
    local MODULES BZIMAGE
    eval "$("$top/kernel/build.sh" --variant "$variant" --print-paths)"
    out=${out:-$cache/overlay-$variant.qcow2}
    rm -f "$out"
    qemu-img create -q -f qcow2 -b "$base/base.qcow2" -F qcow2 "$out"
    with_mounted_qcow2 "$out" "$out.mnt" copy_in "$out.mnt" "$MODULES" "$BZIMAGE" "$destdir" \
        || { rm -f "$out"; die "could not install into $out"; }
    log "overlay with $(basename "$MODULES") modules${destdir:+ and $destdir}: $out"
    echo "OVERLAY=$out"
    echo "BZIMAGE=$BZIMAGE"
    echo "SSH_KEY=$base/id_ed25519"
}

cmd=${1:-base}; [ $# -gt 0 ] && shift
case $cmd in
base)
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    [ -f "$base/base.qcow2" ] && log "up to date (base-$hash)" || build_base
    echo "BASE=$base/base.qcow2"
    echo "SSH_KEY=$base/id_ed25519"
    ;;
install-overlay) install_overlay "$@" ;;
*) die "unknown command $cmd (base, install-overlay)" ;;
esac
