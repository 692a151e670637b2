#!/bin/bash
# Benchmark (make bench, not part of make check): how fast the kernel's
# device request protocol lets a device go when its holder cooperates.
# A holder with a request eventfd (tools/vfio-holder --release-on-request)
# holds the device; the device is taken away (mdev `remove`, or `unbind`
# from vfio-pci) and the vfio tracepoints time each step on the trace clock:
#   request    - unregister_start to request #0 (the kernel asks at once)
#   close      - request #0 to the holder's close (eventfd to the holder,
#                the holder wakes up and closes its fds)
#   wake       - the close to unregister_end (the release wakes the wait)
#   total      - unregister_start to unregister_end
# and "write" is the remove/unbind write as the shell saw it. For mtty-2,
# mdpy-vga, mbochs-small and the e1000e on vfio-pci (the scenarios
# 30-mdev-request and 31-pci-request check the same protocol's outcome).
# Prints a Markdown table (docs/bench.md holds a measured one): mean and
# min-max in ms. A cycle fails the run only when it did not go as the
# protocol says (one request, the close, the end, in that order).
# LAB_BENCH_CYCLES (default 10) cycles per device, after one warm-up cycle.
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ../scenarios/lib/request.sh

cycles=${LAB_BENCH_CYCLES:-10}
modprobe -a vfio_iommu_type1 vfio-pci mtty mdpy mbochs || { fail "modprobe"; finish; }
nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
lab_cleanup_add 'pci_restore "$nic" "$orig"'

# prepare_KIND ARG -> prints the device name for vfio-holder; take_KIND DEV
prepare_mdev() {
    local u; u=$(cat /proc/sys/kernel/random/uuid)
    echo "$u" > "/sys/class/mdev_bus/${1%%-*}/mdev_supported_types/$1/create" && echo "$u"
}
take_mdev() { echo 1 > "/sys/bus/mdev/devices/$1/remove"; }
prepare_pci() {
    pci_to_vfio "$nic"
    [ "$(driver_of "$nic")" = vfio-pci ] && wait_for 10 test -c "/dev/vfio/$(group_of "$nic")" && echo "$nic"
}
take_pci() { echo "$1" > /sys/bus/pci/drivers/vfio-pci/unbind; }

# one_cycle KIND ARG -> "request close wake total write" in ms, or fails
one_cycle() {
    local d log hp t0 t1 s r c e
    d=$("prepare_$1" "$2") || return 1
    log=$results/bench-request-holder.log
    trace_start || return 1
    "$holder" --release-on-request --timeout 60 "$d" > "$log" 2>&1 &
    hp=$!
    wait_for 20 grep -q 'ready:' "$log" || { kill $hp; "take_$1" "$d"; trace_stop bench > /dev/null; return 1; }
    now t0; "take_$1" "$d"; now t1
    wait $hp || { trace_stop bench > /dev/null; return 1; }
    trace_stop bench > /dev/null
    traced "vfio_device_unregister_end: $d vfio[0-9]+ count=1 " bench || return 1   # one request
    read -r s r c e <<<"$(release_ts bench "$d")"
    in_order "$s" "$r" "$c" "$e" || return 1
    echo "$(ms_between "$s" "$r") $(ms_between "$r" "$c") $(ms_between "$c" "$e") $(ms_between "$s" "$e") $(( (t1 - t0) / 1000000 ))"
}

rows=()
for what in mdev:mtty-2 mdev:mdpy-vga mdev:mbochs-small pci:e1000e; do
    kind=${what%%:*} arg=${what#*:}
    out=$results/bench-request-$arg.txt; : > "$out"
    bad=0
    for i in $(seq 0 "$cycles"); do
        line=$(one_cycle "$kind" "$arg") || { bad=$((bad + 1)); continue; }
        [ "$i" -ge 1 ] && echo "$line" >> "$out"   # cycle 0 warms up
    done
    check "$arg: $cycles cycles, each one request, the holder's close, the end of the wait, in order" test "$bad" = 0
    rows+=("$(awk -v name="$arg" '
        { for (k = 1; k <= 5; k++) { s[k] += $k; if (NR == 1 || $k < lo[k]) lo[k] = $k; if (NR == 1 || $k > hi[k]) hi[k] = $k } }
        END { printf "| %-12s | %6d |", name, NR
              for (k = 1; k <= 5; k++) printf " %-18s |", sprintf("%.1f (%s-%s)", s[k] / NR, lo[k], hi[k]) }' "$out")")
done
lab_cleanup

echo
echo "release on request, holder with an eventfd, $(nproc) vCPUs under TCG, kernel $(uname -r); ms, mean (min-max)"
echo
echo "| device       | cycles | request            | close              | wake               | total              | write              |"
echo "|--------------|--------|--------------------|--------------------|--------------------|--------------------|--------------------|"
printf '%s\n' "${rows[@]}"
echo
finish
