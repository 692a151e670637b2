#!/bin/bash
# Benchmark (make bench, not part of make check): graceful unplug of the
# e1000e from a cooperating nested guest (L2, pciehp), LAB_BENCH_UNPLUG_CYCLES
# cycles (default 3) per path, each after the device was attached and L2
# saw it:
#   hostdevd - `hostdevctl unplug`: the daemon asks libvirt to detach it and
#              waits for libvirt's device-removed event; the command returns
#              when the Job completed
#   virsh    - `virsh detach-device --live` of the <hostdev managed='no'>;
#              virsh returns after at most libvirt's 5 s, the removal may
#              come later
# For both, "free" is when L2's QEMU has /dev/vfio/N open no more (polled
# once the command has returned, timed from its start), and the guest's own unplug is
# measured inside L2 on its clock: from pciehp's "Button press" to the
# device gone from L2's sysfs (pciehp's 5 s button delay included).
# Prints a Markdown table (docs/bench.md holds a measured one).
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh && . ../scenarios/lib/l2.sh && . ../scenarios/lib/unplug.sh
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
cycles=${LAB_BENCH_UNPLUG_CYCLES:-3}

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
g=$(group_of "$nic")
modprobe -a vfio-pci
results=${LAB_RESULTS:-/tmp}
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add l2_destroy
lab_cleanup_add 'l2_save_logs "$results"'

held() {   # whether L2's QEMU has the group node open (one ls: forks are slow under TCG)
    ls -l "/proc/$(cat /run/libvirt/qemu/l2.pid)/fd" 2>/dev/null | grep -q " /dev/vfio/$g\$"
}
attach_hostdevd() { hostdevctl attach "$nic" l2 --no-rom-bar > /dev/null; }
attach_virsh()    { virsh -q attach-device l2 /tmp/bench-nic.xml --live; }
unplug_hostdevd() { hostdevctl unplug "$nic" > /dev/null; }
unplug_virsh()    { virsh -q detach-device l2 /tmp/bench-nic.xml --live; }

check "hostdevctl bind $nic" eval "hostdevctl bind $nic > /dev/null"
l2_hostdev_pci "$nic" no > /tmp/bench-nic.xml
check "L2 defined" l2_define_unplug
check "L2 started" virsh -q start l2
check "L2 booted" wait_for 240 l2_ready

n=0 rows=()
for path in hostdevd virsh; do
    ret_ms=() free_ms=() guest_ms=() bad=0
    for i in $(seq 1 "$cycles"); do
        n=$((n + 1))
        "attach_$path" || bad=$((bad + 1))
        wait_for 60 eval "[ \$(l2_count add 8086:10d3) = $n ]" || bad=$((bad + 1))
        sleep 2   # L2's probe of the new device is over
        t0=$(now_ms)
        "unplug_$path" || bad=$((bad + 1))
        t1=$(now_ms)
        wait_for 60 eval '! held' || bad=$((bad + 1))
        t2=$(now_ms)
        wait_for 20 eval "[ \$(l2_count remove 8086:10d3) = $n ]" || bad=$((bad + 1))
        # A console line L2 garbled loses one measurement, not the cycle.
        gm=$(l2_unplug_ms "$n" 8086:10d3)
        ret_ms+=($((t1 - t0))) free_ms+=($((t2 - t0)))
        [ -n "$gm" ] && guest_ms+=("$gm")
        echo "$path cycle $i: returned after $((t1 - t0)) ms, free after $((t2 - t0)) ms, L2's own unplug ${gm:-?} ms"
        wait_for 30 eval "[ -z \"\$(domain_of $nic)\" ]" || bad=$((bad + 1))
    done
    check "$path: $cycles unplugs, each seen by L2 and each leaving $nic free" test "$bad" = 0
    rows+=("$(printf '%s\n' "${ret_ms[*]}" "${free_ms[*]}" "${guest_ms[*]}" | awk -v p="$path" -v n="$cycles" '
        function stats(line,   a, k, s, lo, hi) {
            k = split(line, a, " "); s = 0; lo = a[1]; hi = a[1]
            if (k == 0) return "-"
            for (i = 1; i <= k; i++) { s += a[i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
            return sprintf("%5.1f (%4.1f-%4.1f)", s / k / 1000, lo / 1000, hi / 1000)
        }
        NR == 1 { r = stats($0) } NR == 2 { f = stats($0) } NR == 3 { g = stats($0) }
        END { printf "| %-8s | %6d | %-18s | %-18s | %-18s |", p, n, r, f, g }')")
done

echo
echo "Graceful unplug of the e1000e from L2 (pciehp), $(nproc) vCPUs under TCG, kernel $(uname -r); seconds, mean (min-max)"
echo
echo "| path     | cycles | command returned   | device free        | L2's own unplug    |"
echo "|----------|--------|--------------------|--------------------|--------------------|"
printf '%s\n' "${rows[@]}"
echo
finish
