#!/bin/bash
# The mdev races of /work/shared/LIFECYCLE.md (R1-R5), each repeated
# LAB_RACE_ITERATIONS times. Parent unregistration is `rmmod` of a sample
# driver (mtty, mdpy, mbochs). lab.py fails the scenario on any kernel
# WARN/BUG/lockdep/KASAN report, which is half of what every race asserts.
#
# R1 rmmod while a loop writes `remove` on the parent's mdevs (rules 3, 5, 6):
#    every remove succeeds or fails cleanly (ENODEV: unregistration started;
#    ENOENT: the mdev is gone already), rmmod succeeds, no mdev remains.
# R2 rmmod while a loop writes `create` (rules 1, 2, 5, 6): every create
#    succeeded or failed with ENODEV/ENOENT, and afterwards no mdev of the
#    parent remains (the created ones were removed with it, the failed ones
#    left nothing).
# R3 `remove` in flight while the parent unregisters (rules 5, 6): one writer
#    per mdev, all started together with rmmod; for mtty, mdpy and mbochs in
#    turn. Success or ENODEV/ENOENT, no oops, nothing left.
# R4 parallel create/remove loops during rmmod (rules 5, 6): rmmod finishes
#    without waiting for a release (no device request in the kernel log) and
#    is not killed at its 60 s bound (measured 4.6-10.7 s on the debug kernel
#    under load; the time is printed, not judged), every loop ends, outcomes
#    as above.
# R5 hold an mdev's device fd, write `remove` (rules 3, 4, 8): the writer
#    blocks (no EBUSY), the request reaches the holder's eventfd, closing the
#    fd completes the removal; for mtty, mdpy and mbochs in turn.
cd "$(dirname "$0")" && . ./lib/lib.sh
results=${LAB_RESULTS:-/tmp}
. ./lib/race.sh

mdevs=/sys/bus/mdev/devices
types() { echo "/sys/class/mdev_bus/$1/mdev_supported_types"; }
lab_cleanup_add 'modprobe -r mbochs mdpy mtty 2>/dev/null'
lab_cleanup_add kill_pids

check "modprobe vfio_iommu_type1" modprobe vfio_iommu_type1
modprobe -r mbochs mdpy mtty 2>/dev/null
check "no mdev before the races" test -z "$(ls $mdevs 2>/dev/null)"

load() { modprobe "$1" && test -d "$(types "$1")"; }
create() {   # create PARENT TYPE: a new mdev, prints its UUID
    local u; new_uuid
    echo "$u" > "$(types "$1")/$1-$2/create" && echo "$u"
}
nothing_left() {   # nothing_left PARENT: no mdev, no parent in mdev_bus
    [ -z "$(ls $mdevs)" ] && [ ! -e "/sys/class/mdev_bus/$1" ]
}
# A delay that differs between iterations so the races interleave differently.
stagger() { sleep "0.0$(( ($1 * 37) % 10 ))"; }
# going PARENT: wait (up to 3 s, no fork) until rmmod has started the
# module's exit, which begins with the parent's unregistration.
going() {
    local st end=$(( $(now_ms) + 3000 ))
    while read -r st 2>/dev/null < "/sys/module/$1/initstate" && [ "$st" = live ]; do
        [ "$(now_ms)" -lt "$end" ] || return 1
    done
}
# race I PARENT LOOP...: rmmod PARENT against the command LOOP, started in
# an order that depends on the iteration (under TCG the winner depends on it):
# 1) LOOP, then rmmod a stagger later; 2) rmmod, then LOOP at once; 3) rmmod,
# then LOOP as soon as the module is going (inside the unregistration).
# Sets rc (rmmod's exit status) and ms (how long rmmod took).
race() {
    local i=$1 parent=$2 lp rp; shift 2
    if (( i % 3 == 1 )); then "$@" & lp=$!; stagger "$i"; fi
    ( timed t rmmod "$parent"; r=$?; echo "$t" > "$results/rmmod.ms"; exit $r ) & rp=$!
    if (( i % 3 == 0 )); then going "$parent"; fi
    if (( i % 3 != 1 )); then "$@" & lp=$!; fi
    wait $rp; rc=$?; wait $lp; ms=$(cat "$results/rmmod.ms")
}
# The outcomes that are correct: done, ENODEV (unregistration started), the
# file is gone: ENOENT, or EACCES when its directory is still there (bash
# opens with O_CREAT, and sysfs cannot create files).
gone='ok|No such device|No such file or directory|Permission denied'

# --- R1: rmmod while a loop writes remove ------------------------------------
# The loop removes the mdevs in the reverse order of the parent's
# unregistration, so the two meet.
echo "== R1: rmmod mtty while a loop removes its mdevs"
: > "$results/R1.log"
for i in $(seq "$iters"); do
    load mtty || { fail "R1.$i: modprobe mtty"; continue; }
    us=(); for _ in $(seq 16); do us=("$(create mtty 1)" "${us[@]}"); done
    remove_loop() { for u in "${us[@]}"; do write_to "$mdevs/$u/remove" 1; echo "$wr"; done > "$results/R1-$i.log"; }
    race "$i" mtty remove_loop
    cat "$results/R1-$i.log" >> "$results/R1.log"
    check "R1.$i: rmmod mtty succeeded ($ms ms) during the remove loop ($(grep -c '^ok' "$results/R1-$i.log")/16 removes done by the loop), no mdev left" \
        eval "[ $rc = 0 ] && nothing_left mtty"
done
check "R1: every remove succeeded or failed with ENODEV/ENOENT" only_outcomes "$results/R1.log" "$gone"

# --- R2: rmmod while a loop writes create ------------------------------------
# 10 mdevs exist already, so the unregistration takes a while; the loop
# creates up to 14 more (mtty has 24 ports) until the type directory is gone.
echo "== R2: rmmod mtty while a loop creates mdevs"
: > "$results/R2.log"
for i in $(seq "$iters"); do
    load mtty || { fail "R2.$i: modprobe mtty"; continue; }
    for _ in $(seq 10); do create mtty 1 > /dev/null; done
    c=$(types mtty)/mtty-1/create
    create_loop() {
        for _ in $(seq 14); do
            new_uuid; write_to "$c" "$u"; echo "$wr $u"
            [ -e "$c" ] || break
        done > "$results/R2-$i.log"
    }
    race "$i" mtty create_loop
    sed 's/ [0-9a-f-]*$//' "$results/R2-$i.log" >> "$results/R2.log"
    left=$(for u in $(awk '{ print $NF }' "$results/R2-$i.log"); do [ -e "$mdevs/$u" ] && echo "$u"; done)
    check "R2.$i: rmmod mtty succeeded ($ms ms) during the create loop ($(grep -c '^ok' "$results/R2-$i.log") of $(wc -l < "$results/R2-$i.log") creates succeeded), no mdev left" \
        eval "[ $rc = 0 ] && [ -z '$left' ] && nothing_left mtty"
done
check "R2: every create succeeded or failed with ENODEV/ENOENT" only_outcomes "$results/R2.log" "$gone"

# --- R3: removes in flight while the parent unregisters ---------------------
echo "== R3: one remove writer per mdev, started together with rmmod"
: > "$results/R3.log"
r3_types=("mtty 1" "mdpy vga" "mbochs small")
r3_count=(16 4 4)
for i in $(seq "$iters"); do
    k=$(( (i - 1) % 3 )); set -- ${r3_types[$k]}; parent=$1 type=$2
    load "$parent" || { fail "R3.$i: modprobe $parent"; continue; }
    us=(); for _ in $(seq "${r3_count[$k]}"); do us=("$(create "$parent" "$type")" "${us[@]}"); done
    writers() { for u in "${us[@]}"; do { write_to "$mdevs/$u/remove" 1; echo "$wr"; } >> "$results/R3-$i.log" & done; wait; }
    race "$i" "$parent" writers
    cat "$results/R3-$i.log" >> "$results/R3.log"
    check "R3.$i: rmmod $parent succeeded ($ms ms) with ${#us[@]} removes in flight ($(grep -c '^ok' "$results/R3-$i.log") ok), no mdev left" \
        eval "[ $rc = 0 ] && nothing_left $parent"
done
check "R3: every remove succeeded or failed with ENODEV/ENOENT" only_outcomes "$results/R3.log" "$gone"

# --- R4: parallel create/remove loops during rmmod ---------------------------
echo "== R4: 4 create/remove loops during rmmod mtty"
: > "$results/R4.log"
for i in $(seq "$iters"); do
    load mtty || { fail "R4.$i: modprobe mtty"; continue; }
    lps=()
    for l in 1 2 3 4; do
        ( c=$(types mtty)/mtty-$(( l % 2 + 1 ))/create
          while [ -e "$c" ]; do
              new_uuid; write_to "$c" "$u"; echo "create $wr"
              [ "$wr" = ok ] && { write_to "$mdevs/$u/remove" 1; echo "remove $wr"; }
          done >> "$results/R4-$i.log" ) &
        lps+=($!)
    done
    sleep 0.3
    # A wait for a release shows as a device request in the kernel log (the
    # first one at once), whatever the speed; the 60 s kill only keeps a hung
    # rmmod from hanging the run.
    mark="lab: R4.$i $(now_ms)"; echo "$mark" > /dev/kmsg
    timed ms timeout 60 rmmod mtty; rc=$?
    requests=$(dmesg | sed -n "/$mark/,\$p" | grep -c 'device request')
    # The loops stop once the create file is gone.
    wait_for 10 eval "! kill -0 ${lps[*]} 2>/dev/null"; ended=$?
    kill "${lps[@]}" 2>/dev/null; wait "${lps[@]}" 2>/dev/null
    sed 's/^[a-z]* //' "$results/R4-$i.log" >> "$results/R4.log"
    check "R4.$i: rmmod mtty finished (exit $rc, $ms ms) with $requests device requests during $(wc -l < "$results/R4-$i.log") creates/removes, the loops ended, no mdev left" \
        eval "[ $rc = 0 ] && [ $requests = 0 ] && [ $ended = 0 ] && nothing_left mtty"
done
check "R4: every create/remove succeeded or failed with ENODEV/ENOENT" only_outcomes "$results/R4.log" "$gone"

# --- R5: remove while the device fd is held ----------------------------------
echo "== R5: remove an mdev whose device fd is held"
r5_types=("mtty 2" "mdpy vga" "mbochs small")
for i in $(seq "$iters"); do
    k=$(( (i - 1) % 3 )); set -- ${r5_types[$k]}; parent=$1 type=$2
    load "$parent" || { fail "R5.$i: modprobe $parent"; continue; }
    u=$(create "$parent" "$type") || { fail "R5.$i: create a $parent-$type mdev"; continue; }
    vdev=$(readlink -f $mdevs/$u/vfio-dev/vfio*)
    log=$results/R5-$i-holder.log
    # Registers the request eventfd, reports each request, never lets go by itself.
    "$tools/vfio-holder" --ignore-requests --register "$u" > "$log" 2>&1 &
    hp=$!; pids+=($hp)
    wait_for 20 grep -q 'ready:' "$log" || { fail "R5.$i: vfio-holder holds $u"; cat "$log"; kill $hp; continue; }
    t0=$(now_ms)
    ( write_to "$mdevs/$u/remove" 1; echo "$wr" > "$results/R5-$i-remove.log" ) &
    wp=$!; pids+=($wp)
    check "R5.$i: $parent: the request reaches the holder's eventfd" wait_for 9 grep -q 'request #1 received' "$log"
    stagger "$i"
    check "R5.$i: $parent: the remove blocks (no EBUSY) while the fd is held, release_pending=1" \
        eval "kill -0 $wp 2>/dev/null && grep -qx 1 $vdev/release_pending"
    kill -TERM $hp; wait $hp; hrc=$?
    t1=$(now_ms)
    wait_for 5 eval "! kill -0 $wp 2>/dev/null"; wait $wp
    check "R5.$i: $parent: closing the fd completed the removal ($(( $(now_ms) - t1 )) ms after the close, $(( $(now_ms) - t0 )) ms after the write): $(cat "$results/R5-$i-remove.log")" \
        eval "[ $hrc = 0 ] && grep -qx ok '$results/R5-$i-remove.log' && [ ! -e $mdevs/$u ] && [ ! -e $vdev ]"
    pids=()
    modprobe -r "$parent"
done

finish
