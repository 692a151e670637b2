#!/bin/bash
# hostdevd on the real kernel: started by D-Bus activation, lists the lab's
# devices with their IOMMU groups, binds an e1000e to vfio-pci for real and
# gives it back, refuses a non-viable group, reports the holder of a device
# whose release blocks in the kernel while staying responsive, and re-applies
# a persistent binding after a restart.
cd "$(dirname "$0")" && . ./lib/lib.sh

nic=$(pci_by_mac 52:54:00:12:01:00)
pair=$(pci_by_mac 52:54:00:12:03:00)
edu_fn1=${pair%.0}.1
g=$(group_of "$nic")
modprobe vfio-pci

check "hostdevd is installed" test -x /usr/libexec/hostdevd
check "hostdevd not running before the first call" test "$(systemctl is-active hostdevd)" != active
hostdevctl list > /tmp/list.txt
cat /tmp/list.txt
check "D-Bus activation started hostdevd.service" test "$(systemctl is-active hostdevd)" = active
check "list shows $nic on e1000e in IOMMU group $g" \
    grep -Eq "^$nic +8086:10d3 +020000 +e1000e +$g " /tmp/list.txt
check "list shows every PCI device" \
    test "$(($(wc -l < /tmp/list.txt) - 1))" = "$(ls /sys/bus/pci/devices | wc -l)"

# Bind for real.
t=$(now_ms)
hostdevctl bind "$nic" > /tmp/bind.txt && pass "hostdevctl bind $nic" || fail "hostdevctl bind $nic"
cat /tmp/bind.txt
# Each step of the job exactly once (a stale PropertiesChanged signal once
# made the CLI print some twice).
check "the job's steps are printed once each" test -z "$(sort /tmp/bind.txt | uniq -d)"
echo "bind through hostdevd took $(( $(now_ms) - t )) ms"
check "$nic is on vfio-pci" test "$(driver_of "$nic")" = vfio-pci
check "/dev/vfio/$g exists" test -c "/dev/vfio/$g"
hostdevctl show "$nic" | tee /tmp/show.txt
check "show: original driver e1000e" grep -q "^Original driver: *e1000e" /tmp/show.txt
check "show: VFIO group node /dev/vfio/$g" grep -q "^VFIO group node: */dev/vfio/$g" /tmp/show.txt

# A non-viable group is refused and nothing changes.
out=$(hostdevctl bind "$edu_fn1" 2>&1); rc=$?
echo "$out"
check "bind of $edu_fn1 refused (exit 1)" test "$rc" = 1
check "the refusal names $pair and its driver" grep -q "$pair (bound to e1000e)" <<<"$out"
check "$pair still on e1000e" test "$(driver_of "$pair")" = e1000e

# A user holds the device and ignores the kernel's requests.
/tmp/lab/tools/vfio-holder --ignore-requests "$nic" > /tmp/hold.log 2>&1 &
holder=$!
wait_for 10 grep -q 'ready:' /tmp/hold.log; cat /tmp/hold.log
job=$(hostdevctl restore "$nic" --no-wait | awk '{print $3}')
jobstate() { hostdevctl jobs --json | python3 -c "
import json, sys
j = [j for j in json.load(sys.stdin)['jobs'] if str(j['id']) == '$job'][0]
print(j['state'], ' '.join('%s:%s' % (h['pid'], h['command']) for h in j['holders']))"; }
job_matches() { jobstate | grep -q "$1"; }
check "job $job waits for release" wait_for 20 job_matches '^waiting-for-release'
check "job $job names the holder (pid $holder)" wait_for 10 job_matches " $holder:vfio-holder"
# The holder never lets go by itself: a daemon stuck behind the unbind could
# only answer after the kill below. Answering, with the job still waiting
# afterwards, is the proof; the time is for the log.
t=$(now_ms)
check "the daemon answers while the unbind blocks" \
    eval "hostdevctl list > /dev/null && hostdevctl show $pair > /dev/null && job_matches '^waiting-for-release'"
echo "list + show took $(( $(now_ms) - t )) ms"
out=$(hostdevctl cancel "$job" 2>&1); echo "$out"
check "cancel refused past the point of no return" grep -q "can no longer be cancelled" <<<"$out"
kernel_said() { dmesg | grep -q "$1"; }
check "the kernel relayed the request and found no channel" \
    wait_for 15 kernel_said 'No device request channel registered' 
kill "$holder"; wait "$holder" 2>/dev/null
hostdevctl wait "$job" && pass "job $job completed once the holder exited" || fail "job $job did not complete"
check "$nic back on e1000e" test "$(driver_of "$nic")" = e1000e
check "/dev/vfio/$g gone" test ! -e "/dev/vfio/$g"

# Persistence: re-applied after a restart, however the device got away.
hostdevctl bind "$nic" --persist > /dev/null
echo > "/sys/bus/pci/devices/$nic/driver_override"
echo "$nic" > /sys/bus/pci/drivers/vfio-pci/unbind
echo "$nic" > /sys/bus/pci/drivers_probe
check "$nic taken back to e1000e behind hostdevd's back" test "$(driver_of "$nic")" = e1000e
systemctl restart hostdevd
on_vfio() { test "$(driver_of "$nic")" = vfio-pci; }
check "restarted hostdevd re-applies the persistent binding" wait_for 20 on_vfio
journal_has() { journalctl -b "HOSTDEVD_DEVICE=$nic" | grep -q "$1"; }
check "the journal has the device's story (HOSTDEVD_DEVICE=$nic)" journal_has 'Applying the persistent' 
hostdevctl restore "$nic" > /dev/null
check "restore forgets it" test "$(driver_of "$nic")" = e1000e
finish
