#!/bin/bash
# Runs every test suite, keeps going when one fails, and ends with one line:
# "N passed, N failed, N skipped" over all of them.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
PYTHON=${PYTHON:-/usr/bin/python3}
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT
failed_steps=()

step() {
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
    failed_steps+=("$name")
  fi
}

step "build (warnings are errors)" make --no-print-directory build
step "build with ASan+UBSan" make --no-print-directory asan

step "unit tests" meson test -C "$BUILD" --suite unit --print-errorlogs
cp "$BUILD/meson-logs/testlog.json" "$RESULTS/unit.json" 2>/dev/null
step "unit tests under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$ASAN_BUILD" --suite unit --print-errorlogs
cp "$ASAN_BUILD/meson-logs/testlog.json" "$RESULTS/asan.json" 2>/dev/null

step "D-Bus integration tests" umockdev-wrapper "$PYTHON" -m pytest -q \
  --junitxml="$RESULTS/integration.xml" tests/integration

# The lab: our kernel booted as an emulated hypervisor host, hostdevd
# installed in it, every scenario against the real kernel.  Cold, this builds
# the kernel and the image (cached in $HOSTDEVD_CACHE for the next run).
# The race suite (LIFECYCLE.md R1-R10) then runs on the debug kernel, where
# KASAN and lockdep turn a race into a report: 3 iterations of each race in
# CI (about 5 min after a 4 min boot; LAB_RACE_ITERATIONS overrides).
export LAB_RACE_ITERATIONS=${LAB_RACE_ITERATIONS:-3}
lab() {
  make --no-print-directory "$1" 2>&1 | tee "$RESULTS/$1.lab"
  return "${PIPESTATUS[0]}"
}
if [ "${SKIP_LAB:-}" = 1 ]; then
  echo "=== lab: skipped (SKIP_LAB=1)"
  skipped_lab=2
else
  step "lab (real kernel in an emulated host)" lab lab-check
  step "lab race suite (debug kernel: KASAN, lockdep)" lab lab-race
fi

SKIPPED=${skipped_lab:-0} "$PYTHON" scripts/summarize.py "$RESULTS" "${failed_steps[@]+"${failed_steps[@]}"}"
