#!/usr/bin/env bash
# tests/blackbox/cli_store.sh — every store verb of the `airlock` CLI against
# a real airlock-store on a private socket: values, errors and exit
# statuses, trees, watches, permissions, transactions, domains and quotas.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

A=$AIRLOCK_BIN

# cap COMMAND...: runs it; $OUT gets stdout, $ERR stderr, $RC the status.
cap() {
	OUT=$("$@" 2>"$TMP/err")
	RC=$?
	ERR=$(cat "$TMP/err")
}
# contains HAYSTACK NEEDLE
contains() { [[ $1 == *"$2"* ]]; }
# lacks REGEX FILE: no line of FILE matches.
lacks() { ! grep -q "$1" "$2"; }
# check_fail DESCRIPTION STATUS NEEDLE: the last cap exited with STATUS and
# its stderr contains NEEDLE.
check_fail() {
	if [ "$RC" -eq "$2" ] && contains "$ERR" "$3"; then ok "$1"; else
		fail "$1"
		echo "#   expected status $2 and stderr containing $(printf %q "$3")"
		echo "#   got status $RC, stderr $(printf %q "$ERR")"
	fi
}
# wait_lines FILE N: polls (up to 5 s) until FILE has at least N lines.
wait_lines() {
	for _ in $(seq 1 250); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

if ! start_store; then
	fail "airlock-store starts"
	done_testing
	exit 1
fi

# --- read / write --------------------------------------------------------
cap "$A" write /t/a hello
check_eq "write exits 0" 0 "$RC"
cap "$A" read /t/a
check_eq "read returns what write stored" hello "$OUT"
"$A" write /t/b "two words  and spaces" /t/c ""
check_eq "read prints one line per path" $'hello\ntwo words  and spaces\n\n.' \
	"$("$A" read /t/a /t/b /t/c; echo .)"
"$A" write /t/neg -5
check_eq "a value that looks like an option is a value" -5 "$("$A" read /t/neg)"
"$A" write rel-node relative
check_eq "relative paths are under dom0's home" relative "$("$A" read /local/domain/0/rel-node)"

cap "$A" read /t/missing
check_fail "read of a missing node exits 1, naming verb, path and ENOENT" 1 \
	"airlock: read /t/missing: ENOENT (no such node)"
# A domain verb on an unknown domain: the error, and (in the sanitizer
# build) no leaked store connection.
for verb in destroy console; do
	cap "$A" "$verb" nosuch
	check_fail "$verb of an unknown domain exits 1 and says so" 1 \
		"airlock: $verb nosuch: ENOENT (no such domain)"
	check "  and leaks nothing" bash -c "! grep -q LeakSanitizer '$TMP/err'"
done
cap "$A" read /t/a /t/missing /t/b
check_eq "read stops at the first error, exit 1" "1|hello" "$RC|$OUT"

big=$(head -c 3000 /dev/zero | tr '\0' x)
"$A" write /t/big "$big"
check_eq "a 3000-byte value round-trips" "$big" "$("$A" read /t/big)"
cap "$A" write /t/huge "$(head -c 5000 /dev/zero | tr '\0' y)"
check_fail "a value over the 4096-byte payload fails with E2BIG" 1 "write /t/huge: E2BIG"
cap "$A" write "/t/bad path" x
check_fail "an invalid path is refused (EINVAL, exit 1)" 1 "write /t/bad path: EINVAL"

# --- usage errors (exit 2) -----------------------------------------------
for args in "read" "write /t/x" "write /t/x 1 /t/y" "bogus-verb" "ls" "ls -z /t" "ls /a /b" \
	"chmod /t/a" "chmod /t/a x9" "introduce" "introduce abc" "introduce 70000" \
	"set-target 1" "watch" "watch -n 0 /t" "watch -t abc /t" "watch -n" \
	"quota 5 nodes notanumber" "quota a b c" "store-control" "getperms"; do
	# shellcheck disable=SC2086
	cap "$A" $args
	check_eq "usage error exits 2: airlock $args" 2 "$RC"
done
cap "$A" read
check "a usage error prints the verb's usage" contains "$ERR" "usage: airlock read PATH"
cap "$A" help write
check_eq "help VERB exits 0" 0 "$RC"
check "help VERB shows its usage" contains "$OUT" "airlock write PATH VALUE"
cap "$A" --help
check "--help lists the verbs" contains "$OUT" "store-control"
cap "$A" --version
check "--version prints a version" contains "$OUT" "airlock "

# --- socket selection ----------------------------------------------------
cap env XENSTORED_PATH= "$A" -s "$XENSTORED_PATH" read /t/a
check_eq "-s PATH selects the socket" "0|hello" "$RC|$OUT"
cap "$A" -s "$TMP/no-such.sock" read /t/a
check_fail "no store at the socket exits 1 and says so" 1 \
	"cannot connect to the store at $TMP/no-such.sock"

# --- mkdir / rm ----------------------------------------------------------
cap "$A" mkdir /t/dir /t/dir2
check_eq "mkdir exits 0" 0 "$RC"
check_eq "a new directory node has an empty value" "" "$("$A" read /t/dir)"
check_eq "a new directory node has no children" "" "$("$A" ls /t/dir)"
"$A" write /t/tree/a/b 1
cap "$A" rm /t/tree
check_eq "rm exits 0" 0 "$RC"
cap "$A" read /t/tree/a/b
check_eq "rm removes everything below the node" 1 "$RC"
cap "$A" read /t/tree
check_fail "rm removes the node itself" 1 ENOENT
"$A" write /t/tree2/a 1
cap "$A" rm -r /t/tree2
check_eq "rm -r is accepted (rm is always recursive)" 0 "$RC"
cap "$A" read /t/tree2/a
check_fail "and removes the tree" 1 ENOENT

# --- ls ------------------------------------------------------------------
"$A" write /r/a 1 && "$A" write /r/a/b 2 && "$A" write /r/c 'say "hi"'
cap "$A" ls /r
check_eq "ls prints the children" $'a\nc' "$(sort <<<"$OUT")"
cap "$A" ls -r /r
check_eq "ls -r prints the tree with values, indented by depth" \
	$'a = "1"\n b = "2"\nc = "say \\"hi\\""' "$OUT"
cap "$A" ls /r/missing
check_fail "ls of a missing node exits 1 with ENOENT" 1 "ls /r/missing: ENOENT"
names=()
for i in $(seq -w 1 300); do names+=("/big/a-rather-long-child-name-number-$i"); done
"$A" mkdir "${names[@]}"
cap "$A" ls /big
check_eq "ls lists 300 children (more than one 4096-byte reply)" 300 "$(wc -l <<<"$OUT")"
check_eq "and every one of them" "$(printf '%s\n' "${names[@]##*/}")" "$(sort <<<"$OUT")"

# --- chmod / getperms ----------------------------------------------------
check_eq "a new node gets its parent's permissions" "n0" "$("$A" getperms /t/a)"
cap "$A" chmod /t/a n1 r5 w7 b9
check_eq "chmod exits 0" 0 "$RC"
check_eq "getperms returns what chmod set" "n1 r5 w7 b9" "$("$A" getperms /t/a)"
cap "$A" ls -p /t
check "ls -p shows permissions" contains "$OUT" $'a  (n1,r5,w7,b9)'
cap "$A" ls -r -p /t
check "ls -r -p shows values and permissions" contains "$OUT" $'a = "hello"  (n1,r5,w7,b9)'
"$A" write /t/a/child x
check_eq "a child inherits the permissions set by chmod" "n1 r5 w7 b9" \
	"$("$A" getperms /t/a/child)"
cap "$A" getperms /t/missing
check_fail "getperms of a missing node exits 1" 1 "getperms /t/missing: ENOENT"
cap "$A" chmod /t/missing b0
check_fail "chmod of a missing node exits 1" 1 "chmod /t/missing: ENOENT"

# --- multi-write: one transaction ----------------------------------------
cap "$A" -v write /m/a 1 /m/b 2 /m/c 3
check_eq "a multi-write exits 0" 0 "$RC"
check_eq "a multi-write writes every pair" $'1\n2\n3' "$("$A" read /m/a /m/b /m/c)"
check "a multi-write runs in a transaction" \
	contains "$ERR" "TRANSACTION_START"
cap "$A" write /m/d 4 "/m/bad path" 5
check_eq "a multi-write with a bad pair exits 1" 1 "$RC"
cap "$A" read /m/d
check_eq "and writes none of its pairs (the transaction was aborted)" 1 "$RC"

# Racing multi-writes: a commit that loses the race is retried, and each
# multi-write lands whole, so the two nodes always agree at the end.
pids=()
for i in 1 2 3 4 5 6; do
	(for j in 1 2 3 4 5; do "$A" write /c/a "$i.$j" /c/b "$i.$j" || exit 1; done) &
	pids+=($!)
done
nok=0
for p in "${pids[@]}"; do wait "$p" && nok=$((nok + 1)); done
check_eq "six racing multi-write loops all succeed" 6 "$nok"
check_eq "and the last transaction's pair is intact" "$("$A" read /c/a)" "$("$A" read /c/b)"

# --- watch ---------------------------------------------------------------
"$A" mkdir /w
"$A" watch -n 3 -t 5 /w >"$TMP/watch.out" 2>"$TMP/watch.err" &
wpid=$!
wait_lines "$TMP/watch.out" 1
"$A" write /w/x 1
"$A" rm /w/x
wait "$wpid"
check_eq "watch -n 3 exits 0 after three events" 0 "$?"
check_eq "watch prints the initial event, then each change" $'/w\n/w/x\n/w/x' \
	"$(cat "$TMP/watch.out")"

"$A" watch -n 2 -t 5 /w1 /w2 >"$TMP/watch2.out" &
wpid=$!
wait "$wpid"
check_eq "watch on two paths fires once for each" $'/w1\n/w2' "$(sort "$TMP/watch2.out")"

cap "$A" watch -t 0.3 /w
check_eq "watch -t without -n exits 0 at the timeout" "0|/w" "$RC|$OUT"
cap "$A" watch -n 5 -t 0.3 /w
check_fail "watch -t with -n exits 1 when COUNT events did not arrive" 1 \
	"timed out after 1 of 5 events"

# A write that creates missing parents fires one event, for the path
# written (as xenstored does), and nothing for watches elsewhere. The
# sentinel write /other/z ends the capture.
"$A" watch -t 5 /other >"$TMP/watch3.out" &
wpid=$!
wait_lines "$TMP/watch3.out" 1
"$A" write /w/unrelated 1
"$A" write /other/y 1
"$A" write /other/z 1
for _ in $(seq 1 250); do grep -qx /other/z "$TMP/watch3.out" && break; sleep 0.02; done
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "watch ignores changes outside its path" lacks '^/w' "$TMP/watch3.out"
check_eq "writing /other/y, which creates /other, fires one event: /other/y (not /other)" \
	$'/other\n/other/y\n/other/z' "$(cat "$TMP/watch3.out")"

# --- domains -------------------------------------------------------------
"$A" watch -n 2 -t 5 @introduceDomain >"$TMP/intro.out" &
wpid=$!
wait_lines "$TMP/intro.out" 1
cap "$A" introduce 5
check_eq "introduce exits 0" 0 "$RC"
wait "$wpid"
check_eq "introduce fires @introduceDomain" $'@introduceDomain\n@introduceDomain' \
	"$(cat "$TMP/intro.out")"
"$A" introduce 7
cap "$A" set-target 7 5
check_eq "set-target exits 0" 0 "$RC"
"$A" watch -n 2 -t 5 @releaseDomain >"$TMP/rel.out" &
wpid=$!
wait_lines "$TMP/rel.out" 1
cap "$A" release 7
check_eq "release exits 0" 0 "$RC"
wait "$wpid"
check_eq "release fires @releaseDomain" $'@releaseDomain\n@releaseDomain' "$(cat "$TMP/rel.out")"
cap "$A" release 999
check_fail "release of an unknown domain exits 1 naming the domid" 1 "airlock: release 999: E"

# --- quota ---------------------------------------------------------------
cap "$A" quota
check "quota lists the global quotas as NAME VALUE lines" \
	test "$RC" -eq 0 -a -n "$OUT" -a -z "$(grep -vE '^[a-z-]+ [0-9]+$' <<<"$OUT")"
check "the list includes nodes" grep -qE '^nodes [0-9]+$' <<<"$OUT"
cap "$A" quota nodes 1234
check_eq "quota NAME VALUE sets a global quota" 0 "$RC"
check_eq "quota NAME reads it back" 1234 "$("$A" quota nodes)"
check "and the list shows it" grep -qx "nodes 1234" <<<"$("$A" quota)"
cap "$A" quota 5 nodes 77
check_eq "quota DOMID NAME VALUE sets a domain's quota" 0 "$RC"
check_eq "quota DOMID NAME reads it back" 77 "$("$A" quota 5 nodes)"
check "quota DOMID lists the domain's quotas" grep -qx "nodes 77" <<<"$("$A" quota 5)"
check_eq "the global quota is unchanged" 1234 "$("$A" quota nodes)"
cap "$A" quota no-such-quota
check_fail "an unknown quota exits 1" 1 "quota no-such-quota: E"

# --- store-control -------------------------------------------------------
cap "$A" store-control help
check "store-control help prints the store's commands" test "$RC" -eq 0 -a -n "$OUT"
cap "$A" store-control no-such-command
check_fail "an unknown control command exits 1 naming it" 1 \
	"airlock: store-control no-such-command: E"

# --- a store that goes away ----------------------------------------------
"$A" watch -t 10 /w >"$TMP/watch4.out" 2>"$TMP/watch4.err" &
wpid=$!
wait_lines "$TMP/watch4.out" 1
stop_store
wait "$wpid"
check_eq "watch exits 1 when the store goes away" 1 "$?"
check "and says the connection was lost" grep -q ECONNRESET "$TMP/watch4.err"
cap "$A" read /t/a
check_eq "read with no store running exits 1" 1 "$RC"

done_testing
