#!/bin/bash
# Unplug from guests that do not let go, in one nested guest (L2):
#
# A: a guest that does not answer: an mtty mdev hot-plugged into L2, then L2
#    paused (virsh suspend) before `hostdevctl unplug --policy fail
#    --deadline 20`.  libvirt asks, nothing happens; the daemon answers other
#    calls meanwhile; at the deadline the job fails naming the domain and
#    QEMU, before any kernel write: the device stays with the guest.  Once
#    resumed, L2 acts on the request after all, and hostdevd's view follows.
# B: a device on a slot that is not hot-pluggable: the e1000e cold-plugged
#    on a pcie-root-port with hotplug='off'.  libvirt cannot detach it, so the
#    kernel asks QEMU (the request is relayed, QEMU cannot unplug it either);
#    `--policy destroy-domain --deadline 15` destroys l2 at the deadline
#    (logged as a warning) and the device is free.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh && . ./lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
uuid=$(cat /proc/sys/kernel/random/uuid)
modprobe -a vfio-pci mtty
since=$(date '+%Y-%m-%d %H:%M:%S')
lab_cleanup_add 'l2_save_logs "$results"'
lab_cleanup_add 'save_journal "$since" "$results"'
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add 'mdev_remove_if_there "$uuid"'
lab_cleanup_add l2_destroy

# L2 with the e1000e on a root port that is not hot-pluggable.
IFS=: read -r dom bus slotfn <<<"$nic"
check "hostdevctl bind $nic" eval "hostdevctl bind $nic > /dev/null"
check "L2 defined" l2_define_unplug
sed -i "s|</devices>|<controller type='pci' index='3' model='pcie-root-port'><target hotplug='off'/></controller>\
<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x$dom' bus='0x$bus' \
slot='0x${slotfn%.*}' function='0x${slotfn#*.}'/></source><rom bar='off'/>\
<address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></hostdev></devices>|" /tmp/l2.xml
check "... with $nic cold-plugged on a root port with hotplug='off'" l2_redefine
check "L2 started" virsh -q start l2
check "L2 booted, with the e1000e" eval "wait_for 240 l2_ready && grep -q 'L2: pci present .* 8086:10d3' $L2_LOG"
check "hostdevd shows $nic in domain l2 (started with it)" wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ]"

# ---- A: a guest that does not answer, policy fail ----
check "hostdevctl mdev create" eval "hostdevctl mdev create mtty mtty-2 --uuid $uuid > /dev/null"
check "hostdevctl attach $uuid l2" eval "hostdevctl attach $uuid l2 > $results/attach-mdev.txt"
check "L2 saw the mtty arrive" wait_for 120 l2_saw add 4348:3253
check "virsh suspend l2: the guest answers nothing" virsh -q suspend l2
t=$(now_ms)
hostdevctl unplug "$uuid" --policy fail --deadline 20 --json > "$results/unplug-fail.json" &
up=$!
check "the job asks the guest through libvirt, cancelable" \
    wait_for 15 eval "hostdevctl jobs | grep -Eq 'unplug +$uuid +running .*Waiting for domain l2 to unplug'"
hostdevctl jobs | tee "$results/jobs-during.txt"
# The job waits for its 20 s deadline: a list answered before the job moved
# on was answered while it waited.
t1=$(now_ms)
check "hostdevctl list answers while the job waits" \
    eval "hostdevctl list > /dev/null && hostdevctl jobs | grep -Eq 'unplug +$uuid +running .*Waiting for domain l2 to unplug'"
echo "hostdevctl list took $(( $(now_ms) - t1 )) ms"
other=$(cat /proc/sys/kernel/random/uuid)
check "jobs on another device run meanwhile (mdev create and remove)" \
    eval "hostdevctl mdev create mtty mtty-1 --uuid $other > /dev/null && hostdevctl mdev remove $other > /dev/null"
wait $up; rc=$?
echo "unplug --policy fail returned $rc after $(( $(now_ms) - t )) ms; its steps:"
job_steps "$results/unplug-fail.json" | tee "$results/unplug-fail-steps.txt" | sed 's/^/  /'
job_json "$results/unplug-fail.json" '"error: %s: %s" % (j["error_name"], j["error_message"])'
check "the job failed with TimedOut at its deadline" \
    eval "[ $rc = 1 ] && [ \"\$(job_json $results/unplug-fail.json 'j[\"error_name\"]')\" = org.hostdevd1.Error.TimedOut ]"
check "its error names the domain and QEMU" \
    eval "job_json $results/unplug-fail.json 'j[\"error_message\"]' |
          grep -Eq '^Domain l2 did not let mdev $uuid go within 20 s \\(policy fail\\): qemu-system-x86 \\(pid [0-9]+\\) holds'"
check "it never reached the kernel's point of no return" \
    eval "! grep -q 'through the kernel' $results/unplug-fail-steps.txt"
check "the mdev stays with the guest" \
    eval "[ -e /sys/bus/mdev/devices/$uuid ] && holders_of $uuid | grep -q qemu && [ \"\$(domain_of $uuid)\" = l2 ]"
check "virsh resume l2" virsh -q resume l2
check "resumed, L2 acts on the request after all" wait_for 60 l2_saw remove 4348:3253
check "hostdevd's view follows: the mdev is in no domain" wait_for 20 eval "[ -z \"\$(domain_of $uuid)\" ]"

# ---- B: a slot that is not hot-pluggable, policy destroy-domain ----
mark="lab: 51-unplug-ignoring B $(now_ms)"; echo "$mark" > /dev/kmsg
t=$(now_ms)
hostdevctl unplug "$nic" --policy destroy-domain --deadline 15 --json > "$results/unplug-destroy.json"; rc=$?
echo "unplug --policy destroy-domain returned $rc after $(( $(now_ms) - t )) ms; its steps:"
job_steps "$results/unplug-destroy.json" | tee "$results/unplug-destroy-steps.txt" | sed 's/^/  /'
check "the job completed" test "$rc" = 0
check "libvirt could not detach it, the kernel asked QEMU" eval "
    grep -q '^libvirt could not detach the device from domain l2' $results/unplug-destroy-steps.txt &&
    grep -q '^Releasing $nic through the kernel: it asks QEMU of domain l2 to let it go' $results/unplug-destroy-steps.txt &&
    grep -q '^The kernel asked the holders of $nic to release it (request 1)' $results/unplug-destroy-steps.txt"
check "the kernel relayed the request to QEMU" \
    eval "dmesg | sed -n '/$mark/,\$p' | grep -q '$nic: Relaying device request to user'"
check "hostdevd destroyed l2 at the deadline" \
    eval "grep -q '^Destroying domain l2 (policy destroy-domain): its guest did not let $nic go within 15 s' $results/unplug-destroy-steps.txt"
check "l2 is shut off" test "$(virsh domstate l2 2>/dev/null)" = "shut off"
check "$nic is free: back on $orig, nobody holds it, no domain" \
    wait_for 10 eval "[ \"\$(driver_of $nic)\" = $orig ] && [ -z \"\$(holders_of $nic)\" ] && [ -z \"\$(domain_of $nic)\" ]"
check "the journal has the destroy as a warning" \
    eval "journalctl -u hostdevd --since '$since' -p warning | grep -q 'policy destroy-domain: destroying libvirt domain l2'"
finish
