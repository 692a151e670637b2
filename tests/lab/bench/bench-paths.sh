#!/bin/bash
# Benchmark (make bench, not part of make check): issue 17's P1/P2, CLI and
# batch goals on the lab's real kernel, every path side by side in one run.
#
# Per operation (LAB_BENCH_CYCLES, default 30, after 2 warm-up cycles), an
# mtty-1 mdev created and removed, and the e1000e bound to vfio-pci and
# restored to e1000e:
#   sysfs      - the writes themselves from this shell (create; remove;
#                driver_override, unbind, drivers_probe; for a restore
#                driver_override, unbind from vfio-pci, drivers_probe)
#   mdevctl    - `mdevctl start -p -t -u` / `mdevctl stop -u` (mdevctl 1.2;
#                the lab has no driverctl: its row is on the testbed only)
#   D-Bus      - one persistent connection (tools/hdd-client): the call,
#                then the Job's Completed signal, on the client's clock
#   one-shot   - the same client as one process per operation: the least
#                any GDBus command costs for the work (the CLI's floor)
#   hostdevctl - one `hostdevctl` process per operation
# Each operation is verified in sysfs; the shell times with $EPOCHREALTIME.
# Batch (LAB_BENCH_BATCH mdevs, default 16: mtty has 24 ports in all), once
# per path (LAB_BENCH_ROUNDS rounds): every sysfs write then the check; N
# mdevctl runs; N hostdevctl runs; one hostdevctl process (`--file`, then
# `mdev remove UUID...`); the D-Bus client with 16 calls ahead of the signals.
# Prints Markdown tables (docs/bench.md); fails only when an operation did
# not do what it should.
cd "$(dirname "$0")" && . ../scenarios/lib/lib.sh && . ../scenarios/lib/unplug.sh

cycles=${LAB_BENCH_CYCLES:-30}
batch=${LAB_BENCH_BATCH:-16}
rounds=${LAB_BENCH_ROUNDS:-1}
parent=mtty type=mtty-1
types=/sys/class/mdev_bus/$parent/mdev_supported_types
client=$PWD/../tools/hdd-client
modprobe -a vfio-pci vfio_iommu_type1 mtty || { fail "modprobe mtty vfio-pci"; finish; }
nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
nic_orig=$(driver_of "$nic")
[ "$nic_orig" = e1000e ] || { fail "$nic is on $nic_orig, not e1000e"; finish; }
dev=/sys/bus/pci/devices/$nic
lab_cleanup_add 'restore_unless "$nic" "$nic_orig"'
lab_cleanup_add 'for m in /sys/bus/mdev/devices/*; do [ -e "$m/remove" ] && echo 1 > "$m/remove"; done'
lab_cleanup_add kill_pids --no-wait   # the D-Bus client

# The persistent client: one line in, one line out ("... MICROSECONDS" or
# "... failed"); its figure goes into dbus_ns.
coproc HDD { exec "$client"; }
pids+=($HDD_PID)
dbus_op() {
    local reply
    echo "$*" >&"${HDD[1]}" && read -r -t 120 -u "${HDD[0]}" reply || return 1
    [ "${reply##* }" != failed ] || return 1
    dbus_ns=$(( ${reply##* } * 1000 ))
}

mdev_sysfs_create()   { echo "$1" > "$types/$type/create"; }
mdev_sysfs_remove()   { echo 1 > "/sys/bus/mdev/devices/$1/remove"; }
mdev_mdevctl_create() { mdevctl start -p "$parent" -t "$type" -u "$1"; }
mdev_mdevctl_remove() { mdevctl stop -u "$1"; }
mdev_dbus_create()    { dbus_op create "$parent" "$type" "$1"; }
mdev_dbus_remove()    { dbus_op remove "$1"; }
# One hdd-client process per operation; its answer through a file, not a
# subshell (a fork is not part of the path).
oneshot() {
    local reply
    "$client" <<< "$*" > /tmp/bench-oneshot && read -r reply < /tmp/bench-oneshot &&
        [ -n "$reply" ] && [ "${reply##* }" != failed ]
}
oneshot_ping() { oneshot ping; }
mdev_oneshot_create() { oneshot create "$parent" "$type" "$1"; }
mdev_oneshot_remove() { oneshot remove "$1"; }
mdev_hostdevctl_create() { hostdevctl mdev create "$parent" "$type" --uuid "$1" > /dev/null; }
mdev_hostdevctl_remove() { hostdevctl mdev remove "$1" > /dev/null; }
mdev_is() {   # mdev_is UUID yes|no
    if [ "$2" = yes ]; then [ -d "/sys/bus/mdev/devices/$1" ]; else [ ! -e "/sys/bus/mdev/devices/$1" ]; fi
}
pci_sysfs_create() {   # bind to vfio-pci
    echo vfio-pci > "$dev/driver_override" && echo "$nic" > "$dev/driver/unbind" &&
        echo "$nic" > /sys/bus/pci/drivers_probe
}
pci_sysfs_remove() {   # restore to the host's driver
    echo > "$dev/driver_override" && echo "$nic" > "$dev/driver/unbind" &&
        echo "$nic" > /sys/bus/pci/drivers_probe
}
pci_dbus_create()       { dbus_op bind "$nic"; }
pci_dbus_remove()       { dbus_op restore "$nic"; }
pci_hostdevctl_create() { hostdevctl bind "$nic" > /dev/null; }
pci_hostdevctl_remove() { hostdevctl restore "$nic" > /dev/null; }
# pci_is ADDR yes|no: on vfio-pci, or back on its driver; a builtin test
# (a process to read the link would be timed in the sysfs row)
pci_is() { if [ "$2" = yes ]; then [ -e "/sys/bus/pci/drivers/vfio-pci/$1" ]; else [ -e "/sys/bus/pci/drivers/$nic_orig/$1" ]; fi; }

# stats VAR NS...: "median (p90)" in ms into VAR, the median (ns) into $med
# (no subshell: $med must survive)
stats() {
    local __v=$1 sorted p90
    shift
    sorted=$(printf '%s\n' "$@" | sort -n)
    med=$(sed -n "$(( ($# + 1) / 2 ))p" <<<"$sorted")
    p90=$(sed -n "$(( ($# * 9 + 9) / 10 ))p" <<<"$sorted")
    printf -v "$__v" '%s' "$(awk -v m="$med" -v p="$p90" 'BEGIN { printf "%.1f (%.1f)", m / 1e6, p / 1e6 }')"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else printf "-" }'; }

hostdevctl types > /dev/null   # D-Bus activation is not part of the figures
hd_pid=$(pidof hostdevd)
# hd_cpu VAR: hostdevd's CPU time so far (user + system, clock ticks) into
# VAR, with builtins only (its fields after "(comm) ": utime is the 12th)
hd_cpu() {
    local stat f
    read -r stat < "/proc/$hd_pid/stat" || { printf -v "$1" 0; return; }
    read -ra f <<< "${stat##*) }"
    printf -v "$1" '%s' "$(( f[11] + f[12] ))"
}
tck=$(getconf CLK_TCK)
declare -A base   # sysfs medians, per kind and column
rows=()
# cycles KIND PATH...: create/remove (bind/restore) cycles, one row per path
cycles_of() {
    local kind=$1 path i id t0 t1 t2 bad c_med cpu0 cpu1
    shift
    for path in "$@"; do
        local c=() r=()
        bad=0
        hd_cpu cpu0
        for i in $(seq -1 "$cycles"); do
            if [ "$kind" = mdev ]; then id=$(< /proc/sys/kernel/random/uuid); else id=$nic; fi
            now t0; "${kind}_${path}_create" "$id" && "${kind}_is" "$id" yes || bad=$((bad + 1))
            now t1
            [ "$path" != dbus ] || t1=$((t0 + dbus_ns))
            now t2; "${kind}_${path}_remove" "$id" && "${kind}_is" "$id" no || bad=$((bad + 1))
            now t3
            [ "$path" != dbus ] || t3=$((t2 + dbus_ns))
            [ "$i" -ge 1 ] || continue   # -1 and 0 warm up
            c+=($((t1 - t0))) r+=($((t3 - t2)))
        done
        hd_cpu cpu1
        check "$kind, $path: $cycles cycles, every operation verified in sysfs" test "$bad" = 0
        local cs rs hd
        stats cs "${c[@]}"; c_med=$med
        stats rs "${r[@]}"
        if [ "$path" = sysfs ]; then base[$kind.c]=$c_med base[$kind.r]=$med; fi
        # hostdevd's CPU per operation (2 per cycle, warm-up included):
        # what it does besides waiting, whatever else the machine runs
        hd=$(awk -v t=$((cpu1 - cpu0)) -v hz="$tck" -v n=$(( 2 * (cycles + 2) )) \
             'BEGIN { printf "%.0f", t * 1000 / hz / n }')
        rows+=("| $kind | $path | $cs — $(ratio "$c_med" "${base[$kind.c]}") | $rs — $(ratio "$med" "${base[$kind.r]}") | $hd |")
    done
}
cycles_of mdev sysfs mdevctl dbus oneshot hostdevctl
cycles_of pci sysfs dbus hostdevctl

# What a process costs here, against which the CLI rows are read.
proc_ms() {   # proc_ms COMMAND...: median of 10 runs, ms
    local i t0 t1 v=()
    for i in 1 2 3 4 5 6 7 8 9 10; do now t0; "$@" > /dev/null 2>&1; now t1; v+=($((t1 - t0))); done
    local s; stats s "${v[@]}"; awk -v m="$med" 'BEGIN { printf "%.1f", m / 1e6 }'
}
p_true=$(proc_ms /bin/true) p_mdevctl=$(proc_ms mdevctl --version)
p_types=$(proc_ms hostdevctl types) p_help=$(proc_ms hostdevctl --help)
p_oneshot=$(proc_ms oneshot_ping)   # a GDBus process: start, connect, one call
# What one bus round trip costs here: Peer.Ping of the daemon on the
# persistent connection, 20 times.
rt=()
for i in $(seq 1 20); do dbus_op ping && rt+=("$dbus_ns"); done
stats p_ping "${rt[@]}"

# ---- batches ----
declare -A bt   # path.op -> ms (sum over rounds)
batch_path() {   # batch_path NAME CREATE-FN REMOVE-FN
    local name=$1 uuids=() i t0 t1 t2 bad=0
    for i in $(seq 1 "$batch"); do uuids+=("$(< /proc/sys/kernel/random/uuid)"); done
    now t0; "$2" "${uuids[@]}" || bad=1
    for i in "${uuids[@]}"; do mdev_is "$i" yes || bad=1; done
    now t1; "$3" "${uuids[@]}" || bad=1
    for i in "${uuids[@]}"; do mdev_is "$i" no || bad=1; done
    now t2
    check "batch, $name: $batch mdevs created and removed, verified in sysfs" test "$bad" = 0
    bt[$name.c]=$(( ${bt[$name.c]:-0} + t1 - t0 )) bt[$name.r]=$(( ${bt[$name.r]:-0} + t2 - t1 ))
}
each() { local fn=$1 u; shift; for u; do "$fn" "$u" || return 1; done; }
b_sysfs_c()  { each mdev_sysfs_create "$@"; }
b_sysfs_r()  { each mdev_sysfs_remove "$@"; }
b_mdevctl_c() { each mdev_mdevctl_create "$@"; }
b_mdevctl_r() { each mdev_mdevctl_remove "$@"; }
b_ctl_c()    { each mdev_hostdevctl_create "$@"; }
b_ctl_r()    { each mdev_hostdevctl_remove "$@"; }
b_batch_c()  { printf "$parent $type %s\n" "$@" > /tmp/bench-mdevs && hostdevctl mdev create --file /tmp/bench-mdevs > /dev/null; }
b_batch_r()  { hostdevctl mdev remove "$@" > /dev/null; }
b_dbus() {   # b_dbus create|remove UUID...: 16 calls ahead of the signals
    local op=$1 out; shift
    out=$(if [ "$op" = create ]; then printf "create $parent $type %s\n" "$@"; else printf "remove %s\n" "$@"; fi |
          "$client" --window 16) || return 1
    [ "${out%% *}" = batch ]
}
b_dbus_c() { b_dbus create "$@"; }
b_dbus_r() { b_dbus remove "$@"; }
bpaths=(sysfs mdevctl ctl batch dbus)
declare -A bname=([sysfs]="sysfs writes" [mdevctl]="$batch × mdevctl" [ctl]="$batch × hostdevctl"
                  [batch]="hostdevctl batch (one process)" [dbus]="D-Bus, 16 calls ahead")
for r in $(seq 1 "$rounds"); do
    for p in "${bpaths[@]}"; do batch_path "$p" "b_${p}_c" "b_${p}_r"; done
done

echo
echo "Operations one at a time, $(nproc) vCPUs under TCG, kernel $(uname -r); ms, median (p90) — ratio to sysfs"
echo
echo "| kind | path | create / bind | remove / restore | hostdevd CPU ms per operation |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Processes (median of 10, ms): /bin/true $p_true, mdevctl --version $p_mdevctl, hostdevctl --help $p_help, hostdevctl types $p_types, D-Bus one-shot ping (a GDBus process: start, connect, Peer.Ping) $p_oneshot"
echo "One bus round trip (Peer.Ping of hostdevd on the persistent connection, 20), ms: $p_ping"
echo
echo "Batch of $batch mtty-1 mdevs, ms (mean of $rounds round(s)) — ratio to $batch × mdevctl"
echo
echo "| path | create | remove |"
echo "|---|---|---|"
for p in "${bpaths[@]}"; do
    c=$(( bt[$p.c] / rounds )) rm=$(( bt[$p.r] / rounds ))
    printf '| %s | %.0f — %s | %.0f — %s |\n' "${bname[$p]}" "$(awk -v v=$c 'BEGIN{print v/1e6}')" \
        "$(ratio $(( bt[mdevctl.c] / rounds )) "$c")" "$(awk -v v=$rm 'BEGIN{print v/1e6}')" \
        "$(ratio $(( bt[mdevctl.r] / rounds )) "$rm")"
done
echo
finish
