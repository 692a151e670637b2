# The two commands of the README: `make demo` and `make check`.
# Everything else here is what they are made of.

BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTHON     ?= /usr/bin/python3
# Expensive artifacts (kernel, lab images) live outside the checkout.
export HOSTDEVD_CACHE ?= /var/cache/hostdevd

.PHONY: all deps build asan check check-unit check-asan check-integration \
        demo demo-testbed lab lab-check lab-race lab-deps lab-install qemu bench clean \
        ops-deps deb deb-hostdevd deb-kernel lint-ops ansible-check

all: build

deps:
	scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --werror

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --werror -Db_sanitize=address,undefined -Db_lundef=false

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

check-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

check-asan: asan
	meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs

check-integration: build
	umockdev-wrapper $(PYTHON) -m pytest -q tests/integration

# All tests; ends with the "N passed, N failed" line CI reads.
check: deps
	scripts/check.sh

# The demo: builds what is missing (kernel, lab image, hostdevd), boots the
# lab host and shows hostdevd at work there (tests/lab/scenarios/90-story.sh).
demo: lab-deps lab-install
	tests/lab/lab.py demo --destdir $(LAB_DESTDIR)

# The same walk-through in seconds, without the lab: the real daemon and CLI
# on a private bus against the umockdev testbed of the integration tests.
demo-testbed: build
	umockdev-wrapper $(PYTHON) scripts/demo-testbed.py

# hostdevd as a distribution installs it, for the lab image.
LAB_BUILD ?= build-lab
LAB_DESTDIR = $(abspath $(LAB_BUILD))/destdir

$(LAB_BUILD)/build.ninja:
	meson setup $(LAB_BUILD) --werror --prefix=/usr --libexecdir=libexec \
	  --sysconfdir=/etc --localstatedir=/var -Dtests=false

# hostdevd, and hostdevd's QEMU for the nested guests (qemu-patches/; its
# package installs /usr/bin/qemu-system-x86_64-hostdevd next to Debian's).
lab-install: deps qemu $(LAB_BUILD)/build.ninja
	ninja -C $(LAB_BUILD)
	rm -rf $(LAB_DESTDIR)
	DESTDIR=$(LAB_DESTDIR) meson install -C $(LAB_BUILD) --no-rebuild --quiet
	dpkg-deb -x "$$(qemu-patches/build.sh --print-paths | sed -n 's/^QEMU_DEB=//p')" $(LAB_DESTDIR)

# Debian 12's QEMU with qemu-patches/series: qemu-system-x86_64 and its
# package, cached in $(HOSTDEVD_CACHE)/qemu.
qemu:
	qemu-patches/build.sh

lab-deps:
	scripts/install-deps.sh lab
	tests/lab/deps.sh
	qemu-patches/build.sh --fetch

# Boots the lab host and leaves it running (prints the ssh command).
lab: lab-deps lab-install
	tests/lab/lab.py up --destdir $(LAB_DESTDIR)

# Every lab scenario against the real kernel, but the race suite: it runs
# on the debug kernel (KASAN, lockdep, PROVE_LOCKING), which boots in 4 min
# and runs 2-4 times slower under TCG.  LAB_RACE_ITERATIONS sets the
# iterations of each race (default 5; make check runs 3).
LAB_RACE_SCENARIOS = 40-race-mdev.sh 41-race-vfio.sh 42-race-revoke.sh

# LAB_EXCLUDE leaves out more scenarios: make check leaves 10-nested and the
# three long unplug scenarios with their own nested guests (about 20 min) to
# lab-check, to keep a cold CI run inside its 90 minutes (docs/lab.md); the
# demo story (90-story.sh) covers a libvirt unplug and a revoke in make check.
LAB_EXCLUDE ?=

lab-check: lab-deps lab-install
	tests/lab/lab.py check --destdir $(LAB_DESTDIR) \
	  $(foreach s,$(LAB_RACE_SCENARIOS) $(LAB_EXCLUDE),--exclude $(s))

lab-race: lab-deps lab-install
	tests/lab/lab.py check --variant debug --destdir $(LAB_DESTDIR) $(LAB_RACE_SCENARIOS)

# Benchmarks (tests/lab/bench, found there by lab.py): figures printed as
# tables, never pass/fail on speed (docs/bench.md). LAB_BENCH_CYCLES sets the cycles per path.
# bench-ignoring boots L2 for each of its 6 cycles: about 13 min, hence the timeout.
bench: lab-deps lab-install bench-testbed
	tests/lab/lab.py check --scenario-timeout 1500 --destdir $(LAB_DESTDIR) bench-paths.sh bench-request.sh bench-unplug.sh bench-revoke.sh bench-ignoring.sh

# The scale benchmark (issue 17, P5) on the umockdev testbed of the D-Bus
# tests: empty, 1k and 10k devices with their mdevs (docs/bench.md).
.PHONY: bench-testbed
bench-testbed: build
	HOSTDEVD_BUILD_DIR=$(abspath $(BUILD)) umockdev-wrapper $(PYTHON) tests/bench/scale.py

# Operations (docs/operations.md): Debian packages, lints of what operators
# install, and the ansible playbook against a fresh lab host.
DEB_DIR   ?= build-deb
OPS_BUILD ?= build-ops

ops-deps:
	scripts/install-deps.sh ops

# hostdevd with debhelper from this tree; the kernel with its own bindeb-pkg
# from the lab variant's warm build directory (never a second full build:
# it fails, saying what to run, when that directory is not the current build).
deb: deb-hostdevd deb-kernel

deb-hostdevd: deps ops-deps
	scripts/deb-hostdevd.sh $(DEB_DIR)

deb-kernel: ops-deps
	scripts/deb-kernel.sh --variant lab $(DEB_DIR)

# systemd-analyze verify/security, the unit's man pages, yamllint,
# ansible-lint (production profile), lintian; PASS/FAIL lines for make check.
lint-ops: deps ops-deps
	scripts/lint-ops.sh $(OPS_BUILD) $(DEB_DIR)

# ansible/site.yml over ssh against a lab host booted without hostdevd; the
# package comes from deb-hostdevd.  PASS/FAIL lines for make check.
ansible-check: lab-deps ops-deps deb-hostdevd
	tests/ansible/run-lab.py --deb "$$(ls $(DEB_DIR)/hostdevd_*_amd64.deb)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(LAB_BUILD) $(OPS_BUILD) $(DEB_DIR)

# The paths to one bind, restore, mdev create or remove side by side on the
# integration tests' testbed, and batches of them (tests/bench/paths.py):
# the sysfs writes, mdevctl/driverctl, a persistent D-Bus client, hostdevctl.
# Markdown tables, never pass/fail on speed (docs/bench.md, "The paths on
# the testbed"); BENCH_CYCLES and BENCH_BATCH_ROUNDS set the counts.
.PHONY: bench-paths
bench-paths: build
	HOSTDEVD_BUILD_DIR=$(abspath $(BUILD)) umockdev-wrapper $(PYTHON) tests/bench/paths.py
bench: bench-paths
