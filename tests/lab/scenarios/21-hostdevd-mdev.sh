#!/bin/bash
# hostdevd's mdevs on the real kernel, side by side with mdevctl and libvirt:
# - the mtty parent and its types as the kernel describes them;
# - an mdev created and removed in Jobs, seen by libvirt's node devices;
# - definitions are shared with mdevctl both ways: what hostdevd defines,
#   `mdevctl list --defined` shows and `mdevctl start` starts; what mdevctl
#   defines, hostdevd lists and starts;
# - a remove while a user holds the mdev and ignores the kernel's requests:
#   the Job waits, names the holder and counts the requests (release state of
#   kernel patch 5), the daemon keeps answering, the remove completes when the
#   holder exits;
# - bad input changes nothing.
cd "$(dirname "$0")" && . ./lib/lib.sh

check "modprobe vfio_iommu_type1 mtty" modprobe -a vfio_iommu_type1 mtty
mdev_exists() { test -d "/sys/bus/mdev/devices/$1"; }
new_uuid() { cat /proc/sys/kernel/random/uuid; }

# --- types ------------------------------------------------------------------
hostdevctl types | tee /tmp/types.txt
check "types lists mtty's mtty-2 (2 ports)" grep -Eq '^mtty +mtty-2 ' /tmp/types.txt
avail=$(cat /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances)

# --- create and remove ------------------------------------------------------
u1=$(new_uuid)
t=$(now_ms)
hostdevctl mdev create mtty mtty-2 --uuid "$u1" > /tmp/create.txt; rc=$?
cat /tmp/create.txt
echo "create through hostdevd took $(( $(now_ms) - t )) ms"
check "mdev create exits 0" test "$rc" = 0
check "mdev $u1 exists, of type mtty-2" \
    eval "mdev_exists $u1 && [ \$(basename \$(readlink -f /sys/bus/mdev/devices/$u1/mdev_type)) = mtty-2 ]"
check "one available instance fewer" \
    test "$(cat /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances)" = "$((avail - 1))"
hostdevctl mdev list | tee /tmp/mlist.txt
check "mdev list shows it active" grep -Eq "^$u1 +mtty +mtty-2 +active " /tmp/mlist.txt
check "mdevctl list shows it" eval "mdevctl list | grep -q '^$u1 mtty mtty-2'"
nodedev_has() { virsh nodedev-list --cap mdev | grep -q "${1//-/_}"; }
check "libvirt lists it (virsh nodedev-list --cap mdev)" wait_for 10 nodedev_has "$u1"
out=$(hostdevctl mdev create mtty mtty-2 --uuid "$u1" 2>&1); rc=$?; echo "$out"
check "a second create with the same UUID is refused" eval "[ $rc != 0 ] && grep -qi 'exists' <<<\"\$out\""
hostdevctl mdev remove "$u1" > /tmp/remove.txt && pass "mdev remove $u1" || fail "mdev remove $u1"
cat /tmp/remove.txt
check "$u1 is gone" test ! -e "/sys/bus/mdev/devices/$u1"
check "libvirt no longer lists it" wait_for 10 eval "! nodedev_has $u1"

# --- definitions shared with mdevctl ---------------------------------------
u2=$(new_uuid)
hostdevctl mdev define mtty mtty-2 --uuid "$u2" > /dev/null && pass "hostdevctl mdev define $u2" \
    || fail "hostdevctl mdev define $u2"
ls -l /etc/mdevctl.d/mtty/ 2>&1
check "the definition is in mdevctl's place" test -f "/etc/mdevctl.d/mtty/$u2"
mdevctl list --defined --dumpjson > /tmp/defined.json 2>&1; cat /tmp/defined.json
check "mdevctl list --defined reads hostdevd's definition" \
    python3 -c "
import json, sys
d = json.load(open('/tmp/defined.json'))
m = [c for p in d for parent, cs in p.items() for c in cs if '$u2' in c]
sys.exit(0 if m and m[0]['$u2']['mdev_type'] == 'mtty-2' else 1)"
check "mdevctl start starts hostdevd's definition" mdevctl start --uuid "$u2"
check "$u2 exists" mdev_exists "$u2"
check "mdev list shows it active and defined (manual start)" \
    eval "hostdevctl mdev list | grep -Eq '^$u2 +mtty +mtty-2 +active +manual '"
hostdevctl mdev stop "$u2" > /dev/null && pass "hostdevctl mdev stop $u2" || fail "hostdevctl mdev stop $u2"
check "$u2 stopped, its definition kept" eval "! mdev_exists $u2 && [ -f /etc/mdevctl.d/mtty/$u2 ]"
hostdevctl mdev undefine "$u2" > /dev/null && pass "hostdevctl mdev undefine $u2" \
    || fail "hostdevctl mdev undefine $u2"
check "mdevctl no longer has it" eval "! mdevctl list --defined | grep -q $u2"

u3=$(new_uuid)
check "mdevctl define --auto" mdevctl define --auto --parent mtty --type mtty-1 --uuid "$u3"
listed_defined() { hostdevctl mdev list | grep -Eq "^$u3 +mtty +mtty-1 +defined +auto "; }
check "hostdevd lists mdevctl's definition (defined, auto)" wait_for 10 listed_defined
hostdevctl mdev start "$u3" > /dev/null && pass "hostdevctl mdev start $u3" || fail "hostdevctl mdev start $u3"
check "$u3 exists" mdev_exists "$u3"
check "mdevctl list shows it running" eval "mdevctl list | grep -q '^$u3 mtty mtty-1'"

# --- a held mdev: remove waits, the Job says who and how often ---------------
/tmp/lab/tools/vfio-holder --ignore-requests --register "$u3" > /tmp/hold-mdev.log 2>&1 &
holder=$!
wait_for 10 grep -q 'ready:' /tmp/hold-mdev.log; cat /tmp/hold-mdev.log
job=$(hostdevctl mdev stop "$u3" --no-wait | awk '{print $3}')
jobstate() { hostdevctl jobs --json | python3 -c "
import json, sys
j = [j for j in json.load(sys.stdin)['jobs'] if str(j['id']) == '$job'][0]
print(j['state'], j.get('release_requests') or 0,
      ' '.join('%s:%s' % (h['pid'], h['command']) for h in j['holders']))"; }
job_matches() { jobstate | grep -Eq "$1"; }
check "job $job waits for release" wait_for 20 job_matches '^waiting-for-release'
check "job $job names the holder (pid $holder)" wait_for 10 job_matches " $holder:vfio-holder"
check "job $job counts the kernel's requests" wait_for 15 job_matches '^waiting-for-release [1-9]'
jobstate
check "the holder got the request" wait_for 10 grep -q 'request' /tmp/hold-mdev.log
# The holder only lets go when it is killed below: answers, with the job
# still waiting afterwards, show a daemon that did not block on the remove.
t=$(now_ms)
check "the daemon answers while the remove blocks" \
    eval "hostdevctl mdev list > /dev/null && hostdevctl list > /dev/null && job_matches '^waiting-for-release'"
echo "mdev list + list took $(( $(now_ms) - t )) ms"
# The mdev has left the bus (device_del() runs before the driver's remove
# waits), but its vfio-dev says the wait is on (kernel patch 5).
check "the kernel reports the wait (a vfio-dev with release_pending 1)" \
    eval "grep -qx 1 /sys/class/vfio-dev/*/release_pending"
kill "$holder"; wait "$holder" 2>/dev/null
hostdevctl wait "$job" > /tmp/wait-mdev.txt && pass "job $job completed once the holder exited" \
    || fail "job $job did not complete"
cat /tmp/wait-mdev.txt
check "$u3 is gone, its definition kept" eval "! mdev_exists $u3 && [ -f /etc/mdevctl.d/mtty/$u3 ]"
hostdevctl jobs --json > /tmp/jobs.json
check "the job's steps say who held it and that the kernel asked" python3 -c "
import json, sys
j = [j for j in json.load(open('/tmp/jobs.json'))['jobs'] if str(j['id']) == '$job'][0]
steps = ' '.join(s['text'] if isinstance(s, dict) else str(s) for s in j['steps'])
sys.exit(0 if 'vfio-holder' in steps and 'asked' in steps else 1)"
mdevctl undefine --uuid "$u3"

# --- bad input changes nothing ----------------------------------------------
before=$(ls /sys/bus/mdev/devices | wc -l)
for args in "mtty nosuchtype" "nosuchparent mtty-2" "../../x mtty-2" "mtty mtty-2 --uuid not-a-uuid" \
            "mtty mtty-2 --attr =x"; do
    out=$(eval "hostdevctl mdev create $args" 2>&1); rc=$?
    check "mdev create $args is refused: $out" test "$rc" != 0
done
check "no mdev was created" test "$(ls /sys/bus/mdev/devices | wc -l)" = "$before"
out=$(hostdevctl mdev remove "$(new_uuid)" 2>&1); rc=$?
check "remove of an unknown UUID is refused: $out" test "$rc" != 0
finish
