# The two commands of the README: `make demo` and `make check`.
# Everything else here is what they are made of.

BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTHON     ?= /usr/bin/python3
# Expensive artifacts (kernel, lab images) live outside the checkout.
export HOSTDEVD_CACHE ?= /var/cache/hostdevd

.PHONY: all deps build asan check check-unit check-asan check-integration \
        demo lab lab-check bench clean

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

# Until the lab boots hostdevd, the demo runs the real daemon and CLI on a
# private bus against the umockdev testbed of the integration tests.
demo: build
	umockdev-wrapper $(PYTHON) scripts/demo-testbed.py

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
