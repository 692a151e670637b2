#!/bin/bash
# Revocation (kernel patches 7-10): /sys/class/vfio-dev/vfioX/revoke ends an
# unbind or mdev remove that waits for a user who does not let go. The races
# R11-R15 of /work/shared/LIFECYCLE.md, each repeated LAB_RACE_ITERATIONS
# times; tools/vfio-revokee is the user. lab.py fails the scenario on any
# kernel WARN/BUG/lockdep/KASAN report.
#
# Each check asserts an outcome or an order, never a speed. In every case the
# user (vfio-revokee) is alive after the revocation, sees POLLHUP|POLLERR on
# its device fd, and closes every fd without error at the end.
#
# R11 revoke while two threads read a BAR 0 mapping of the e1000e on rp1:
#     no SIGBUS, every read after the revocation returns 0xffffffff, the
#     unbind returns; on the first and the last iteration e1000e probes
#     the device again and its link comes up, and once back on vfio-pci a
#     new user opens it (the iterations between rebind vfio-pci directly). Also: revoke is refused (EBUSY) while no
#     unregistration waits; the kernel logs one line naming the users, the
#     trace has unregister_start, revoke, unregister_end in that order, and
#     revocations reads 1 before the directory goes.
# R12 revoke while threads loop on VFIO_DEVICE_GET_REGION_INFO, a config
#     space pread and VFIO_DEVICE_SET_IRQS: each call succeeds before and
#     fails with ENODEV after (no other errno, no success after ENODEV), none
#     hangs (the unbind returns).
# R13 revoke racing with the user's own close of its device, group and
#     container fds (which comes first alternates): the write succeeds, or
#     fails with EBUSY (the wait was over) or ENOENT/ENODEV/EACCES (the
#     directory, or the attribute in it, was gone); the unbind returns either way, the user exits cleanly.
# R14 revoke of an mdev (mtty, mdpy, mbochs in turn) while its parent is
#     rmmod'ed and another mdev of the same parent is created: the create
#     succeeds, rmmod is refused while the user lives (a revoked fd keeps the
#     driver module, patch 7), the remove returns, the other mdev opens; mdpy
#     and mbochs mappings read 0xffffffff after it. After the user exits,
#     rmmod succeeds and nothing is left.
# R15 revoke one function of the rp3 pair (e1000e .0 + edu .1, one IOMMU
#     group) while the user still holds the other: the unbind of .0 returns,
#     .1 keeps working, e1000e cannot probe .0 while the group is owned by
#     the user (the IOMMU core refuses: isolation holds), and can once the
#     user is gone.
cd "$(dirname "$0")" && . ./lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ./lib/race.sh
. ./lib/request.sh
revokee=$tools/vfio-revokee
[ -x "$revokee" ] || { fail "$revokee not found (make -C tests/lab/tools)"; finish; }

sys=/sys/bus/pci/devices
vfio=/sys/bus/pci/drivers/vfio-pci
mdevs=/sys/bus/mdev/devices
nic=$(pci_by_mac 52:54:00:12:01:00) || { fail "e1000e 52:54:00:12:01:00 not found"; finish; }
a=$(pci_by_mac 52:54:00:12:03:00) || { fail "e1000e 52:54:00:12:03:00 not found"; finish; }
b=${a%.0}.1
echo "rp1: $nic (group $(group_of "$nic")); rp3: $a + $b (group $(group_of "$a"))"

# One iteration must cost what the race costs: under TCG on the debug kernel
# every process started costs about a second, so the loops below start
# only the ones the race needs (the user, the writers in the background,
# modprobe/rmmod, a new user) and test sysfs with the shell's builtins.
# on DEV DRIVER|none: DEV is bound to DRIVER (none: to no driver).
on() { if [ "$2" = none ]; then [ ! -e "$sys/$1/driver" ]; else [ -e "/sys/bus/pci/drivers/$2/$1" ]; fi; }
bind() {   # bind DEV DRIVER|none: the sequence hostdevd uses (driver_override)
    local d=$sys/$1
    on "$1" "$2" && return 0
    [ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
    if [ "$2" = vfio-pci ]; then echo vfio-pci > "$d/driver_override"; else echo > "$d/driver_override"; fi
    [ "$2" = none ] || echo "$1" > /sys/bus/pci/drivers_probe 2>/dev/null
    on "$1" "$2"
}
lab_cleanup_add 'bind "$nic" e1000e; bind "$a" e1000e; bind "$b" none'
lab_cleanup_add 'modprobe -r mbochs mdpy mtty 2>/dev/null'
lab_cleanup_add kill_pids
check "modprobe vfio-pci vfio_iommu_type1" modprobe -a vfio-pci vfio_iommu_type1

# race NAME TEXT: starts a race's section; prints how long the previous one
# took (the cost of an iteration is what a long run by hand multiplies).
race_t0= race_name=
race() {
    local race_now
    now race_now
    [ -z "$race_name" ] || echo "   ($race_name: $(( (race_now - race_t0) / 1000000 )) ms for $iters iteration(s))"
    race_t0=$race_now race_name=$1
    [ -z "$2" ] || echo "== $1: $2"
}
# full I: the first and the last iteration check the way back to the host
# driver (e1000e probes, its trace and log, a new user); the ones between
# repeat the race itself and rebind vfio-pci directly, so that a long run by
# hand (LAB_RACE_ITERATIONS=100) costs what the races cost.
# link_up DEV: the netdev of DEV set up, its carrier comes (the revocation
# left the device in a state its host driver can use).
# udev renames the new netdev (eth0 -> enp1s0) some seconds after the probe
# on the debug kernel: wait for udev, and take the name afresh each time.
link_up() { udevadm settle -t 30; wait_for 30 link_up_once "$1"; }
link_up_once() {
    local n
    n=$(ls "$sys/$1/net" 2>/dev/null | head -n1)
    [ -n "$n" ] && ip link set "$n" up 2>/dev/null && grep -qx 1 "/sys/class/net/$n/carrier" 2>/dev/null
}
full() { [ "$1" = 1 ] || [ "$1" = "$iters" ]; }
# vdev_of DEVDIR: its vfio-dev in $vdev, the real path (an mdev's remove
# takes /sys/bus/mdev/devices/UUID away while it waits for the user; the
# device's own directory stays). cd -P resolves it without a process.
vdev_of() { local here=$PWD; vdev=; cd -P "$1"/vfio-dev/vfio* && vdev=$PWD; cd "$here"; }
# start_user LOG ARGS...: vfio-revokee in the background (pid in $up), ready.
start_user() {
    local log=$1; shift
    "$revokee" "$@" > "$log" 2>&1 &
    up=$!; pids+=($up)
    wait_for 30 file_has "$log" 'vfio-revokee: ready:' || { cat "$log"; return 1; }
}
# wait_pending VDEV WRITER_PID: the unregistration waits (release_pending=1)
pending() { kill -0 "$2" 2>/dev/null && file_is "$1/release_pending" 1; }
wait_pending() { wait_for 20 pending "$1" "$2"; }
gone() { ! kill -0 "$1" 2>/dev/null; }   # gone PID: the writer returned
# show_user LOG: the lines of the user's report that say what it saw
show_user() {
    local l
    while IFS= read -r l; do
        [[ $l =~ vfio-revokee:\ (summary|revoked|after\ the|FAIL|closed|.*\ still\ answers) ]] &&
            echo "    ${l#*vfio-revokee: }"
    done < "$1"
}
# count_lines LOG REGEX: how many lines of LOG match, in $n
count_lines() { local l; n=0; while IFS= read -r l; do [[ $l =~ $2 ]] && n=$((n + 1)); done < "$1"; }
# stop_user LOG: SIGTERM, the exit status in $urc, its summary printed
stop_user() { kill -TERM "$up" 2>/dev/null; wait "$up"; urc=$?; show_user "$1"; }
# revoke VDEV: write 1 to VDEV/revoke; $wr is ok or the error's text
revoke() { write_to "$1/revoke" 1; }
# The kernel's line for a revocation of DEV since MARK (dmesg)
revoke_logged() { dmesg_since "$1" | grep -E "$2: vfio[0-9]+ revoked by .* from [0-9]+ open file\(s\):" ; }

# --- R11: revoke while threads fault on a BAR mapping -------------------------
race R11 "revoke $nic while two threads read its BAR 0 mapping"
for ((i = 1; i <= iters; i++)); do
    bind "$nic" vfio-pci || { fail "R11.$i: bind $nic to vfio-pci"; continue; }
    vdev_of "$sys/$nic"
    log=$results/R11-$i.log
    full $i && trace_start
    start_user "$log" --fault 2 "$nic" || { fail "R11.$i: vfio-revokee holds $nic"; continue; }
    full $i && check "R11.$i: the kernel can revoke: $vdev/revoke exists, write-only, root only" \
        eval "[ -f $vdev/revoke ] && [ \"\$(stat -c %a $vdev/revoke)\" = 200 ]"
    revoke "$vdev"; early=$wr
    check "R11.$i: revoke without an unregistration in progress is refused: $early" \
        test "$early" = "Device or resource busy"
    full $i && mark=$(kmsg_mark "R11.$i")
    ( echo "$nic" > $vfio/unbind ) &
    wp=$!; pids+=($wp)
    check "R11.$i: the unbind waits for the user (release_pending=1)" wait_pending "$vdev" $wp
    pause "0.$(( i % 4 ))"
    revoke "$vdev"; rv=$wr
    check "R11.$i: revoke accepted while the unbind waits: $rv" test "$rv" = ok
    check "R11.$i: the unbind returns after the revocation, $nic has no driver" \
        eval "wait_for 30 gone $wp && on $nic none"
    check "R11.$i: the user is alive and saw POLLHUP|POLLERR" \
        eval "kill -0 $up && wait_for 10 file_has $log 'revoked: poll'"
    pause 0.5   # the fault threads read the 0xff page a while
    full $i && check "R11.$i: e1000e probes $nic again and its link comes up" \
        eval "bind $nic e1000e && link_up $nic"
    stop_user "$log"
    check "R11.$i: the mapping reached the device before, no SIGBUS, every read after the revocation was 0xffffffff, the user closed everything (exit $urc)" \
        eval "[ $urc = 0 ] && file_has $log 'summary: faults: [0-9]+ reads before the revocation \\([1-9][0-9]* of them not 0xffffffff.*, [1-9][0-9]* after, 0 not 0xffffffff'"
    if full $i; then
        trace_stop "R11-$i" > /dev/null
        s=$(trace_ts "R11-$i" "vfio_device_unregister_start: $nic ")
        r=$(trace_ts "R11-$i" "vfio_device_revoke: $nic vfio[0-9]+ count=1")
        e=$(trace_ts "R11-$i" "vfio_device_unregister_end: $nic ")
        grep -E "vfio_device_(revoke|unregister)" "$results/trace-R11-$i.txt" | sed 's/^ */  trace: /'
        check "R11.$i: trace: unregister_start, revoke (1 file), unregister_end, in that order" in_order "$s" "$r" "$e"
        line=$(revoke_logged "$mark" "$nic")
        echo "  kernel: ${line:-(none)}"
        check "R11.$i: the kernel logged the revocation naming the user (vfio-revokee[$up])" \
            eval "echo '$line' | grep -q 'vfio-revokee\\[$up\\]'"
        check "R11.$i: back on vfio-pci, a new user opens $nic" \
            eval "bind $nic vfio-pci && '$tools/vfio-race' group-devices $nic > '$results/R11-$i-after.log' 2>&1"
    fi
    pids=()
done

# --- R12: revoke while ioctls and preads are in flight ------------------------
race R12 "revoke $nic while threads loop on GET_REGION_INFO, config pread, SET_IRQS"
for ((i = 1; i <= iters; i++)); do
    bind "$nic" vfio-pci || { fail "R12.$i: bind $nic to vfio-pci"; continue; }
    vdev_of "$sys/$nic"
    log=$results/R12-$i.log
    start_user "$log" --ioctls --fault 1 "$nic" || { fail "R12.$i: vfio-revokee holds $nic"; continue; }
    ( echo "$nic" > $vfio/unbind ) &
    wp=$!; pids+=($wp)
    check "R12.$i: the unbind waits for the user" wait_pending "$vdev" $wp
    pause "0.$(( i % 4 ))"
    revoke "$vdev"
    check "R12.$i: revoke accepted: $wr" test "$wr" = ok
    check "R12.$i: the unbind returns (no call in flight hangs the revocation)" wait_for 30 gone $wp
    check "R12.$i: the user is alive and saw POLLHUP|POLLERR" \
        eval "kill -0 $up && wait_for 10 file_has $log 'revoked: poll'"
    pause 0.3
    stop_user "$log"
    count_lines "$log" 'summary: .*: [0-9]* ok, then [1-9][0-9]* ENODEV, 0 other errors, 0 ok after ENODEV'; calls=$n
    count_lines "$log" 'after the revocation: .* fails with ENODEV'; after=$n
    check "R12.$i: every call succeeded before and failed with ENODEV after, mmap/pread/ioctl ENODEV afterwards (exit $urc)" \
        eval "[ $urc = 0 ] && [ $calls = 3 ] && [ $after = 3 ]"
    pids=()
done

# --- R13: revoke against the user's own close ----------------------------------
race R13 "revoke $nic while its user closes its device, group and container fds"
: > "$results/R13.log"
for ((i = 1; i <= iters; i++)); do
    bind "$nic" vfio-pci || { fail "R13.$i: bind $nic to vfio-pci"; continue; }
    vdev_of "$sys/$nic"
    log=$results/R13-$i.log
    start_user "$log" --ioctls --close-on-usr1 "$nic" || { fail "R13.$i: vfio-revokee holds $nic"; continue; }
    ( echo "$nic" > $vfio/unbind ) &
    wp=$!; pids+=($wp)
    check "R13.$i: the unbind waits for the user" wait_pending "$vdev" $wp
    if (( i % 2 )); then
        kill -USR1 "$up"; revoke "$vdev"; first=close
    else
        # The racing write's outcome, then the second one's, after the close.
        ( revoke "$vdev"; echo "$wr" >> "$results/R13.log" ) & rp=$!
        kill -USR1 "$up"; wait $rp; first=revoke
        revoke "$vdev"
    fi
    echo "$wr" >> "$results/R13.log"
    check "R13.$i: ($first first) revoke: $wr; the unbind returns" \
        eval "wait_for 30 gone $wp && on $nic none"
    wait "$up"; urc=$?
    show_user "$log"
    check "R13.$i: the user closed its fds and exited cleanly (exit $urc)" test "$urc" = 0
    pids=()
done
# Gone: ENOENT/ENODEV, or EACCES when the attribute is already removed from
# a directory still there (bash opens with O_CREAT, which kernfs refuses).
check "R13: every revoke succeeded or found the wait over (EBUSY) or the device gone" \
    only_outcomes "$results/R13.log" 'ok|Device or resource busy|No such file or directory|No such device|Permission denied'

# --- R14: revoke an mdev while its parent is rmmod'ed and another is created --
race R14 "revoke an mdev (mtty, mdpy, mbochs) against rmmod of its parent and a create"
r14=("mtty mtty-2 --ioctls" "mdpy mdpy-vga --fault 1 --ioctls" "mbochs mbochs-small --fault 1 --ioctls")
mdev_create() { new_uuid; echo "$u" > "/sys/class/mdev_bus/$1/mdev_supported_types/$2/create"; }
no_mdev() { local g=("$mdevs"/*); [ ! -e "${g[0]}" ]; }
for ((i = 1; i <= iters; i++)); do
  for k in 0 1 2; do
    set -- ${r14[$k]}; parent=$1 type=$2; shift 2
    n="R14.$i.$parent"
    modprobe "$parent" || { fail "$n: modprobe $parent"; continue; }
    mdev_create "$parent" "$type" || { fail "$n: create a $type mdev"; continue; }
    u1=$u
    vdev_of "$mdevs/$u1"
    log=$results/$n.log
    start_user "$log" "$@" "$u1" || { fail "$n: vfio-revokee holds $u1"; continue; }
    ( write_to "$mdevs/$u1/remove" 1; echo "$wr" > "$results/$n-remove" ) &
    wp=$!; pids+=($wp)
    check "$n: the remove waits for the user" wait_pending "$vdev" $wp
    ( rmmod "$parent" 2> "$results/$n-rmmod"; echo "rc=$?" >> "$results/$n-rmmod" ) & mp=$!
    ( mdev_create "$parent" "$type" && echo "$u" > "$results/$n-u2" ) & cp=$!
    revoke "$vdev"; rv=$wr
    wait $mp $cp
    u2=; read -r u2 < "$results/$n-u2"
    check "$n: revoke accepted: $rv" test "$rv" = ok
    check "$n: the remove returns, $u1 is gone" \
        eval "wait_for 30 gone $wp && [ ! -e $mdevs/$u1 ]"
    mapfile -t rm_out < "$results/$n-rmmod"; rm_out=${rm_out[*]}
    check "$n: rmmod $parent refused while the user holds the revoked fd: $rm_out" \
        eval "[[ \$rm_out =~ rc=[1-9] ]] && [ -d /sys/module/$parent ]"
    check "$n: the other $type mdev was created (${u2:-none}) and opens" \
        eval "[ -n '$u2' ] && '$tools/vfio-race' group-devices $u2 > '$results/$n-u2.log' 2>&1"
    check "$n: the user is alive and saw POLLHUP|POLLERR" \
        eval "kill -0 $up && wait_for 10 file_has $log 'revoked: poll'"
    pause 0.3
    stop_user "$log"
    check "$n: the user's calls failed with ENODEV after, mappings read 0xffffffff, it closed everything (exit $urc)" \
        eval "[ $urc = 0 ] && ! file_has $log FAIL"
    [ -n "$u2" ] && write_to "$mdevs/$u2/remove" 1
    check "$n: once the user is gone rmmod $parent succeeds, nothing left" \
        eval "rmmod $parent && no_mdev"
    pids=()
  done
done

# --- R15: revoke one function of a group whose other function is held ----------
race R15 "revoke $a while the same user holds $b (one IOMMU group)"
g=$(group_of "$a")
for ((i = 1; i <= iters; i++)); do
    bind "$a" vfio-pci && bind "$b" vfio-pci || { fail "R15.$i: bind $a and $b to vfio-pci"; continue; }
    vdev_of "$sys/$a"
    log=$results/R15-$i.log
    start_user "$log" --fault 1 --ioctls "$a" "$b" || { fail "R15.$i: vfio-revokee holds $a and $b"; continue; }
    ( echo "$a" > $vfio/unbind ) &
    wp=$!; pids+=($wp)
    check "R15.$i: the unbind of $a waits for the user" wait_pending "$vdev" $wp
    revoke "$vdev"
    check "R15.$i: revoke accepted: $wr; the unbind of $a returns" \
        eval "[ '$wr' = ok ] && wait_for 30 gone $wp && on $a none"
    check "R15.$i: e1000e cannot take $a while the user owns group $g (DMA isolation)" \
        eval "! bind $a e1000e && [ -c /dev/vfio/$g ]"
    pause 0.3
    stop_user "$log"
    check "R15.$i: $b kept working after $a was revoked, the user closed everything (exit $urc)" \
        eval "[ $urc = 0 ] && file_has $log '$b \\(same group\\) still answers'"
    if full $i; then
        check "R15.$i: once the user is gone, e1000e probes $a" bind "$a" e1000e
        bind "$b" none
    fi
    pids=()
done

race end
lab_cleanup
check "restored: $nic and $a on e1000e, $b without a driver, no mdev" \
    eval "[ \"\$(driver_of $nic) \$(driver_of $a) \$(driver_of $b)\" = 'e1000e e1000e none' ] && [ -z \"\$(ls $mdevs 2>/dev/null)\" ]"
finish
