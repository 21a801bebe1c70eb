# airlock — the README's commands. The real build is Meson (meson.build);
# this file only strings the steps together for a fresh machine.
#
#   make demo    run the main job on its defaults
#   make check   build everything and run every test ("N passed, N failed")
#   make fuzz    longer fuzz runs (FUZZ_SECONDS per target, default 600)
#   make bench   store benchmark, full mode (writes docs/bench-store.md figures)
#   make bench-boot  create -> ssh boot benchmark (writes docs/bench-boot.md)
#   make bench-disk  in-guest disk figures per placement (writes docs/bench-disk.md)
#   make bench-net   iperf3 to and from a guest per placement (writes docs/bench-net.md)
#   make bench-stubdom  airlock-dm in dom0 vs in the stub domain (writes docs/bench-stubdom.md)
#   make bench-report   the seed's evaluation (dd, iperf3 both ways, create -> ssh
#                over 10 boots, memory) for every placement — QEMU's built-in
#                devices, qemu-storage-daemon, airlock-dm in dom0, in a stub
#                domain, native — interleaved, ~25 min: writes docs/bench-report.md,
#                docs/bench-report/*.png and the README's "Placements at a glance".
#                Its quick mode (bench/report.sh --quick BUILD OUTDIR, ~2-3 min)
#                runs in `make check`.

SHELL := /bin/bash
BUILD ?= build
BUILD_SAN ?= build-san
FUZZ_SECONDS ?= 20

.PHONY: all setup build build-san images check demo fuzz bench bench-boot bench-disk bench-net bench-stubdom bench-report format clean

all: build

setup:
	@bash scripts/setup.sh

# Optimised build (gcc): what the demo and the benchmarks run.
$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null
build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD) | tail -1
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

# Sanitizer build (clang, ASan+UBSan) with the libFuzzer targets: what the
# tests run.
$(BUILD_SAN)/build.ninja:
	CC=clang meson setup $(BUILD_SAN) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dfuzz=true -Dbuildtype=debug -Doptimization=1 >/dev/null
build-san: setup $(BUILD_SAN)/build.ninja
	@ninja -C $(BUILD_SAN) | tail -1

# Guest images and the stub-domain image (kernel from linux-source-6.1):
# cached by their inputs; built here so that no test's time limit has to
# hold a kernel build.
images: build
	@bash images/build.sh >/dev/null
	@set -o pipefail; bash images/stubdom/build.sh 2>&1 | tail -1

check: build build-san images
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/run.sh $(BUILD_SAN)

demo: build images
	@bash scripts/demo.sh $(BUILD)

fuzz: build-san
	@for f in $(BUILD_SAN)/fuzz/fuzz_*; do \
		bash fuzz/run-one.sh $$f $${FUZZ_SECONDS:-600} || exit 1; done

bench: build
	@bash bench/store.sh $(BUILD)
bench-boot: build ; @bash bench/boot.sh $(BUILD)
bench-disk: build ; @bash bench/disk.sh $(BUILD)
bench-net: build ; @bash bench/net.sh $(BUILD)
bench-stubdom: build ; @bash bench/stubdom.sh $(BUILD)
bench-report: build images ; @bash bench/report.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) out compile_commands.json
