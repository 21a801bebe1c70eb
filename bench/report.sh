#!/usr/bin/env bash
# bench/report.sh [--quick] BUILD_DIR [OUTDIR] [--rounds R] [--boots N]
#                 [--dd-mib M] [--net-seconds S]
#
# The seed's evaluation for every device-model placement, in one run, as a
# report: markdown tables and gnuplot PNGs. Placements:
#   qemu    QEMU's built-in virtio-blk and virtio-net, in the engine
#   qsd     qemu-storage-daemon serving the disk (vhost-user-blk); the NIC
#           is QEMU's built-in one (qsd serves disks only)
#   dom0    airlock-dm, a host process (device_model_version = "airlock")
#   stub    airlock-dm in the guest's stub domain (the same plus
#           device_model_stubdomain_override = 1)
#   native  no guest: the host's dd on the same backing file; iperf3
#           between the benchmark's namespace and a second one (veth)
# Figures: dd in the guest on its virtio disk, read and write, 1 MiB blocks,
# iflag/oflag=direct; iperf3 guest->host and host->guest, the peer in the
# benchmark's own network namespace; `airlock create` -> the guest answers
# ssh (mean, median, spread over N boots); memory per placement (PSS for
# QEMU processes, USS without guest RAM for device models, the stub
# domain's RAM). Runs interleaved (qemu qsd dom0 stub native, again ...),
# medians, ratios to dom0 and to native, the goals of the earlier issues
# checked; the method and the machine are written into the report.
#
# Two phases. Boots: N rounds of create -> ssh -> destroy for the placements
# airlock has (qemu, dom0, stub), from a fresh copy of the guest's root
# disk. I/O: R rounds, one fresh guest per placement and round with the
# 1 GiB scratch file as its only disk (root in the initramfs). dom0 and
# stub guests are made by `airlock create`; the qemu and qsd guests by the
# benchmark itself (bench/lib.sh's engine_start, the same machine, RAM,
# kernel and queues as airlock's engine), because airlock's "qemu"
# placement opens disks through the host page cache and the report needs
# cache.direct=on for every placement.
#
#   default   R=5, N=10, 1024 MiB per dd, 10 s per transfer (~25 min);
#             writes OUTDIR/bench-report.md and OUTDIR/bench-report/*.png
#             (OUTDIR default: docs/, and then the README's "Placements at a
#             glance" table too); a hand-written "## Analysis" section in
#             the old report survives
#   --quick   R=1, N=1, 128 MiB, 2 s (~2-3 min): the same report into
#             OUTDIR (default: a temporary directory), then TAP checks that
#             the harness worked (every figure non-zero, valid PNGs, every
#             table row); `make check` runs it (tests/run.sh)
# Checks are printed as TAP in both modes; figures are never compared with
# a threshold in a check (the goals are reported, not asserted).
# Needs root (namespaces, taps, cgroups). `make bench-report` runs the full
# mode on build/.
set -euo pipefail

usage() {
	echo "usage: bench/report.sh [--quick] BUILD_DIR [OUTDIR] [--rounds R] [--boots N] [--dd-mib M] [--net-seconds S]" >&2
	exit 2
}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0 ROUNDS="" BOOTS="" DD_MIB="" NSECS="" ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift ;;
	--boots) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; BOOTS=$2; shift ;;
	--dd-mib) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; DD_MIB=$2; shift ;;
	--net-seconds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; NSECS=$2; shift ;;
	-*) usage ;;
	*) ARGS+=("$1") ;;
	esac
	shift
done
[ ${#ARGS[@]} -ge 1 ] || usage
[ ${#ARGS[@]} -le 2 ] || usage
[ "${DD_MIB:-1}" -le 1024 ] || usage # the scratch file's size
if [ "$QUICK" = 1 ]; then
	: "${ROUNDS:=1}" "${BOOTS:=1}" "${DD_MIB:=128}" "${NSECS:=2}"
else
	: "${ROUNDS:=5}" "${BOOTS:=10}" "${DD_MIB:=1024}" "${NSECS:=10}"
fi
BUILD_ARG=${ARGS[0]}
BUILD=$(cd "$BUILD_ARG" && pwd) || usage
OUT=${ARGS[1]:-}
. "$TOP/bench/lib.sh"

STORE_BIN=$BUILD/store/airlock-store
AIRLOCK_BIN=$BUILD/cli/airlock
export AIRLOCK_SUPERVISOR=$BUILD/supervisor/airlock-supervisor
IMG=$TOP/out/images
NAME=rpbench
NS=airlock-rp$$
PEER_NS=airlock-rpp$$
BRIDGE_IP=10.81.0.1 GUEST_IP=10.81.0.2 PEER_IP=10.81.0.3
GUEST_MAC=00:16:3e:81:00:02
TAP=rptap0
QSIZE=128 # what airlock's engine gives vhost-user-blk-pci (QEMU's default)
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-300}
PLACEMENTS=(qemu qsd dom0 stub native)
BOOT_PLACEMENTS=(qemu dom0 stub)

W=$(mktemp -d /tmp/airlock-report.XXXXXX)
KEY=$W/key
QPID="" SPID="" STORE_PID="" DOMAIN_UP=0 NS_MADE=0
export AIRLOCK_RUN_DIR=$W/run AIRLOCK_LOG_DIR=$W/log
mkdir -p "$W/run" "$W/log"

# say: progress; a TAP comment in --quick mode.
say() { if [ "$QUICK" = 1 ]; then printf '# %s\n' "$*"; else printf '%s\n' "$*" >&2; fi; }
fail() {
	if [ "$QUICK" = 1 ]; then echo "not ok 1 - bench report: $*"; else echo "bench/report.sh: error: $*" >&2; fi
	local l
	log_tails 8 "$AIRLOCK_LOG_DIR/$NAME.console.log" "$AIRLOCK_LOG_DIR/$NAME.log" \
		"$AIRLOCK_LOG_DIR/$NAME-dm.console.log" "$W"/console-*.log "$W"/qemu-*.log |
		while IFS= read -r l; do say "$l"; done
	exit 1
}
cleanup() {
	local rc=$?
	set +e
	engine_stop
	if [ "$NS_MADE" = 1 ]; then # the native peer: its iperf3 server, its namespace
		ip netns pids "$PEER_NS" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$PEER_NS" 2>/dev/null
	fi
	airlock_teardown
	if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'echo "TERM during: $BASH_COMMAND (${FUNCNAME[*]:-main})" >&2; exit 143' TERM

# --- preparation ----------------------------------------------------------------

preflight() {
	local b c
	for b in "$STORE_BIN" "$AIRLOCK_BIN" "$AIRLOCK_SUPERVISOR"; do
		[ -x "$b" ] || fail "$b: not built (make build)"
	done
	[ "$(id -u)" -eq 0 ] || fail "needs root (namespaces, taps, cgroups)"
	for c in gnuplot qemu-system-x86_64 qemu-storage-daemon iperf3 ssh nsenter; do
		command -v "$c" >/dev/null || fail "$c is not installed (scripts/setup.sh)"
	done
}

# out_dir: where the report goes (a temporary directory for --quick).
out_dir() {
	if [ -z "$OUT" ]; then
		if [ "$QUICK" = 1 ]; then OUT=$(mktemp -d /tmp/airlock-report-out.XXXXXX); else OUT=$TOP/docs; fi
	fi
	mkdir -p "$OUT/bench-report"
	OUT=$(cd "$OUT" && pwd)
}

# net_setup: the namespace with br0, the guest's address pinned to its MAC
# (every placement's guest uses the same MAC: no ARP wait at a switch), and
# the native peer: a second namespace on a veth into br0, iperf3 -s there.
net_setup() {
	bench_netns "$BRIDGE_IP/24"
	NS_MADE=1
	in_ns ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev br0 nud permanent
	ip netns add "$PEER_NS"
	in_ns ip link add rpv0 type veth peer name rpv1 netns "$PEER_NS"
	in_ns ip link set rpv0 master br0 up
	ip netns exec "$PEER_NS" ip link set lo up
	ip netns exec "$PEER_NS" ip addr add "$PEER_IP/24" dev rpv1
	ip netns exec "$PEER_NS" ip link set rpv1 up
	ip netns exec "$PEER_NS" iperf3 -s -D -I "$W/peer-iperf3.pid"
}

prepare() {
	say "preparing: guest and stub-domain images (cached), a 1 GiB scratch file, the store, the namespaces"
	bench_images "$W" || fail "images/build.sh"
	bash "$TOP/images/stubdom/build.sh" >"$W/stubimg.log" 2>&1 || { tail -n 20 "$W/stubimg.log" >&2; fail "images/stubdom/build.sh"; }
	bench_scratch "$W/scratch.raw"
	store_start "$W" || fail "airlock-store"
	net_setup
	: >"$W/raw"
}

# create CONFIG: airlock create from the namespace's network; until ssh.
create() {
	DOMAIN_UP=1
	in_net "$AIRLOCK_BIN" create "$1" >"$W/create.out" 2>&1 || fail "airlock create: $(cat "$W/create.out")"
}
destroy() {
	"$AIRLOCK_BIN" destroy "$NAME" >/dev/null 2>&1 || fail "airlock destroy"
	DOMAIN_UP=0
	[ -z "$("$AIRLOCK_BIN" list | tail -n +2)" ] || fail "domains left after destroy"
}

# --- boots: airlock create -> ssh answers ------------------------------------------

# boot_once PLACEMENT I
boot_once() {
	local p=$1 i=$2 t0 t1 t2 load
	cp --sparse=always "$IMG/rootfs.ext4" "$W/root.ext4"
	guest_cfg "$p" /dev/vda airlock.iperf3 "$W/root.ext4" >"$W/boot.cfg"
	rm -f "$AIRLOCK_LOG_DIR"/*
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$EPOCHREALTIME
	create "$W/boot.cfg"
	t1=$EPOCHREALTIME
	wait_ssh "$BOOT_TIMEOUT" || fail "$p boot $i: no ssh after $BOOT_TIMEOUT s"
	t2=$EPOCHREALTIME
	destroy
	echo "what=boot placement=$p boot=$i create_s=$(elapsed "$t0" "$t1") ssh_s=$(elapsed "$t0" "$t2") load1=$load" >>"$W/raw"
	say "boot $i $p: ssh after $(elapsed "$t0" "$t2") s (create returned after $(elapsed "$t0" "$t1") s)"
}

# --- I/O: dd and iperf3 in a fresh guest per placement ------------------------------

# guest_up PLACEMENT: a guest with the scratch file as its only disk.
guest_up() {
	case $1 in
	qemu | qsd)
		in_ns ip tuntap add "$TAP" mode tap
		in_ns ip link set "$TAP" master br0 up
		blk_start "$1" "$W/scratch.raw" "$QSIZE" || fail "$1: disk server"
		ENGINE_MIB=256 engine_start "$1" "airlock.ip=$GUEST_IP/24 airlock.iperf3" "${BLK_ARGS[@]}" \
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
			-device "virtio-net-pci,netdev=n0,mac=$GUEST_MAC" || fail "$1: guest did not boot"
		;;
	dom0 | stub)
		guest_cfg "$1" none airlock.iperf3 "$W/scratch.raw" >"$W/io.cfg"
		rm -f "$AIRLOCK_LOG_DIR"/*
		create "$W/io.cfg"
		wait_ssh "$BOOT_TIMEOUT" || fail "$1: no ssh after $BOOT_TIMEOUT s"
		;;
	esac
}
guest_down() {
	case $1 in
	qemu | qsd) engine_stop; in_ns ip link del "$TAP" 2>/dev/null || true ;;
	dom0 | stub) destroy ;;
	esac
}

# mem_now PLACEMENT: the memory keys of the running guest's processes.
mem_now() {
	case $1 in
	qemu | qsd)
		engine_mem "$QPID"
		if [ -n "$SPID" ]; then printf ' dm_uss_kib=%s\n' "$(uss_noram "$SPID")"; else echo; fi
		;;
	dom0) dom_mem "$(domid_of "$NAME")" ;;
	stub)
		echo "$(dom_mem "$(domid_of "$NAME")" "$(domid_of "$NAME-dm")") $(stub_console_mem "$AIRLOCK_LOG_DIR/$NAME-dm.console.log")"
		;;
	esac
}

# terms PLACEMENT ROUND: what the guest's kernel sees of its disk and NIC.
terms() {
	local t
	# shellcheck disable=SC2016 # expanded by the guest's shell
	t=$(gssh 'f=$(cat /sys/block/vda/device/features)
		echo blk_queues=$(ls -d /sys/block/vda/mq/*/ | wc -l) blk_depth=$(cat /sys/block/vda/mq/0/nr_tags) \
			blk_indirect=$(echo "$f" | cut -c29) blk_event_idx=$(echo "$f" | cut -c30) \
			net_queue_pairs=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l) \
			guest_mem_kib=$(awk "/^MemTotal/ { print \$2 }" /proc/meminfo) \
			vcpus=$(grep -c ^processor /proc/cpuinfo)') || fail "$1: reading the guest's view of its devices"
	echo "what=terms placement=$1 round=$2 $t" >>"$W/raw"
}

# disk PLACEMENT ROUND: dd read then write, 1 MiB blocks, direct I/O
# (bench/dd-timed.sh): in the guest on /dev/vda, or (native) the host's dd
# on the same file; then /dev/zero to /dev/null (what the guest's CPU gives
# dd's write at most). MiB/s from the records dd wrote and the time it took.
disk() {
	local op line
	for op in read write zero; do
		if [ "$1" = native ]; then
			line=$(sh "$TOP/bench/dd-timed.sh" "$op" "$W/scratch.raw" "$DD_MIB") || fail "native dd $op: $line"
		else
			line=$(gssh sh -s "$op" /dev/vda "$DD_MIB" <"$TOP/bench/dd-timed.sh") || fail "$1 dd $op: $line"
		fi
		[[ $line == *" records_out=$DD_MIB+0" ]] || fail "$1 dd $op: not $DD_MIB whole records: $line"
		awk -v p="what=disk placement=$1 round=$2 op=$op" -v n="$DD_MIB" '{
			split($1, a, "="); split($2, b, "="); s = b[2] - a[2]; if (s <= 0) s = 1e-6
			printf "%s mib_per_s=%.1f mib=%d seconds=%.3f\n", p, n / s, n, s }' <<<"$line" >>"$W/raw"
	done
}

# net PLACEMENT ROUND: iperf3 guest->host (-R) then host->guest; memory
# sampled in the middle of the first transfer.
net() {
	local dir host=$GUEST_IP pid
	[ "$1" = native ] && host=$PEER_IP
	for dir in g2h h2g; do
		local rev=()
		[ "$dir" = g2h ] && rev=(-R)
		iperf_run "$W/iperf.json" "$host" "$NSECS" "${rev[@]}" &
		pid=$!
		if [ "$dir" = g2h ] && [ "$1" != native ]; then
			sleep "$(awk -v s="$NSECS" 'BEGIN { print 1.5 + s / 2 }')"
			echo "what=mem placement=$1 round=$2 $(mem_now "$1")" >>"$W/raw"
		fi
		wait "$pid" || fail "$1 iperf3 $dir: $(cat "$W/iperf.json")"
		iperf_line "$W/iperf.json" "what=net placement=$1 round=$2 dir=$dir" >>"$W/raw"
		sleep 0.5
	done
}

# io_round PLACEMENT ROUND
io_round() {
	[ "$1" = native ] || guest_up "$1"
	[ "$1" = native ] || terms "$1" "$2"
	disk "$1" "$2"
	net "$1" "$2"
	[ "$1" = native ] || guest_down "$1"
	say "round $2 $1: $(grep -E "^what=(disk|net) placement=$1 round=$2 " "$W/raw" | awk '{ print $4, $5 }' | tr '\n' ' ')"
}

# --- the report ----------------------------------------------------------------------

# meta: what the report says about the run, KEY=VALUE lines.
meta() {
	local info
	info=$("$AIRLOCK_BIN" info 2>/dev/null || true)
	cat <<META
date=$(date -u '+%Y-%m-%d %H:%M UTC')
command=bench/report.sh$([ "$QUICK" = 1 ] && echo " --quick") $BUILD_ARG${ARGS[1]:+ ${ARGS[1]}}
mode=$([ "$QUICK" = 1 ] && echo quick || echo full)
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
machine=$(machine_desc)
load_before=$LOAD_BEFORE
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
accel=$(sed -n 's/^accelerator: *//p' <<<"$info")
accel_reason=$(sed -n 's/^reason: *//p' <<<"$info")
qemu=$(qemu-system-x86_64 --version | head -1 | awk '{ print $4 }')
iperf3=$(iperf3 --version | head -1 | awk '{ print $2 }')
guest_kernel=$(awk -F': *' '/^kernel:/ { print $2; exit }' "$IMG/manifest.txt")
rounds=$ROUNDS
boots=$BOOTS
dd_mib=$DD_MIB
net_seconds=$NSECS
qsize=$QSIZE
META
}

render() {
	local docs=0
	[ "$OUT" = "$TOP/docs" ] && docs=1
	meta >"$W/meta"
	doc_analysis "$OUT/bench-report.md" >"$W/analysis.md"
	rm -f "$OUT"/bench-report/{disk,net,boot,mem}.png # no stale plot passes a check
	mkdir -p "$W/dat"
	/usr/bin/python3 "$TOP/bench/report.py" "$W/raw" "$W/meta" "$W/analysis.md" "$OUT/bench-report.md" "$W/dat" \
		|| fail "bench/report.py"
	gnuplot -e "datadir='$W/dat'; outdir='$OUT/bench-report'" "$TOP/bench/report.gp" 2>"$W/gnuplot.log" \
		|| fail "gnuplot: $(cat "$W/gnuplot.log")"
	[ "$docs" = 1 ] && readme_update "$W/dat/headline.md"
	say "wrote $OUT/bench-report.md and $OUT/bench-report/*.png"
}

# readme_update HEADLINE: the README's part between the bench-report
# markers replaced by HEADLINE (full runs into docs/ only).
readme_update() {
	grep -q '^<!-- bench-report:begin' "$TOP/README.md" || return 0
	awk -v f="$1" '/^<!-- bench-report:begin/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- bench-report:end/ { skip = 0 } !skip' "$TOP/README.md" >"$W/README.md"
	cat "$W/README.md" >"$TOP/README.md"
	say "updated README.md (Placements at a glance)"
}

# --- checks: the harness worked -------------------------------------------------------

N=0 NFAIL=0
# ck DESCRIPTION COMMAND...: one TAP case, passing when COMMAND succeeds.
ck() {
	local d=$1
	shift
	N=$((N + 1))
	if "$@"; then echo "ok $N - $d"; else NFAIL=$((NFAIL + 1)); echo "not ok $N - $d"; fi
}
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
rows_of() { grep -c "^| \`$1\` |" "$OUT/bench-report.md" || true; }

# expected_figures: "PLACEMENT FIGURE" for every figure the report must have.
expected_figures() {
	local p
	for p in "${PLACEMENTS[@]}"; do
		printf '%s %s\n' "$p" dd_read_mib_s "$p" dd_write_mib_s "$p" g2h_mbit_s "$p" h2g_mbit_s
	done
	for p in "${BOOT_PLACEMENTS[@]}"; do echo "$p ssh_s"; done
	for p in qemu qsd dom0 stub; do echo "$p host_mem_mib"; done
	echo "stub stub_ram_mib"
}

checks() {
	local p f v png n terms
	# Every figure of every placement that has it is non-zero (report.py's
	# figures.txt: "PLACEMENT FIGURE MEDIAN").
	while read -r p f; do
		v=$(awk -v p="$p" -v f="$f" '$1 == p && $2 == f { print $3 }' "$W/dat/figures.txt")
		ck "$p $f is a non-zero figure: ${v:-none}" positive "${v:-0}"
	done < <(expected_figures)
	for png in disk net boot mem; do
		ck "$png.png is a PNG ($(stat -c %s "$OUT/bench-report/$png.png" 2>/dev/null || echo 0) bytes)" \
			is_png "$OUT/bench-report/$png.png"
	done
	# A row per placement in each of the 6 tables: the guests' view,
	# results, ÷ dom0, ÷ native, boots, memory; the 11 goals.
	for p in "${PLACEMENTS[@]}"; do
		n=$(rows_of "$p")
		ck "report: $p has a row in each of the 6 tables ($n)" test "$n" = 6
	done
	n=$(grep -c '^| goal: ' "$OUT/bench-report.md" || true)
	ck "report: a row for each of the 11 goals ($n)" test "$n" = 11
	ck "report: the plots are linked" grep -q '^!\[.*\](bench-report/disk.png)' "$OUT/bench-report.md"
	# What the guests saw of their devices is the same for every placement.
	terms=$(awk '/^what=terms/ { sub(/ round=[0-9]+/, ""); $1 = $2 = ""; print }' "$W/raw" | sort -u)
	ck "every guest saw the same disk and NIC queues:${terms//$'\n'/ |}" test "$(wc -l <<<"$terms")" = 1
	ck "no domain left" test -z "$("$AIRLOCK_BIN" list | tail -n +2)"
	echo "1..$N"
}

# --- main ----------------------------------------------------------------------------

preflight
out_dir
prepare
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$SECONDS
say "$BOOTS boot round(s) of ${BOOT_PLACEMENTS[*]}, then $ROUNDS I/O round(s) of ${PLACEMENTS[*]}, interleaved"
for i in $(seq 1 "$BOOTS"); do
	for p in "${BOOT_PLACEMENTS[@]}"; do boot_once "$p" "$i"; done
done
for r in $(seq 1 "$ROUNDS"); do
	for p in "${PLACEMENTS[@]}"; do io_round "$p" "$r"; done
done
say "measured in $((SECONDS - START)) s"
render
[ "$QUICK" = 1 ] && sed 's/^/# /' "$W/dat/summary.txt"
checks
[ "$NFAIL" = 0 ]
