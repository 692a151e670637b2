#!/bin/bash
# The device request protocol and the release state for vfio-pci: the e1000e
# on rp1 (alone in its IOMMU group) bound to vfio-pci and held by
# tools/vfio-holder while it is unbound from vfio-pci.
#
# A: --release-on-request: the unbind ends on the release that the first
#    request asked for (the trace shows the order, and no second request).
# B: --ignore-requests --hold-seconds 15, no request eventfd: the unbind
#    blocks, vfio-pci says once that no request channel is registered,
#    vfio-dev/vfioX/release_pending is 1 and release_requests goes 1 -> 2
#    (poll() wakes up), the unbind completes when the holder exits, with no
#    request after the close.
# C: --ignore-requests --register --hold-seconds 12: vfio-pci relays the
#    requests to a holder that ignores them (a guest that does not unplug);
#    the holder sees request 1 and 2, release_requests says 2.
# Needs vfio-holder in /tmp/lab/tools (built by `make -C tests/lab/tools`).
cd "$(dirname "$0")" && . ./lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ./lib/request.sh

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
g=$(group_of "$nic")
dev=/sys/bus/pci/devices/$nic
echo "device $nic, driver $orig, IOMMU group $g"

lab_cleanup_add 'pci_restore "$nic" "$orig"'
lab_cleanup_add kill_pids

check "modprobe vfio-pci vfio_iommu_type1" modprobe -a vfio-pci vfio_iommu_type1
bind_vfio() {   # the sequence hostdevd uses: driver_override, unbind, drivers_probe
    pci_to_vfio "$nic"
    test "$(driver_of "$nic")" = vfio-pci && wait_for 5 test -c "/dev/vfio/$g"
}
start_holder() {   # start_holder LOG ARGS...: sets hp; false if it did not get ready
    local log=$1; shift
    "$holder" "$@" "$nic" > "$log" 2>&1 &
    hp=$!; pids+=("$hp")
    wait_for 20 grep -q 'ready:' "$log" || { cat "$log"; return 1; }
}

# --- A: release on request ------------------------------------------------
echo "== A: the holder releases on request"
check "$nic bound to vfio-pci" bind_vfio
vdev=$(readlink -f "$dev"/vfio-dev/vfio*)
log=$results/holder-A.log
trace_start
check "vfio-holder holds $nic with a request eventfd" start_holder "$log" --release-on-request --timeout 60
check "release_pending 0, release_requests 0 before the unbind" \
    test "$(cat "$vdev/release_pending") $(cat "$vdev/release_requests")" = "0 0"
mark=$(kmsg_mark A)
t0=$(now_ms)
echo "$nic" > /sys/bus/pci/drivers/vfio-pci/unbind
t1=$(now_ms)
wait $hp; rc=$?
cat "$log"
treq=$(holder_ms "$log" 'request received')
echo "unbind took $((t1 - t0)) ms; the request came $((${treq:-0} - t0)) ms after the write"
check "the unbind completed: $nic has no driver" test "$(driver_of "$nic")" = none
check "the holder got the request and printed released (exit $rc)" \
    eval "[ $rc = 0 ] && grep -q 'request received after' '$log' && grep -q 'released' '$log'"
check "the vfio-dev directory is gone" test ! -e "$vdev"
check "dmesg: vfio-pci relayed the request (#0)" \
    eval "dmesg_since '$mark' | grep -q '$nic: Relaying device request to user (#0)'"
trace_stop A
check "trace: unregister_start with 1 user, request count=0, unregister_end after 1 request" \
    eval "traced 'vfio_device_unregister_start: $nic vfio[0-9]+ count=1' A &&
          traced 'vfio_device_request: $nic vfio[0-9]+ count=0' A &&
          traced 'vfio_device_unregister_end: $nic vfio[0-9]+ count=1 waited_ms=' A"
# ... and in that order, with the holder's close between the request and the
# end of the wait: the unbind ended on the release request #0 asked for.
check_ended_on_request A "$nic"

# --- B: no request channel, held for 15 s ------------------------------------
echo "== B: held for 15 s without a request eventfd"
check "$nic bound to vfio-pci again" bind_vfio
vdev=$(readlink -f "$dev"/vfio-dev/vfio*)
log=$results/holder-B.log
trace_start
check "vfio-holder holds $nic (no request eventfd)" start_holder "$log" --ignore-requests --hold-seconds 15
mark=$(kmsg_mark B)
t0=$(now_ms)
( echo "$nic" > /sys/bus/pci/drivers/vfio-pci/unbind && echo "unbind returned" ) > "$results/unbind-B.log" 2>&1 &
wp=$!; pids+=("$wp")
check "release_pending becomes 1" wait_for 5 grep -qx 1 "$vdev/release_pending"
check "release_requests is 1 (request #0 sent)" wait_for 4 grep -qx 1 "$vdev/release_requests"
poll_change "$vdev/release_requests" 14 > "$results/poll-B.log" 2>&1 &
pp=$!; pids+=("$pp")
sleep 2
# The driver link is gone already (driver_sysfs_remove() comes before the
# driver's remove), but the vfio-dev directory stays until the wait is over.
check "the unbind blocks while the device is held, vfio-dev stays" eval "kill -0 $wp 2>/dev/null && test -e $vdev/release_pending"
echo "after $(( $(now_ms) - t0 )) ms: release_pending=$(cat "$vdev/release_pending") release_requests=$(cat "$vdev/release_requests")"
check "release_requests reaches 2 (request #1) while blocked" wait_for 12 grep -qx 2 "$vdev/release_requests"
check "the unbind is still blocked" kill -0 $wp
wait $pp
echo "poll: $(cat "$results/poll-B.log")"
check "poll(POLLPRI) on release_requests woke up with the new count" \
    eval "grep -Eq '^1 2 [0-9.]+ woken$' '$results/poll-B.log'"
wait $hp; hrc=$?
trel=$(holder_ms "$log" 'released')
check "the unbind completes after the holder exits" wait_for 10 eval "! kill -0 $wp 2>/dev/null"
t1=$(now_ms)
cat "$log" "$results/unbind-B.log"
echo "unbind took $((t1 - t0)) ms; the holder released $((${trel:-0} - t0)) ms after the write"
check "the holder held the device for 15 s and exited cleanly (exit $hrc)" \
    eval "[ $hrc = 0 ] && grep -q 'released' '$log'"
check "$nic has no driver, its vfio-dev directory is gone" \
    eval "test \"\$(driver_of $nic)\" = none && test ! -e '$vdev'"
n=$(dmesg_since "$mark" | grep -c "$nic: No device request channel registered, blocked until released by user")
check "dmesg: the 'no request channel' notice exactly once (got $n)" test "$n" = 1
trace_stop B
check "trace: requests count=0 and 1, unregister_end after 2 requests and >= 10 s" \
    eval "traced 'vfio_device_request: $nic vfio[0-9]+ count=0' B &&
          traced 'vfio_device_request: $nic vfio[0-9]+ count=1' B &&
          traced 'vfio_device_unregister_end: $nic vfio[0-9]+ count=2 waited_ms=1[0-9]{4}' B"
# The wait ended on the holder's close, not at a later request.
check_ended_on_close B "$nic"

# --- C: requests relayed to a holder that ignores them -----------------------
echo "== C: held for 12 s with a request eventfd, requests ignored"
check "$nic bound to vfio-pci again" bind_vfio
vdev=$(readlink -f "$dev"/vfio-dev/vfio*)
log=$results/holder-C.log
check "vfio-holder holds $nic with a request eventfd" start_holder "$log" --ignore-requests --register --hold-seconds 12
t0=$(now_ms)
( echo "$nic" > /sys/bus/pci/drivers/vfio-pci/unbind ) &
wp=$!; pids+=("$wp")
# The kernel sends request #1 at once and #2 ten seconds later: these waits
# stay under those 10 s, so they tell the two apart however slow TCG is.
check "release_pending 1, release_requests 1" \
    wait_for 8 eval "test \"\$(cat '$vdev/release_pending') \$(cat '$vdev/release_requests')\" = '1 1'"
check "the holder sees request #1" wait_for 8 grep -q 'request #1 received' "$log"
check "the holder sees request #2 ten seconds later" wait_for 12 grep -q 'request #2 received' "$log"
check "release_requests is 2" grep -qx 2 "$vdev/release_requests"
wait $hp; hrc=$?
check "the unbind completes after the holder exits" wait_for 10 eval "! kill -0 $wp 2>/dev/null"
cat "$log"
echo "unbind took $(( $(now_ms) - t0 )) ms"
check "the holder exited cleanly (exit $hrc)" test "$hrc" = 0

# --- restore ---------------------------------------------------------------
lab_cleanup
check "$nic back on $orig" wait_for 5 eval "test \"\$(driver_of $nic)\" = $orig"
finish
