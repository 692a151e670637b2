#!/bin/bash
# The device goes, the VM lives (kernel patches 7-10, qemu-patches 5-8,
# hostdevd's `revoke` policy): a nested guest L2 that ignores every unplug
# (pcie_ports=compat: no pciehp, nothing answers the attention button) holds
# an mtty mdev in a hot-pluggable root port and the e1000e in a root port
# with hotplug='off'; a loop in L2 reads the e1000e's config space and BAR 0
# all along (l2.touch, tests/lab/nested/init). A QMP listener (`virsh
# qemu-monitor-event`) records what QEMU says, independently of hostdevd.
#
# A: `hostdevctl unplug UUID --policy revoke --deadline 10`: libvirt asks,
#    nobody answers, the remove waits; at the deadline hostdevd revokes the
#    mdev from QEMU. QEMU reports VFIO_DEVICE_REVOKED (surprise-removal) and
#    DEVICE_DELETED, libvirt's live XML loses the hostdev, the mdev is gone,
#    and the Job's steps name QEMU (pid, domain) and what QEMU reported.
# B: the same for the e1000e: QEMU keeps it as a dead device (its slot cannot
#    hot-unplug: VFIO_DEVICE_REVOKED dead-device with the reason); L2's loop
#    reads all-ones from then on; the e1000e is back on e1000e in L1 and its
#    link comes up.
# In both: L2 keeps running (its heartbeat goes on), the QEMU process is the
# same, QEMU logs no failing vfio access and never stops the VM.
# C: Debian's own QEMU (unpatched) with the e1000e: the revoke works on the
#    kernel's promise alone, the VM keeps running; what QEMU prints is saved
#    (docs/qemu.md quotes it).
# D: L2 with ACPI PCI hot-plug (q35's default; acpiphp.disable=1 in L2, so
#    nothing there listens) holds another mdev: revoked at the deadline,
#    QEMU reports VFIO_DEVICE_REVOKED surprise-removal (it asks the guest
#    to eject the slot and unplugs the device at once), DEVICE_DELETED
#    follows, libvirt drops the hostdev, L2 runs on.
#
# The daemon revokes only with CAP_SYS_ADMIN, which the shipped unit does not
# give (docs/operations.md): the scenario adds the drop-in an operator adds.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh && . ./lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
l2_needs_hostdevd_qemu

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
nic_orig=$(driver_of "$nic")
uuid=$(cat /proc/sys/kernel/random/uuid)
modprobe -a vfio-pci mtty
since=$(date '+%Y-%m-%d %H:%M:%S')
events=$results/qmp-events.log
dropin=/etc/systemd/system/hostdevd.service.d/revoke.conf
lab_cleanup_add 'l2_save_logs "$results"'
lab_cleanup_add 'save_journal "$since" "$results"'
lab_cleanup_add 'restore_unless "$nic" "$nic_orig"'
lab_cleanup_add 'mdev_remove_if_there "$uuid"'
lab_cleanup_add 'rm -f $dropin; systemctl daemon-reload; systemctl restart hostdevd'
lab_cleanup_add l2_destroy
lab_cleanup_add kill_pids --no-wait   # the QMP listener

# event NAME FIELD...: a QMP event NAME whose data has every FIELD
event() {
    local name=$1 line f
    shift
    while IFS= read -r line; do
        [[ $line == *"event $name for domain 'l2'"* ]] || continue
        for f in "$@"; do [[ $line == *"$f"* ]] || continue 2; done
        return 0
    done < "$events"
    return 1
} 2>/dev/null
# L2 is TCG inside TCG; on the debug kernel (KASAN, lockdep in L1) it runs
# several times slower: the bounds on what L2 does scale with the kernel.
slow=1; [ "${LAB_KERNEL_VARIANT:-lab}" = debug ] && slow=6
alive() { grep -c '^L2: alive' $L2_LOG; }   # L2's heartbeats so far
# still_alive N: L2 printed heartbeats after the Nth, and its domain runs
still_alive() { wait_for $((30 * slow)) eval "[ \$(alive) -gt $1 ]" && [ "$(virsh domstate l2)" = running ]; }
# touch_saw CFG BAR: L2's loop read CFG from config space and BAR from BAR 0
touch_saw() { grep -q "^L2: touch .* cfg=$1 bar0+8=$2 " $L2_LOG; }
# qemu_clean FILE: QEMU logged no failing vfio call and no stop
qemu_clean() {
    ! grep -Eq 'vfio_dma_(un)?map\(.*\) = -|vfio_region_(read|write)\(.*failed|vfio_pci_read_config\(.*failed|VFIO_DEVICE_SET_IRQS failure|error disconnecting group|Unrecoverable error|vm_stop|Aborted' "$1"
}

# ---- the daemon may revoke (the operator's drop-in) ----
mkdir -p "${dropin%/*}"
printf '[Service]\nCapabilityBoundingSet=CAP_SYS_ADMIN\n' > $dropin
systemctl daemon-reload
check "hostdevd restarted with the drop-in (CAP_SYS_ADMIN)" systemctl restart hostdevd
check "hostdevctl bind $nic, hostdevctl mdev create mtty-2 $uuid" \
    eval "hostdevctl bind $nic > /dev/null && hostdevctl mdev create mtty mtty-2 --uuid $uuid > /dev/null"
check "SupportsRevoke is true" \
    wait_for 10 eval "busctl get-property org.hostdevd1 /org/hostdevd1 org.hostdevd1.Manager SupportsRevoke | grep -qx 'b true'"

# ---- L2: ignores unplugs, reads the e1000e all along ----
l2_with() {   # l2_with EMULATOR MDEV(yes|no): define L2 with the e1000e (and the mdev)
    l2_define_unplug "pcie_ports=compat l2.touch=8086:10d3" || return 1
    sed -i "s|<emulator>.*</emulator>|<emulator>$1</emulator>|" /tmp/l2.xml
    {
        echo "<controller type='pci' index='3' model='pcie-root-port'><target hotplug='off'/></controller>"
        l2_hostdev_pci "$nic" no | sed "s|</hostdev>|  <alias name='ua-nic'/>\n  <address type='pci' bus='0x03' slot='0x00' function='0x0'/>\n</hostdev>|"
        [ "$2" = no ] || l2_hostdev_mdev "$uuid" | sed "s|</hostdev>|  <alias name='ua-mtty'/>\n  <address type='pci' bus='0x01' slot='0x00' function='0x0'/>\n</hostdev>|"
    } > /tmp/l2-devices.xml
    sed -i '/<\/devices>/e cat /tmp/l2-devices.xml' /tmp/l2.xml
    l2_redefine
}
# l2_boot: start L2 and the QMP listener, wait until L2 runs its loops
l2_boot() {
    touch "$events"   # both boots append: the file keeps all of QEMU's events
    virsh -q start l2 || return 1
    virsh qemu-monitor-event l2 --loop --timestamp >> "$events" 2>&1 &
    pids+=($!)
    wait_for $((240 * slow)) l2_ready && wait_for $((60 * slow)) eval "alive | grep -qv '^0$'"
}
check "L2 defined: hostdevd's QEMU, mtty on root port 1, e1000e on root port 3 (hotplug='off')" \
    eval "l2_with $L2_EMULATOR yes && virsh dumpxml l2 > $results/l2.xml && [ \$(grep -c '<hostdev ' $results/l2.xml) = 2 ]"
check "L2 booted with both devices, its heartbeat and its loop on the e1000e" \
    eval "l2_boot && l2_saw present 8086:10d3 && l2_saw present 4348:3253 && wait_for $((60 * slow)) touch_saw 10d38086 0x.*"
pid=$(cat /run/libvirt/qemu/l2.pid)
echo "L2's QEMU: pid $pid"
grep '^L2: touch' $L2_LOG | head -n 3 | sed 's/^/  /'
check "hostdevd shows both in domain l2" \
    wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ] && [ \"\$(domain_of $uuid)\" = l2 ]"

# ---- A: the mdev, in a hot-pluggable slot: surprise removal ----
echo "== A: hostdevctl unplug $uuid --policy revoke --deadline 10"
beats=$(alive)
mark="lab: 54-unplug-revoke A $(now_ms)"; echo "$mark" > /dev/kmsg
unplug_job unplug-mdev "$uuid" --policy revoke --deadline 10
check "the unplug job completed (revoke at the deadline)" \
    eval "[ $rc = 0 ] && [ \"\$(job_json $results/unplug-mdev.json 'j[\"state\"]')\" = completed ]"
check "its steps: the deadline, revoked from QEMU (pid $pid) of domain l2, the device free" eval "
    grep -q '^Deadline of 10 s passed: .*policy revoke' $results/unplug-mdev-steps.txt &&
    grep -q '^The kernel revoked mdev $uuid from qemu-system-x86 (pid $pid) of domain l2' $results/unplug-mdev-steps.txt &&
    grep -q 'is free after .*revoking it from qemu-system-x86 (pid $pid) of domain l2' $results/unplug-mdev-steps.txt"
check "QMP: VFIO_DEVICE_REVOKED for ua-mtty, surprise-removal" \
    wait_for 20 event VFIO_DEVICE_REVOKED '"device":"ua-mtty"' '"action":"surprise-removal"'
check "QMP: DEVICE_DELETED for ua-mtty" wait_for 20 event DEVICE_DELETED '"device":"ua-mtty"'
check "the job's steps (or the journal) have QEMU's report of the surprise removal" \
    wait_for 10 eval "grep -q 'QEMU of domain l2 lost ua-mtty to the host.s revocation and removed it from the guest' $results/unplug-mdev-steps.txt ||
                      journalctl -u hostdevd --since '$since' | grep -q 'QEMU of domain l2 lost ua-mtty to the host.s revocation'"
check "libvirt's live XML no longer has the mdev" \
    wait_for 20 eval "! virsh dumpxml l2 | grep -q $uuid"
check "the mdev is removed, nobody holds it" \
    eval "[ ! -e /sys/bus/mdev/devices/$uuid ]"
check "the kernel logged the revocation naming QEMU" \
    eval "dmesg | sed -n '/$mark/,\$p' | grep -q 'revoked by .* from [0-9]* open file(s):.*qemu-system-x86\\[$pid\\]'"
check "L2 still runs (heartbeat after the revoke), same QEMU (pid $pid)" \
    eval "still_alive $beats && [ \"\$(cat /run/libvirt/qemu/l2.pid)\" = $pid ]"

# ---- B: the e1000e, in a slot that cannot hot-unplug: a dead device ----
echo "== B: hostdevctl unplug $nic --policy revoke --deadline 10 (L2 reads it meanwhile)"
beats=$(alive)
unplug_job unplug-nic "$nic" --policy revoke --deadline 10
check "the unplug job completed: $nic back on $nic_orig" \
    eval "[ $rc = 0 ] && [ \"\$(job_json $results/unplug-nic.json 'j[\"state\"]')\" = completed ] && [ \"\$(driver_of $nic)\" = $nic_orig ]"
check "its steps: libvirt could not detach it, revoked from QEMU (pid $pid) of domain l2" eval "
    grep -q '^libvirt could not detach the device from domain l2' $results/unplug-nic-steps.txt &&
    grep -q '^The kernel revoked $nic from qemu-system-x86 (pid $pid) of domain l2' $results/unplug-nic-steps.txt"
check "QMP: VFIO_DEVICE_REVOKED for ua-nic, dead-device, with the reason" \
    wait_for 20 event VFIO_DEVICE_REVOKED '"device":"ua-nic"' '"action":"dead-device"' '"reason":"Hot-unplug failed: unsupported by the port device'
check "QMP: no DEVICE_DELETED for ua-nic (it stays, dead)" eval "! event DEVICE_DELETED '\"device\":\"ua-nic\"'"
check "L2's loop reads all-ones from the e1000e's config space and BAR 0" wait_for $((30 * slow)) touch_saw ffffffff 0xFFFFFFFF
grep '^L2: touch' $L2_LOG | tail -n 2 | sed 's/^/  /'
check "L2 still runs, same QEMU (pid $pid)" \
    eval "still_alive $beats && [ \"\$(cat /run/libvirt/qemu/l2.pid)\" = $pid ]"
check "e1000e in L1 probes $nic, its link comes up" \
    eval "udevadm settle -t 30; n=\$(ls /sys/bus/pci/devices/$nic/net | head -n1) && ip link set \$n up &&
          wait_for 20 grep -qx 1 /sys/class/net/\$n/carrier"
check "QEMU logged one line per revoked device, no failing vfio access, no stop" eval "
    [ \$(grep -c 'the host revoked the device' /var/log/libvirt/qemu/l2.log) = 2 ] && qemu_clean /var/log/libvirt/qemu/l2.log"
grep -E 'revoked|vfio' /var/log/libvirt/qemu/l2.log | sed 's/^/  QEMU: /'
echo "QMP events:"
sed 's/^/  /' "$events"
cp /var/log/libvirt/qemu/l2.log "$results/l2-qemu-patched.log"

# ---- C: Debian's QEMU, unpatched ----
echo "== C: Debian's QEMU holds $nic when it is revoked"
l2_destroy
qlog=/var/log/libvirt/qemu/l2.log
skip=$(wc -l < $qlog)   # libvirt appends: what Debian's QEMU adds comes after
check "hostdevctl bind $nic" eval "hostdevctl bind $nic > /dev/null"
check "L2 on /usr/bin/qemu-system-x86_64 with the e1000e, booted" \
    eval "l2_with /usr/bin/qemu-system-x86_64 no && l2_boot && wait_for $((60 * slow)) touch_saw 10d38086 0x.*"
pid=$(cat /run/libvirt/qemu/l2.pid)
beats=$(alive)
unplug_job unplug-debian "$nic" --policy revoke --deadline 10
check "the unplug job completed: $nic back on $nic_orig" \
    eval "[ $rc = 0 ] && [ \"\$(driver_of $nic)\" = $nic_orig ]"
check "the VM keeps running on Debian's QEMU (heartbeat, same pid $pid)" \
    eval "still_alive $beats && [ \"\$(cat /run/libvirt/qemu/l2.pid)\" = $pid ]"
grep '^L2: touch' $L2_LOG | tail -n 2 | sed 's/^/  /'
tail -n +$((skip + 1)) $qlog > "$results/l2-qemu-debian.log"
echo "Debian's QEMU printed (timestamps dropped, numbers as N, counted):"
grep -Ei 'revoke|vfio|error|warning' "$results/l2-qemu-debian.log" | grep -v '^-device' |
    sed -E 's/^[0-9T:.-]+Z //; s/0x[0-9a-f]+/0xN/g' | sort | uniq -c | sort -rn | head -n 12 | sed 's/^/  /'

# ---- D: an ACPI PCI hot-plug slot (q35's default), a guest that ignores it ----
echo "== D: L2 with ACPI PCI hot-plug, acpiphp off: hostdevctl unplug of an mdev --policy revoke --deadline 10"
l2_destroy
uuid2=$(cat /proc/sys/kernel/random/uuid)
lab_cleanup_add 'mdev_remove_if_there "$uuid2"'
skip=$(wc -l < $qlog)
l2_acpi() {   # L2 on hostdevd's QEMU, ACPI PCI hot-plug, nothing in L2 listening to it
    L2_HOTPLUG=acpi l2_define_unplug "acpiphp.disable=1 pcie_ports=compat" || return 1
    grep -q acpi-pci-hotplug-with-bridge-support=off /tmp/l2.xml && return 1
    l2_hostdev_mdev "$uuid2" | sed "s|</hostdev>|  <alias name='ua-mtty2'/>\n  <address type='pci' bus='0x01' slot='0x00' function='0x0'/>\n</hostdev>|" > /tmp/l2-devices.xml
    sed -i '/<\/devices>/e cat /tmp/l2-devices.xml' /tmp/l2.xml
    l2_redefine
}
check "hostdevctl mdev create mtty-1 $uuid2" eval "hostdevctl mdev create mtty mtty-1 --uuid $uuid2 > /dev/null"
check "L2 (ACPI PCI hot-plug, acpiphp.disable=1) on hostdevd's QEMU with the mdev, booted" \
    eval "l2_acpi && l2_boot && l2_saw present 4348:3253"
pid=$(cat /run/libvirt/qemu/l2.pid)
beats=$(alive)
unplug_job unplug-acpi "$uuid2" --policy revoke --deadline 10
check "the unplug job completed (revoke at the deadline), the mdev removed" \
    eval "[ $rc = 0 ] && [ \"\$(job_json $results/unplug-acpi.json 'j[\"state\"]')\" = completed ] && [ ! -e /sys/bus/mdev/devices/$uuid2 ]"
check "its steps: revoked from QEMU (pid $pid) of domain l2" \
    grep -q "^The kernel revoked mdev $uuid2 from qemu-system-x86 (pid $pid) of domain l2" $results/unplug-acpi-steps.txt
check "QMP: VFIO_DEVICE_REVOKED for ua-mtty2, surprise-removal (ACPI slot)" \
    wait_for 20 event VFIO_DEVICE_REVOKED '"device":"ua-mtty2"' '"action":"surprise-removal"'
check "QMP: DEVICE_DELETED for ua-mtty2" wait_for 20 event DEVICE_DELETED '"device":"ua-mtty2"'
check "libvirt's live XML no longer has the mdev" wait_for 20 eval "! virsh dumpxml l2 | grep -q $uuid2"
check "L2 still runs, same QEMU (pid $pid)" \
    eval "still_alive $beats && [ \"\$(cat /run/libvirt/qemu/l2.pid)\" = $pid ]"
tail -n +$((skip + 1)) $qlog > "$results/l2-qemu-acpi.log"
check "QEMU logged the removal through the ACPI slot, no failing vfio access, no stop" eval "
    grep -q 'the host revoked the device .*asking the guest to eject its ACPI hot-plug slot' $results/l2-qemu-acpi.log &&
    qemu_clean $results/l2-qemu-acpi.log"
grep -E 'revoked|vfio' "$results/l2-qemu-acpi.log" | sed 's/^/  QEMU: /'
finish
