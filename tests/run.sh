#!/usr/bin/env bash
# tests/run.sh BUILD_DIR — runs every test and prints "N passed, N failed".
#
# Each test program or script speaks TAP: one "ok N - name" or "not ok N -
# name" line per case. A program that exits non-zero without reporting a
# failed case (a crash, a sanitizer report) counts as one failed case.
# Output of each test goes to $OUT_DIR/<name>.log; failures are echoed.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 20), TEST_FILTER (a
# substring of test names to run).
set -u
BUILD=${1:?usage: tests/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${OUT_DIR:-$TOP/out/test-logs}
mkdir -p "$OUT_DIR"
export AIRLOCK_BUILD=$BUILD AIRLOCK_TOP=$TOP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
failed_names=()

run_one() { # name, command...
	local name=$1
	shift
	if [ -n "${TEST_FILTER:-}" ] && [[ $name != *"$TEST_FILTER"* ]]; then
		return
	fi
	local log="$OUT_DIR/$name.log" rc p f
	mkdir -p "$(dirname "$log")"
	printf '%-40s ' "$name"
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "# exited with status $rc without a failed case (crash or timeout)" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failed_names+=("$name")
		echo "FAIL ($p passed, $f failed) — $log"
		grep -E '^not ok|^# ' "$log" | head -20 | sed 's/^/    /'
		tail -5 "$log" | sed 's/^/    | /'
	else
		echo "ok ($p)"
	fi
}

# Unit tests: every tests/unit/test_* binary the build made.
for t in "$BUILD"/tests/unit/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue # not meson's test_*.p dirs
	run_one "unit/$(basename "$t")" "$t"
done

# Black-box tests: scripts driving the real daemons.
for t in "$TOP"/tests/blackbox/*.sh; do
	[ -f "$t" ] || continue
	run_one "blackbox/$(basename "$t" .sh)" bash "$t"
done

# Fuzz targets, a short run each (the build-san tree has them).
if [ -d "$BUILD/fuzz" ]; then
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		run_one "fuzz/$(basename "$f")" bash "$TOP/fuzz/run-one.sh" "$f" "${FUZZ_SECONDS:-20}"
	done
fi

# The quick benchmark keeps the harness honest (figures are not asserted).
if [ -x "$TOP/bench/quick.sh" ] && [ -z "${TEST_FILTER:-}" ]; then
	run_one "bench/quick" bash "$TOP/bench/quick.sh" "$BUILD"
fi

# The placement report in quick mode (one round, short transfers: ~2-3 min)
# keeps bench/report.sh working: every figure non-zero, valid PNGs, every
# table row (figures are not asserted). Its report stays in
# $OUT_DIR/bench-report/ for a look; TEST_FILTER=bench/report runs it alone.
if [ -x "$TOP/bench/report.sh" ]; then
	run_one "bench/report-quick" bash "$TOP/bench/report.sh" --quick "$BUILD" "$OUT_DIR/bench-report"
fi

echo
[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
