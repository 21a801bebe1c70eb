#!/usr/bin/env bash
# Hostile and broken clients against a real airlock-store (see badinput.c,
# which prints the TAP lines).
. "$(dirname "$0")/../lib.sh"
if ! start_store --max-conn-buffer 64K; then
	fail "store starts"
	done_testing
	exit 1
fi
"$AIRLOCK_BUILD/tests/blackbox/badinput" "$TMP/store.sock" "$STORE_PID"
rc=$?
stop_store
exit $rc
