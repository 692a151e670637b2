#!/bin/bash
# hostdevd killed in the middle of an unplug: the e1000e on vfio-pci is held
# by vfio-holder --ignore-requests --register (a guest that ignores the
# kernel's requests), `hostdevctl unplug` is waiting in the kernel's unbind
# (release_pending 1) when the daemon is killed.  The kernel's wait goes on
# without it (the unbind was written by a child process, which holds nothing
# of the daemon: the bus name is free at once).  The next hostdevd finds the
# pending release at start, follows it in a "release-pending" job with the
# holder, and once the holder lets go gives the device its host driver, as
# the unplug would have.
#
# The unit's KillMode=process is what lets the next daemon start at once:
# systemd would otherwise wait TimeoutStopSec for that child, stuck in the
# kernel.  The scenario checks that the installed unit says so.
cd "$(dirname "$0")" && . ./lib/lib.sh && . ./lib/unplug.sh
results=${LAB_RESULTS:-/tmp}
. ./lib/request.sh

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
since=$(date '+%Y-%m-%d %H:%M:%S')
lab_cleanup_add 'save_journal "$since" "$results"'
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add kill_pids

check "the unit stops only the daemon, not its unbind writers" \
    test "$(systemctl show -p KillMode --value hostdevd)" = process
modprobe -a vfio-pci vfio_iommu_type1
check "hostdevctl bind $nic" eval "hostdevctl bind $nic > /dev/null"
"$holder" --ignore-requests --register "$nic" > "$results/holder.log" 2>&1 &
hp=$!; pids+=("$hp")
check "vfio-holder holds $nic, ignoring requests" wait_for 20 grep -q 'ready:' "$results/holder.log"
vdev=$(readlink -f /sys/bus/pci/devices/$nic/vfio-dev/vfio*)

out=$(hostdevctl unplug "$nic" --no-wait); echo "$out"
job=$(sed -n 's/^Started job \([0-9]*\) .*/\1/p' <<<"$out")
check "the unplug job waits for the kernel's unbind" \
    wait_for 15 eval "[ \"\$(job_prop $job State)\" = waiting-for-release ] && grep -qx 1 $vdev/release_pending"
main=$(systemctl show -p MainPID --value hostdevd)
writer=$(pgrep -P "$main" | head -n1)
echo "hostdevd pid $main, unbind written by pid ${writer:-?}"
check "the unbind is written by a child process of hostdevd" test -n "$writer"

kill -9 "$main"
check "killed: the bus name is free" \
    wait_for 20 eval "! busctl status org.hostdevd1 > /dev/null 2>&1"
check "the kernel still waits: release_pending 1, the writer in the unbind" \
    eval "grep -qx 1 $vdev/release_pending && kill -0 $writer 2>/dev/null"

# D-Bus activation starts the next hostdevd.
t=$(now_ms)
check "the new hostdevd follows the pending release in a job" \
    wait_for 15 eval "hostdevctl jobs > $results/jobs-after.txt && grep -Eq 'release-pending +$nic +waiting-for-release' $results/jobs-after.txt"
cat "$results/jobs-after.txt"
new=$(sed -n "s/^ *\([0-9]*\) *release-pending .*/\1/p" "$results/jobs-after.txt" | head -n1)
check "it names the holder" wait_for 15 eval "busctl get-property org.hostdevd1 /org/hostdevd1/jobs/$new org.hostdevd1.Job Holders | grep -q vfio-holder"
check "the device shows it as its active job" \
    eval "hostdevctl show $nic | grep -Eq '^Active job: +$new '"
check "the journal says what it found" \
    eval "journalctl -u hostdevd --since '$since' | grep -q 'The kernel is still releasing $nic (vfio[0-9]*): .* job $new follows it'"

kill "$hp"; wait "$hp"
hostdevctl wait "$new" --json > "$results/release-pending.json"; rc=$?
echo "the release ended $(( $(now_ms) - t )) ms after the restart; the job's steps:"
job_steps "$results/release-pending.json" | tee "$results/release-pending-steps.txt" | sed 's/^/  /'
check "the release-pending job completed" test "$rc" = 0
check "its steps: the release found, the holder, the release, the host driver" eval "
    grep -q '^The kernel is releasing $nic (release_pending is 1 in ' $results/release-pending-steps.txt &&
    grep -q '^Waiting for release of $nic: vfio-holder (pid $hp)' $results/release-pending-steps.txt &&
    grep -q '^The kernel released $nic after ' $results/release-pending-steps.txt &&
    grep -q '^$nic is bound to $orig' $results/release-pending-steps.txt"
check "$nic is back on $orig" test "$(driver_of "$nic")" = "$orig"
check "the old unbind's writer is gone" wait_for 15 eval "! kill -0 $writer 2>/dev/null"
finish
