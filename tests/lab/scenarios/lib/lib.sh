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
    local end=$(( $(now_ms) + $1 * 1000 )); shift
    until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.1; done
}
