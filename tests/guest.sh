# tests/guest.sh — helpers for tests that run real guests (source it after
# tests/lib.sh). Sets the toolstack's paths to the test's own directory,
# builds (or reuses) the guest images and starts the store; provides
# wait_log and field.
A=$AIRLOCK_BIN
IMG=$TOP/out/images
export AIRLOCK_RUN_DIR=$TMP/run AIRLOCK_LOG_DIR=$TMP/log
export AIRLOCK_SUPERVISOR=$AIRLOCK_BUILD/supervisor/airlock-supervisor
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}

if ! bash "$TOP/images/build.sh" >"$TMP/images.log" 2>&1; then
	fail "guest images build"
	sed 's/^/# /' "$TMP/images.log" | tail -20
	done_testing
	exit 1
fi
start_store || { fail "store starts"; done_testing; exit 1; }

# wait_log NAME PATTERN [COUNT]: waits until PATTERN appears COUNT (default
# 1) times in the domain's console log (through `airlock log`).
wait_log() {
	local n=0
	for _ in $(seq 1 "$BOOT_TIMEOUT"); do
		n=$($A log "$1" 2>/dev/null | grep -c "$2")
		[ "$n" -ge "${3:-1}" ] && return 0
		sleep 1
	done
	echo "# '$2' seen $n times in $1's console log; last lines:"
	$A log "$1" 2>/dev/null | tail -15 | sed 's/^/#   /'
	return 1
}

# wait_gone NAME: waits (up to 120 s) until `airlock list` no longer shows
# NAME; the caller checks what it needs afterwards.
wait_gone() {
	for _ in $(seq 1 120); do
		$A list | awk '{print $2}' | grep -qx "$1" || return 0
		sleep 1
	done
}

# fsck_clean IMAGE: e2fsck -fn finds nothing (its last lines shown if it does).
fsck_clean() { e2fsck -fn "$1" >"$TMP/fsck.log" 2>&1 || { sed 's/^/#   /' "$TMP/fsck.log" | tail -8; false; }; }

# field NAME COLUMN: a column of `airlock list` for that domain.
field() { $A list | awk -v n="$1" -v f="$2" '$2 == n { print $f }'; }
