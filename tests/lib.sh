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
NS=""

# Safe under `set -e` (some scripts use it): nothing here may fail the
# exit trap, or the script's status would become that failure.
cleanup() {
	if [ -n "$STORE_PID" ] && kill "$STORE_PID" 2>/dev/null; then
		wait "$STORE_PID" 2>/dev/null || true
	fi
	if [ -n "$NS" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
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
	# A daemon killed with -9 leaves its socket file: waiting for the file
	# would then return before the new daemon listens.
	rm -f "$TMP/store.sock"
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

# test_netns NAME: a network namespace of the test's own, $NS (deleted at
# exit), with a bridge br0 at 10.77.0.1/24 for the guests' vifs. in_ns runs
# a command in it (ip netns exec: its /sys too), in_net joins only its
# network (nsenter: `airlock create` there puts the taps on that br0).
test_netns() {
	NS=$1
	ip netns add "$NS" &&
		in_ns ip link set lo up &&
		in_ns ip link add br0 type bridge &&
		in_ns ip addr add 10.77.0.1/24 dev br0 &&
		in_ns ip link set br0 up
}
in_ns() { ip netns exec "$NS" "$@"; }
in_net() { nsenter --net=/run/netns/"$NS" "$@"; }

# need_stubdom_image: builds the stub-domain image (or finds it cached);
# if that fails, says why and ends the test.
need_stubdom_image() {
	if ! bash "$TOP/images/stubdom/build.sh" >"$TMP/stubdom-image.log" 2>&1; then
		fail "the stub-domain image builds"
		tail -20 "$TMP/stubdom-image.log" | sed 's/^/# /'
		done_testing
		exit 1
	fi
	ok "the stub-domain image is built (or cached)"
}

# gcon NAME TIMEOUT <<<'commands': runs them on a domain's console
# (NAME-dm: its stub domain's shell) through tests/gcon.py.
gcon() { python3 "$TOP/tests/gcon.py" "$AIRLOCK_BIN" "$1" "$2"; }

# status_of PID FIELD: a field of /proc/PID/status (Uid: its first value).
status_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
