#!/usr/bin/env bash
# airlock-store as a daemon: persistence across kill -9 and restarts,
# per-domain sockets and permissions, quotas over real sockets, release,
# damaged and foreign state files, the state-directory lock.
. "$(dirname "$0")/../lib.sh"
A=$AIRLOCK_BIN
start_store || { fail "store starts"; done_testing; exit 1; }

# --- persistence: every acknowledged write survives kill -9 -----------------
for i in $(seq 1 100); do $A write "/persist/k$i" "value-$i" || break; done
$A chmod /persist/k1 n3 r4 >/dev/null
$A introduce 7 >/dev/null
stop_store KILL
start_store || fail "store restarts after kill -9"
bad=0
for i in $(seq 1 100); do [ "$($A read "/persist/k$i")" == "value-$i" ] || bad=$((bad + 1)); done
check_eq "100 acknowledged writes survive kill -9" 0 "$bad"
check_eq "permissions survive kill -9" "n3 r4" "$($A getperms /persist/k1 | tr '\n' ' ' | sed 's/ $//')"
check "introduced domains survive a restart (socket is back)" test -S "$TMP/store.sock.d/7"

# --- a restart closes connections: watches do not silently die --------------
$A watch /persist >"$TMP/watch.out" 2>&1 &
wpid=$!
sleep 0.3
stop_store TERM
start_store || fail "store restarts"
for _ in $(seq 1 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $wpid 2>/dev/null; then fail "a watcher's connection is closed by a restart"; kill $wpid; else ok "a watcher's connection is closed by a restart"; fi
wait $wpid 2>/dev/null

# --- domains: own socket, own home, permissions, targets --------------------
$A introduce 5 >/dev/null && $A introduce 6 >/dev/null
check "INTRODUCE makes a socket per domain" test -S "$TMP/store.sock.d/5"
for d in 5 6; do
	$A mkdir /local/domain/$d && $A chmod /local/domain/$d n$d >/dev/null
done
D5=$TMP/store.sock.d/5
D6=$TMP/store.sock.d/6
check "dom5 writes a relative path into its home" env XENSTORED_PATH=$D5 xenstore-write data/x hello
check_eq "dom0 sees it at /local/domain/5/data/x" "hello" "$($A read /local/domain/5/data/x)"
check_eq "dom5 owns what it created" "n5" "$($A getperms /local/domain/5/data/x)"
if XENSTORED_PATH=$D5 xenstore-read /persist/k2 >/dev/null 2>&1; then fail "dom5 cannot read dom0's private node"; else ok "dom5 cannot read dom0's private node"; fi
XENSTORED_PATH=$D6 xenstore-write /local/domain/6/secret s6
if XENSTORED_PATH=$D5 xenstore-read /local/domain/6/secret >/dev/null 2>&1; then fail "dom5 cannot read dom6's home before SET_TARGET"; else ok "dom5 cannot read dom6's home before SET_TARGET"; fi
$A set-target 5 6 >/dev/null
check_eq "after SET_TARGET 5 6, dom5 reads dom6's nodes" "s6" "$(XENSTORED_PATH=$D5 xenstore-read /local/domain/6/secret 2>&1)"
check "after SET_TARGET, dom5 writes dom6's nodes" env XENSTORED_PATH=$D5 xenstore-write /local/domain/6/from-dm 1
if XENSTORED_PATH=$D5 xenstore-control help >/dev/null 2>&1 || $A -s "$D5" introduce 9 >/dev/null 2>&1; then fail "privileged requests are refused to dom5"; else ok "privileged requests are refused to dom5"; fi

# --- quotas over real sockets ------------------------------------------------
$A quota 5 nodes 8 >/dev/null
n=0
for i in $(seq 1 20); do XENSTORED_PATH=$D5 xenstore-write data/q$i v 2>/dev/null && n=$((n + 1)); done
check "dom5 stops at its node quota" test "$n" -lt 20
err=$($A -s "$D5" write data/over v 2>&1)
check "the refusal is the protocol's ENOSPC" grep -q "ENOSPC" <<<"$err"
check "dom6 is unaffected by dom5's quota" env XENSTORED_PATH=$D6 xenstore-write /local/domain/6/more v
check "dom0 is unaffected by dom5's quota" $A write /after/quota ok
big=$(head -c 3000 /dev/zero | tr '\0' x)
if XENSTORED_PATH=$D5 xenstore-write data/big "$big" 2>/dev/null; then fail "dom5 cannot write a value over 2048 bytes"; else ok "dom5 cannot write a value over 2048 bytes"; fi
check "dom0 can write a value over 2048 bytes" $A write /big "$big"

# --- release -----------------------------------------------------------------
$A watch -n 2 -t 10 @releaseDomain >"$TMP/rel.out" &
rpid=$!
sleep 0.3
$A release 5 >/dev/null
wait $rpid
check_eq "@releaseDomain fires on RELEASE" "2" "$(wc -l <"$TMP/rel.out" | tr -d ' ')"
if $A read /local/domain/5/data/x >/dev/null 2>&1; then fail "RELEASE removes the domain's home"; else ok "RELEASE removes the domain's home"; fi
check "RELEASE removes the domain's socket" test ! -e "$D5"
check_eq "dom6's nodes survive dom5's release" "s6" "$($A read /local/domain/6/secret)"

# --- damaged and foreign state files ------------------------------------------
stop_store TERM
printf 'garbage that is not a record' >>"$TMP/state/store.log"
start_store || fail "store starts on a damaged log"
check_eq "data before the damage is recovered" "value-50" "$($A read /persist/k50)"
check "the damage is reported clearly" grep -q "damaged at offset" "$TMP/store.log"
check "the damaged tail is kept beside the log" test -n "$(compgen -G "$TMP/state/store.log.damaged-*")"
check "the second daemon on the same state refuses" bash -c "! '$STORE_BIN' --socket '$TMP/other.sock' --state '$TMP/state' 2>'$TMP/second.log'"
check "and says why" grep -q "in use by another airlock-store" "$TMP/second.log"
stop_store TERM
echo "not a store log at all" >"$TMP/state/store.log"
cp "$TMP/state/store.log" "$TMP/foreign.copy"
if "$STORE_BIN" --socket "$TMP/store.sock" --state "$TMP/state" 2>"$TMP/foreign.log"; then fail "a foreign state file is refused"; else ok "a foreign state file is refused"; fi
check "with a clear message" grep -q "not an airlock-store log" "$TMP/foreign.log"
check "and the file is left untouched" cmp -s "$TMP/foreign.copy" "$TMP/state/store.log"

# --- power-loss mode ------------------------------------------------------------
rm -rf "$TMP/state"
start_store --sync power || fail "store starts with --sync power"
check "writes work with --sync power" $A write /p/x 1
stop_store KILL
start_store || fail "restart"
check_eq "--sync power writes survive kill -9" "1" "$($A read /p/x)"
stop_store
done_testing
