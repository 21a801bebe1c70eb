#!/usr/bin/env bash
# bench/disk.sh BUILD_DIR [--quick] [--seconds S] [--rounds R]
#
# Disk figures from inside a real guest for every device-model placement
# available, in the same run, interleaved (A B C A B C ...), medians and
# ratios reported: QEMU's built-in virtio-blk (the engine's own devices,
# airlock's "qemu" placement), qemu-storage-daemon's vhost-user-blk export,
# airlock-dm (vhost-user-blk, io_uring; airlock's "airlock" placement) and
# the host itself on the same file ("native").
#
# Same terms for all: the guest image and kernel, guest RAM a shared memfd
# (what vhost-user needs; the in-process configuration uses it too), 1 queue
# of 256 descriptors, the host page cache bypassed (cache.direct=on for QEMU
# and qemu-storage-daemon, O_DIRECT for airlock-dm and native), a 1 GiB raw
# scratch file written in full beforehand, one request in flight (ioprobe,
# images/tools/ioprobe.c): sequential read and write in 1 MiB blocks, random
# 4 KiB reads. Memory (bench/mem.sh) is sampled in the middle of every probe:
# the device model's USS without guest RAM, the engine's PSS.
# Full mode writes docs/bench-disk.md; --quick (one short round) prints TAP.
set -euo pipefail
BUILD=${1:?usage: bench/disk.sh BUILD_DIR [--quick] [--seconds S] [--rounds R]}
shift
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD_ARG=$BUILD
BUILD=$(cd "$BUILD" && pwd)
DM=$BUILD/dm/airlock-dm
[ -x "$DM" ] || { echo "bench/disk.sh: $DM: not built" >&2; exit 1; }
. "$TOP/bench/lib.sh"
bench_args bench/disk.sh 5 2 "$@"
IMG=$TOP/out/images
W=$(mktemp -d /tmp/airlock-bdisk.XXXXXX)
NS=airlock-bd$$
KEY=$W/key
GUEST_IP=10.79.0.2
QPID="" SPID=""
trap bench_cleanup EXIT

bench_images "$W" || exit 1
bench_scratch "$W/disk.raw"
bench_netns 10.79.0.1/24
bench_tap

# boot CONFIG: starts the engine with CONFIG's disk device (bench/lib.sh's
# blk_start: qemu, qsd or dm, one queue of 256), waits for ssh.
boot() {
	blk_start "$1" "$W/disk.raw" 256
	engine_start "$1" "airlock.ip=$GUEST_IP/24" "${BLK_ARGS[@]}" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0
}

# probe CONFIG ROUND MODE: one ioprobe run in the guest into $W/raw; memory
# sampled into $W/mem halfway through (after ssh's own start-up).
probe() {
	gssh ioprobe "$3" /dev/vda "$SECS" >"$W/probe.out" &
	local p=$!
	sleep "$(awk -v s="$SECS" 'BEGIN { print 1 + s / 2 }')"
	mem_sample "config=$1 round=$2 mode=$3" "$QPID" $SPID >>"$W/mem"
	wait "$p"
	echo "config=$1 round=$2 $(cat "$W/probe.out")" >>"$W/raw"
}

# run CONFIG ROUND: the three figures, one line each into $W/raw.
run() {
	if [ "$1" = native ]; then
		gcc -O2 -o "$W/ioprobe" "$TOP/images/tools/ioprobe.c"
		for m in seqread seqwrite randread; do
			echo "config=native round=$2 $("$W/ioprobe" "$m" "$W/disk.raw" "$SECS")" >>"$W/raw"
		done
		return
	fi
	boot "$1"
	for m in seqread seqwrite randread; do probe "$1" "$2" "$m"; done
	engine_stop
}

bench_rounds qemu qsd dm native

# Medians per config and mode: MiB/s for sequential, IOPS for random.
table=$(/usr/bin/python3 - "$W/raw" <<'PY'
import sys, statistics as st
rows = [dict(kv.split('=', 1) for kv in l.split()) for l in open(sys.argv[1]) if l.strip()]
med = {}
CF = ('qemu', 'qsd', 'dm', 'native')
for c in CF:
    for m in ('seqread', 'seqwrite', 'randread'):
        key = 'iops' if m == 'randread' else 'mib_per_s'
        v = [float(r[key]) for r in rows if r['config'] == c and r.get('mode') == m]
        med[c, m] = st.median(v) if v else 0.0
names = {'qemu': "QEMU's virtio-blk (in-process)", 'qsd': 'qemu-storage-daemon vhost-user-blk', 'dm': 'airlock-dm vhost-user-blk', 'native': 'native (host, same file)'}
M = ('seqread', 'seqwrite', 'randread')
print('| configuration | seq read MiB/s | seq write MiB/s | rand read 4K IOPS | vs QEMU (read / write / IOPS) | vs qsd (read / write / IOPS) |')
print('|---|--:|--:|--:|--:|--:|')
for c in CF:
    x = [med[c, m] for m in M]
    r = lambda b: ' / '.join(f"{x[i] / (med[b, m] or 1):.2f}×" for i, m in enumerate(M))
    print(f"| {names[c]} | {x[0]:.1f} | {x[1]:.1f} | {x[2]:.0f} | {r('qemu')} | {r('qsd')} |")
PY
)
memtable=$(mem_table "$W/mem" "qemu=QEMU's virtio-blk (in-process)" "qsd=qemu-storage-daemon vhost-user-blk" "dm=airlock-dm vhost-user-blk")
if [ "$QUICK" = 1 ]; then
	# shellcheck disable=SC2016 # an awk program
	bench_quick_tap disk "$W/raw" '{ print $1, $3, $NF, $(NF-1) }'
	echo "$memtable" | sed 's/^/# /'
	exit 0
fi
echo "$table"
echo "$memtable"
{
	echo "# Disk benchmark: placements side by side"
	echo
	echo "Measured by \`bench/disk.sh $BUILD_ARG\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$TOP" rev-parse --short HEAD)."
	echo
	echo "- Machine: $(machine_desc)."
	echo "- Accelerator: TCG (the host probe's choice here; see docs/host.md)."
	echo "- Guest: airlock's image (out/images, $(awk '/linux-image-[0-9]/ {print $2, $3; exit}' "$IMG/manifest.txt")), 1 vCPU, 512 MiB, booted from vmlinux + initramfs; the scratch disk is /dev/vda."
	echo "- Same terms: 1 queue of 256 descriptors; guest RAM a shared memfd (memory-backend-memfd, share=on) in every configuration; host page cache bypassed (cache.direct=on, aio=threads for QEMU and qemu-storage-daemon; O_DIRECT with io_uring for airlock-dm; O_DIRECT for native); a 1 GiB raw file written in full beforehand; one request in flight (images/tools/ioprobe.c, O_DIRECT in the guest): sequential read and write in 1 MiB blocks, random reads in 4 KiB blocks, $SECS s each."
	echo "- $ROUNDS rounds, configurations interleaved (A B C D A B C D …); medians."
	echo
	echo "$table"
	echo
	echo "## Memory, while the guest is loaded"
	echo
	echo "Sampled in the middle of every probe (bench/mem.sh). USS: Private_Clean +"
	echo "Private_Dirty over /proc/PID/smaps, the guest RAM memfd mapping left out."
	echo "PSS: smaps_rollup's Pss (guest RAM included; a vhost-user back end that"
	echo "touched guest pages takes half their PSS away from the engine). Goal for"
	echo "airlock-dm: at most 8 MiB USS per guest."
	echo
	echo "$memtable"
	echo
	echo "Under TCG the guest's own CPU (translated code issuing each request and"
	echo "handling each interrupt) dominates, so the device models' differences"
	echo "show mostly in the random-read IOPS; native shows what the disk itself does."
	echo
	# A hand-written "## Analysis" section (profiles, causes) survives reruns.
	doc_analysis "$TOP/docs/bench-disk.md"
	bench_raw_runs "$W"
} >"$TOP/docs/bench-disk.md.new" && mv "$TOP/docs/bench-disk.md.new" "$TOP/docs/bench-disk.md"
echo "wrote docs/bench-disk.md"
