#!/usr/bin/env bash
# fuzz/run-one.sh FUZZER SECONDS — runs one libFuzzer target for SECONDS and
# reports one TAP case.
#
# Runs of a minute or more use the scratch corpus out/fuzz/<name>/corpus,
# kept between runs so each long run builds on the last; shorter runs (the
# 20 s of make check) start from an empty out/fuzz/<name>/short, since
# replaying a grown corpus alone can take longer than they have. The seeds
# in fuzz/corpus/<name>/ are read, never written, and the dictionary
# fuzz/xs.dict is used if present. Crash,
# leak and timeout inputs land in out/fuzz/<name>/ (-artifact_prefix); the
# libFuzzer log is out/fuzz/<name>/fuzz.log. Nothing is written into the
# git tree outside out/ (gitignored).
#
# Prints "ok 1 - <name>: N runs, no crash", or "not ok 1 - <name>: crash,
# artifact at PATH" and exits 1. Reproduce a crash with: FUZZER PATH
set -u
FUZZER=${1:?usage: fuzz/run-one.sh FUZZER SECONDS}
SECONDS_WANTED=${2:?usage: fuzz/run-one.sh FUZZER SECONDS}
TOP=$(cd "$(dirname "$0")/.." && pwd)
NAME=$(basename "$FUZZER")
WORK=$TOP/out/fuzz/$NAME
SEEDS=$TOP/fuzz/corpus/$NAME
DICT=$TOP/fuzz/xs.dict
LOG=$WORK/fuzz.log

# Callers glob BUILD/fuzz/fuzz_*, which also matches meson's fuzz_*.p
# object folders: those are no test at all.
if [ -d "$FUZZER" ]; then
	echo "1..0 # SKIP $NAME is a folder, not a fuzzer"
	exit 0
fi
echo "1..1"
if [ ! -f "$FUZZER" ] || [ ! -x "$FUZZER" ]; then
	echo "not ok 1 - $NAME: no executable at $FUZZER (build with make build-san)"
	exit 1
fi
case $SECONDS_WANTED in
'' | *[!0-9]* | 0)
	echo "not ok 1 - $NAME: SECONDS must be a positive integer, not '$SECONDS_WANTED'"
	exit 1
	;;
esac
FUZZER=$(cd "$(dirname "$FUZZER")" && pwd)/$(basename "$FUZZER")
if [ "$SECONDS_WANTED" -ge 60 ]; then
	CORPUS=$WORK/corpus
else
	CORPUS=$WORK/short
	rm -rf "$CORPUS"
fi
mkdir -p "$CORPUS"
# Artifacts of an earlier run would be mistaken for this run's.
rm -f "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/slow-unit-*

args=(-max_total_time="$SECONDS_WANTED" -timeout=10 -rss_limit_mb=2048 -max_len=8192
	-artifact_prefix="$WORK/" -print_final_stats=1)
[ -f "$DICT" ] && args+=(-dict="$DICT")
dirs=("$CORPUS")
[ -d "$SEEDS" ] && dirs+=("$SEEDS")

# Sanitizer reports end the run (libFuzzer saves the input); keep any
# caller's settings otherwise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# libFuzzer stops itself at max_total_time; the outer limit only catches a
# hang that its own -timeout could not (a stuck startup, say).
timeout --kill-after=10 $((SECONDS_WANTED + 120)) "$FUZZER" "${args[@]}" "${dirs[@]}" \
	>"$LOG" 2>&1 </dev/null
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
[ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$LOG" | tail -1)
final=$(grep -E '^#[0-9]+' "$LOG" | tail -1 | sed -n 's/.*\(cov: [0-9]*\).*\(ft: [0-9]*\).*\(corp: [^ ]*\).*\(exec\/s: [0-9]*\).*/\1 \2 \3 \4/p')
artifact=$(ls -t "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* "$WORK"/oom-* 2>/dev/null | head -1)

if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
	echo "ok 1 - $NAME: ${runs:-?} runs, no crash"
	[ -n "$final" ] && echo "# $final"
	exit 0
fi
if [ -n "$artifact" ]; then
	echo "not ok 1 - $NAME: crash, artifact at $artifact"
	echo "# reproduce: $FUZZER $artifact"
else
	echo "not ok 1 - $NAME: fuzzer exited with status $rc and saved no input (see $LOG)"
fi
# The report: from the first sanitizer or CHECK line to its SUMMARY (or
# libFuzzer's own verdict), at most 30 lines.
awk '/ERROR: |invariant failed|runtime error|WARNING: MemorySanitizer/ { on = 1 }
	on { print "# " $0; if (++n >= 30 || /^SUMMARY: /) exit }' "$LOG"
exit 1
