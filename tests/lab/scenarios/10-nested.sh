#!/bin/bash
# A nested guest (L2) under libvirt inside the lab host: virsh attach-device
# of a vfio-pci <hostdev> (the e1000e) and of an mdev (mtty), then
# detach-device of both; L2's /init must report each device arriving and
# leaving (its serial log). Needs /tmp/lab/nested/{bzImage,initramfs.cpio.gz},
# which lab.py copies in when `kernel/build.sh --variant nested` has run.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
log=$L2_LOG
results=${LAB_RESULTS:-/tmp}

nic=$(pci_by_mac 52:54:00:12:01:00)
orig=$(driver_of "$nic")
l2_hostdev_pci "$nic" yes > /tmp/l2-nic.xml
check "virsh define the nested guest" l2_define
t=$(now_ms)
check "virsh start" virsh -q start l2
check "L2 booted (READY on its serial console)" wait_for 600 grep -q 'L2: READY' $log
echo "L2 ready $(( $(now_ms) - t )) ms after virsh start"

t=$(now_ms)
check "virsh attach-device: $nic (managed, to vfio-pci)" virsh -q attach-device l2 /tmp/l2-nic.xml --live
check "$nic is on vfio-pci while L2 holds it" test "$(driver_of "$nic")" = vfio-pci
check "L2 saw the e1000e arrive" wait_for 180 grep -q 'L2: pci add .* 8086:10d3' $log
echo "attach seen by L2 after $(( $(now_ms) - t )) ms"
t=$(now_ms)
check "virsh detach-device: $nic" virsh -q detach-device l2 /tmp/l2-nic.xml --live
check "L2 saw the e1000e leave" wait_for 180 grep -q 'L2: pci remove .* 8086:10d3' $log
echo "detach seen by L2 after $(( $(now_ms) - t )) ms"
check "libvirt gave $nic back to $orig" wait_for 30 test "$(driver_of "$nic")" = "$orig"

# An mdev: mtty-2 created through sysfs, attached and detached through libvirt.
modprobe mtty
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create
l2_hostdev_mdev "$uuid" > /tmp/l2-mdev.xml
t=$(now_ms)
check "virsh attach-device: mdev $uuid" virsh -q attach-device l2 /tmp/l2-mdev.xml --live
check "L2 saw the mtty arrive" wait_for 180 grep -q 'L2: pci add .* 4348:3253' $log
echo "mdev attach seen by L2 after $(( $(now_ms) - t )) ms"
t=$(now_ms)
check "virsh detach-device: mdev $uuid" virsh -q detach-device l2 /tmp/l2-mdev.xml --live
check "L2 saw the mtty leave" wait_for 180 grep -q 'L2: pci remove .* 4348:3253' $log
echo "mdev detach seen by L2 after $(( $(now_ms) - t )) ms"

virsh -q destroy l2 >/dev/null 2>&1
check "virsh undefine" virsh -q undefine l2
echo 1 > /sys/bus/mdev/devices/$uuid/remove
check "mdev removed after L2 is gone" test ! -e /sys/bus/mdev/devices/$uuid
l2_save_logs "$results"
grep '^L2:' $log
finish
