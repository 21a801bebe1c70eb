#!/usr/bin/env bash
# bench/boot.sh BUILD_DIR [--boots N] [--kernel K] [--quick] [--no-doc] — the
# boot benchmark.
#
# N cycles (default 10) of
#     airlock create  ->  the guest answers ssh  ->  airlock destroy
# with a direct-kernel-boot guest (Debian's kernel, a fresh copy of
# rootfs.ext4 as its root disk, one NIC on a bridge), and reports per boot
# and as mean / median / min / max / stddev:
#     create    `airlock create` returned (domain id, records, supervisor,
#               engine started)
#     banner    the guest's "airlock-guest: ready" line is in its console log
#     ssh       `ssh root@guest true` succeeded (the headline figure)
#     destroy   `airlock destroy` returned
# every figure measured from just before `airlock create`.
#
# The guest, its tap, the ssh client all live in a network namespace the
# script makes (bridge br0, 10.77.0.1/24): no traffic leaves this machine.
#
#   default      N boots, prints the table, rewrites docs/bench-boot.md
#   --boots N    how many boots
#   --kernel K   vmlinux (default when the images have it: the uncompressed
#                kernel, PVH entry) or vmlinuz (the bzImage, decompressed by
#                the emulated CPU)
#   --quick      one boot, TAP output ("ok 1 - boot bench ran: X s") for
#                `make check`; writes no document
#   --no-doc     print the results only
#
# Environment: BENCH_BOOT_TIMEOUT (seconds per boot, default 300),
# BENCH_DOC=FILE writes the report somewhere else.
#
# Not a timed test: this machine is shared, figures are reported, never
# compared with a threshold. Needs root (namespace, tap, cgroups).
set -euo pipefail

usage() {
	echo "usage: bench/boot.sh BUILD_DIR [--boots N] [--kernel vmlinux|vmlinuz] [--quick] [--no-doc]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD=$(cd "$1" && pwd) || usage
shift
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOOTS=10
KERNEL_NAME=""
QUICK=0
WRITE_DOC=1
while [ $# -gt 0 ]; do
	case "$1" in
	--boots) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; BOOTS=$2; shift 2 ;;
	--boots=*) BOOTS=${1#--boots=}; [[ $BOOTS =~ ^[1-9][0-9]*$ ]] || usage; shift ;;
	--kernel) [[ ${2:-} =~ ^vmlinu[xz]$ ]] || usage; KERNEL_NAME=$2; shift 2 ;;
	--quick) QUICK=1; BOOTS=1; WRITE_DOC=0; shift ;;
	--no-doc) WRITE_DOC=0; shift ;;
	*) usage ;;
	esac
done

. "$TOP/bench/lib.sh"
STORE_BIN=$BUILD/store/airlock-store
AIRLOCK_BIN=$BUILD/cli/airlock
export AIRLOCK_SUPERVISOR=$BUILD/supervisor/airlock-supervisor
IMG=$TOP/out/images
if [ -z "$KERNEL_NAME" ]; then
	KERNEL_NAME=vmlinux
	[ -s "$IMG/vmlinux" ] || KERNEL_NAME=vmlinuz
fi
KERNEL=$IMG/$KERNEL_NAME
DOC=${BENCH_DOC:-$TOP/docs/bench-boot.md}
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-300}
NAME=bootbench
NS=airlock-bench-$$
GUEST_IP=10.77.0.2
GUEST_MAC=00:16:3e:77:00:02

D=""
STORE_PID=""
WATCH_PID=""
DOMAIN_UP=0
NS_MADE=0

# In --quick mode everything but the TAP lines is a TAP comment.
say() {
	if [ "$QUICK" = 1 ]; then printf '# %s\n' "$*"; else printf '%s\n' "$*"; fi
}
fail() {
	if [ "$QUICK" = 1 ]; then
		echo "not ok 1 - boot bench: $*"
	else
		echo "boot.sh: error: $*" >&2
	fi
	local l
	[ -n "$D" ] && log_tails 10 "$AIRLOCK_LOG_DIR/$NAME.console.log" "$AIRLOCK_LOG_DIR/$NAME.log" |
		while IFS= read -r l; do say "$l"; done
	exit 1
}

# cleanup: the domain first (its supervisor needs the store), then the
# store, the namespace, the files.
cleanup() {
	local rc=$?
	set +e
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
	airlock_teardown
	[ -n "$D" ] && rm -rf "$D"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_net, in_ns, port_open, gssh, elapsed, stats: bench/lib.sh.

# guest_clock: the guest's own uptimes from its console log (init prints
# "airlock-guest: [UPTIMEs] ..." lines): "STAGE1 LAST", the uptime when the
# initramfs started and at the last line before the ready banner.
guest_clock() {
	tr -d '\r' <"$AIRLOCK_LOG_DIR/$NAME.console.log" |
		sed -n 's/^airlock-guest: \[\([0-9.]*\)s\] \(.*\)/\1 \2/p' |
		awk '$2 == "stage" && $3 == "1:" && s == "" { s = $1 } { l = $1 }
			END { printf "%.2f %.2f\n", s == "" ? -1 : s, l == "" ? -1 : l }'
}

# one_boot I: one create -> ssh -> destroy cycle; appends
# "I create banner ssh destroy stage1 last load" (seconds; load: the host's
# 1-minute load average when the boot started) to $D/results.
one_boot() {
	local i=$1 t0 t_create t_ssh t_d0 t_d1 t_banner deadline clock load
	# A fresh root disk every time: a destroyed guest leaves its journal
	# to replay, and each boot should do the same work.
	cp --sparse=always "$IMG/rootfs.ext4" "$D/root.ext4"
	rm -f "$AIRLOCK_LOG_DIR/$NAME.console.log" "$D/banner.t"
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$EPOCHREALTIME
	DOMAIN_UP=1
	in_net "$AIRLOCK_BIN" create "$D/$NAME.cfg" >"$D/create.out" 2>&1 ||
		fail "boot $i: airlock create failed: $(cat "$D/create.out")"
	t_create=$EPOCHREALTIME
	# The banner, timed by a watcher polling the console log every 0.1 s.
	(
		until grep -qs "airlock-guest: ready" "$AIRLOCK_LOG_DIR/$NAME.console.log"; do sleep 0.1; done
		echo "$EPOCHREALTIME" >"$D/banner.t"
	) &
	WATCH_PID=$!
	# ssh, polled every 0.2 s: a 0.3 s TCP probe of port 22 first (cheap,
	# and bounded while the guest has no address yet), then `ssh true`.
	deadline=$((SECONDS + BOOT_TIMEOUT))
	until port_open && gssh true 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || fail "boot $i: no ssh after $BOOT_TIMEOUT s"
		[ -n "$("$AIRLOCK_BIN" list 2>/dev/null | awk -v n="$NAME" '$2 == n')" ] ||
			fail "boot $i: the domain ended before answering ssh"
		sleep 0.2
	done
	t_ssh=$EPOCHREALTIME
	# The banner comes before sshd answers; give the watcher a moment.
	for _ in $(seq 1 50); do [ -s "$D/banner.t" ] && break; sleep 0.1; done
	kill "$WATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" 2>/dev/null || true
	WATCH_PID=""
	[ -s "$D/banner.t" ] || fail "boot $i: ssh answers but no ready banner in the console log"
	t_banner=$(cat "$D/banner.t")
	clock=$(guest_clock)
	t_d0=$EPOCHREALTIME
	"$AIRLOCK_BIN" destroy "$NAME" >/dev/null || fail "boot $i: airlock destroy failed"
	t_d1=$EPOCHREALTIME
	DOMAIN_UP=0
	[ -z "$("$AIRLOCK_BIN" list | tail -n +2)" ] || fail "boot $i: airlock list is not empty after destroy"
	echo "$i $(elapsed "$t0" "$t_create") $(elapsed "$t0" "$t_banner") $(elapsed "$t0" "$t_ssh") $(elapsed "$t_d0" "$t_d1") $clock $load" >>"$D/results"
}

# --- preflight and setup ----------------------------------------------------
[ "$QUICK" = 1 ] && echo "1..1"
for bin in "$STORE_BIN" "$AIRLOCK_BIN" "$AIRLOCK_SUPERVISOR"; do
	[ -x "$bin" ] || fail "$bin is missing (build first: make build)"
done
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, tap, cgroups)"
for c in ip nsenter ssh timeout; do
	command -v "$c" >/dev/null || fail "$c is not installed (make setup)"
done

D=$(mktemp -d /tmp/airlock-bootbench.XXXXXX)
KEY=$D/key
export AIRLOCK_RUN_DIR=$D/run AIRLOCK_LOG_DIR=$D/log
mkdir -p "$D/run" "$D/log"

say "guest images (images/build.sh, cached):"
bench_images "$D" 2>"$D/images.err" || {
	while IFS= read -r l; do say "  $l"; done <"$D/images.err"
	fail "images/build.sh failed"
}
say "  $(tail -n 1 "$D/images.log")"
[ -s "$KERNEL" ] || fail "$KERNEL is missing (images/build.sh made none)"

store_start "$D" 2>"$D/store.err" || fail "$(cat "$D/store.err")"

NS_MADE=1
bench_netns 10.77.0.1/24
# The guest's MAC is known: a permanent neighbour entry spares each probe
# the ARP retry timer (1 s), which would otherwise blur the ssh figure.
in_ns ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev br0 nud permanent

guest_cfg qemu /dev/vda "" "$D/root.ext4" >"$D/$NAME.cfg"

# The first boot should not pay for a cold page cache alone.
cat "$KERNEL" "$IMG/initrd.img" "$(command -v qemu-system-x86_64)" >/dev/null 2>&1 || true

INFO=$("$AIRLOCK_BIN" info)
# info_get KEY: the value of one "KEY: value" line of `airlock info`.
info_get() { sed -n "s/^$1: *//p" <<<"$INFO" | head -n 1; }
ACCEL=$(info_get accelerator)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- the boots ----------------------------------------------------------------
say "$BOOTS boot(s) of $KERNEL_NAME under $ACCEL: create -> ssh answers -> destroy"
say "$(printf '%-5s %9s %9s %9s %9s %11s %11s %6s' boot create banner ssh destroy "guest:init" "guest:rdy" load)"
: >"$D/results"
for i in $(seq 1 "$BOOTS"); do
	one_boot "$i"
	read -r n c b s d g1 gl ld < <(tail -n 1 "$D/results")
	say "$(printf '%-5s %8ss %8ss %8ss %8ss %10ss %10ss %6s' "$n" "$c" "$b" "$s" "$d" "$g1" "$gl" "$ld")"
	[ "$i" -lt "$BOOTS" ] && sleep 1 # let the host settle between boots
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# col N: the Nth column of the results (2 create, 3 banner, 4 ssh, 5 destroy).
col() { awk -v c="$1" '{ print $c }' "$D/results"; }
read -r S_MEAN S_MED S_MIN S_MAX S_SD < <(col 4 | stats)
read -r B_MEAN B_MED B_MIN B_MAX B_SD < <(col 3 | stats)
read -r C_MEAN C_MED C_MIN C_MAX C_SD < <(col 2 | stats)
read -r D_MEAN D_MED D_MIN D_MAX D_SD < <(col 5 | stats)
# Where the time goes (medians): before the guest's clock starts (engine
# start, firmware, loading and decompressing the kernel), the kernel up to
# the initramfs, the initramfs and rc up to the banner, the banner to ssh.
read -r _ G1_MED _ < <(col 6 | stats)
read -r _ GL_MED _ < <(awk '{ print $3 - $7 }' "$D/results" | stats)
read -r _ GR_MED _ < <(awk '{ print $7 - $6 }' "$D/results" | stats)
read -r _ GS_MED _ < <(awk '{ print $4 - $3 }' "$D/results" | stats)

say ""
say "$(printf '%-24s %7s %7s %7s %7s %7s' "" mean median min max stddev)"
say "$(printf '%-24s %7s %7s %7s %7s %7s' "create -> ssh answers" "$S_MEAN" "$S_MED" "$S_MIN" "$S_MAX" "$S_SD")"
say "$(printf '%-24s %7s %7s %7s %7s %7s' "create -> ready banner" "$B_MEAN" "$B_MED" "$B_MIN" "$B_MAX" "$B_SD")"
say "$(printf '%-24s %7s %7s %7s %7s %7s' "airlock create returns" "$C_MEAN" "$C_MED" "$C_MIN" "$C_MAX" "$C_SD")"
say "$(printf '%-24s %7s %7s %7s %7s %7s' "airlock destroy" "$D_MEAN" "$D_MED" "$D_MIN" "$D_MAX" "$D_SD")"
say "(seconds from just before create; guest:init and guest:rdy are the guest's"
say " own clock when its initramfs started and at the banner; load: the host's"
say " 1-minute load average as the boot started; before the run $LOAD_BEFORE,"
say " after $LOAD_AFTER)"
say "medians: before the guest's clock starts $GL_MED s, kernel to initramfs $G1_MED s, initramfs and rc to the banner $GR_MED s, banner to ssh $GS_MED s"

if [ "$QUICK" = 1 ]; then
	echo "ok 1 - boot bench ran: $S_MED s (create -> ssh answers, $KERNEL_NAME, $ACCEL)"
	exit 0
fi
[ "$WRITE_DOC" = 1 ] || exit 0

# --- the report ---------------------------------------------------------------
mf() { awk -v k="$1" '$1 == k { print $2; exit }' "$IMG/manifest.txt"; }
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
{
	cat <<EOF
# Boot benchmark

Measured by \`bench/boot.sh build\` (\`make bench-boot\`) on $START.
Not a timed test: figures are reported, never compared with a threshold.

## Result

**create → the guest answers ssh: median $S_MED s** over $BOOTS boots of
\`$KERNEL_NAME\` under $ACCEL (mean $S_MEAN s, min $S_MIN s, max $S_MAX s, stddev $S_SD s).

| seconds, from just before \`airlock create\` | mean | median | min | max | stddev |
|---|--:|--:|--:|--:|--:|
| guest answers ssh (\`ssh root@guest true\`) | $S_MEAN | $S_MED | $S_MIN | $S_MAX | $S_SD |
| ready banner in the console log | $B_MEAN | $B_MED | $B_MIN | $B_MAX | $B_SD |
| \`airlock create\` returned | $C_MEAN | $C_MED | $C_MIN | $C_MAX | $C_SD |
| \`airlock destroy\` took (own clock) | $D_MEAN | $D_MED | $D_MIN | $D_MAX | $D_SD |

Per boot:

| boot | create returned | ready banner | ssh answers | destroy took | guest clock at initramfs | guest clock at banner | host load (1 min) |
|--:|--:|--:|--:|--:|--:|--:|--:|
EOF
	while read -r n c b s d g1 gl ld; do echo "| $n | $c | $b | $s | $d | $g1 | $gl | $ld |"; done <"$D/results"
	cat <<EOF

Where the time goes (medians over the boots; the guest's clock is its
uptime as its init prints it on the console, \`airlock-guest: [UPTIMEs]\`):

| phase | seconds |
|---|--:|
| \`airlock create\` → the guest's clock starts: engine start, firmware, loading (for vmlinuz: decompressing) the kernel (host time at the banner − guest clock at the banner) | $GL_MED |
| kernel start → initramfs runs (guest clock) | $G1_MED |
| initramfs (modules, root mount) and rc (network, sshd) → ready banner (guest clock) | $GR_MED |
| ready banner → \`ssh true\` succeeds (includes the poll interval) | $GS_MED |

## Machine

- CPU: $CPU, $(nproc) CPUs (nproc); memory $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
- Kernel: $(uname -sr) $(uname -m)
- Accelerator (\`airlock info\`): **$ACCEL** — $(info_get reason)
- Engine: $(info_get qemu)
- Load average (1/5/15 min) before the run: $LOAD_BEFORE; after: $LOAD_AFTER.
  The machine is shared with other work (builds, fuzzers, other guests):
  under TCG the guest is one busy host thread, so every CPU another job
  takes shows up in its boot time — the per-boot table gives the load each
  boot started under (the benchmark's own engine adds up to about 1 to
  it once boots follow each other). The spread comes from there, not from airlock:
  \`airlock create\` and \`destroy\` stay in the tenths of a second.
- Code: commit $COMMIT of airlock$DIRTY, build \`$(basename "$BUILD")\`

## Guest

- Images (\`out/images/manifest.txt\`): key $(awk -F': *' '/^key:/ { print $2; exit }' "$IMG/manifest.txt"), kernel $(awk -F': *' '/^kernel:/ { print $2; exit }' "$IMG/manifest.txt"),
  linux-image $(mf linux-image-amd64), busybox-static $(mf busybox-static), dropbear-bin $(mf dropbear-bin)
- Direct kernel boot (\`$KERNEL_NAME\` + \`initrd.img\`; \`--kernel vmlinuz\` boots
  the compressed bzImage instead, whose decompression runs on the emulated
  CPU before the guest's clock starts), root on a fresh sparse copy
  of \`rootfs.ext4\` (virtio-blk), one virtio-net NIC on a bridge, 256 MiB,
  1 vCPU, placement \`qemu\` (the engine's own devices), cmdline
  \`console=ttyS0 root=/dev/vda airlock.ip=$GUEST_IP/24 quiet\`.

## Method

- One airlock-store on a private socket; a network namespace made by the
  script with a bridge \`br0\` (10.77.0.1/24). \`airlock create\` runs with
  the namespace's network (\`nsenter --net\`), so the guest's tap joins
  \`br0\`; the ssh client runs in the namespace. No traffic leaves the
  machine.
- Each boot: copy the root disk (untimed), then \`t0\`, \`airlock create\`,
  and in parallel (a) a watcher that polls the domain's console log every
  0.1 s for \`airlock-guest: ready\` (the guest's init prints it once
  dropbear and the network are up) and (b) an ssh poll every 0.2 s: a TCP
  connect to port 22 bounded to 0.3 s, then \`ssh root@guest true\` (key
  auth, \`BatchMode\`). The guest's MAC is entered as a permanent neighbour
  in the namespace, so no probe waits on ARP's 1 s retry timer. "ssh
  answers" is when \`ssh true\` first exits 0; its resolution is about
  0.2–0.5 s, and \`ssh true\` itself takes 0.1–0.3 s once the guest is
  up (dropbear makes its host key on the first connection). Then
  \`airlock destroy\` (timed on its own), a check that \`airlock list\` is
  empty, and 1 s of rest before the next boot.
- Before the first boot the kernel, initramfs and QEMU binary are read once
  so that boot 1 does not pay for a cold page cache alone.
- Statistics: mean, median, min, max and the sample standard deviation
  (n − 1) over the $BOOTS boots.
EOF
} >"$DOC"
say ""
say "wrote $DOC"
