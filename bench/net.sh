#!/usr/bin/env bash
# bench/net.sh BUILD_DIR [--quick] [--seconds S] [--rounds R]
#
# Network figures from a real guest for every virtio-net placement, in the
# same run, interleaved (A B C A B C ...), medians and ratios reported:
#   qemu-msix  QEMU's built-in virtio-net on a tap, MSI-X (QEMU's default);
#   qemu-intx  the same with vectors=0 (INTx): what INTx alone costs;
#   dm         airlock-dm serving virtio-net over vhost-user on the same tap,
#              INTx (vectors=0: QEMU 7.2 under TCG crashes in
#              vhost_net_start -> msix_set_vector_notifiers with MSI-X).
#
# Same terms for all: the guest image and kernel, 1 vCPU, 512 MiB of guest
# RAM in a shared memfd, one rx and one tx queue of 256 descriptors
# (rx_queue_size=256,tx_queue_size=256, QEMU's defaults, set explicitly),
# the same MAC, a tap opened with a vnet header (offloads on) on a bridge.
# The peer is iperf3 in a network namespace the script makes (br0,
# 10.80.0.1/24; the guest is 10.80.0.2): no traffic leaves this machine. The
# guest runs `iperf3 -s` (kernel option airlock.iperf3); the host's client
# measures host->guest, and with -R guest->host, one TCP stream, S seconds
# after 1 s omitted (slow start), the receiver's figure.
# Memory (bench/mem.sh) is sampled in the middle of every transfer.
# Full mode writes docs/bench-net.md; --quick (one short round) prints TAP.
# Needs root (namespace, tap).
set -euo pipefail
BUILD=${1:?usage: bench/net.sh BUILD_DIR [--quick] [--seconds S] [--rounds R]}
shift
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
DM=$BUILD/dm/airlock-dm
[ -x "$DM" ] || { echo "bench/net.sh: $DM: not built" >&2; exit 1; }
. "$TOP/bench/lib.sh"
bench_args bench/net.sh 10 3 "$@"
IMG=$TOP/out/images
W=$(mktemp -d /tmp/airlock-bnet.XXXXXX)
NS=airlock-bn$$
GUEST_IP=10.80.0.2
KEY=$W/key
MAC=52:54:00:50:00:02
QPID="" SPID=""
trap bench_cleanup EXIT

bench_images "$W" || exit 1
bench_netns 10.80.0.1/24
bench_tap

# Opens tap0 as airlock-dm wants it (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) and
# execs the command with the fd's number in place of @TAPFD@.
TAPHELPER='
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tap0", 0x0002 | 0x1000 | 0x4000))
os.set_inheritable(fd, True)
os.execv(sys.argv[1], [a.replace("@TAPFD@", str(fd)) for a in sys.argv[1:]])
'

# boot CONFIG: starts the engine with CONFIG's NIC, waits for ssh.
boot() {
	local nic=() q="mac=$MAC,rx_queue_size=256,tx_queue_size=256"
	case $1 in
	qemu-msix)
		nic=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "virtio-net-pci,netdev=n0,$q") ;;
	qemu-intx)
		nic=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "virtio-net-pci,netdev=n0,$q,vectors=0") ;;
	dm)
		rm -f "$W/net.sock"
		ip netns exec "$NS" python3 -c "$TAPHELPER" "$DM" \
			--device "net,socket=$W/net.sock,tap-fd=@TAPFD@,mac=$MAC" >>"$W/dm.log" 2>&1 &
		SPID=$!
		wait_sock "$W/net.sock"
		nic=(-chardev "socket,id=c1,path=$W/net.sock" -netdev vhost-user,id=n0,chardev=c1
			-device "virtio-net-pci,netdev=n0,$q,vectors=0") ;;
	esac
	engine_start "$1" "airlock.ip=$GUEST_IP/24 airlock.iperf3" "${nic[@]}" || {
		[ -s "$W/dm.log" ] && tail -5 "$W/dm.log" >&2
		return 1
	}
}

# xfer CONFIG ROUND DIR: one iperf3 run into $W/raw, memory sampled halfway.
xfer() {
	local rev=()
	[ "$3" = g2h ] && rev=(-R)
	iperf_run "$W/iperf.json" "$GUEST_IP" "$SECS" "${rev[@]}" &
	local p=$!
	sleep "$(awk -v s="$SECS" 'BEGIN { print 1.5 + s / 2 }')"
	mem_sample "config=$1 round=$2 dir=$3" "$QPID" $SPID >>"$W/mem"
	if ! wait "$p"; then
		echo "bench/net.sh: $1 $3: iperf3 failed" >&2
		cat "$W/iperf.json" >&2
		exit 1
	fi
	iperf_line "$W/iperf.json" "config=$1 round=$2 dir=$3" >>"$W/raw"
	sleep 0.5
}

run() {
	boot "$1"
	for d in g2h h2g; do xfer "$1" "$2" "$d"; done
	engine_stop
}

bench_rounds qemu-msix qemu-intx dm

table=$(/usr/bin/python3 - "$W/raw" <<'PY'
import sys, statistics as st
rows = [dict(kv.split('=', 1) for kv in l.split()) for l in open(sys.argv[1]) if l.strip()]
CF = ('qemu-msix', 'qemu-intx', 'dm')
D = ('g2h', 'h2g')
med = {}
for c in CF:
    for d in D:
        v = [float(r['mbit_per_s']) for r in rows if r['config'] == c and r['dir'] == d]
        med[c, d] = st.median(v) if v else 0.0
names = {'qemu-msix': "QEMU's virtio-net, tap, MSI-X", 'qemu-intx': "QEMU's virtio-net, tap, INTx (vectors=0)", 'dm': 'airlock-dm vhost-user net, tap, INTx'}
print('| configuration | guest→host Mbit/s | host→guest Mbit/s | vs QEMU MSI-X (g→h / h→g) | vs QEMU INTx (g→h / h→g) |')
print('|---|--:|--:|--:|--:|')
for c in CF:
    r = lambda b: ' / '.join(f"{med[c, d] / (med[b, d] or 1):.2f}×" for d in D)
    print(f"| {names[c]} | {med[c, 'g2h']:.0f} | {med[c, 'h2g']:.0f} | {r('qemu-msix')} | {r('qemu-intx')} |")
PY
)
memtable=$(mem_table "$W/mem" "qemu-msix=QEMU's virtio-net, MSI-X" "qemu-intx=QEMU's virtio-net, INTx" "dm=airlock-dm vhost-user net")
if [ "$QUICK" = 1 ]; then
	# shellcheck disable=SC2016 # an awk program
	bench_quick_tap net "$W/raw" '{ print $1, $3, $4 }'
	echo "$memtable" | sed 's/^/# /'
	exit 0
fi
echo "$table"
echo "$memtable"
DOC=$TOP/docs/bench-net.md
{
	echo "# Network benchmark: placements side by side"
	echo
	echo "Measured by \`bench/net.sh $(realpath --relative-to="$TOP" "$BUILD")\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$TOP" rev-parse --short HEAD)."
	echo
	echo "- Machine: $(machine_desc)."
	echo "- Accelerator: TCG; QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'); iperf3 $(iperf3 --version | head -1 | awk '{print $2}')."
	echo "- Guest: airlock's image (out/images, $(awk '/linux-image-[0-9]/ {print $2, $3; exit}' "$IMG/manifest.txt")), 1 vCPU, 512 MiB (memory-backend-memfd, share=on, in every configuration), booted from vmlinux + initramfs, \`iperf3 -s\` started by its init."
	echo "- Same terms: virtio-net with one rx and one tx queue of 256 descriptors each (rx_queue_size=256, tx_queue_size=256: QEMU's defaults, set explicitly), the same MAC; the host side is a tap with a vnet header (offloads on) on a bridge in a network namespace the script makes; the peer is iperf3 in that namespace (one TCP stream, $SECS s after 1 s omitted, the receiver's figure). No traffic leaves the machine."
	echo "- Configurations: QEMU's built-in virtio-net (in-process, tap backend) with MSI-X (QEMU's default) and with vectors=0 (INTx); airlock-dm serving virtio-net over vhost-user on the same tap, INTx (vectors=0 is required: QEMU 7.2 under TCG crashes in vhost_net_start → msix_set_vector_notifiers with MSI-X)."
	echo "- $ROUNDS rounds, configurations interleaved (A B C A B C …); medians."
	echo
	echo "$table"
	echo
	echo "## Memory, while the guest is loaded"
	echo
	echo "Sampled in the middle of every transfer (bench/mem.sh). USS: Private_Clean +"
	echo "Private_Dirty over /proc/PID/smaps, the guest RAM memfd mapping left out."
	echo "PSS: smaps_rollup's Pss (guest RAM included). Goal for airlock-dm: at most"
	echo "8 MiB USS per guest."
	echo
	echo "$memtable"
	echo
	# A hand-written "## Analysis" section (profiles, causes) survives reruns.
	doc_analysis "$DOC"
	bench_raw_runs "$W"
} >"$DOC.new" && mv "$DOC.new" "$DOC"
echo "wrote docs/bench-net.md"
