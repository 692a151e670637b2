#!/bin/sh
# Installs the Debian 12 packages needed to build and test hostdevd.
# Idempotent: apt runs only when something is missing.
set -eu

# mdevctl: tests/fixtures/mdevctl/make-fixtures.sh makes the definition
# fixtures with the real one.  ansible: the integration tests run the
# ansible role's modules against the daemon (test_ansible_modules.py) and
# read ansible's result through the json stdout callback, which is
# ansible.posix's (the ansible package's collections), not ansible-core's.
# clang-14 and libfuzzer-14-dev: the fuzz targets of tests/fuzz
# (scripts/fuzz.sh, in make check).  driverctl (and mdevctl): the paths
# they take, timed beside hostdevd's (tests/bench/paths.py).
PACKAGES="
build-essential pkg-config meson ninja-build
libglib2.0-dev libglib2.0-bin libgudev-1.0-dev libjson-glib-dev
libvirt-dev libpolkit-gobject-1-dev libsystemd-dev
umockdev libumockdev-dev gir1.2-umockdev-1.0 mdevctl driverctl
python3 python3-gi python3-dbus python3-dbusmock python3-pytest
dbus dbus-daemon ansible
clang-14 libfuzzer-14-dev
"
# Extra sets, named on the command line: "lab" adds what the kernel build
# and the emulated host need; "ops" what packaging and operations need
# (make deb, make lint-ops, make ansible-check): debhelper and lintian for
# the Debian packages, ansible and its linters for ansible/.
for set in "$@"; do
  case "$set" in
    ops) PACKAGES="$PACKAGES
debhelper dpkg-dev lintian systemd udev
ansible ansible-lint yamllint openssh-client" ;;
    lab) PACKAGES="$PACKAGES
linux-source-6.12 flex bison bc libelf-dev libssl-dev cpio busybox-static
mmdebstrap qemu-system-x86 qemu-utils kmod xz-utils rsync openssh-client
e2fsprogs" ;;
    *) echo "install-deps: unknown package set '$set'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
