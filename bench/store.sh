#!/usr/bin/env bash
# bench/store.sh BUILD_DIR [--quick] — benchmarks airlock-store over its socket.
#
# Starts airlock-store (--sync process) and the echo server (store_bench
# --echo-server) on temporary sockets, then runs every configuration below
# once per round, round after round (A B C … A B C …), so slow drift on a
# shared machine hits every configuration alike. Prints a markdown table of
# the medians over rounds.
#
#   full mode (default): 3 rounds of 3 s runs, plus WRITE against a second
#       store started with --sync power; writes docs/bench-store.md.
#   --quick: 1 round of 1 s runs, no --sync power, writes nothing (what
#       bench/quick.sh and `make check` run).
#
# Environment: BENCH_ROUNDS, BENCH_SECONDS override the mode's defaults;
# BENCH_RAW=FILE keeps the raw result lines ("config=NAME round=R op=…", or
# "config=NAME round=R status=fail rc=N" for a run that failed, and
# "config=store-exit name=NAME status=N" for each daemon's exit on SIGTERM);
# BENCH_DOC=FILE writes the full-mode report somewhere else.
#
# Exit status: 0 if every run succeeded, 1 otherwise (the table still shows
# what did run).
set -u
usage() {
	echo "usage: bench/store.sh BUILD_DIR [--quick]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD=$(cd "$1" && pwd) || usage
shift
QUICK=0
case "${1:-}" in
--quick) QUICK=1 ;;
"") ;;
*) usage ;;
esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$BUILD/bench/store_bench
STORE=$BUILD/store/airlock-store
for bin in "$BENCH" "$STORE"; do
	if [ ! -x "$bin" ]; then
		echo "store.sh: $bin is missing (build first: ninja -C $BUILD)" >&2
		exit 1
	fi
done

if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}
	SECS=${BENCH_SECONDS:-1}
else
	ROUNDS=${BENCH_ROUNDS:-3}
	SECS=${BENCH_SECONDS:-3}
fi

# Sockets in /tmp (short paths); the store's state next to the build, on a
# real disk, so that --sync power pays for a real fdatasync (/tmp may be
# tmpfs).
SOCKDIR=$(mktemp -d /tmp/airlock-bench.XXXXXX)
STATEDIR=$(mktemp -d "$BUILD/bench-state.XXXXXX")
RAW=$SOCKDIR/raw.txt
: >"$RAW"
pids=()
names=()

cleanup() {
	local i
	for i in "${!pids[@]}"; do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$SOCKDIR" "$STATEDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_daemon NAME SOCKET COMMAND... — starts a daemon with its stderr in
# $SOCKDIR/NAME.log and waits up to 20 s for its socket.
start_daemon() {
	local name=$1 sock=$2 pid i
	shift 2
	"$@" 2>"$SOCKDIR/$name.log" &
	pid=$!
	pids+=("$pid")
	names+=("$name")
	for ((i = 0; i < 200; i++)); do
		[ -S "$sock" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "store.sh: $name exited at startup:" >&2
			sed 's/^/  | /' "$SOCKDIR/$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "store.sh: $name did not create $sock within 20 s" >&2
	return 1
}

# stop_daemons — SIGTERM each daemon, wait up to 10 s, record its status.
stop_daemons() {
	local i pid st j
	for i in "${!pids[@]}"; do
		pid=${pids[$i]}
		kill -TERM "$pid" 2>/dev/null
		for ((j = 0; j < 100; j++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "store.sh: ${names[$i]} ignored SIGTERM for 10 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		st=$?
		echo "config=store-exit name=${names[$i]} status=$st" >>"$RAW"
		if [ "$st" -ne 0 ]; then
			echo "store.sh: ${names[$i]} exited with status $st; its log:" >&2
			tail -20 "$SOCKDIR/${names[$i]}.log" | sed 's/^/  | /' >&2
		fi
	done
	pids=()
	names=()
}

STORE_SOCK=$SOCKDIR/store.sock
POWER_SOCK=$SOCKDIR/store-power.sock
ECHO_SOCK=$SOCKDIR/echo.sock
mkdir -p "$STATEDIR/process" "$STATEDIR/power"

# Placement. A round trip between two processes costs several times more
# when the reply has to wake an idle CPU than when client and server take
# turns on one CPU (on a VM: ~55 µs against ~10 µs), and left to itself the
# scheduler picks either at random from run to run. So with 2 CPUs or more
# the daemons run on CPU 0 and every 1-client run is pinned: "same CPU"
# (client on CPU 0 too) or "other CPU" (client on CPU 1). 8-client runs are
# left to the scheduler ("any").
SERVER_PIN=()
PIN=0
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SERVER_PIN=(taskset -c 0)
	PIN=1
fi

ok=1
start_daemon store "$STORE_SOCK" "${SERVER_PIN[@]}" "$STORE" --socket "$STORE_SOCK" \
	--state "$STATEDIR/process" --sync process || ok=0
start_daemon echo "$ECHO_SOCK" "${SERVER_PIN[@]}" "$BENCH" --echo-server "$ECHO_SOCK" || ok=0
if [ "$QUICK" = 0 ]; then
	start_daemon store-power "$POWER_SOCK" "${SERVER_PIN[@]}" "$STORE" --socket "$POWER_SOCK" \
		--state "$STATEDIR/power" --sync power || ok=0
fi
if [ "$ok" = 0 ]; then
	stop_daemons
	[ -n "${BENCH_RAW:-}" ] && cp "$RAW" "$BENCH_RAW"
	exit 1
fi

# Configurations: NAME|LABEL|CLIENTS|PLACEMENT|store_bench arguments, in the
# order they run and are tabled. PLACEMENT is same, other or any (above).
S="--socket $STORE_SOCK"
P="--socket $POWER_SOCK"
E="--echo $ECHO_SOCK"
CONFIGS=()
add() { # NAME LABEL CLIENTS PLACEMENT ARGS
	if [ "$PIN" = 0 ]; then
		[ "$4" = same ] && return # only one placement without pinning
		set -- "$1" "$2" "$3" any "$5"
	fi
	CONFIGS+=("$1|$2|$3|$4|$5")
}
add read-1-same READ 1 same "$S --op read --clients 1"
add read-1-other READ 1 other "$S --op read --clients 1"
add read-8 READ 8 any "$S --op read --clients 8"
add write-1-same WRITE 1 same "$S --op write --clients 1"
add write-1-other WRITE 1 other "$S --op write --clients 1"
add write-8 WRITE 8 any "$S --op write --clients 8"
add txn-1-same TXN 1 same "$S --op txn --clients 1"
add txn-1-other TXN 1 other "$S --op txn --clients 1"
add txn-8 TXN 8 any "$S --op txn --clients 8"
add txn-8-shared "TXN, one shared key" 8 any "$S --op txn --clients 8 --shared-key"
if [ "$QUICK" = 0 ]; then
	add write-power-1-same "WRITE, --sync power" 1 same "$P --op write --clients 1"
	add write-power-1-other "WRITE, --sync power" 1 other "$P --op write --clients 1"
	add write-power-8 "WRITE, --sync power" 8 any "$P --op write --clients 8"
fi
add echo-1-same "echo (floor)" 1 same "$E --clients 1"
add echo-1-other "echo (floor)" 1 other "$E --clients 1"

# run_one ROUND NAME PLACEMENT ARGS — one store_bench run, its result line
# into $RAW.
run_one() {
	local round=$1 name=$2 place=$3 args=$4 out rc pin=()
	case "$place" in
	same) pin=(taskset -c 0) ;;
	other) pin=(taskset -c 1) ;;
	esac
	# shellcheck disable=SC2086 # ARGS is a word list on purpose
	out=$(timeout --kill-after=5 $((SECS + 60)) "${pin[@]}" "$BENCH" $args --seconds "$SECS" \
		2>"$SOCKDIR/run.err")
	rc=$?
	if [ "$rc" -eq 0 ] && [[ $out == op=* ]]; then
		echo "config=$name round=$round $out" >>"$RAW"
	else
		echo "config=$name round=$round status=fail rc=$rc why=$(head -1 "$SOCKDIR/run.err")" \
			>>"$RAW"
		echo "store.sh: $name (round $round) failed with status $rc:" >&2
		sed 's/^/  | /' "$SOCKDIR/run.err" >&2
		ok=0
	fi
}

for ((round = 1; round <= ROUNDS; round++)); do
	for cfg in "${CONFIGS[@]}"; do
		IFS='|' read -r name _ _ place args <<<"$cfg"
		echo "store.sh: round $round/$ROUNDS: $name" >&2
		run_one "$round" "$name" "$place" "$args"
	done
done
stop_daemons
[ -n "${BENCH_RAW:-}" ] && cp "$RAW" "$BENCH_RAW"

# median CONFIG FIELD — median over rounds of FIELD (a key of the result
# line, or "retry_rate" = retries/ops), "-" if no run succeeded.
median() {
	grep "^config=$1 round=" "$RAW" | grep -v ' status=fail' |
		awk -v f="$2" '{
			for (i = 1; i <= NF; i++) {
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			if (f == "retry_rate")
				print (v["ops"] > 0 ? v["retries"] / v["ops"] : 0)
			else
				print v[f]
		}' | sort -g | awk -v f="$2" '
		{ a[NR] = $1 }
		END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			print (f ~ /_us$/) ? sprintf("%.1f", m) : m
		}'
}

# spread CONFIG — "min–max" of ops/s over rounds, "-" if no run succeeded.
spread() {
	grep "^config=$1 round=" "$RAW" | grep -v ' status=fail' |
		sed -n 's/.* ops_per_s=\([0-9.]*\).*/\1/p' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.0f–%.0f\n", a[1], a[NR] }'
}

place_name() {
	case "$1" in
	same) echo "same CPU" ;;
	other) echo "other CPU" ;;
	*) echo "any" ;;
	esac
}

table() {
	local cfg name label clients place ops p50 p99 rr
	echo "| operation | clients | client CPU | ops/s | ops/s range | p50 µs | p99 µs | EAGAIN retries per commit |"
	echo "|---|--:|---|--:|--:|--:|--:|--:|"
	for cfg in "${CONFIGS[@]}"; do
		IFS='|' read -r name label clients place _ <<<"$cfg"
		ops=$(median "$name" ops_per_s)
		p50=$(median "$name" p50_us)
		p99=$(median "$name" p99_us)
		rr="–"
		if [[ $name == txn* ]]; then
			rr=$(median "$name" retry_rate)
			[ "$rr" != "-" ] && rr=$(awk -v r="$rr" 'BEGIN { printf "%.3f", r }')
		fi
		[ "$ops" != "-" ] && ops=$(awk -v r="$ops" 'BEGIN { printf "%.0f", r }')
		echo "| $label | $clients | $(place_name "$place") | $ops | $(spread "$name") | $p50 | $p99 |" \
			"$rr |"
	done
}

rtt_table() {
	local place r e ratio verdict
	echo "| client CPU | READ p50 RTT µs | echo p50 RTT µs | ratio | goal ≤ 2× |"
	echo "|---|--:|--:|--:|---|"
	for place in same other; do
		[ "$PIN" = 0 ] && [ "$place" = same ] && continue
		r=$(median "read-1-$place" p50_us)
		e=$(median "echo-1-$place" p50_us)
		[ "$PIN" = 0 ] && place=any
		ratio="-"
		verdict="-"
		if [ "$r" != "-" ] && [ "$e" != "-" ]; then
			ratio=$(awk -v r="$r" -v e="$e" 'BEGIN { printf "%.2f", (e > 0 ? r / e : 0) }')
			verdict=$(awk -v x="$ratio" 'BEGIN { print (x <= 2.0 ? "met" : "missed") }')
		fi
		echo "| $(place_name "$place") | $r | $e | ${ratio}× | $verdict |"
	done
}

TABLE=$(table)
RTT=$(rtt_table)
echo
echo "$TABLE"
echo
echo "$RTT"

if [ "$QUICK" = 0 ]; then
	DOC=${BENCH_DOC:-$TOP/docs/bench-store.md}
	model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
	[ -n "$model" ] || model=$(uname -m)
	fs=$(df -T "$BUILD" 2>/dev/null | awk 'NR == 2 { print $2 }')
	[ -n "$fs" ] || fs=unknown
	{
		echo "# airlock-store benchmark"
		echo
		echo "Measured by \`bench/store.sh $(basename "$BUILD")\` (\`make bench\`) on" \
			"$(date -u '+%Y-%m-%d %H:%M UTC')."
		echo
		echo "- Machine: $model, $(nproc) CPUs (nproc); the store, the echo server"
		echo "  and every benchmark client share them."
		echo "- Kernel: $(uname -sr)"
		echo "- Code: commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
			"of airlock, build \`$(basename "$BUILD")\` ($(meson introspect --buildoptions \
				"$BUILD" 2>/dev/null | /usr/bin/python3 -c \
				'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' \
				2>/dev/null || echo "buildtype unknown"))"
		echo "- Store state on $fs; the store runs with \`--sync process\` except in"
		echo "  the \`--sync power\` rows."
		if [ "$PIN" = 1 ]; then
			echo "- The store and the echo server run pinned to CPU 0 (taskset); 1-client"
			echo "  runs are pinned to CPU 0 (\"same CPU\") or CPU 1 (\"other CPU\"),"
			echo "  8-client runs are left to the scheduler (\"any\")."
		fi
		echo "- Each configuration ran $ROUNDS times for $SECS s. **Figures are medians of"
		echo "  interleaved runs**: every configuration ran once per round, in the order"
		echo "  of the table, round after round (A B C … A B C …), so drift on a shared"
		echo "  machine reaches all of them alike."
		echo
		echo "## Throughput and latency"
		echo
		echo "$TABLE"
		echo
		echo "## READ round trip against the echo floor"
		echo
		echo "$RTT"
		echo
		echo "## What the columns mean"
		echo
		echo "- **operation**: READ and WRITE are single requests on a 32-byte value,"
		echo "  each client cycling over 16 keys of its own (\`/bench/c<i>/k<j>\`). TXN is"
		echo "  a read-modify-write transaction on a counter: TRANSACTION_START, READ,"
		echo "  WRITE value+1, TRANSACTION_END \"T\", the whole of it retried on EAGAIN;"
		echo "  each client has its own counter except in the \"one shared key\" row,"
		echo "  where all 8 increment the same one and conflict. After every TXN run the"
		echo "  counters are read back and must equal the commits counted. \`--sync"
		echo "  power\` is a second store that fdatasyncs its log (group commit: one sync"
		echo "  per event-loop iteration) before replying. echo is \`store_bench"
		echo "  --echo-server\`, a single-threaded epoll loop that frames each message"
		echo "  and sends it straight back: the same READ request, no store work."
		echo "- **clients**: connections, one thread each, each with exactly one request"
		echo "  outstanding (send, wait for the reply, send the next)."
		echo "- **client CPU**: where the benchmark client ran, the server being on"
		echo "  CPU 0. On the same CPU client and server take turns and a round trip is"
		echo "  two context switches; on the other CPU every request and reply must wake"
		echo "  an idle CPU, which on a virtual machine costs far more than the work"
		echo "  itself. Unpinned, the scheduler picks either from run to run, which is"
		echo "  why the 1-client runs are pinned both ways."
		echo "- **ops/s**: completed operations per second over all clients; for TXN,"
		echo "  committed transactions per second. **ops/s range**: the lowest and"
		echo "  highest of the $ROUNDS runs, to show how much the machine wandered."
		echo "- **p50 µs / p99 µs**: median and 99th-percentile time from sending a"
		echo "  request to holding its whole reply, as the client sees it; for TXN, from"
		echo "  the first TRANSACTION_START to the commit, retries included. With 8"
		echo "  clients on $(nproc) CPUs this includes waiting for a CPU."
		echo "- **EAGAIN retries per commit**: transactions restarted because"
		echo "  TRANSACTION_END (or a step inside) answered EAGAIN, per committed one."
		echo "- **ratio**: READ p50 over echo p50 with one client and the same"
		echo "  placement, i.e. how much the store adds to a bare UNIX-socket round trip"
		echo "  of the same size. The same-CPU row is the sharper test: there the round"
		echo "  trip is mostly the two programs' own work."
		echo
		echo "## Raw runs"
		echo
		echo '```'
		cat "$RAW"
		echo '```'
	} >"$DOC"
	echo
	echo "store.sh: wrote $DOC" >&2
fi

[ "$ok" = 1 ]
