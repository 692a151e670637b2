#!/bin/bash
# Benchmark (make bench, not part of make check): how fast a revocation
# (kernel patch 7, /sys/class/vfio-dev/vfioX/revoke) ends an unregistration
# that waits for a user who never lets go. tools/vfio-revokee holds the
# device (its fd polled, one thread reading a mapping where there is one);
# the device is taken away (unbind from vfio-pci, mdev remove), and once
# release_pending is 1 root writes revoke. On the trace clock:
#   revoke  - the revoke write's vfio_device_revoke event to unregister_end
#             (the registrations dropped, the wait wakes and finishes)
#   wait    - unregister_start to unregister_end (includes the scenario's
#             own delay before it writes revoke: not a kernel figure)
# and "write" is the revoke write as the shell saw it (synchronize_srcu, the
# close of the device, the driver's quiesce: the reset of the e1000e).
# Prints a Markdown table: mean and min-max in ms. A cycle fails the run only
# when it did not go as the contract says (revoke accepted, start, revoke,
# end in that order, the user alive and told by poll).
# LAB_BENCH_CYCLES (default 10) cycles per device, after one warm-up cycle.
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ../scenarios/lib/request.sh

cycles=${LAB_BENCH_CYCLES:-10}
revokee=/tmp/lab/tools/vfio-revokee
modprobe -a vfio_iommu_type1 vfio-pci mtty mdpy mbochs || { fail "modprobe"; finish; }
nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
dev=/sys/bus/pci/devices/$nic
restore_nic() {
    echo > "$dev/driver_override"
    [ -e "$dev/driver" ] && [ "$(driver_of "$nic")" != "$orig" ] && echo "$nic" > "$dev/driver/unbind"
    [ -e "$dev/driver" ] || echo "$nic" > /sys/bus/pci/drivers_probe
}
lab_cleanup_add restore_nic

prepare_mdev() {
    local u; u=$(cat /proc/sys/kernel/random/uuid)
    echo "$u" > "/sys/class/mdev_bus/${1%%-*}/mdev_supported_types/$1/create" && echo "$u"
}
take_mdev() { echo 1 > "/sys/bus/mdev/devices/$1/remove"; }
sysdir_mdev() { echo "/sys/bus/mdev/devices/$1"; }
prepare_pci() {
    echo vfio-pci > "$dev/driver_override"
    [ -e "$dev/driver" ] && [ "$(driver_of "$nic")" != vfio-pci ] && echo "$nic" > "$dev/driver/unbind"
    [ -e "$dev/driver" ] || echo "$nic" > /sys/bus/pci/drivers_probe
    [ "$(driver_of "$nic")" = vfio-pci ] && wait_for 10 test -c "/dev/vfio/$(group_of "$nic")" && echo "$nic"
}
take_pci() { echo "$1" > /sys/bus/pci/drivers/vfio-pci/unbind; }
sysdir_pci() { echo "/sys/bus/pci/devices/$1"; }

# one_cycle KIND ARG FAULT -> "revoke wait write" in ms, or fails
one_cycle() {
    local d vdev log up tp t0 t1 s r e
    d=$("prepare_$1" "$2") || return 1
    vdev=$(readlink -f "$("sysdir_$1" "$d")"/vfio-dev/vfio*)
    log=$results/bench-revoke-user.log
    trace_start || return 1
    "$revokee" $3 "$d" > "$log" 2>&1 &
    up=$!
    wait_for 20 grep -q 'ready:' "$log" || { kill $up; trace_stop bench > /dev/null; return 1; }
    "take_$1" "$d" & tp=$!
    wait_for 20 grep -qx 1 "$vdev/release_pending" || { kill $up; wait; trace_stop bench > /dev/null; return 1; }
    now t0; echo 1 > "$vdev/revoke"; now t1
    wait $tp
    wait_for 10 grep -q 'revoked: poll' "$log"; rc=$?
    kill -TERM $up; wait $up || rc=1
    trace_stop bench > /dev/null
    [ "$rc" = 0 ] || return 1
    s=$(trace_ts bench "vfio_device_unregister_start: $d ")
    r=$(trace_ts bench "vfio_device_revoke: $d vfio[0-9]+ count=1")
    e=$(trace_ts bench "vfio_device_unregister_end: $d ")
    in_order "$s" "$r" "$e" || return 1
    echo "$(ms_between "$r" "$e") $(ms_between "$s" "$e") $(( (t1 - t0) / 1000000 ))"
}

rows=()
for what in "mdev:mtty-2:" "mdev:mdpy-vga:--fault 1" "mdev:mbochs-small:--fault 1" "pci:e1000e:--fault 1"; do
    IFS=: read -r kind arg fault <<<"$what"
    out=$results/bench-revoke-$arg.txt; : > "$out"
    bad=0
    for i in $(seq 0 "$cycles"); do
        line=$(one_cycle "$kind" "$arg" "$fault") || { bad=$((bad + 1)); continue; }
        [ "$i" -ge 1 ] && echo "$line" >> "$out"   # cycle 0 warms up
    done
    check "$arg: $cycles cycles, each revoke accepted, unregister_start, revoke, unregister_end in order, the user told" test "$bad" = 0
    rows+=("$(awk -v name="$arg" '
        { for (k = 1; k <= 3; k++) { s[k] += $k; if (NR == 1 || $k < lo[k]) lo[k] = $k; if (NR == 1 || $k > hi[k]) hi[k] = $k } }
        END { printf "| %-12s | %6d |", name, NR
              for (k = 1; k <= 3; k++) printf " %-18s |", sprintf("%.1f (%s-%s)", s[k] / NR, lo[k], hi[k]) }' "$out")")
done
lab_cleanup
modprobe -r mbochs mdpy mtty 2>/dev/null

echo
echo "revocation of a device whose user never lets go, $(nproc) vCPUs under TCG, kernel $(uname -r); ms, mean (min-max)"
echo
echo "| device       | cycles | revoke -> end      | wait               | write              |"
echo "|--------------|--------|--------------------|--------------------|--------------------|"
printf '%s\n' "${rows[@]}"
echo
finish
