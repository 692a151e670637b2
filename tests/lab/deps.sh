#!/bin/bash
# Install the Debian packages kernel/ and tests/lab/ need on the build machine.
# Idempotent: apt is only touched when something is missing (dpkg-query).
set -euo pipefail
pkgs=(
    # kernel/build.sh: the source and the toolchain to build it
    linux-source-6.12 build-essential flex bison bc libelf-dev libssl-dev
    kmod xz-utils patch cpio
    # tests/lab/nested: the L2 initramfs
    busybox-static
    # tests/lab/mkrootfs.sh: the L1 root filesystem
    mmdebstrap e2fsprogs qemu-utils debian-archive-keyring rsync
    # tests/lab/lab.py: booting and driving the L1 host
    qemu-system-x86 openssh-client python3
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps.sh: all ${#pkgs[@]} packages installed"
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"
[ "$(id -u)" = 0 ] || { echo "deps.sh: need root to install packages" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
