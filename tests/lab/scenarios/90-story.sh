#!/bin/bash
# The story `make demo` tells, and a lab scenario like any other (so the demo
# is tested by `make check`): hostdevd on the real kernel with a nested guest.
#
#  1. the device list with IOMMU groups (D-Bus activation, real sysfs)
#  2. a binding to vfio-pci, and a refused non-viable group
#  3. an mdev created (mtty)
#  4. a nested guest (L2) under libvirt given both through virsh attach-device
#     with managed='no': hostdevd owns the binding, libvirt only attaches
#  5. `hostdevctl unplug` of the NIC: hostdevd finds the domain that holds it
#     and asks libvirt to detach it; L2 lets it go; it stays on vfio-pci, and
#     `hostdevctl attach` gives it back
#  6. graceful unplug of the NIC through the kernel: `hostdevctl restore`
#     while L2 holds it; the kernel's request reaches QEMU, L2 lets the
#     device go, the job completes
#  7. graceful unplug of the mdev: remove while L2 holds it, which needs the
#     mtty request patch of kernel/patches (upstream 6.12 blocks forever)
#  8. a guest that cannot let go: a second mdev in a slot that cannot
#     hot-unplug; `hostdevctl unplug --policy revoke` revokes it at the
#     deadline (kernel patches 7-10), hostdevd's QEMU keeps it as a dead
#     device and says so, L2 keeps running
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh && . ./lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
step() { printf '\n== %s\n' "$1"; shift; [ $# -gt 0 ] && printf '   %s\n' "$@"; }
run() { printf '$ %s\n' "$*"; "$@"; }
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }

nic=$(pci_by_mac 52:54:00:12:01:00)
pair=$(pci_by_mac 52:54:00:12:03:00)
edu_fn1=${pair%.0}.1
g=$(group_of "$nic")
modprobe -a vfio-pci mtty
lab_cleanup_add 'l2_save_logs "$results"'
lab_cleanup_add '[ "$(driver_of "$nic")" = vfio-pci ] && hostdevctl restore "$nic" >/dev/null 2>&1'
lab_cleanup_add '[ -n "${uuid:-}" ] && mdev_remove_if_there "$uuid"'
lab_cleanup_add '[ -n "${uuid2:-}" ] && mdev_remove_if_there "$uuid2"'
dropin=/etc/systemd/system/hostdevd.service.d/revoke.conf
lab_cleanup_add '[ -e $dropin ] && { rm -f $dropin; systemctl daemon-reload; systemctl restart hostdevd; }'
lab_cleanup_add l2_destroy

step "1. The devices hostdevd sees" \
     "hostdevd is started by D-Bus activation on the first call; it reads the" \
     "real kernel's PCI devices and IOMMU groups through GUdev and sysfs."
run hostdevctl list | tee "$results/list.txt"
check "$nic (e1000e) is listed alone in IOMMU group $g" \
    grep -Eq "^$nic +8086:10d3 +020000 +e1000e +$g " "$results/list.txt"

step "2. Bind $nic to vfio-pci" \
     "driver_override, unbind, drivers_probe, verified; a Job on the bus."
run hostdevctl bind "$nic"
check "$nic is on vfio-pci and /dev/vfio/$g exists" eval "[ $(driver_of "$nic") = vfio-pci ] && [ -c /dev/vfio/$g ]"
step "   ... and refuse a group that is not viable" \
     "$edu_fn1 shares IOMMU group $(group_of "$pair") with $pair, which a host driver owns."
out=$(run hostdevctl bind "$edu_fn1" 2>&1); echo "$out"
check "the bind of $edu_fn1 is refused and names $pair" grep -q "$pair (bound to e1000e)" <<<"$out"

step "3. Create an mtty mdev" \
     "The mtty sample driver is an mdev parent; hostdevd creates the mdev in a" \
     "Job. mdevctl and libvirt see it, as they see hostdevd's definitions."
uuid=$(cat /proc/sys/kernel/random/uuid)
run hostdevctl types
uuid2=$(cat /proc/sys/kernel/random/uuid)
run hostdevctl mdev create mtty mtty-2 --uuid "$uuid"
run hostdevctl mdev create mtty mtty-1 --uuid "$uuid2"
check "mdevs $uuid and $uuid2 exist" test -d "/sys/bus/mdev/devices/$uuid" -a -d "/sys/bus/mdev/devices/$uuid2"
run hostdevctl mdev list
run mdevctl list
run virsh nodedev-list --cap mdev
check "libvirt lists mdev $uuid" eval "virsh nodedev-list --cap mdev | grep -q ${uuid//-/_}"

step "4. Give both to a nested guest with virsh attach-device" \
     "L2 is a TCG guest under libvirt in this (emulated) host. managed='no':" \
     "hostdevd did the binding, libvirt only attaches; they never fight." \
     "(The second mdev is in L2 from boot, in a root port without hot-plug.)"
{
    echo "<controller type='pci' index='3' model='pcie-root-port'><target hotplug='off'/></controller>"
    l2_hostdev_mdev "$uuid2" | sed "s|</hostdev>|  <alias name='ua-stuck'/>\n  <address type='pci' bus='0x03' slot='0x00' function='0x0'/>\n</hostdev>|"
} > /tmp/story-stuck.xml
check "virsh define l2" eval "l2_define && sed -i '/<\/devices>/e cat /tmp/story-stuck.xml' /tmp/l2.xml && l2_redefine"
t=$(now_ms)
check "virsh start l2" virsh -q start l2
check "L2 booted" wait_for 600 l2_ready
echo "   L2 booted in $(( $(now_ms) - t )) ms"
l2_hostdev_pci "$nic" no > /tmp/story-nic.xml
l2_hostdev_mdev "$uuid" > /tmp/story-mdev.xml
run virsh -q attach-device l2 /tmp/story-nic.xml --live
run virsh -q attach-device l2 /tmp/story-mdev.xml --live
check "L2 saw the e1000e arrive" wait_for 180 l2_saw add 8086:10d3
check "L2 saw the mtty arrive" wait_for 180 l2_saw add 4348:3253
grep '^L2: pci add' "$L2_LOG" | sed 's/^/   /'
run hostdevctl show "$nic" | tee "$results/show-held.txt"
check "hostdevd shows QEMU holding $nic" grep -Eq "qemu-system-x86" "$results/show-held.txt"

step "5. hostdevctl unplug $nic: through libvirt" \
     "hostdevd finds QEMU holding the device, maps it to domain l2, asks libvirt" \
     "to detach it and waits for libvirt's device-removed event. The device" \
     "stays on vfio-pci for the next guest; hostdevctl attach gives it back."
check "hostdevd shows $nic in domain l2 (virsh attached it)" wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ]"
t=$(now_ms)
printf '$ hostdevctl unplug %s\n' "$nic"
hostdevctl unplug "$nic" --json > "$results/unplug.json"; rc=$?
echo "   unplug took $(( $(now_ms) - t )) ms; the job's steps:"
job_steps "$results/unplug.json" | tee "$results/unplug-steps.txt" | sed 's/^/   /'
check "the unplug job completed through libvirt" \
    eval "[ $rc = 0 ] && grep -q '^Domain l2 removed $nic after' $results/unplug-steps.txt"
check "L2 saw the e1000e leave" wait_for 60 l2_saw remove 8086:10d3
check "$nic is free, on vfio-pci, in no domain" \
    eval "[ \"\$(driver_of $nic)\" = vfio-pci ] && [ -z \"\$(holders_of $nic)\" ] && [ -z \"\$(domain_of $nic)\" ]"
run hostdevctl attach "$nic" l2 --no-rom-bar
check "L2 saw the e1000e arrive again" wait_for 120 eval "[ \$(l2_count add 8086:10d3) = 2 ]"

step "6. Graceful unplug of $nic through the kernel: hostdevctl restore while L2 holds it" \
     "The unbind blocks in the kernel, which sends a request; QEMU asks L2 to" \
     "unplug (pciehp), L2 lets go, QEMU closes the device, the unbind returns." \
     "The daemon stays responsive throughout; the Job says who holds the device" \
     "and, from hostdevd's QEMU (qemu-patches/), what QEMU did with the request."
t=$(now_ms)
run hostdevctl restore "$nic" | tee "$results/restore.txt"
rc=${PIPESTATUS[0]}
echo "   restore took $(( $(now_ms) - t )) ms"
check "the restore job completed" test "$rc" = 0
check "its steps were printed once each" test -z "$(sort "$results/restore.txt" | uniq -d)"
check "L2 saw the e1000e leave again" wait_for 60 eval "[ \$(l2_count remove 8086:10d3) = 2 ]"
check "$nic is back on e1000e" test "$(driver_of "$nic")" = e1000e
check "libvirt's live XML has the two mdevs left" test "$(virsh dumpxml l2 | grep -c '<hostdev ')" = 2
check "the kernel relayed the request to QEMU" eval "dmesg | grep -q '$nic: Relaying device request to user'"
check "hostdevd's QEMU reported it (VFIO_DEVICE_REQUEST), and the job shows that" \
    grep -q "QEMU of domain l2 got the host's request 1 for " "$results/restore.txt"

step "7. Graceful unplug of the mdev: remove while L2 holds it" \
     "Upstream mtty has no request callback: this remove would block forever." \
     "With kernel/patches the request reaches QEMU, which asks L2 to unplug."
t=$(now_ms)
run hostdevctl mdev remove "$uuid" | tee "$results/mdev-remove.txt"
rc=${PIPESTATUS[0]}
echo "   remove took $(( $(now_ms) - t )) ms"
check "the remove job completed" test "$rc" = 0
check "the job said QEMU held the mdev" grep -q "qemu-system-x86.* holds" "$results/mdev-remove.txt"
check "the mdev is gone" test ! -e "/sys/bus/mdev/devices/$uuid"
check "L2 saw the mtty leave" wait_for 60 l2_saw remove 4348:3253
check "the kernel relayed the request for the mdev" eval "dmesg | grep -q '$uuid: Relaying device request to user'"
check "hostdevd's QEMU reported it, and the job shows that" \
    grep -q "QEMU of domain l2 got the host's request 1 for " "$results/mdev-remove.txt"

step "8. A guest that cannot let go: revoke it (kernel patches 7-10)" \
     "The second mdev is in a slot that cannot hot-unplug: libvirt cannot detach" \
     "it, QEMU cannot ask the guest, the kernel's remove would wait for ever." \
     "With --policy revoke, at the deadline hostdevd revokes it from QEMU: the" \
     "device goes, QEMU and the guest live on (hostdevd's QEMU keeps a dead" \
     "device and says so). The operator allows it with a drop-in (CAP_SYS_ADMIN)."
mkdir -p "${dropin%/*}"
printf '[Service]\nCapabilityBoundingSet=CAP_SYS_ADMIN\n' > $dropin
run cat $dropin
systemctl daemon-reload && systemctl restart hostdevd
pid=$(cat /run/libvirt/qemu/l2.pid)
beats=$(grep -c '^L2: alive' "$L2_LOG")
t=$(now_ms)
run hostdevctl unplug "$uuid2" --policy revoke --deadline 10 | tee "$results/revoke.txt"
rc=${PIPESTATUS[0]}
echo "   unplug took $(( $(now_ms) - t )) ms"
check "the unplug job completed: the kernel revoked the mdev from QEMU (pid $pid) at the deadline" \
    eval "[ $rc = 0 ] && grep -q 'The kernel revoked mdev $uuid2 from qemu-system-x86 (pid $pid) of domain l2' $results/revoke.txt"
check "the mdev is gone" test ! -e "/sys/bus/mdev/devices/$uuid2"
check "hostdevd's QEMU said it keeps a dead device (the job's steps or the journal)" \
    wait_for 20 eval "grep -q 'lost ua-stuck to the host.s revocation; it stays in the guest' $results/revoke.txt ||
                      journalctl -u hostdevd -n 50 | grep -q 'lost ua-stuck to the host.s revocation; it stays in the guest'"
check "L2 keeps running: its heartbeat goes on, same QEMU (pid $pid)" \
    eval "wait_for 30 eval '[ \$(grep -c \"^L2: alive\" $L2_LOG) -gt $beats ]' && [ \"\$(virsh domstate l2)\" = running ] &&
          [ \"\$(cat /run/libvirt/qemu/l2.pid)\" = $pid ]"
finish
