#!/bin/bash
# Host-initiated release seen through hostdevd's QEMU (qemu-patches/): the
# nested guest L2 runs on the patched qemu-system-x86_64 and has two
# vfio-pci devices from boot, the e1000e in a hot-pluggable root port and
# the edu in a root port with hotplug='off'.  A QMP listener
# (`virsh qemu-monitor-event`) records what QEMU says, independently of
# hostdevd.
#
# A: `hostdevctl restore` unbinds the e1000e from vfio-pci while L2 holds it.
#    The kernel's request reaches QEMU: VFIO_DEVICE_REQUEST (count 1, no
#    unplug pending), L2 removes the device (pciehp), DEVICE_DELETED, the
#    unbind completes, and the Job shows QEMU's report as a step.
# C: the e1000e attached again (`hostdevctl attach`) and L2 paused: the
#    kernel's second request finds the unplug pending, QEMU reports it
#    (unplug-pending true) without pressing the button again; once resumed,
#    L2 removes the device once and the restore completes.
# B: `hostdevctl unplug` of the edu, policy destroy-domain, deadline 25 s.
#    libvirt cannot detach it, so the job releases it through the kernel;
#    QEMU answers every request with VFIO_DEVICE_UNPLUG_FAILED and its
#    reason (logged once in QEMU's log, not every 10 s); the Job shows the
#    reason while it waits, then destroys the domain at the deadline.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/l2.sh && . ./lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
l2_needs_hostdevd_qemu

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
edu=
for d in /sys/bus/pci/devices/*.0; do   # the edu alone on rp2 (function 0)
    [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && edu=$(basename "$d")
done
[ -n "$edu" ] || { fail "edu on rp2 not found"; finish; }
nic_orig=$(driver_of "$nic")
edu_orig=$(driver_of "$edu")
echo "e1000e $nic ($nic_orig, group $(group_of "$nic")), edu $edu ($edu_orig, group $(group_of "$edu"))"
modprobe vfio-pci
since=$(date '+%Y-%m-%d %H:%M:%S')
events=$results/qmp-events.log
lab_cleanup_add 'l2_save_logs "$results"'
lab_cleanup_add 'save_journal "$since" "$results"'
lab_cleanup_add 'restore_unless "$edu" "$edu_orig"'
lab_cleanup_add 'restore_unless "$nic" "$nic_orig"'
lab_cleanup_add l2_destroy
lab_cleanup_add kill_pids --no-wait   # the QMP listener

# event NAME FIELD...: the QMP events NAME whose data has every FIELD
# (JSON text as QEMU sends it, e.g. '"count":1')
event() {
    local name=$1 f; shift
    grep "event $name for domain 'l2'" "$events" 2>/dev/null | {
        while read -r line; do
            for f in "$@"; do [[ $line == *"$f"* ]] || continue 2; done
            echo "$line"
        done
    } | grep -q .
}
event_count() { grep -c "event $1 for domain 'l2'" "$events" 2>/dev/null; }

# ---- L2 with both devices from boot ----
check "hostdevctl bind $nic and $edu to vfio-pci" \
    eval "hostdevctl bind $nic > /dev/null && hostdevctl bind $edu > /dev/null"
check "L2 defined" l2_define_unplug
{
    l2_hostdev_pci "$nic" no | sed "s|</hostdev>|  <alias name='ua-nic'/>\n  <address type='pci' bus='0x01' slot='0x00' function='0x0'/>\n</hostdev>|"
    l2_hostdev_pci "$edu" no | sed "s|</hostdev>|  <alias name='ua-edu'/>\n  <address type='pci' bus='0x03' slot='0x00' function='0x0'/>\n</hostdev>|"
    echo "<controller type='pci' index='3' model='pcie-root-port'><target hotplug='off'/></controller>"
} > /tmp/l2-devices.xml
sed -i '/<\/devices>/e cat /tmp/l2-devices.xml' /tmp/l2.xml
check "L2's definition: both hostdevs, root port 3 without hot-plug, hostdevd's QEMU" \
    eval "l2_redefine && virsh dumpxml l2 > $results/l2.xml &&
          grep -q \"<emulator>$L2_EMULATOR</emulator>\" $results/l2.xml &&
          grep -q \"<target .*hotplug='off'\" $results/l2.xml && [ \$(grep -c '<hostdev ' $results/l2.xml) = 2 ]"
check "L2 started" virsh -q start l2
virsh qemu-monitor-event l2 --loop --timestamp > "$events" 2>&1 &
pids+=($!)
t=$(now_ms)
check "L2 booted" wait_for 240 l2_ready
echo "L2 ready after $(( $(now_ms) - t )) ms"
pid=$(cat /run/libvirt/qemu/l2.pid)
check "L2's QEMU (pid $pid) is hostdevd's build" \
    eval "[ \"\$(readlink /proc/$pid/exe)\" = $L2_EMULATOR ] && $L2_EMULATOR -version | grep -q 'QEMU emulator version 7.2'"
check "L2 has both devices" eval "l2_saw present 8086:10d3 && l2_saw present 1234:11e8"
check "hostdevd shows both in domain l2" \
    wait_for 10 eval "[ \"\$(domain_of $nic)\" = l2 ] && [ \"\$(domain_of $edu)\" = l2 ]"

# ---- A: the host takes the e1000e back from a hot-pluggable slot ----
echo "== A: hostdevctl restore $nic while L2 holds it"
t=$(now_ms)
hostdevctl restore "$nic" --json > "$results/restore-nic.json"; rc=$?
echo "restore of $nic took $(( $(now_ms) - t )) ms; its steps:"
job_steps "$results/restore-nic.json" | tee "$results/restore-nic-steps.txt" | sed 's/^/  /'
check "the restore job completed: $nic is back on $nic_orig" \
    eval "[ $rc = 0 ] && [ \"\$(job_json $results/restore-nic.json 'j[\"state\"]')\" = completed ] &&
          [ \"\$(driver_of $nic)\" = $nic_orig ]"
check "QMP: VFIO_DEVICE_REQUEST for ua-nic, $nic, request 1, no unplug pending" \
    event VFIO_DEVICE_REQUEST '"device":"ua-nic"' "\"sysfsdev\":\"/sys/bus/pci/devices/$nic\"" \
    '"count":1' '"unplug-pending":false'
check "QMP: DEVICE_DELETED for ua-nic" wait_for 10 event DEVICE_DELETED '"device":"ua-nic"'
check "QMP: no VFIO_DEVICE_UNPLUG_FAILED for ua-nic" eval "! event VFIO_DEVICE_UNPLUG_FAILED '\"device\":\"ua-nic\"'"
check "L2 saw the e1000e leave" wait_for 30 l2_saw remove 8086:10d3
check "the job shows QEMU's report of the request" \
    grep -q "^QEMU of domain l2 got the host's request 1 for ua-nic$" \
    "$results/restore-nic-steps.txt"
check "libvirt's live XML lost the e1000e (hostdevd's view follows)" \
    wait_for 10 eval "[ \$(virsh dumpxml l2 | grep -c '<hostdev ') = 1 ] && [ -z \"\$(domain_of $nic)\" ]"

# ---- C: a repeated request while the guest has not finished the unplug ----
echo "== C: hostdevctl restore $nic while L2 is paused: the kernel asks twice"
check "hostdevctl attach $nic l2 (hot-plugged into a free root port)" \
    eval "hostdevctl attach $nic l2 --no-rom-bar > $results/attach-nic.txt"
check "L2 saw the e1000e arrive" wait_for 60 l2_saw add 8086:10d3
# The hostdev libvirt named (hostdevd gives no alias); the edu is ua-edu.
alias=$(virsh dumpxml l2 | grep -o "<alias name='hostdev[0-9]*'/>" | cut -d"'" -f2)
echo "the e1000e is $alias in L2"
check "virsh suspend l2: its guest handles no attention button now" virsh -q suspend l2
hostdevctl restore "$nic" --json > "$results/restore-nic-2.json" &
rp=$!
check "QMP: request 1 for $alias, no unplug pending: QEMU pressed the attention button" \
    wait_for 15 event VFIO_DEVICE_REQUEST "\"device\":\"$alias\"" '"count":1' '"unplug-pending":false'
check "QMP: request 2, ten seconds later, with the unplug pending: not forwarded" \
    wait_for 20 event VFIO_DEVICE_REQUEST "\"device\":\"$alias\"" '"count":2' '"unplug-pending":true'
check "QMP: no VFIO_DEVICE_UNPLUG_FAILED for $alias (a second press would have failed: 'guest is busy')" \
    eval "! event VFIO_DEVICE_UNPLUG_FAILED '\"device\":\"$alias\"'"
check "virsh resume l2" virsh -q resume l2
wait $rp; rc=$?
job_steps "$results/restore-nic-2.json" | tee "$results/restore-nic-2-steps.txt" | sed 's/^/  /'
check "the restore completed once L2 let the e1000e go: DEVICE_DELETED, back on $nic_orig" \
    eval "[ $rc = 0 ] && event DEVICE_DELETED '\"device\":\"$alias\"' && [ \"\$(driver_of $nic)\" = $nic_orig ]"
check "L2 removed it once (one button press: a second would have cancelled it)" \
    wait_for 30 eval "[ \$(l2_count remove 8086:10d3) = 2 ]"
check "the job shows both of QEMU's reports, the second with the unplug pending" eval "
    grep -q \"^QEMU of domain l2 got the host's request 1 for $alias$\" $results/restore-nic-2-steps.txt &&
    grep -q \"^QEMU of domain l2 got the host's request 2 for $alias; an unplug is pending, so the guest was not asked again$\" $results/restore-nic-2-steps.txt"

# ---- B: the edu in a slot without hot-plug ----
echo "== B: hostdevctl unplug $edu (hotplug='off'), policy destroy-domain, deadline 25 s"
hostdevctl unplug "$edu" --deadline 25 --policy destroy-domain --json > "$results/unplug-edu.json" &
up=$!
job=
wait_for 10 eval 'job=$(busctl get-property org.hostdevd1 /org/hostdevd1/pci/${edu//[:.]/_} org.hostdevd1.PciDevice ActiveJob 2>/dev/null | sed -E "s|.*/jobs/([0-9]+)\"|\1|"); [ -n "$job" ] && [ "$job" != "o \"/\"" ]'
echo "unplug job $job"
check "QMP: VFIO_DEVICE_UNPLUG_FAILED for ua-edu with the reason, request 1" \
    wait_for 30 event VFIO_DEVICE_UNPLUG_FAILED '"device":"ua-edu"' "\"sysfsdev\":\"/sys/bus/pci/devices/$edu\"" \
    '"count":1' '"reason":"Hot-unplug failed: unsupported by the port device'
status=
check "while it waits, the job's status says why it cannot finish" \
    wait_for 10 eval 'status=$(job_prop $job Status); [[ $status == *"QEMU cannot unplug it: Hot-unplug failed: unsupported by the port device"* ]]'
echo "  status: $status"
check "QMP: the kernel's second request is reported too (VFIO_DEVICE_REQUEST count 2, then the failure)" \
    wait_for 20 eval "event VFIO_DEVICE_REQUEST '\"device\":\"ua-edu\"' '\"count\":2' &&
                      event VFIO_DEVICE_UNPLUG_FAILED '\"device\":\"ua-edu\"' '\"count\":2'"
wait $up; rc=$?
job_steps "$results/unplug-edu.json" | tee "$results/unplug-edu-steps.txt" | sed 's/^/  /'
check "the unplug job completed at its deadline by destroying domain l2" \
    eval "[ $rc = 0 ] && grep -q '^Destroying domain l2 (policy destroy-domain)' $results/unplug-edu-steps.txt &&
          [ \"\$(driver_of $edu)\" = $edu_orig ]"
check "its steps: libvirt's refusal, QEMU's reason with the request number, the deadline" eval "
    grep -qi 'unsupported by the port device' $results/unplug-edu-steps.txt &&
    grep -q \"^QEMU of domain l2 could not unplug ua-edu on the host's request 1: Hot-unplug failed: unsupported by the port device\" $results/unplug-edu-steps.txt &&
    grep -q '^QEMU of domain l2 said it cannot unplug $edu: Hot-unplug failed' $results/unplug-edu-steps.txt"
n=$(grep -c "host asked for the device, but it cannot be unplugged" /var/log/libvirt/qemu/l2.log)
echo "QEMU's log: $n warning(s) for $(event_count VFIO_DEVICE_UNPLUG_FAILED) failed requests"
check "QEMU logged the reason once for $(event_count VFIO_DEVICE_UNPLUG_FAILED) failed requests (got $n)" \
    eval "[ $n = 1 ] && [ $(event_count VFIO_DEVICE_UNPLUG_FAILED) -ge 2 ]"
echo "QMP events:"
sed 's/^/  /' "$events"
finish
