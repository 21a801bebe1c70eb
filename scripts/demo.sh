#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR — what `make demo` runs: a tour of airlock-store
# driven by airlock's own CLI.
#
# Starts airlock-store on a private socket, writes, reads and lists records,
# watches a subtree while it changes, does a multi-write in one transaction,
# sets and shows permissions, then stops the store. Every command is echoed
# before it runs; the script exits non-zero as soon as a step fails.
set -euo pipefail

BUILD=${1:?usage: scripts/demo.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
STORE_BIN=$BUILD/store/airlock-store
AIRLOCK_BIN=$BUILD/cli/airlock
for bin in "$STORE_BIN" "$AIRLOCK_BIN"; do
	[ -x "$bin" ] || { echo "demo: $bin is missing (run: make build)" >&2; exit 1; }
done

D=$(mktemp -d /tmp/airlock-demo.XXXXXX)
STORE_PID=""
WATCH_PID=""
cleanup() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "$STORE_PID" ] && kill "$STORE_PID" 2>/dev/null && wait "$STORE_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
export XENSTORED_PATH=$D/store.sock

step() { printf '\n== %s\n' "$*"; }
run() {
	echo "\$ airlock $*"
	"$AIRLOCK_BIN" "$@"
}
die() {
	echo "demo: $*" >&2
	[ -s "$D/store.log" ] && sed 's/^/  store: /' "$D/store.log" >&2
	exit 1
}
# wait_for SECONDS COMMAND...: polls every 20 ms until COMMAND succeeds.
wait_for() {
	local tries=$(($1 * 50))
	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.02
	done
}
store_up() {
	[ -S "$D/store.sock" ] || { kill -0 "$STORE_PID" 2>/dev/null || die "airlock-store exited"; false; }
}

step "starting airlock-store on $D/store.sock"
mkdir -p "$D/state"
"$STORE_BIN" --socket "$D/store.sock" --state "$D/state" 2>"$D/store.log" &
STORE_PID=$!
wait_for 10 store_up || die "airlock-store did not create its socket"
echo "airlock-store running (pid $STORE_PID)"

step "writing records"
run write /vm/4b2e-demo/name web1
run write /vm/4b2e-demo/memory 512
run write /local/domain/1/name web1
run write /local/domain/1/vm /vm/4b2e-demo
run mkdir /local/domain/1/device

step "reading them back"
run read /vm/4b2e-demo/name /vm/4b2e-demo/memory /local/domain/1/vm

step "listing the tree"
run ls /local/domain/1
run ls -r /

step "watching /vm while it changes"
echo "\$ airlock watch -n 3 /vm &"
"$AIRLOCK_BIN" watch -n 3 -t 10 /vm >"$D/watch.out" &
WATCH_PID=$!
# The store fires every new watch once: its first line means it is armed.
wait_for 10 test -s "$D/watch.out" || die "the watch never fired"
run write /vm/4b2e-demo/state running
run rm /vm/4b2e-demo/memory
wait "$WATCH_PID" || die "airlock watch failed"
WATCH_PID=""
echo "events seen by the watch:"
sed 's/^/  /' "$D/watch.out"
[ "$(wc -l <"$D/watch.out")" -eq 3 ] || die "expected 3 events"

step "writing a device's records in one transaction"
run write /local/domain/1/device/vbd/51712/backend /local/domain/0/backend/vbd/1/51712 \
	/local/domain/1/device/vbd/51712/state 1 \
	/local/domain/0/backend/vbd/1/51712/frontend /local/domain/1/device/vbd/51712 \
	/local/domain/0/backend/vbd/1/51712/state 1
run ls -r /local/domain/1/device

step "permissions: domain 1 owns its name, domain 5 may read it"
run chmod /local/domain/1/name n1 r5
run getperms /local/domain/1/name
run ls -p /local/domain/1

step "a missing node is an error (exit status 1)"
echo "\$ airlock read /vm/4b2e-demo/memory"
rc=0
"$AIRLOCK_BIN" read /vm/4b2e-demo/memory || rc=$?
[ "$rc" -eq 1 ] || die "expected exit status 1, got $rc"

step "stopping the store"
kill -TERM "$STORE_PID"
rc=0
wait "$STORE_PID" || rc=$?
STORE_PID=""
# 143: killed by the SIGTERM itself, also an orderly stop for a daemon.
[ "$rc" -eq 0 ] || [ "$rc" -eq 143 ] || die "airlock-store exited with status $rc"
echo "airlock-store stopped"

step "demo finished"
