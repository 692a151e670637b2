#!/bin/bash
# The lab host itself: IOMMU groups as the scenarios expect them, vfio-pci
# binding and restore of an e1000e, and an mtty mdev created and removed
# through sysfs. No hostdevd involved: this proves the kernel and the lab.
cd "$(dirname "$0")" && . ./lib/lib.sh

echo "kernel $(uname -r), $(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups"
echo "systemd: $(systemctl is-system-running) $(systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
check "IOMMU groups exist (intel-iommu is on)" test -n "$(ls /sys/kernel/iommu_groups)"

echo "PCI devices (address vendor:device class driver group):"
for d in /sys/bus/pci/devices/*; do
    a=${d##*/}
    printf '  %s %s:%s %s %-10s group %s\n' "$a" "$(cut -c3- "$d/vendor")" "$(cut -c3- "$d/device")" \
        "$(cut -c3-6 "$d/class")" "$(driver_of "$a")" "$(group_of "$a")"
done

nic=$(pci_by_mac 52:54:00:12:01:00) || nic=
pair=$(pci_by_mac 52:54:00:12:03:00) || pair=
check "e1000e on a root port found ($nic)" test -n "$nic"
check "multifunction e1000e found ($pair)" test -n "$pair"
g=$(group_of "$nic")
check "the e1000e is alone in IOMMU group $g" test "$(ls /sys/kernel/iommu_groups/$g/devices | wc -l)" = 1
fn1=${pair%.0}.1
check "$pair and $fn1 share IOMMU group $(group_of "$pair")" test "$(group_of "$pair")" = "$(group_of "$fn1")"
root=$(pci_by_mac 52:54:00:12:00:08) || root=
check "e1000e on the root bus found ($root), group $(group_of "$root")" test "${root#0000:00:}" != "$root"

# vfio-pci: the sequence hostdevd uses (driver_override, unbind, drivers_probe).
t=$(now_ms)
check "modprobe vfio-pci" modprobe vfio-pci
orig=$(driver_of "$nic")
echo vfio-pci > /sys/bus/pci/devices/$nic/driver_override
echo "$nic" > /sys/bus/pci/devices/$nic/driver/unbind
echo "$nic" > /sys/bus/pci/drivers_probe
check "$nic bound to vfio-pci (was $orig)" test "$(driver_of "$nic")" = vfio-pci
check "/dev/vfio/$g appeared" wait_for 10 test -c /dev/vfio/$g
echo "bind took $(( $(now_ms) - t )) ms"

# Restore: back to the original driver, /dev/vfio/N gone, the NIC is a NIC again.
t=$(now_ms)
echo "$nic" > /sys/bus/pci/devices/$nic/driver/unbind
echo > /sys/bus/pci/devices/$nic/driver_override
echo "$nic" > /sys/bus/pci/drivers_probe
check "$nic back on $orig" test "$(driver_of "$nic")" = "$orig"
check "/dev/vfio/$g removed" wait_for 10 test ! -e /dev/vfio/$g
check "its network interface is back" wait_for 10 eval "pci_by_mac 52:54:00:12:01:00 >/dev/null"
echo "restore took $(( $(now_ms) - t )) ms"

# mdev: the mtty sample parent, one mtty-2 instance created and removed.
t=$(now_ms)
check "modprobe mtty" modprobe mtty
types=/sys/class/mdev_bus/mtty/mdev_supported_types
check "mtty parent offers mtty-1 and mtty-2" test -d $types/mtty-1 -a -d $types/mtty-2
echo "mtty-2 available_instances: $(cat $types/mtty-2/available_instances)"
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > $types/mtty-2/create
check "mdev $uuid created" test -d /sys/bus/mdev/devices/$uuid
check "the mdev has its own IOMMU group $(basename "$(readlink -f /sys/bus/mdev/devices/$uuid/iommu_group)")" \
    test -e /sys/bus/mdev/devices/$uuid/iommu_group
echo 1 > /sys/bus/mdev/devices/$uuid/remove
check "mdev $uuid removed" test ! -e /sys/bus/mdev/devices/$uuid
echo "mdev create+remove took $(( $(now_ms) - t )) ms"
check "modprobe -r mtty" modprobe -r mtty
finish
