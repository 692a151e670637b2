#!/bin/bash
# Benchmark (make bench, not part of make check): mdev create + remove cycles
# of one mtty-1 mdev, one at a time, through three paths in one lab run:
#   sysfs     - the two writes themselves (create, remove), from this shell
#   mdevctl   - `mdevctl start -p -t -u` / `mdevctl stop -u` (mdevctl 1.2)
#   hostdevd  - `hostdevctl mdev create` / `hostdevctl mdev remove`: the CLI
#               calls the daemon on the system bus, polkit authorizes, the
#               daemon runs each write in a Job and the CLI waits for it
# Prints a Markdown table (docs/bench.md holds a measured one). Nothing
# here is timed against a goal; a cycle that fails makes the run fail.
# LAB_BENCH_CYCLES (default 30) cycles per path, after 2 warm-up cycles.
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh

cycles=${LAB_BENCH_CYCLES:-30}
parent=mtty type=mtty-1
types=/sys/class/mdev_bus/$parent/mdev_supported_types
modprobe -a vfio_iommu_type1 mtty || { fail "modprobe mtty"; finish; }

create_sysfs()   { echo "$1" > "$types/$type/create"; }
remove_sysfs()   { echo 1 > "/sys/bus/mdev/devices/$1/remove"; }
create_mdevctl() { mdevctl start -p "$parent" -t "$type" -u "$1"; }
remove_mdevctl() { mdevctl stop -u "$1"; }
create_hostdevd() { hostdevctl mdev create "$parent" "$type" --uuid "$1" > /dev/null; }
remove_hostdevd() { hostdevctl mdev remove "$1" > /dev/null; }

hostdevctl types > /dev/null   # D-Bus activation is not part of the figures
rows=()
for path in sysfs mdevctl hostdevd; do
    c_ns=0 r_ns=0 bad=0
    for i in $(seq -1 "$cycles"); do
        u=$(cat /proc/sys/kernel/random/uuid)
        now t0; "create_$path" "$u" || bad=$((bad + 1))
        now t1; [ -d "/sys/bus/mdev/devices/$u" ] || bad=$((bad + 1))
        "remove_$path" "$u" || bad=$((bad + 1))
        now t2; [ ! -e "/sys/bus/mdev/devices/$u" ] || bad=$((bad + 1))
        [ "$i" -ge 1 ] || continue   # -1 and 0 warm up
        c_ns=$((c_ns + t1 - t0)) r_ns=$((r_ns + t2 - t1))
    done
    check "$path: $cycles create + remove cycles, every one verified in sysfs" test "$bad" = 0
    rows+=("$(awk -v p="$path" -v n="$cycles" -v c="$c_ns" -v r="$r_ns" 'BEGIN {
        printf "| %-8s | %6d | %8.1f | %9.2f | %10.2f | %10.2f |", p, n, (c + r) / 1e9,
               n / ((c + r) / 1e9), c / n / 1e6, r / n / 1e6 }')")
done

# What any hostdevctl call costs before the daemon does any work: a process,
# a bus connection, GetManagedObjects (types is read-only: no polkit, no Job).
now t0
for i in $(seq 1 "$cycles"); do hostdevctl types > /dev/null || bad=$((bad + 1)); done
now t1
base_ms=$(awk -v d="$(( t1 - t0 ))" -v n="$cycles" 'BEGIN { printf "%.1f", d / n / 1e6 }')

echo
echo "mdev create + remove, $parent/$type, $(nproc) vCPUs under TCG, kernel $(uname -r)"
echo
echo "| path     | cycles | total s  | cycles/s  | create ms  | remove ms  |"
echo "|----------|--------|----------|-----------|------------|------------|"
printf '%s\n' "${rows[@]}"
echo
echo "A read-only hostdevctl call (hostdevctl types) takes $base_ms ms: the part of the"
echo "hostdevd figures that is the CLI process and the bus, not polkit, the Job or sysfs."
echo
finish
