#!/usr/bin/env bash
# bench/quick.sh BUILD_DIR — the quick store benchmark as TAP, for `make check`.
#
# Runs `bench/store.sh BUILD_DIR --quick` (one round of 1 s runs) and reports
# one case per configuration: it ran to completion and produced a nonzero
# ops/s figure (for TXN runs this includes store_bench's check that the
# counters equal the commits counted). One more case: every daemon exited
# with status 0 on SIGTERM (under a sanitizer build this catches leaks and
# memory errors under load). Figures are never compared with a threshold:
# this machine is shared and noisy. The table store.sh prints is echoed as
# TAP comments.
set -u
BUILD=${1:?usage: bench/quick.sh BUILD_DIR}
TOP=$(cd "$(dirname "$0")/.." && pwd)
RAW=$(mktemp /tmp/airlock-bench-quick.XXXXXX)
trap 'rm -f "$RAW"' EXIT

# NAME|description, in store.sh's quick-mode order.
CASES=(
	"read-1-same|read, 1 client on the store's CPU"
	"read-1-other|read, 1 client on another CPU"
	"read-8|read, 8 clients"
	"write-1-same|write, 1 client on the store's CPU"
	"write-1-other|write, 1 client on another CPU"
	"write-8|write, 8 clients"
	"txn-1-same|txn, 1 client on the store's CPU"
	"txn-1-other|txn, 1 client on another CPU"
	"txn-8|txn, 8 clients"
	"txn-8-shared|txn, 8 clients on one shared key"
	"echo-1-same|echo floor, 1 client on the server's CPU"
	"echo-1-other|echo floor, 1 client on another CPU"
)
# With one CPU (or no taskset) store.sh has no "same" placement.
if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
	for i in "${!CASES[@]}"; do
		[[ ${CASES[$i]} == *-same\|* ]] && unset "CASES[$i]"
	done
	CASES=("${CASES[@]}")
fi
echo "1..$((${#CASES[@]} + 1))"

BENCH_RAW=$RAW timeout --kill-after=10 120 bash "$TOP/bench/store.sh" "$BUILD" --quick 2>&1 |
	sed 's/^/# /'

n=0
for c in "${CASES[@]}"; do
	IFS='|' read -r name desc <<<"$c"
	n=$((n + 1))
	line=$(grep "^config=$name round=" "$RAW" | head -1)
	ops=$(sed -n 's/.* ops_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
	if [ -n "$ops" ] && awk -v x="$ops" 'BEGIN { exit !(x > 0) }'; then
		retries=$(sed -n 's/.* retries=\([0-9]*\).*/\1/p' <<<"$line")
		extra=""
		[[ $name == txn* ]] && extra=", $retries EAGAIN retries"
		echo "ok $n - store bench $desc ran ($ops ops/s$extra)"
	elif [ -n "$line" ]; then
		echo "not ok $n - store bench $desc: ${line#config="$name" }"
	else
		echo "not ok $n - store bench $desc: no result (see the store.sh output above)"
	fi
done

n=$((n + 1))
exits=$(grep '^config=store-exit ' "$RAW")
bad=$(grep -v ' status=0$' <<<"$exits")
if [ -n "$exits" ] && [ -z "$bad" ]; then
	echo "ok $n - store and echo server exited cleanly on SIGTERM"
else
	echo "not ok $n - daemon exit on SIGTERM: ${bad:-no record}" | tr '\n' ' '
	echo
fi
