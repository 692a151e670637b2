#!/bin/bash
# Runs the libFuzzer targets of tests/fuzz/ (one per parser of outside
# input), each for a bounded time, and ends with one PASS/FAIL line per
# target in a "--- lab results" block, which make check counts
# (scripts/summarize.py).  A crash, a sanitizer report or a failed check of
# a target is a FAIL that names the reproducer libFuzzer wrote.
#
#   scripts/fuzz.sh [-t SECONDS] [TARGET...]     (default: all, 5 s each)
#
# FUZZ_SECONDS sets the seconds per target as -t does, FUZZ_BUILD the build
# directory (build-fuzz: clang, -Dfuzz=true; the targets have ASan + UBSan).  Each target
# starts from its seeds (tests/fuzz/corpus/TARGET, read only) and from what
# earlier runs found (FUZZ_BUILD/fuzz-corpus/TARGET, where new inputs go);
# reproducers go to FUZZ_BUILD/fuzz-crashes/.  Crashes written down but not
# fixed yet are replayed from tests/fuzz/known/TARGET/ (listed as KNOWN,
# not counted; a FAIL once they stop crashing).  To replay one:
#   FUZZ_BUILD/tests/fuzz/fuzz-TARGET REPRODUCER
set -u
cd "$(dirname "$0")/.."

FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-5}
if [ "${1:-}" = -t ]; then
  seconds=$2
  shift 2
fi
ALL="pci-address mdev-names options mdevctl store hostdev-xml qemu-event"
targets=${*:-$ALL}

if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  # The targets compile what they fuzz themselves, sanitizers and all
  # (tests/fuzz/meson.build); no unit tests: the other builds run them.
  # -Wno-unused-variable: clang calls g_autoptr(GMutexLocker) lockers
  # unused (their cleanup is the use; GCC, in the other builds, knows).
  CC=${FUZZ_CC:-clang-14} meson setup "$FUZZ_BUILD" --werror -Dfuzz=true -Dtests=false \
    -Dc_args=-Wno-unused-variable >/dev/null || exit 1
fi
# Only the targets and what they link: not the daemon or the CLI.
ninja -C "$FUZZ_BUILD" $(for t in $targets; do echo "tests/fuzz/fuzz-$t"; done) >/dev/null || {
  ninja -C "$FUZZ_BUILD" $(for t in $targets; do echo "tests/fuzz/fuzz-$t"; done)
  exit 1
}

crashes=$FUZZ_BUILD/fuzz-crashes
mkdir -p "$crashes"
# The store target's fsyncs: on a tmpfs when there is one.
if [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

results=()
known=()
for t in $targets; do
  exe=$FUZZ_BUILD/tests/fuzz/fuzz-$t
  seeds=tests/fuzz/corpus/$t
  work=$FUZZ_BUILD/fuzz-corpus/$t
  log=$FUZZ_BUILD/fuzz-$t.log
  mkdir -p "$work"
  echo "--- fuzz-$t: $seconds s"
  # -timeout: one input taking this long is a hang, reported as a crash.
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$crashes/$t-" "$work" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" = 0 ] && [ -n "$runs" ]; then
    results+=("PASS fuzz-$t ($runs runs in $seconds s, $corpus inputs found so far)")
  else
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    grep -E 'ERROR: |SUMMARY: |check failed|runtime error|Deadly|(CRITICAL|WARNING) \*\*' "$log" \
      | head -n 8
    results+=("FAIL fuzz-$t (exit $rc after ${runs:-?} runs; reproducer: ${reproducer:-none written}; log: $log)")
  fi
  # Known crashes (tests/fuzz/known/TARGET/, docs/hardening.md): the
  # target leaves their class out while fuzzing; each reproducer must
  # still crash with the skip off, else the fix is in and the skip goes.
  for f in tests/fuzz/known/"$t"/*; do
    [ -f "$f" ] || continue
    if FUZZ_KNOWN_FATAL=1 "$exe" "$f" >"$log.known" 2>&1; then
      results+=("FAIL fuzz-$t: known crash $f no longer crashes: remove it and its fuzz_known() skip")
    else
      known+=("KNOWN fuzz-$t: $f still crashes (left out while fuzzing; docs/hardening.md)")
    fi
  done
done

if [ ${#known[@]} -gt 0 ]; then
  echo "--- known crashes, not counted (docs/hardening.md)"
  printf '%s\n' "${known[@]}"
fi

echo "--- lab results (fuzz, $seconds s per target)"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q '^FAIL'
