#!/usr/bin/env bash
# airlock-relay confined, as the supervisor starts it (supervisor/stubdom.c):
# inherited fds made as root (a 64 MiB guest-RAM memfd, the engine's, the
# ivshmem and the port listening sockets), then its own uid with no groups
# and NoNewPrivs (here setpriv, in the supervisor spawn_proc's uid/gid).
# Checks /proc/<relay>/status (Uid, Gid, NoNewPrivs, Seccomp 2, CapEff 0),
# that it still serves under its filter (an engine's set-up including
# GET_INFLIGHT_FD, the ivshmem server's messages, the stub port) and exits
# 0 on SIGTERM, and that it refuses to run as root. Which calls the filter
# kills is tests/unit/test_relay_sandbox.
. "$(dirname "$0")/../lib.sh"
RELAY=$AIRLOCK_BUILD/relay/airlock-relay
PEER="python3 $TOP/tests/blackbox/relay_peer.py"
ID=$((640000 + 0x8000 + 7)) # what the supervisor uses for guest domid 7
status_of() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }
# fds_of PID: its fds above stdio, by kind, as "COUNT KIND;..."
fds_of() {
	for f in /proc/$1/fd/*; do
		[ "${f##*/}" -gt 2 ] && readlink "$f"
	done | sed -E 's/:\[[0-9]+\]$//; s/ \(deleted\)$//' | LC_ALL=C sort | uniq -c | awk '{ printf "%s %s;", $1, $2 }'
}
args() { echo --name t --ram-fd @RAM@ --ram-size 33554432 --ivshmem-fd @IVS@ --port-fd @PORT@ \
	--device blk,fd=@ENG0@,features=0x100000000,queues=4; }
chmod 755 "$TMP"

# --- as root: refused -------------------------------------------------------------
mkdir -m 755 "$TMP/root"
$PEER spawn "$TMP/root" 67108864 -- "$RELAY" $(args) 2>"$TMP/root.log"
check_eq "as root the relay refuses to run (exit 1)" 1 $?
check "  and says why" grep -q "refusing to run as root" "$TMP/root.log"

# --- confined -----------------------------------------------------------------------
mkdir -m 755 "$TMP/r"
$PEER spawn "$TMP/r" 67108864 -- setpriv --reuid=$ID --regid=$ID --clear-groups --no-new-privs \
	"$RELAY" $(args) 2>"$TMP/relay.log" &
PID=$!
for _ in $(seq 1 100); do grep -q relaying "$TMP/relay.log" 2>/dev/null && break; sleep 0.05; done
check "the relay starts as uid $ID" grep -q relaying "$TMP/relay.log"
check_eq "  Uid (real, effective, saved, fs)" "$ID $ID $ID $ID" "$(status_of $PID Uid)"
check_eq "  Gid" "$ID $ID $ID $ID" "$(status_of $PID Gid)"
check_eq "  no supplementary groups" "" "$(status_of $PID Groups)"
check_eq "  NoNewPrivs" 1 "$(status_of $PID NoNewPrivs)"
check_eq "  Seccomp (filter)" 2 "$(status_of $PID Seccomp)"
check_eq "  CapEff" 0000000000000000 "$(status_of $PID CapEff)"
check_eq "  CapPrm" 0000000000000000 "$(status_of $PID CapPrm)"
# The memfd, the 3 listening sockets, 2 x 9 vector eventfds, its epoll
# and signalfd: nothing opened by path.
check_eq "  holds exactly the inherited fds and what it made at start" \
	"1 /memfd:guest-ram;18 anon_inode:[eventfd];1 anon_inode:[eventpoll];1 anon_inode:[signalfd];3 socket;" \
	"$(fds_of $PID)"

out=$($PEER engine "$TMP/r/eng0.sock" 2>&1)
check_eq "GET_FEATURES answers the description's features + PROTOCOL_FEATURES" 0x140000000 \
	"$(echo "$out" | head -1)"
check_eq "  the engine's set-up (GET_INFLIGHT_FD writes the memfd after RAM)" \
	"queues=4 inflight=2112@33554432" "$(echo "$out" | tail -1)"
check_eq "the ivshmem client gets version, id, the memfd and 2 x 9 eventfds" \
	"version=0 id=1 memfd=67108864 peer0=9 peer1=9" "$($PEER ivshmem "$TMP/r/ivshmem.sock" 9 2>&1)"
check "the stub port gets the relay's preamble" test "$($PEER port "$TMP/r/stubproto.sock")" -gt 0
check "the relay still runs after serving all three" kill -0 $PID
kill -TERM $PID
wait $PID
check_eq "SIGTERM: it exits 0 (no SIGSYS on the way out)" 0 $?
done_testing
