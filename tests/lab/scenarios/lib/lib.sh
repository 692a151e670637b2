# Sourced first by every lab scenario (they run as root inside the lab host,
# L1): `. ./lib/lib.sh` from tests/lab/scenarios, `. ../scenarios/lib/lib.sh`
# from tests/lab/bench; the other libraries here are sourced after it.
# Each check prints one PASS/FAIL line; lab.py fails a scenario that prints
# a FAIL line, exits non-zero, or makes the kernel log a WARN/BUG/lockdep.
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() {   # check "what it proves" command...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() { [ "$failures" = 0 ] && echo "scenario passed" || echo "scenario: $failures failed"; exit "$((failures > 0))"; }
# Cleanup: lab_cleanup_add CMD registers CMD (one string, run with eval) to
# run when the scenario exits, however it exits: finish, exit, the end of
# the file, or the SIGTERM of lab.py's timeout. At exit every registered
# command runs once, the last registered first (register what undoes a
# step after what undoes the steps before it), in the scenario's shell:
# variables are read when the command runs, so quote CMD with '' to see
# their values at exit. A command's failure does not stop the others, and
# the scenario's exit status is kept. lab_cleanup runs them now and forgets
# them (for a scenario that checks what they restored before it finishes).
# A scenario must not set its own EXIT trap: it would replace this one.
lab_cleanups=()
lab_cleanup_add() { lab_cleanups+=("$*"); }
# Only in the scenario's own shell: a child forked with the trap (a
# background command killed before it runs its program) runs nothing.
lab_cleanup_shell=$BASHPID
lab_cleanup() {
    local rc=$? cmd
    [ "$BASHPID" = "$lab_cleanup_shell" ] || return $rc
    while [ ${#lab_cleanups[@]} -gt 0 ]; do
        cmd=${lab_cleanups[-1]}; unset 'lab_cleanups[-1]'
        eval "$cmd"
    done
    return $rc
}
trap lab_cleanup EXIT
# Background pids to kill on exit: pids+=($!) and lab_cleanup_add kill_pids.
# kill_pids [--no-wait]: kill them, then wait for every child (not with
# --no-wait); forgets them.
pids=()
kill_pids() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ "${1:-}" = --no-wait ] || wait 2>/dev/null
    pids=()
}

# Milliseconds since boot, for timing steps without date arithmetic.
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# PCI address of the NIC with this MAC (the lab's devices have fixed MACs, bus
# numbers could change with the layout).
pci_by_mac() {
    local n
    for n in /sys/class/net/*; do
        [ "$(cat "$n/address")" = "$1" ] && { basename "$(readlink -f "$n/device")"; return 0; }
    done
    return 1
}
group_of() { basename "$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")"; }
driver_of() { local d=/sys/bus/pci/devices/$1/driver; [ -e "$d" ] && basename "$(readlink -f "$d")" || echo none; }
# The bounds given to wait_for are how long an event may take before the
# scenario calls it lost, not performance goals: generous, because a loaded
# 2-core machine makes L2 (TCG in TCG) boot in 4 min instead of 1.
wait_for() {   # wait_for SECONDS command...: poll every 0.1 s
    local end=$(( ${EPOCHREALTIME/[.,]/} + $1 * 1000000 )); shift
    until "$@"; do (( ${EPOCHREALTIME/[.,]/} < end )) || return 1; pause 0.1; done
}
# pause SECONDS: sleep without a process. Under TCG every process costs
# (about a second each on the debug kernel, KASAN), and wait_for's loop
# started two (awk for the clock, sleep) per poll. A read with a timeout on
# a pipe nobody writes: the pipe opened read-write never reaches EOF.
exec {lab_pause_fd}<> <(:)
pause() { read -rt "$1" -u "$lab_pause_fd" _; return 0; }
# file_is FILE VALUE: the first line of FILE is VALUE (a sysfs attribute),
# file_has FILE REGEX: a line of FILE matches REGEX; both without a process.
file_is() { local v; read -r v < "$1" && [ "$v" = "$2" ]; } 2>/dev/null
file_has() {
    local l
    while IFS= read -r l || [ -n "$l" ]; do [[ $l =~ $2 ]] && return 0; done < "$1"
    return 1
} 2>/dev/null

# now VAR: the time in nanoseconds into VAR, from the shell's own clock
# ($EPOCHREALTIME has microseconds): no process, where $(date +%s%N) costs
# about 10 ms under TCG and distorts what a benchmark measures.
now() { local t=$EPOCHREALTIME; printf -v "$1" '%s000' "${t/[.,]/}"; }
