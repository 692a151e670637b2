# Sourced by the scenarios of the device request protocol (30-mdev-request,
# 31-pci-request, 52-unplug-restart and bench/bench-request; after lib.sh):
# vfio-holder, kernel log marks, the vfio tracepoints in a trace instance of
# the scenario's own, poll() on a sysfs attribute, vfio-pci binding and its
# undoing. Needs $results.
scenario=$(basename "$0" .sh)

# vfio-holder (tests/lab/tools, copied in by lab.py); fails the scenario if absent.
holder=
for c in "${VFIO_HOLDER:-}" /tmp/lab/tools/vfio-holder "$(command -v vfio-holder)"; do
    [ -n "$c" ] && [ -x "$c" ] && { holder=$c; break; }
done
if [ -z "$holder" ]; then
    fail "vfio-holder not found (/tmp/lab/tools/vfio-holder; build it with make -C tests/lab/tools and copy tests/lab/tools to /tmp/lab/tools)"
    finish
fi
echo "holder: $holder"

# pci_to_vfio DEV: bind DEV to vfio-pci by the sequence hostdevd uses
# (driver_override, unbind, drivers_probe); the caller checks the outcome.
# pci_restore DEV DRIVER: undo it: clear the override, unbind DEV unless it
# is on DRIVER, probe it if unbound.
pci_to_vfio() {
    local dev=/sys/bus/pci/devices/$1
    echo vfio-pci > "$dev/driver_override"
    [ -e "$dev/driver" ] && [ "$(driver_of "$1")" != vfio-pci ] && echo "$1" > "$dev/driver/unbind"
    [ -e "$dev/driver" ] || echo "$1" > /sys/bus/pci/drivers_probe
}
pci_restore() {
    local dev=/sys/bus/pci/devices/$1
    echo > "$dev/driver_override"
    [ -e "$dev/driver" ] && [ "$(driver_of "$1")" != "$2" ] && echo "$1" > "$dev/driver/unbind"
    [ -e "$dev/driver" ] || echo "$1" > /sys/bus/pci/drivers_probe
}

# Seconds on CLOCK_BOOTTIME ("[  123.456] vfio-holder: ...") -> ms, like now_ms.
holder_ms() {   # holder_ms LOG PATTERN: time of the first line matching PATTERN
    sed -n "s/^\[ *\([0-9.]*\)\] vfio-holder: $2.*/\1/p" "$1" | head -n1 | awk '{ printf "%d\n", $1 * 1000 }'
}
kmsg_mark() { local m; m="lab: $scenario $1 $(now_ms)"; echo "$m" > /dev/kmsg; echo "$m"; }
dmesg_since() { dmesg | sed -n "/$1/,\$p"; }

# The vfio tracepoints, in a trace instance of our own.
tracing=/sys/kernel/tracing
[ -d $tracing/instances ] || mount -t tracefs nodev $tracing 2>/dev/null
inst=$tracing/instances/lab-$scenario
trace_start() { rmdir "$inst" 2>/dev/null; mkdir "$inst" && echo 1 > "$inst/events/vfio/enable"; }
trace_stop() {   # trace_stop NAME: save the trace, print it, remove the instance
    cp "$inst/trace" "$results/trace-$1.txt"; grep -v '^#' "$inst/trace" | sed 's/^/  trace: /'
    echo 0 > "$inst/events/vfio/enable"; rmdir "$inst"
}
traced() { grep -Eq "$1" "$results/trace-$2.txt"; }   # traced REGEX NAME
# trace_at NAME TEXT: the time (s, trace clock) of the first line of trace
# NAME with TEXT, fixed text: an event's, or a trace marker's
trace_at() { grep -F "$2" "$results/trace-$1.txt" | head -n1 | sed -En 's/^.* ([0-9]+\.[0-9]+): [a-z_]+: .*/\1/p'; }
# trace_ts NAME REGEX [last]: the timestamp (s) of the first (or last) event
# matching REGEX in a saved trace. The checks compare events in order, on the
# trace's own clock: whether an unbind or remove ended on the release or on a
# later request is a question of order, not of how fast TCG ran that day.
trace_ts() {
    grep -E "$2" "$results/trace-$1.txt" | if [ "${3:-}" = last ]; then tail -n1; else head -n1; fi |
        sed -En 's/^.* ([0-9]+\.[0-9]+): vfio_[a-z_]+: .*/\1/p'
}
in_order() {   # in_order T1 T2 ...: every timestamp present, none before the one before it
    local prev= t
    for t; do
        [ -n "$t" ] && [ "$t" != - ] || return 1
        [ -z "$prev" ] || awk -v a="$prev" -v b="$t" 'BEGIN { exit !(a <= b) }' || return 1
        prev=$t
    done
}
# release_ts NAME DEV: "START REQUEST0 CLOSE END", the timestamps of DEV's
# unregister_start, request #0, close and unregister_end in trace NAME
# ("-" for an event the trace does not have).
release_ts() {
    local f t
    for f in "vfio_device_unregister_start: $2 " "vfio_device_request: $2 vfio[0-9]+ count=0" \
             "vfio_device_close: $2 vfio[0-9]+ count=0" "vfio_device_unregister_end: $2 "; do
        t=$(trace_ts "$1" "$f"); printf '%s ' "${t:--}"
    done
    echo
}
# check_ended_on_request NAME DEV [WHAT]: request #0, the holder's close and
# the end of the wait, in that order: the release request #0 asked for.
check_ended_on_request() {
    local p=${3:+$3: } s r c e
    read -r s r c e <<<"$(release_ts "$1" "$2")"
    echo "${p}on the trace clock: request #0 $(ms_between "$s" "$r") ms after unregister_start, the close $(ms_between "$r" "$c") ms after the request, unregister_end $(ms_between "$c" "$e") ms after the close"
    check "${p}trace: unregister_start, request #0, the holder's close, unregister_end, in that order" \
        in_order "$s" "$r" "$c" "$e"
}
# check_ended_on_close NAME DEV: the wait ended on the holder's close, not at
# a later request (no request between the close and the end).
check_ended_on_close() {
    local r c e
    r=$(trace_ts "$1" "vfio_device_request: $2 " last)
    c=$(trace_ts "$1" "vfio_device_close: $2 vfio[0-9]+ count=0")
    e=$(trace_ts "$1" "vfio_device_unregister_end: $2 ")
    echo "on the trace clock: the close $(ms_between "$r" "$c") ms after the last request, unregister_end $(ms_between "$c" "$e") ms after the close"
    check "trace: the last request, then the holder's close, then unregister_end (no request in between)" \
        in_order "$r" "$c" "$e"
}
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-") print "?"; else printf "%.1f\n", (b - a) * 1000 }'; }

# poll_change FILE SECONDS > LOG &: poll() a sysfs attribute for POLLPRI and
# print "BEFORE AFTER SECONDS woken|timeout" (sysfs_notify() wakes it).
poll_change() {
    python3 - "$1" "$2" <<'PY'
import select, sys, time
f = open(sys.argv[1])
before = f.read().strip()
p = select.poll()
p.register(f, select.POLLPRI | select.POLLERR)
t = time.monotonic()
ev = p.poll(float(sys.argv[2]) * 1000)
f.seek(0)
print(before, f.read().strip(), "%.3f" % (time.monotonic() - t), "woken" if ev else "timeout")
PY
}
