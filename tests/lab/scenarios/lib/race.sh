# Sourced by the race scenarios (40-race-mdev, 41-race-vfio; after lib.sh):
# iterations, recording the outcome of sysfs writes, the tools. Needs $results.
scenario=$(basename "$0" .sh)

# How often each race is repeated: LAB_RACE_ITERATIONS (lab.py passes LAB_*
# through). The default keeps the whole suite under ~4 minutes under TCG.
iters=${LAB_RACE_ITERATIONS:-5}
case $iters in ''|*[!0-9]*|0) echo "LAB_RACE_ITERATIONS=$iters: not a positive number"; exit 2;; esac
echo "iterations: $iters (LAB_RACE_ITERATIONS)"

tools=/tmp/lab/tools
for t in vfio-holder vfio-race; do
    [ -x "$tools/$t" ] || { fail "$tools/$t not found (make -C tests/lab/tools; lab.py copies it in)"; finish; }
done

# write_to FILE VALUE: write VALUE to FILE; sets wr to "ok" or the error's
# text ("No such device" for ENODEV, ...), returns like the write. No fork:
# the loops that race the kernel must be quick.
write_to() {
    local err=/tmp/.race-err.$BASHPID
    if { echo "$2" > "$1"; } 2> "$err"; then wr=ok; return 0; fi
    read -r wr < "$err"; wr=${wr##*: }; return 1
}
# A random UUID without a fork (/proc/sys/kernel/random/uuid costs one).
new_uuid() {
    printf -v u '%04x%04x-%04x-4%03x-%x%03x-%04x%04x%04x' $RANDOM $RANDOM $RANDOM \
        $((RANDOM % 4096)) $((8 + RANDOM % 4)) $((RANDOM % 4096)) $RANDOM $RANDOM $RANDOM
}
# only_outcomes LOG REGEX: every line of LOG matches REGEX; prints the counts.
only_outcomes() {
    local bad
    echo "    outcomes: $(sort "$1" | uniq -c | awk '{ c = $1; $1 = ""; printf "%s%s x%d", s, $0, c; s = "," }')"
    bad=$(grep -Evx "$2" "$1" | sort -u | tr '\n' ';')
    [ -z "$bad" ] || { echo "    unexpected: $bad"; return 1; }
}
# Time one command in ms into the variable named by $1: timed VAR cmd...
timed() { local __v=$1 __t0 __rc; shift; __t0=$(now_ms); "$@"; __rc=$?; printf -v "$__v" %d $(( $(now_ms) - __t0 )); return $__rc; }
