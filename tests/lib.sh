# tests/lib.sh — shared helpers for black-box tests (source it).
#
# Provides TAP reporting (ok/fail/check/done_testing), a temporary directory
# removed at exit, and start_store/stop_store to run a real airlock-store on
# a private socket. Expects AIRLOCK_BUILD (set by tests/run.sh; defaults to
# build-san, then build).
set -u
TOP=${AIRLOCK_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
if [ -z "${AIRLOCK_BUILD:-}" ]; then
	if [ -d "$TOP/build-san" ]; then AIRLOCK_BUILD=$TOP/build-san; else AIRLOCK_BUILD=$TOP/build; fi
fi
STORE_BIN=$AIRLOCK_BUILD/store/airlock-store
AIRLOCK_BIN=$AIRLOCK_BUILD/cli/airlock
T_N=0
T_FAILED=0
TMP=$(mktemp -d /tmp/airlock-test.XXXXXX)
STORE_PID=""

cleanup() {
	[ -n "$STORE_PID" ] && kill "$STORE_PID" 2>/dev/null && wait "$STORE_PID" 2>/dev/null
	# Keep the logs of a failed run for whoever reads the report.
	if [ "$T_FAILED" -gt 0 ]; then
		local keep=$TOP/out/test-logs/kept-$(basename "$0" .sh)
		rm -rf "$keep" && mkdir -p "$keep"
		find "$TMP" -maxdepth 2 -name '*.log' -size -20M -exec cp {} "$keep/" \; 2>/dev/null
		echo "# logs kept in $keep"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
fail() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }

# check "description" command...   — passes if the command succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

# check_eq "description" expected actual
check_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else
		fail "$1"
		echo "#   expected: $(printf %q "$2")"
		echo "#   actual:   $(printf %q "$3")"
	fi
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# start_store [extra airlock-store args...]: starts the daemon on
# $TMP/store.sock with state in $TMP/state, exports XENSTORED_PATH, waits
# until the socket answers. Its stderr goes to $TMP/store.log.
start_store() {
	mkdir -p "$TMP/state"
	"$STORE_BIN" --socket "$TMP/store.sock" --state "$TMP/state" "$@" 2>>"$TMP/store.log" &
	STORE_PID=$!
	export XENSTORED_PATH=$TMP/store.sock
	for _ in $(seq 1 200); do
		[ -S "$TMP/store.sock" ] && return 0
		kill -0 "$STORE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# airlock-store did not start:"; sed 's/^/#   /' "$TMP/store.log"
	return 1
}

# stop_store [signal]: stops the daemon (default TERM) and waits for it.
stop_store() {
	[ -n "$STORE_PID" ] || return 0
	kill -"${1:-TERM}" "$STORE_PID" 2>/dev/null
	wait "$STORE_PID" 2>/dev/null
	STORE_PID=""
}
