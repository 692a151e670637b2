#!/bin/bash
# The device request protocol for mdevs (kernel/patches: request support in
# mtty, mdpy and mbochs; the vfio tracepoints; the release state in sysfs).
#
# A: a holder that registered the request eventfd (tools/vfio-holder
#    --release-on-request) gets the request as soon as `remove` is written
#    and lets go: the remove ends on that release, after one request (the
#    trace shows the order). For mtty, mdpy and mbochs.
# B: a holder without a request channel (--ignore-requests --hold-seconds 15):
#    the remove blocks while the device is held, the kernel says once that no
#    request channel is registered, vfio-dev/vfioX/release_pending is 1 and
#    release_requests counts 1, then 2 (poll() wakes up on the change), and
#    the remove completes when the holder exits, with no request after the
#    close. For mtty.
# Needs vfio-holder in /tmp/lab/tools (built by `make -C tests/lab/tools`).
cd "$(dirname "$0")" && . ./lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ./lib/request.sh

lab_cleanup_add kill_pids --no-wait

check "modprobe vfio_iommu_type1" modprobe vfio_iommu_type1
check "modprobe mtty mdpy mbochs" modprobe -a mtty mdpy mbochs
check "the vfio tracepoints exist" test -d $tracing/events/vfio

mdev_create() {   # mdev_create PARENT TYPE -> prints the UUID
    local u; u=$(cat /proc/sys/kernel/random/uuid)
    echo "$u" > "/sys/class/mdev_bus/$1/mdev_supported_types/$2/create" && echo "$u"
}

# --- A: release on request ------------------------------------------------
release_on_request() {   # PARENT TYPE
    local parent=$1 type=$2 uuid log t0 t1 treq trel vdev
    echo "== A: $type: the holder releases on request"
    uuid=$(mdev_create "$parent" "$type") || { fail "$type: create an mdev"; return; }
    vdev=$(readlink -f /sys/bus/mdev/devices/$uuid/vfio-dev/vfio*)
    log=$results/holder-A-$type.log
    trace_start
    "$holder" --release-on-request --timeout 60 "$uuid" > "$log" 2>&1 &
    local hp=$!; pids+=("$hp")
    if ! wait_for 20 grep -q 'ready:' "$log"; then
        fail "$type: vfio-holder opened $uuid and registered the request eventfd"; cat "$log"
        kill $hp; echo 1 > /sys/bus/mdev/devices/$uuid/remove; trace_stop "A-$type"; return
    fi
    pass "$type: vfio-holder holds $uuid with a request eventfd"
    check "$type: release_pending is 0 and release_requests 0 before the remove" \
        test "$(cat $vdev/release_pending) $(cat $vdev/release_requests)" = "0 0"
    kmsg_mark "A-$type" >/dev/null
    t0=$(now_ms)
    echo 1 > /sys/bus/mdev/devices/$uuid/remove
    t1=$(now_ms)
    wait $hp; local rc=$?
    cat "$log"
    treq=$(holder_ms "$log" 'request received')
    trel=$(holder_ms "$log" 'released')
    echo "$type: remove took $((t1 - t0)) ms; request $((${treq:-0} - t0)) ms after the write, released $((${trel:-0} - t0)) ms after"
    check "$type: the remove completed and the mdev is gone" test ! -e /sys/bus/mdev/devices/$uuid
    check "$type: the holder got the request and printed released (exit $rc)" \
        eval "[ $rc = 0 ] && grep -q 'request received after' '$log' && grep -q 'released' '$log'"
    check "$type: the kernel relayed the request (#0)" \
        eval "dmesg_since 'lab: 30-mdev-request A-$type' | grep -q '$uuid: Relaying device request to user (#0)'"
    check "$type: no 'no request channel' notice with an eventfd registered" \
        eval "! dmesg_since 'lab: 30-mdev-request A-$type' | grep -q '$uuid: No device request channel'"
    trace_stop "A-$type"
    check "$type: trace: unregister_start with 1 user" traced "vfio_device_unregister_start: $uuid vfio[0-9]+ count=1" "A-$type"
    check "$type: trace: request count=0" traced "vfio_device_request: $uuid vfio[0-9]+ count=0" "A-$type"
    # One request, then the holder's close, then the end of the wait, and no
    # second request (10 s after the first): the remove ended on the release
    # that request #0 asked for.
    check "$type: trace: close, then unregister_end after 1 request" \
        eval "traced 'vfio_device_close: $uuid vfio[0-9]+ count=0' A-$type && traced 'vfio_device_unregister_end: $uuid vfio[0-9]+ count=1 waited_ms=' A-$type"
    check_ended_on_request "A-$type" "$uuid" "$type"
}

release_on_request mtty mtty-2
release_on_request mdpy mdpy-vga
release_on_request mbochs mbochs-small

# --- B: no request channel, held for 15 s ------------------------------------
echo "== B: mtty-1: held for 15 s without a request eventfd"
uuid=$(mdev_create mtty mtty-1) || { fail "mtty-1: create an mdev"; finish; }
vdev=$(readlink -f /sys/bus/mdev/devices/$uuid/vfio-dev/vfio*)
echo "mdev $uuid, vfio-dev $vdev"
log=$results/holder-B.log
trace_start
"$holder" --ignore-requests --hold-seconds 15 "$uuid" > "$log" 2>&1 &
hp=$!; pids+=("$hp")
check "vfio-holder holds $uuid (no request eventfd)" wait_for 20 grep -q 'ready:' "$log"
mark=$(kmsg_mark B)
t0=$(now_ms)
( echo 1 > "/sys/bus/mdev/devices/$uuid/remove" && echo "remove returned" ) > "$results/remove-B.log" 2>&1 &
wp=$!; pids+=("$wp")
check "release_pending becomes 1" wait_for 5 grep -qx 1 "$vdev/release_pending"
check "release_requests is 1 (request #0 sent)" wait_for 4 grep -qx 1 "$vdev/release_requests"
# poll() on release_requests must wake up when request #1 is sent (10 s).
poll_change "$vdev/release_requests" 14 > "$results/poll-B.log" 2>&1 &
pp=$!; pids+=("$pp")
sleep 2
# The mdev has left the bus already (device_del() runs before the driver's
# remove), but the vfio-dev directory stays until the wait is over.
check "the remove blocks while the device is held, vfio-dev stays" eval "kill -0 $wp 2>/dev/null && test -e $vdev/release_pending"
echo "after $(( $(now_ms) - t0 )) ms: release_pending=$(cat $vdev/release_pending) release_requests=$(cat $vdev/release_requests)"
check "release_requests reaches 2 (request #1, 10 s after #0) while blocked" wait_for 12 grep -qx 2 "$vdev/release_requests"
echo "after $(( $(now_ms) - t0 )) ms: release_pending=$(cat $vdev/release_pending 2>/dev/null) release_requests=$(cat $vdev/release_requests 2>/dev/null)"
check "the remove is still blocked" kill -0 $wp
wait $pp
echo "poll: $(cat "$results/poll-B.log")"
check "poll(POLLPRI) on release_requests woke up with the new count" \
    eval "grep -Eq '^1 2 [0-9.]+ woken$' '$results/poll-B.log'"
wait $hp; hrc=$?
trel=$(holder_ms "$log" 'released')
check "the remove completes after the holder exits" wait_for 10 eval "! kill -0 $wp 2>/dev/null"
t1=$(now_ms)
cat "$log"; cat "$results/remove-B.log"
echo "remove took $((t1 - t0)) ms; the holder released $((${trel:-0} - t0)) ms after the write"
check "the holder held the device for 15 s and exited cleanly (exit $hrc)" \
    eval "[ $hrc = 0 ] && grep -q 'released' '$log'"
check "the mdev is gone" test ! -e /sys/bus/mdev/devices/$uuid
check "the vfio-dev directory is gone with it" test ! -e "$vdev"
n=$(dmesg_since "$mark" | grep -c "$uuid: No device request channel registered, blocked until released by user")
check "dmesg: the 'no request channel' notice exactly once (got $n)" test "$n" = 1
check "dmesg: nothing relayed (no channel)" eval "! dmesg_since '$mark' | grep -q '$uuid: Relaying device request'"
trace_stop B
check "trace: requests count=0 and count=1" \
    eval "traced 'vfio_device_request: $uuid vfio[0-9]+ count=0' B && traced 'vfio_device_request: $uuid vfio[0-9]+ count=1' B"
check "trace: unregister_end after 2 requests, waited >= 10 s" \
    eval "traced 'vfio_device_unregister_end: $uuid vfio[0-9]+ count=2 waited_ms=1[0-9]{4}' B"
# The wait ended on the holder's close, not at a later request: no request
# between the close and the end of the wait.
check_ended_on_close B "$uuid"

check "modprobe -r mbochs mdpy mtty" modprobe -r mbochs mdpy mtty
finish
