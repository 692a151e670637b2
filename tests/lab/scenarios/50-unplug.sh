#!/bin/bash
# Graceful hot-unplug from a cooperating guest: the nested guest L2 (pciehp)
# gets the e1000e and an mtty mdev from hostdevd (`hostdevctl attach`:
# vfio-pci binding, the mdev created from its definition, <hostdev
# managed='no'>), and `hostdevctl unplug` takes each back through libvirt:
# L2 sees it go, the device is free and stays with VFIO for the next guest,
# the Job completed with its steps recorded.  Then hostdevd and virsh side by
# side: a device attached and detached with plain virsh is shown with its
# domain and hostdevd's view follows; `hostdevctl detach` detaches through
# libvirt only.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh && . ./lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
g=$(group_of "$nic")
uuid=$(cat /proc/sys/kernel/random/uuid)
modprobe -a vfio-pci mtty
since=$(date '+%Y-%m-%d %H:%M:%S')
lab_cleanup_add 'l2_save_logs "$results"'
lab_cleanup_add 'save_journal "$since" "$results"'
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add 'hostdevctl mdev undefine "$uuid" >/dev/null 2>&1'
lab_cleanup_add 'mdev_remove_if_there "$uuid"'
lab_cleanup_add l2_destroy

# ---- A guest that gets both from hostdevd ----
check "mdev $uuid defined, not running" hostdevctl mdev define mtty mtty-2 --uuid "$uuid"
check "L2 defined" l2_define_unplug
check "L2 started" virsh -q start l2
t=$(now_ms)
check "L2 booted" wait_for 240 l2_ready
echo "L2 ready after $(( $(now_ms) - t )) ms"

hostdevctl attach "$nic" l2 --no-rom-bar > "$results/attach-nic.txt"; rc=$?
cat "$results/attach-nic.txt"
check "hostdevctl attach $nic l2 completed" test "$rc" = 0
check "hostdevd bound $nic to vfio-pci for it" test "$(driver_of "$nic")" = vfio-pci
check "libvirt has it as <hostdev managed='no'>" \
    eval "virsh dumpxml l2 | grep -q \"<hostdev mode='subsystem' type='pci' managed='no'>\""
check "L2 saw the e1000e arrive" wait_for 60 l2_saw add 8086:10d3
check "hostdevd shows $nic in domain l2" wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ]"

hostdevctl attach "$uuid" l2 > "$results/attach-mdev.txt"; rc=$?
cat "$results/attach-mdev.txt"
check "hostdevctl attach $uuid l2 completed, creating the defined mdev" \
    eval "[ $rc = 0 ] && grep -q 'Created mdev $uuid' '$results/attach-mdev.txt'"
check "L2 saw the mtty arrive" wait_for 120 l2_saw add 4348:3253
check "hostdevd shows the mdev in domain l2" wait_for 10 eval "[ \"\$(domain_of $uuid)\" = l2 ]"
check "QEMU holds both" eval "holders_of $nic | grep -q qemu && holders_of $uuid | grep -q qemu"

# ---- hostdevctl unplug, through libvirt ----
t=$(now_ms)
hostdevctl unplug "$nic" --json > "$results/unplug-nic.json"; rc=$?
echo "unplug of $nic took $(( $(now_ms) - t )) ms; its steps:"
job_steps "$results/unplug-nic.json" | tee "$results/unplug-nic-steps.txt" | sed 's/^/  /'
check "the unplug job of $nic completed" \
    eval "[ $rc = 0 ] && [ \"\$(job_json $results/unplug-nic.json 'j[\"state\"]')\" = completed ]"
check "its steps: holder, domain, libvirt's request, the removal, free" eval "
    grep -q '^Holders of $nic: qemu-system-x86 (pid [0-9]*) holds /dev/vfio/$g' $results/unplug-nic-steps.txt &&
    grep -q '^Libvirt domain l2 (QEMU pid [0-9]*) has $nic as hostdev' $results/unplug-nic-steps.txt &&
    grep -q '^Libvirt asked the guest of domain l2 to unplug $nic' $results/unplug-nic-steps.txt &&
    grep -q '^Domain l2 removed $nic after .* (libvirt: device removed)' $results/unplug-nic-steps.txt &&
    grep -q '^$nic is free after .*: domain l2 let it go, it stays on vfio-pci' $results/unplug-nic-steps.txt"
check "the job names domain l2" test "$(job_json "$results/unplug-nic.json" 'j["domain"]')" = l2
check "L2 saw the e1000e leave" wait_for 60 l2_saw remove 8086:10d3
check "$nic is free: on vfio-pci, nobody holds it, no domain" \
    eval "[ \"\$(driver_of $nic)\" = vfio-pci ] && [ -z \"\$(holders_of $nic)\" ] && [ -z \"\$(domain_of $nic)\" ]"
check "libvirt's live XML has one hostdev left (the mdev)" test "$(virsh dumpxml l2 | grep -c '<hostdev ')" = 1

t=$(now_ms)
hostdevctl unplug "$uuid" --json > "$results/unplug-mdev.json"; rc=$?
echo "unplug of mdev $uuid took $(( $(now_ms) - t )) ms; its steps:"
job_steps "$results/unplug-mdev.json" | tee "$results/unplug-mdev-steps.txt" | sed 's/^/  /'
check "the unplug job of the mdev completed through libvirt" \
    eval "[ $rc = 0 ] && grep -q '^Domain l2 removed mdev $uuid after' $results/unplug-mdev-steps.txt"
check "L2 saw the mtty leave" wait_for 60 l2_saw remove 4348:3253
check "the mdev is free and still there" \
    eval "[ -e /sys/bus/mdev/devices/$uuid ] && [ -z \"\$(holders_of $uuid)\" ] && [ -z \"\$(domain_of $uuid)\" ]"

# ---- virsh and hostdevd side by side ----
l2_hostdev_pci "$nic" no > /tmp/unplug-nic.xml
check "virsh attach-device of $nic (managed='no': hostdevd's binding stays)" \
    virsh -q attach-device l2 /tmp/unplug-nic.xml --live
check "L2 saw the e1000e arrive again" wait_for 60 eval "[ \$(l2_count add 8086:10d3) = 2 ]"
check "hostdevd recognizes the virsh attachment: domain l2" wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ]"
check "virsh detach-device of $nic" virsh -q detach-device l2 /tmp/unplug-nic.xml --live
check "L2 saw it leave again" wait_for 60 eval "[ \$(l2_count remove 8086:10d3) = 2 ]"
check "hostdevd's view follows: no domain, still on vfio-pci" \
    wait_for 10 eval "[ -z \"\$(domain_of $nic)\" ] && [ \"\$(driver_of $nic)\" = vfio-pci ]"

check "hostdevctl attach $nic l2 again" eval "hostdevctl attach $nic l2 --no-rom-bar > $results/attach-nic-2.txt"
check "L2 saw the e1000e arrive a third time" wait_for 60 eval "[ \$(l2_count add 8086:10d3) = 3 ]"
# libvirtd restarts (an upgrade): hostdevd notices, reconnects, reads the
# domains again.
connected() { busctl get-property org.hostdevd1 /org/hostdevd1 org.hostdevd1.Manager LibvirtConnected; }
check "systemctl restart libvirtd" systemctl restart libvirtd
check "hostdevd noticed the connection closed" \
    wait_for 30 eval "journalctl -u hostdevd --since '$since' | grep -q 'The connection to libvirt (qemu:///system) was closed'"
check "... reconnected, and shows $nic in domain l2 again" \
    wait_for 30 eval "[ \"\$(connected)\" = 'b true' ] && [ \"\$(domain_of $nic)\" = l2 ]"
hostdevctl detach "$nic" > "$results/detach-nic.txt"; rc=$?
cat "$results/detach-nic.txt"
check "hostdevctl detach $nic completed through libvirt" \
    eval "[ $rc = 0 ] && grep -q '^Domain l2 removed $nic' $results/detach-nic.txt"
check "L2 saw it leave a third time" wait_for 60 eval "[ \$(l2_count remove 8086:10d3) = 3 ]"
check "a detach of a device in no domain is refused" \
    eval "hostdevctl detach $nic 2>&1 | grep -q 'is not attached to a running libvirt domain'"

# ---- back ----
check "hostdevctl restore $nic: back on $orig" eval "hostdevctl restore $nic > /dev/null && [ \"\$(driver_of $nic)\" = $orig ]"
grep '^L2: pci' "$L2_LOG" | sed 's/^/  /'
finish
