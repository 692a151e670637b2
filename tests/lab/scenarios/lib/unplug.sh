# Sourced by the scenarios with hostdevd's unplug (50-unplug,
# 51-unplug-ignoring, 52-unplug-restart, 53-qemu-request, 90-story and
# bench/bench-unplug; after lib.sh, and l2.sh for L2): what hostdevd says
# about a device and a job, the steps of a job, L2's view, and the cleanups
# these scenarios register.

# hostdevd's view of a PCI device or an mdev, from the --json outputs.
pci_json() {   # pci_json ADDR EXPR: EXPR of the device object d
    hostdevctl show "$1" --json | python3 -c 'import json, sys
d = json.load(sys.stdin); v = eval(sys.argv[1]); print("" if v is None else v)' "$2"
}
mdev_json() {   # mdev_json UUID EXPR: EXPR of the mdev object d
    hostdevctl mdev list --json | python3 -c 'import json, sys
d = [m for m in json.load(sys.stdin)["mdevs"] if m["uuid"] == sys.argv[1]]
d = d[0] if d else {}; v = eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}
domain_of() {   # domain_of ADDR|UUID: the Domain hostdevd shows, "" for none
    case $1 in
        *-*-*-*-*) mdev_json "$1" 'd.get("domain")' ;;
        *) pci_json "$1" 'd["domain"]' ;;
    esac
}
holders_of() {   # holders_of ADDR|UUID: "command[pid] ..." of the Holders
    case $1 in
        *-*-*-*-*) mdev_json "$1" '" ".join("%s[%d]" % (h["command"], h["pid"]) for h in d.get("holders", []))' ;;
        *) pci_json "$1" '" ".join("%s[%d]" % (h["command"], h["pid"]) for h in d["holders"])' ;;
    esac
}

# Cleanups (lab_cleanup_add). restore_unless DEV DRIVER: hostdevctl restore
# DEV unless it is on DRIVER (its driver before the scenario).
restore_unless() { [ "$(driver_of "$1")" = "$2" ] || hostdevctl restore "$1" >/dev/null 2>&1; }
# save_journal SINCE DIR: hostdevd's journal since SINCE to DIR/journal.txt.
save_journal() { journalctl -u hostdevd --since "$1" > "$2/journal.txt" 2>&1; }
# mdev_remove_if_there UUID: write the mdev's remove if it exists.
mdev_remove_if_there() { [ -e "/sys/bus/mdev/devices/$1" ] && echo 1 > "/sys/bus/mdev/devices/$1/remove"; }

# job_json FILE EXPR: EXPR of the job object j that hostdevctl --json wrote to FILE
job_json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}
# job_steps FILE: the steps of that job, one a line, as the report quotes them
job_steps() { job_json "$1" '"\n".join(s["text"] for s in j["steps"])'; }
# unplug_job NAME DEV ARGS...: hostdevctl unplug DEV ARGS --json into
# $results/NAME.json, its steps printed and in $results/NAME-steps.txt; its
# exit status in $rc
unplug_job() {
    local name=$1 dev=$2
    shift 2
    hostdevctl unplug "$dev" "$@" --json > "$results/$name.json"; rc=$?
    job_steps "$results/$name.json" | tee "$results/$name-steps.txt" | sed 's/^/  /'
}
job_prop() {   # job_prop ID PROPERTY: a property of a live job, over D-Bus
    busctl get-property org.hostdevd1 "/org/hostdevd1/jobs/$1" org.hostdevd1.Job "$2" |
        sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

# L2: its kernel with printk timestamps, so that its own unplug can be
# timed from the attention button to the device gone (l2_unplug_ms).
l2_define_unplug() {   # l2_define_unplug [KERNEL ARGS]
    l2_define || return 1
    sed -i "s|panic=-1</cmdline>|panic=-1 printk.time=1 ${1:-}</cmdline>|" /tmp/l2.xml &&
        l2_redefine
}
l2_redefine() { virsh -q undefine l2 && virsh -q define /tmp/l2.xml; }   # after editing /tmp/l2.xml
l2_count() { grep -c "L2: pci $1 .* $2" $L2_LOG 2>/dev/null; }   # l2_count add|remove VID:DID
# l2_unplug_ms N VID:DID: ms from L2's Nth "Button press: will power off" to
# its Nth removal of VID:DID, both on L2's own clock (pciehp's 5 s included)
l2_unplug_ms() {
    local press gone
    # Not anchored: L2's kernel and its /init share the console, and a line
    # of one may start in the middle of a line of the other.
    press=$(grep -o '\[ *[0-9.]*\] [^[]*Button press: will power off' $L2_LOG |
            sed -n "$1s/^\[ *\([0-9.]*\)\].*/\1/p")
    gone=$(sed -n "s/^L2: pci remove .* $2 uptime=\([0-9.]*\).*/\1/p" $L2_LOG | sed -n "$1p")
    [ -n "$press" ] && [ -n "$gone" ] && awk -v a="$press" -v b="$gone" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}
