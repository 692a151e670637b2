#!/bin/bash
# Benchmark (make bench, not part of make check): issue 17's P3, graceful
# unplug of the e1000e from a cooperating nested guest (L2), for both
# hotplug models of a q35 guest (tests/lab/scenarios/lib/l2.sh):
#   acpi   - ACPI PCI hotplug (QEMU's default since 6.1): the guest's
#            acpiphp ejects the slot through _EJ0, no attention button;
#   pciehp - native PCIe hotplug: the attention button, pciehp's 5 s delay,
#            then the guest powers the slot off;
# and two paths, LAB_BENCH_UNPLUG_CYCLES cycles (default 3) each, every
# cycle after the device was attached and L2 saw it:
#   hostdevd - `hostdevctl unplug`: the daemon asks libvirt to detach it and
#              waits for libvirt's device-removed event and for the holders
#              to be gone; the command returns when the Job completed;
#   virsh    - `virsh detach-device --live` of the <hostdev managed='no'>;
#              virsh returns after at most libvirt's 5 s wait.
# All on the lab host's trace clock, from a trace_marker written just before
# the command (it carries $EPOCHREALTIME, which puts wall-clock times on the
# trace clock):
#   eject    - the guest's own eject as QEMU saw it: QEMU's trace event
#              acpi_pci_eject_slot (acpi), or the guest's config write on
#              which QEMU unplugs the device (pciehp: pci_cfg_write of the
#              root port's slot control with the slot powered off and the
#              power indicator off, a second after pciehp powered it off);
#              QEMU's log backend stamps
#              them with the wall clock (libvirt's -msg timestamp=on);
#   free     - the holder's close: vfio_device_close count=0 of the e1000e
#              (kernel/patches 4), QEMU letting go of the device;
#   returned - the command's return, a trace_marker written after it.
# The goal: free no later than 0.5 s after the eject; the table also says
# when hostdevctl returned after the eject (the Job's end: what a caller
# waits for). Prints a Markdown table (docs/bench.md holds a measured one).
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh && . ../scenarios/lib/l2.sh && . ../scenarios/lib/unplug.sh
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
cycles=${LAB_BENCH_UNPLUG_CYCLES:-3}
results=${LAB_RESULTS:-/tmp}
# the vfio tracepoints in a trace instance of our own (trace_start,
# trace_stop, trace_at; $inst)
. ../scenarios/lib/request.sh

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
modprobe -a vfio-pci
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add l2_destroy
lab_cleanup_add 'l2_save_logs "$results"'
qlog=/var/log/libvirt/qemu/l2.log

mark() { echo "bench $1 at $EPOCHREALTIME" > "$inst/trace_marker"; }
# wall NAME TEXT: the $EPOCHREALTIME a marker with TEXT carried
wall() { grep -F "tracing_mark_write: bench $2 at " "$results/trace-$1.txt" | head -n1 | sed -En 's/.* at ([0-9.]+)$/\1/p'; }
hmp() { virsh -q qemu-monitor-command l2 --hmp "$1" > /dev/null; }
# eject_wall SKIP: the wall-clock time of the guest's eject in QEMU's log
# after its first SKIP lines ("PID@SEC.USEC:event ...", the log backend)
eject_wall() {
    if [ "$L2_HOTPLUG" = acpi ]; then
        tail -n +$(($1 + 1)) $qlog | sed -En 's/^[0-9]+@([0-9]+\.[0-9]+):acpi_pci_eject_slot .*/\1/p' | head -n1
    else
        # pciehp ejects with two writes of the root port's slot control:
        # power off (Power Controller Control), then, after the 1 s
        # pciehp's remove_board() waits, the power indicator off; QEMU
        # unplugs the device on the write that makes both true
        # (pcie_cap_slot_write_config()): the first write with PCC set
        # and the indicator off (bits 9:8 = 11b). Its offset is printed.
        tail -n +$(($1 + 1)) $qlog |
            sed -En 's/^[0-9]+@([0-9]+\.[0-9]+):pci_cfg_write pcie-root-port .* @(0x[0-9a-f]+) <- (0x[0-9a-f]+)$/\1 \2 \3/p' |
            while read -r t a v; do (( (v & 0x400) && (v & 0x300) == 0x300 )) && { echo "$t $a"; break; }; done
    fi
}
miss() { bad=$((bad + 1)); echo "$name: $1 failed"; }
stats() {   # stats MS...: "mean (min-max)" in ms
    [ $# -gt 0 ] || { echo "-"; return; }
    printf '%s\n' "$@" | awk '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
        END { printf "%.0f (%.0f-%.0f)", s / NR, lo, hi }'
}

attach_hostdevd() { hostdevctl attach "$nic" l2 --no-rom-bar > /dev/null; }
attach_virsh()    { virsh -q attach-device l2 /tmp/bench-nic.xml --live; }
unplug_hostdevd() { hostdevctl unplug "$nic" > /dev/null; }
unplug_virsh()    { virsh -q detach-device l2 /tmp/bench-nic.xml --live; }
held() { ls -l "/proc/$(cat /run/libvirt/qemu/l2.pid)/fd" 2>/dev/null | grep -q " /dev/vfio/$g\$"; }

check "hostdevctl bind $nic" eval "hostdevctl bind $nic > /dev/null"
g=$(group_of "$nic")
l2_hostdev_pci "$nic" no > /tmp/bench-nic.xml
rows=()
for L2_HOTPLUG in acpi pciehp; do
    check "L2 ($L2_HOTPLUG hotplug) defined and booted" eval "l2_define_unplug && virsh -q start l2 && wait_for 240 l2_ready"
    # acpi: the eject's event stays on; pciehp: config writes only around the unplug
    [ $L2_HOTPLUG = pciehp ] || hmp "trace-event acpi_pci_eject_slot on"
    n=0
    for path in hostdevd virsh; do
        cmd_ms=() free_ms=() ret_ms=() start_ms=() bad=0
        for i in $(seq 1 "$cycles"); do
            n=$((n + 1)) name=$L2_HOTPLUG-$path-$i
            "attach_$path" || miss "$path attach"
            wait_for 60 eval "[ \$(l2_count add 8086:10d3) = $n ]" || miss "L2 seeing the device"
            pause 2   # L2's probe of the new device is over
            skip=$(wc -l < $qlog)
            [ $L2_HOTPLUG = acpi ] || hmp "trace-event pci_cfg_write on"
            trace_start
            mark "$name"
            "unplug_$path" || miss "$path unplug"
            mark "$name returned"
            wait_for 60 eval '! held' || miss "QEMU letting go"
            wait_for 20 eval "[ \$(l2_count remove 8086:10d3) = $n ]" || miss "L2 seeing the removal"
            [ $L2_HOTPLUG = acpi ] || hmp "trace-event pci_cfg_write off"
            trace_stop "$name" > /dev/null
            m=$(trace_at "$name" "tracing_mark_write: bench $name at ") w=$(wall "$name" "$name")
            r=$(trace_at "$name" "tracing_mark_write: bench $name returned ")
            c=$(trace_at "$name" "vfio_device_close: $nic vfio")
            read -r ew reg < <(eject_wall "$skip")
            read -r e2c e2r s2e < <(awk -v m="$m" -v w="$w" -v r="$r" -v c="$c" -v ew="$ew" 'BEGIN {
                if (m == "" || w == "" || r == "" || c == "" || ew == "") { print "- - -"; exit }
                e = m + ew - w   # the eject on the trace clock
                printf "%d %d %d\n", (c - e) * 1000, (r - e) * 1000, (e - m) * 1000 }')
            if [ "$e2c" = - ]; then
                bad=$((bad + 1))
                echo "$name: a time is missing (marker '$m', close '$c', eject '$ew')"
            else
                free_ms+=("$e2c") ret_ms+=("$e2r") start_ms+=("$s2e")
                echo "$name: eject $s2e ms after the command${reg:+ (slot control at $reg)}, free $e2c ms after the eject, returned $e2r ms after it"
            fi
            wait_for 30 eval "[ -z \"\$(domain_of $nic)\" ]" || miss "hostdevd seeing it out of the domain (Domain: $(domain_of $nic))"
        done
        check "$L2_HOTPLUG, $path: $cycles unplugs, each seen by L2, each timed, each leaving $nic free" test "$bad" = 0
        rows+=("| $L2_HOTPLUG | $path | ${#free_ms[@]} | $(stats "${start_ms[@]}") | $(stats "${free_ms[@]}") | $(stats "${ret_ms[@]}") |")
    done
    mkdir -p "$results/$L2_HOTPLUG"; l2_save_logs "$results/$L2_HOTPLUG"; l2_destroy
done

echo
echo "Graceful unplug of the e1000e from L2, $(nproc) vCPUs under TCG, kernel $(uname -r); ms on the trace clock, mean (min-max)"
echo
echo "| hotplug | path | cycles | guest's eject, from the command | device free (QEMU's close), after the eject | command returned, after the eject |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
finish
