#!/bin/bash
# Benchmark P4 (make bench, not part of make check): a guest that ignores the
# unplug. L2 runs with pcie_ports=compat (no pciehp: nobody answers the
# attention button) on hostdevd's QEMU, started for each cycle with the
# e1000e in a hot-pluggable root port from boot (QEMU removes a hot-added
# device at once when the guest never powered its slot on: no guest would
# be asked), and the e1000e is taken back by one of:
#   revoke          `hostdevctl unplug --policy revoke --deadline D`: at the
#                   deadline the kernel releases it and hostdevd revokes it
#                   from QEMU (kernel patches 7-10), QEMU surprise-removes it
#   destroy-domain  `hostdevctl unplug --policy destroy-domain --deadline D`
#   virsh           `virsh detach-device --live`, then up to W s for QEMU to
#                   let go (it never does: nothing asks again)
# "free": with revoke the e1000e's vfio_device_unregister_end (the host has
# it back), with destroy-domain QEMU's last close of it (vfio_device_close
# count=0: it stays on vfio-pci for the next guest), with virsh QEMU's close
# of /dev/vfio/N (none came), on the trace clock from a
# trace_marker written just before the command; "past the deadline": free
# minus the Job's Deadline (D after the Job started, which is after the
# command started: the CLI's process and call), the Deadline's wall clock
# put on the trace clock by the marker, which carries $EPOCHREALTIME. "VM alive": L2's heartbeat goes on after the command and its
# QEMU is the same process. A row for Nova's behaviour, from its code
# (nova/virt/libvirt/driver.py, detach with retries): 8 attempts 20 s apart,
# then DeviceDetachFailed, the device still attached.
# LAB_BENCH_IGNORE_CYCLES (default 3) cycles of revoke, 2 of destroy-domain,
# 1 of virsh; LAB_BENCH_DEADLINE (default 10) s; LAB_BENCH_VIRSH_WAIT (60) s.
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh && . ../scenarios/lib/l2.sh && . ../scenarios/lib/unplug.sh
L2_HOTPLUG=pciehp   # pciehp's slots (tests/lab/scenarios/lib/l2.sh)
results=${LAB_RESULTS:-/tmp}
. ../scenarios/lib/request.sh
l2_assets || { fail "nested guest kernel/initramfs missing in $L2_DIR"; finish; }
[ "$L2_EMULATOR" = /usr/bin/qemu-system-x86_64-hostdevd ] || { fail "hostdevd's QEMU is not installed"; finish; }
cycles=${LAB_BENCH_IGNORE_CYCLES:-3}
deadline=${LAB_BENCH_DEADLINE:-10}
virsh_wait=${LAB_BENCH_VIRSH_WAIT:-60}

nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
orig=$(driver_of "$nic")
g=$(group_of "$nic")
modprobe -a vfio-pci
dropin=/etc/systemd/system/hostdevd.service.d/revoke.conf
lab_cleanup_add 'restore_unless "$nic" "$orig"'
lab_cleanup_add 'rm -f $dropin; systemctl daemon-reload; systemctl restart hostdevd'
lab_cleanup_add l2_destroy
lab_cleanup_add 'l2_save_logs "$results"'

# The daemon may revoke: the operator's drop-in (docs/operations.md).
mkdir -p "${dropin%/*}"
printf '[Service]\nCapabilityBoundingSet=CAP_SYS_ADMIN\n' > $dropin
systemctl daemon-reload && systemctl restart hostdevd

held() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q " /dev/vfio/$g\$"; }   # held QEMU_PID
alive() { grep -c '^L2: alive' $L2_LOG; }
l2_up() {   # L2 (re)started, ignoring unplugs, with the e1000e (on vfio-pci)
    l2_destroy
    [ "$(driver_of "$nic")" = vfio-pci ] || hostdevctl bind "$nic" > /dev/null || return 1
    l2_define_unplug pcie_ports=compat || return 1
    l2_hostdev_pci "$nic" no | sed "s|</hostdev>|  <alias name='ua-nic'/>\n  <address type='pci' bus='0x01' slot='0x00' function='0x0'/>\n</hostdev>|" > /tmp/bench-nic.xml
    sed -i '/<\/devices>/e cat /tmp/bench-nic.xml' /tmp/l2.xml
    l2_redefine && virsh -q start l2 && wait_for 240 l2_ready && wait_for 60 eval '[ "$(alive)" -gt 0 ]'
}
# ms between the marker and the first event matching PATTERN in trace NAME
# past_deadline NAME EVENT: ms from the Job's Deadline (its --json) to EVENT
past_deadline() {
    local m wall dl e
    m=$(trace_at "$1" "tracing_mark_write: bench $1 ")
    wall=$(grep -F "tracing_mark_write: bench $1 " "$results/trace-$1.txt" | head -n1 | sed -En 's/.* at ([0-9.]+)$/\1/p')
    dl=$(job_json "$results/$1.json" 'j["deadline_usec"]')
    e=$(trace_at "$1" "$2")
    [ -n "$m" ] && [ -n "$wall" ] && [ -n "$dl" ] && [ -n "$e" ] &&
        awk -v m="$m" -v w="$wall" -v d="$dl" -v e="$e" 'BEGIN { printf "%d\n", (e - (m + d / 1e6 - w)) * 1000 }'
}
since_mark() {
    local m e
    m=$(trace_at "$1" "tracing_mark_write: bench $1")
    e=$(trace_at "$1" "$2")
    [ -n "$m" ] && [ -n "$e" ] && awk -v a="$m" -v b="$e" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}
stats() {   # stats MS...: "mean (min-max)" in s
    [ $# -gt 0 ] || { echo "-"; return; }
    printf '%s\n' "$@" | awk '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
        END { printf "%5.1f (%4.1f-%4.1f)", s / NR / 1000, lo / 1000, hi / 1000 }'
}


rows=()
for path in revoke destroy-domain virsh; do
    case $path in revoke) n=$cycles ;; destroy-domain) n=2 ;; virsh) n=1 ;; esac
    free=() past=() bad=0 alive_ok=0 pd=
    for ((i = 1; i <= n; i++)); do
        name=$path-$i
        l2_up || { bad=$((bad + 1)); continue; }
        pid=$(cat /run/libvirt/qemu/l2.pid)
        wait_for 30 held "$pid" || bad=$((bad + 1))
        trace_start
        beats=$(alive)
        echo "bench $name at $EPOCHREALTIME" > "$inst/trace_marker"
        case $path in
            revoke|destroy-domain)
                hostdevctl unplug "$nic" --policy "$path" --deadline "$deadline" --json > "$results/$name.json" || bad=$((bad + 1)) ;;
            virsh)
                virsh -q detach-device l2 /tmp/bench-nic.xml --live > "$results/$name.txt" 2>&1
                wait_for "$virsh_wait" eval "! held $pid" && echo "bench $name: free" > "$inst/trace_marker" ;;
        esac
        trace_stop "$name" > /dev/null
        case $path in
            revoke) ev="vfio_device_unregister_end: $nic" ;;
            destroy-domain) ev="vfio_device_close: $nic " ;;
            virsh) ev="tracing_mark_write: bench $name: free" ;;
        esac
        ms=$(since_mark "$name" "$ev")
        [ $path = virsh ] || pd=$(past_deadline "$name" "$ev")
        if wait_for 30 eval "[ \$(alive) -gt $beats ]" && [ "$(virsh domstate l2)" = running ] &&
           [ "$(cat /run/libvirt/qemu/l2.pid 2>/dev/null)" = "$pid" ]; then
            alive_ok=$((alive_ok + 1)); vm=alive
        else
            vm=gone
        fi
        if [ -n "$ms" ]; then
            free+=("$ms"); [ -n "${pd:-}" ] && past+=("$pd")
            echo "$name: free after $ms ms from the command, ${pd:-?} ms past the Job's ${deadline} s deadline, VM $vm"
        else
            echo "$name: not free (after $virsh_wait s for virsh), VM $vm"
        fi
        if [ $path = virsh ]; then   # leave it as found: take it back for good
            hostdevctl unplug "$nic" --policy revoke --deadline 5 > /dev/null || bad=$((bad + 1))
        fi
    done
    case $path in
        revoke) check "revoke: $n cycles, each freed the e1000e and left the VM alive" \
                    eval "[ $bad = 0 ] && [ ${#free[@]} = $n ] && [ $alive_ok = $n ]" ;;
        destroy-domain) check "destroy-domain: $n cycles, each freed the e1000e, the VM destroyed" \
                    eval "[ $bad = 0 ] && [ ${#free[@]} = $n ] && [ $alive_ok = 0 ]" ;;
        virsh) check "virsh: the detach request went out, the VM alive" eval "[ $bad = 0 ] && [ $alive_ok = $n ]" ;;
    esac
    if [ ${#free[@]} = 0 ]; then f="never (${virsh_wait} s)"; else f=$(stats "${free[@]}"); fi
    if [ ${#past[@]} = 0 ]; then p=-; else p=$(stats "${past[@]}"); fi
    rows+=("$(printf '| %-16s | %6d | %-30s | %-23s | %-9s |' "$path" "$n" "$f" "$p" "$alive_ok of $n")")
done
rows+=("$(printf '| %-16s | %6s | %-30s | %-23s | %-9s |' "Nova (on paper)" - "never: an error at ~160 s" - "yes")")

echo
echo "A guest that ignores the unplug (L2, pcie_ports=compat): the e1000e, deadline $deadline s, $(nproc) vCPUs under TCG, kernel $(uname -r); seconds, mean (min-max)"
echo
echo "| path             | cycles | device free (from the command) | past the Job's deadline | VM alive  |"
echo "|------------------|--------|--------------------------------|-------------------------|-----------|"
printf '%s\n' "${rows[@]}"
echo
finish
