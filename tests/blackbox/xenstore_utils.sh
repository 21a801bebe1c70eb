#!/usr/bin/env bash
# tests/blackbox/xenstore_utils.sh — Debian's xenstore-utils (Xen's own
# libxenstore and tools) as an independent client of airlock-store, with
# cross-checks against the `airlock` CLI: what one writes the other reads,
# permissions set by one are seen by the other, and xenstore-watch sees
# changes airlock makes.
#
# A missing xenstore tool is a failed case, not a skip: setup.sh installs
# them. The tools connect to $XENSTORED_PATH (start_store exports it); -s
# forces the socket where a tool has that option.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

A=$AIRLOCK_BIN
TOOLS=(xenstore-read xenstore-write xenstore-ls xenstore-rm xenstore-watch xenstore-chmod
	xenstore-exists xenstore-list)

cap() {
	OUT=$("$@" 2>"$TMP/err")
	RC=$?
	ERR=$(cat "$TMP/err")
}
wait_lines() {
	for _ in $(seq 1 250); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

missing=()
for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
	fail "xenstore-utils installed (missing: ${missing[*]}; run make setup)"
	done_testing
	exit 1
fi
if ! start_store; then
	fail "airlock-store starts"
	done_testing
	exit 1
fi

# --- values both ways ------------------------------------------------------
cap xenstore-write -s /x/a "from xenstore-write"
check_eq "xenstore-write exits 0" 0 "$RC"
check_eq "airlock reads what xenstore-write wrote" "from xenstore-write" "$("$A" read /x/a)"
"$A" write /x/b "from airlock"
cap xenstore-read -s /x/b
check_eq "xenstore-read reads what airlock wrote" "0|from airlock" "$RC|$OUT"
cap xenstore-write -s /x/c 1 /x/d 2
check_eq "xenstore-write with several pairs exits 0" 0 "$RC"
check_eq "and airlock reads every pair" $'1\n2' "$("$A" read /x/c /x/d)"
"$A" write /x/e 5 /x/f 6
cap xenstore-read -s /x/e /x/f
check_eq "xenstore-read reads an airlock multi-write" $'5\n6' "$OUT"
cap xenstore-read -s /x/missing
check "xenstore-read of a missing node fails" test "$RC" -ne 0
big=$(head -c 4000 /dev/zero | tr '\0' z)
xenstore-write -s /x/big "$big"
check_eq "a 4000-byte value from xenstore-write reads back in airlock" "$big" \
	"$("$A" read /x/big)"

# --- exists / list / ls ----------------------------------------------------
check "xenstore-exists finds a node airlock wrote" xenstore-exists -s /x/b
check "xenstore-exists fails for a missing node" \
	bash -c '! xenstore-exists -s /x/missing 2>/dev/null'
"$A" mkdir /x/dir
cap xenstore-list -s /x
check_eq "xenstore-list lists the children" $'a\nb\nbig\nc\nd\ndir\ne\nf' "$(sort <<<"$OUT")"
check_eq "and airlock ls agrees" "$(sort <<<"$OUT")" "$("$A" ls /x | sort)"
"$A" write /x/dir/deep/leaf plain
cap xenstore-ls -s /x/dir
check_eq "xenstore-ls shows the tree airlock wrote" $'deep = ""\n leaf = "plain"' "$OUT"
check_eq "and airlock ls -r prints the same tree" "$OUT" "$("$A" ls -r /x/dir)"
names=()
for i in $(seq -w 1 300); do names+=("/y/a-rather-long-child-name-number-$i"); done
"$A" mkdir "${names[@]}"
cap xenstore-list -s /y
check_eq "xenstore-list lists 300 children (more than one reply)" 300 "$(grep -c . <<<"$OUT")"

# --- rm --------------------------------------------------------------------
cap xenstore-rm -s /x/a
check_eq "xenstore-rm exits 0" 0 "$RC"
cap "$A" read /x/a
check "airlock sees the node xenstore-rm removed as ENOENT" \
	test "$RC" -eq 1 -a "${ERR/ENOENT/}" != "$ERR"
"$A" rm /x/dir
check "xenstore-exists no longer finds a tree airlock removed" \
	bash -c '! xenstore-exists -s /x/dir/deep/leaf 2>/dev/null'

# --- permissions -----------------------------------------------------------
cap xenstore-chmod -s /x/b n1 r5
check_eq "xenstore-chmod exits 0" 0 "$RC"
check_eq "airlock getperms shows xenstore-chmod's permissions" "n1 r5" "$("$A" getperms /x/b)"
"$A" chmod /x/c b0 r3 w4
cap xenstore-ls -s -p /x
check "xenstore-ls -p shows airlock chmod's permissions" grep -q '^c = "1".*(b0,r3,w4)$' <<<"$OUT"
"$A" write /x/tree/one 1 /x/tree/two 2
cap xenstore-chmod -s -r /x/tree n2 r0
check_eq "xenstore-chmod -r exits 0" 0 "$RC"
check_eq "airlock sees the recursive chmod on every node" $'n2 r0\nn2 r0\nn2 r0' \
	"$("$A" getperms /x/tree /x/tree/one /x/tree/two)"

# --- watches ---------------------------------------------------------------
"$A" mkdir /x/w
timeout 5 xenstore-watch -n 3 /x/w >"$TMP/xw.out" 2>"$TMP/xw.err" &
wpid=$!
wait_lines "$TMP/xw.out" 1
"$A" write /x/w/k 1
"$A" rm /x/w/k
wait "$wpid"
check_eq "xenstore-watch -n 3 exits 0" 0 "$?"
check_eq "xenstore-watch sees its initial event and airlock's changes" $'/x/w\n/x/w/k\n/x/w/k' \
	"$(cat "$TMP/xw.out")"

"$A" mkdir /x/v
"$A" watch -n 2 -t 5 /x/v >"$TMP/aw.out" &
wpid=$!
wait_lines "$TMP/aw.out" 1
xenstore-write -s /x/v/k 1
wait "$wpid"
check_eq "airlock watch sees a change made by xenstore-write" $'/x/v\n/x/v/k' \
	"$(cat "$TMP/aw.out")"

done_testing
