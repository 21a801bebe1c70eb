# shellcheck shell=bash
# bench/lib.sh — what the guest benchmarks share: source it (after setting
# TOP, the repository's root) from bench/disk.sh, net.sh, boot.sh,
# stubdom.sh and report.sh. It sources bench/mem.sh (memory figures) and
# defines functions only.
#
# The caller's variables these functions read:
#   NS        the script's network namespace (made by bench_netns)
#   KEY       a copy of the guest's ssh key, mode 600 (bench_images makes it)
#   GUEST_IP  the guest's address (gssh, wait_ssh)
#   W         the script's work directory (engine_start, blk_start)
#   QPID SPID the engine's and the disk server's pids (engine_start,
#             blk_start set them; engine_stop clears them)
#
#   bench_args NAME SECS QSECS ARGS...  a benchmark's options, [--quick]
#                             [--seconds S] [--rounds R], into QUICK (0 or
#                             1), SECS (default SECS, QSECS with --quick)
#                             and ROUNDS (5, 1 with --quick); another
#                             option: "NAME: unknown option", exit 2
#   bench_cleanup             at exit (trap): engine_stop, NS deleted, W
#                             removed
#   bench_tap                 a tap tap0 in NS, on br0, up
#   bench_rounds CONFIG...    `run CONFIG ROUND` (the caller's) for each of
#                             ROUNDS rounds, the CONFIGs interleaved
#   bench_quick_tap WHAT RAW AWK  --quick's TAP: "ok N - WHAT bench ran: "
#                             and what the awk program AWK prints of each
#                             line of RAW, then the plan
#   bench_raw_runs DIR        a document's "## Raw runs": DIR/raw and
#                             DIR/mem in a code block
#   bench_images DIR          the guest images built or reused
#                             (images/build.sh, cached; log in
#                             DIR/images.log); the key copied to DIR/key
#   bench_scratch FILE        a 1 GiB raw file written in full, O_DIRECT
#   bench_netns ADDR/PREFIX   the namespace NS: lo up, a bridge br0 holding
#                             ADDR
#   in_ns CMD...              CMD inside NS (ip netns exec)
#   in_net CMD...             CMD with NS's network only (nsenter --net):
#                             `ip netns exec` would hide the cgroup mounts
#                             from the supervisor that `airlock create` starts
#   gssh ARGS...              ssh root@GUEST_IP from NS
#   port_open                 a TCP connect to GUEST_IP:22 within 0.3 s
#   wait_ssh SECONDS          until the guest runs `true` over ssh (polled
#                             every 0.2 s: port_open first, then gssh)
#   wait_sock PATH            up to 5 s for a UNIX socket to appear
#   blk_start MODE FILE QSIZE the engine options of a virtio disk on FILE
#                             into the array BLK_ARGS: qemu (the engine's
#                             own virtio-blk), qsd (qemu-storage-daemon's
#                             vhost-user-blk export), dm (airlock-dm; DM set)
#                             — one queue of QSIZE descriptors, host page
#                             cache bypassed; starts the server (SPID)
#   engine_start TAG APPEND ARGS...  the guest engine, started here rather
#                             than by `airlock create`: 1 vCPU, ENGINE_MIB
#                             (default 512) MiB of RAM in a shared memfd,
#                             vmlinux + initrd, root=none, APPEND on the
#                             kernel command line, ARGS its devices; QPID;
#                             waits for ssh
#   engine_stop               the engine and the disk server stopped
#   iperf_run JSON HOST SECS [ARGS...]  iperf3 -c HOST from NS, its JSON
#                             into JSON; retried while nothing listens yet
#   iperf_line JSON PREFIX    "PREFIX mbit_per_s=.. seconds=.. bytes=..
#                             sent_mbit_per_s=.. retransmits=.." (the
#                             receiver's figure)
#   elapsed A B               B − A in seconds, two decimals
#   stats                     numbers on stdin, one a line -> "mean median
#                             min max stddev" (sample stddev; 0 for one)
#   machine_desc              "CPU model, N CPUs, M GiB; kernel K"
#   doc_analysis DOC          DOC's hand-written "## Analysis" section, kept
#                             when a benchmark rewrites its document
. "$TOP/bench/mem.sh"

# shellcheck disable=SC2034 # QUICK, SECS, ROUNDS: for the caller
bench_args() {
	local name=$1 quick_secs=$3
	QUICK=0 SECS=$2 ROUNDS=5
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) QUICK=1 SECS=$quick_secs ROUNDS=1 ;;
		--seconds) SECS=$2; shift ;;
		--rounds) ROUNDS=$2; shift ;;
		*) echo "$name: unknown option $1" >&2; exit 2 ;;
		esac
		shift
	done
}

bench_cleanup() {
	engine_stop
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}

bench_tap() {
	in_ns ip tuntap add tap0 mode tap
	in_ns ip link set tap0 master br0 up
}

bench_rounds() {
	local r c
	for r in $(seq 1 "$ROUNDS"); do
		for c in "$@"; do run "$c" "$r"; done
	done
}

bench_quick_tap() {
	local n=0 line
	while read -r line; do
		n=$((n + 1))
		echo "ok $n - $1 bench ran: $line"
	done < <(awk "$3" "$2")
	echo "1..$n"
}

bench_raw_runs() {
	echo "## Raw runs"
	echo
	echo '```'
	cat "$1/raw"
	echo
	cat "$1/mem"
	echo '```'
}

bench_images() {
	bash "$TOP/images/build.sh" >"$1/images.log" 2>&1 || { tail -n 20 "$1/images.log" >&2; return 1; }
	cp "$TOP/out/images/id_ed25519" "$1/key" && chmod 600 "$1/key"
}

# Real blocks: reads of a fallocate()d or sparse file never reach the disk.
bench_scratch() { dd if=/dev/zero of="$1" bs=4M count=256 oflag=direct status=none; }

bench_netns() {
	ip netns add "$NS"
	in_ns ip link set lo up
	in_ns ip link add br0 type bridge
	in_ns ip addr add "$1" dev br0
	in_ns ip link set br0 up
}

in_ns() { ip netns exec "$NS" "$@"; }
in_net() { nsenter --net=/run/netns/"$NS" "$@"; }

gssh() {
	in_ns ssh -q -i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o BatchMode=yes -o ServerAliveInterval=5 root@"$GUEST_IP" "$@"
}
port_open() { in_net timeout 0.3 bash -c "exec 3<>/dev/tcp/$GUEST_IP/22" 2>/dev/null; }

wait_ssh() {
	local deadline=$((SECONDS + $1))
	until port_open && gssh true 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

wait_sock() {
	for _ in $(seq 1 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

blk_start() {
	local mode=$1 file=$2 q=$3
	local fileopts="driver=file,filename=$file,node-name=f0,cache.direct=on,aio=threads"
	local rawopts="driver=raw,file=f0,node-name=d0,cache.direct=on"
	case $mode in
	qemu)
		BLK_ARGS=(-blockdev "$fileopts" -blockdev "$rawopts"
			-device "virtio-blk-pci,drive=d0,num-queues=1,queue-size=$q")
		return 0
		;;
	qsd)
		rm -f "$W/blk.sock"
		qemu-storage-daemon --blockdev "$fileopts" --blockdev "$rawopts" \
			--export "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path=$W/blk.sock,writable=on,num-queues=1" \
			>>"$W/qsd.log" 2>&1 &
		SPID=$!
		;;
	dm)
		rm -f "$W/blk.sock"
		"$DM" --socket-path "$W/blk.sock" --blk-file "$file" >>"$W/dm.log" 2>&1 &
		SPID=$!
		;;
	*) echo "blk_start: unknown mode $mode" >&2; return 2 ;;
	esac
	wait_sock "$W/blk.sock" || { echo "blk_start: $mode: no socket $W/blk.sock" >&2; return 1; }
	# shellcheck disable=SC2034 # for the caller
	BLK_ARGS=(-chardev "socket,id=c0,path=$W/blk.sock"
		-device "vhost-user-blk-pci,chardev=c0,num-queues=1,queue-size=$q")
}

engine_start() {
	local tag=$1 append=$2 mib=${ENGINE_MIB:-512}
	shift 2
	# `ip netns exec` itself, not in_ns: $! must be QEMU's pid, not a subshell's.
	ip netns exec "$NS" qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$mib" \
		-object "memory-backend-memfd,id=mem,size=${mib}M,share=on" -machine pc,memory-backend=mem \
		-nodefaults -no-user-config -display none -serial "file:$W/console-$tag.log" \
		-kernel "$TOP/out/images/vmlinux" -initrd "$TOP/out/images/initrd.img" \
		-append "console=ttyS0 root=none $append quiet" "$@" >"$W/qemu-$tag.log" 2>&1 &
	QPID=$!
	wait_ssh 150 && return 0
	echo "$(basename "$0"): $tag: guest did not answer ssh" >&2
	tail -n 5 "$W/console-$tag.log" "$W/qemu-$tag.log" >&2
	return 1
}

engine_stop() {
	if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; QPID=""; fi
	if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""; fi
	return 0
}

iperf_run() {
	local json=$1 host=$2 secs=$3
	shift 3
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		in_ns iperf3 -c "$host" -t "$secs" -O 1 -J "$@" >"$json" 2>&1 && return 0
		grep -qE 'unable to connect|server is busy|Connection refused' "$json" || return 1
		sleep 1
	done
	return 1
}

iperf_line() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))['end']
r, s = e['sum_received'], e['sum_sent']
print(f"{sys.argv[2]} mbit_per_s={r['bits_per_second'] / 1e6:.1f} seconds={r['seconds']:.2f} bytes={r['bytes']} "
      f"sent_mbit_per_s={s['bits_per_second'] / 1e6:.1f} retransmits={s.get('retransmits', 0)}")
PY
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

stats() {
	sort -g | awk '{ v[NR] = $1; s += $1 }
	END {
		n = NR; m = s / n
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		for (i = 1; i <= n; i++) ss += (v[i] - m) ^ 2
		sd = (n > 1) ? sqrt(ss / (n - 1)) : 0
		printf "%.2f %.2f %.2f %.2f %.2f\n", m, med, v[1], v[n], sd
	}'
}

machine_desc() {
	printf '%s, %s CPUs, %s; kernel %s\n' \
		"$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)" \
		"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)"
}

doc_analysis() {
	[ -f "$1" ] || return 0
	awk '/^## / { keep = ($0 == "## Analysis") } keep { l[++n] = $0 }
		END { while (n > 0 && l[n] == "") n--; for (i = 1; i <= n; i++) print l[i]; if (n) print "" }' "$1"
}

# --- guests made by `airlock create` (AIRLOCK_BIN set) ------------------------
#   store_start DIR           airlock-store on DIR/store.sock, state in
#                             DIR/state, log DIR/store.log; STORE_PID;
#                             exports XENSTORED_PATH
#   guest_cfg PLACEMENT ROOT APPEND DISK...  the xl.cfg of guest NAME: 1
#                             vCPU, 256 MiB, KERNEL (default vmlinux) +
#                             initrd, root=ROOT, airlock.ip=GUEST_IP/24 and
#                             APPEND on its command line, the DISKs (raw
#                             files) as xvda, xvdb, ..., one vif on br0 with
#                             GUEST_MAC; PLACEMENT qemu (the engine's own
#                             devices), dom0 (airlock-dm) or stub (airlock-dm
#                             in a stub domain)
#   domid_of NAME             the domain's id (airlock list)
#   rd PATH                   a store node's value, empty when missing
#   engine_mem PID            "engine_pss_kib=.. engine_pss_noram_kib=..
#                             guest_ram_rss_kib=.." (no newline)
#   dom_mem GUEST [STUB]      the memory of a guest airlock made, from the
#                             pids its store records name: engine_mem's
#                             keys and airlock-dm's
#                             "dm_uss_kib=.." (dom0) or, given its stub
#                             domain's id, the stub QEMU's PSS (all, without
#                             guest RAM), USS, the relay's USS (without guest
#                             RAM, all) and the stub's RAM as configured
#                             (stub_ram_mib, its QEMU's -m)
#   stub_console_mem LOG      "stub_memtotal_kib=.. stub_memavail_kib=.." from
#                             the stub init's "memory:" console line
#   log_tails N FILE...       "last lines of FILE:" and its last N lines
#                             (indented, no CRs) for each non-empty FILE:
#                             what a failing benchmark shows
#   airlock_teardown          at exit: the domain NAME destroyed (when
#                             DOMAIN_UP=1; its supervisor needs the store),
#                             then the store (STORE_PID), the namespace
#                             (when NS_MADE=1)
# Guest RAM, for these: the supervisor's memfd ("/memfd:airlock:NAME"),
# mapped by the engine and, as the ivshmem BAR, by the stub QEMU.
AIRLOCK_RAM_RE='memfd:'

store_start() {
	mkdir -p "$1/state"
	export XENSTORED_PATH=$1/store.sock
	"$STORE_BIN" --socket "$1/store.sock" --state "$1/state" 2>"$1/store.log" &
	STORE_PID=$!
	for _ in $(seq 1 100); do
		[ -S "$1/store.sock" ] && return 0
		kill -0 "$STORE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "airlock-store did not start: $(cat "$1/store.log")" >&2
	return 1
}

guest_cfg() {
	local placement=$1 root=$2 append=$3 disks="" d v=(a b c d e f)
	shift 3
	for d in "$@"; do
		disks+="${disks:+, }'format=raw, vdev=xvd${v[0]}, access=rw, target=$d'"
		v=("${v[@]:1}")
	done
	cat <<CFG
name = "$NAME"
memory = 256
vcpus = 1
kernel = "${KERNEL:-$TOP/out/images/vmlinux}"
ramdisk = "$TOP/out/images/initrd.img"
cmdline = "console=ttyS0 root=$root airlock.ip=$GUEST_IP/24${append:+ $append} quiet"
disk = [ $disks ]
vif = [ 'bridge=br0, mac=$GUEST_MAC' ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
CFG
	case $placement in
	qemu) echo 'device_model_version = "qemu"' ;;
	dom0) echo 'device_model_version = "airlock"' ;;
	stub) printf '%s\n' 'device_model_version = "airlock"' 'device_model_stubdomain_override = 1' ;;
	*) echo "guest_cfg: unknown placement $placement" >&2; return 2 ;;
	esac
}

domid_of() { "$AIRLOCK_BIN" list | awk -v n="$1" '$2 == n { print $1 }'; }
rd() { "$AIRLOCK_BIN" read "$1" 2>/dev/null || true; }
uss_noram() { MEM_RAM_RE=$AIRLOCK_RAM_RE mem_uss "$1"; }

# engine_mem PID: the engine's keys (no newline): PSS with and without
# guest RAM, and the guest RAM resident, counted once.
engine_mem() {
	printf 'engine_pss_kib=%s engine_pss_noram_kib=%s guest_ram_rss_kib=%s' "$(mem_pss "$1")" \
		"$(MEM_RAM_RE=$AIRLOCK_RAM_RE mem_pss_noram "$1")" "$(MEM_RAM_RE=$AIRLOCK_RAM_RE mem_ram_rss "$1")"
}

dom_mem() {
	local eng q r
	eng=$(rd "/local/domain/$1/airlock/engine-pid")
	engine_mem "$eng"
	if [ -z "${2:-}" ]; then
		printf ' dm_uss_kib=%s\n' "$(uss_noram "$(rd "/local/domain/$1/airlock/dm-pid")")"
		return 0
	fi
	q=$(rd "/local/domain/$2/airlock/engine-pid")
	r=$(rd "/local/domain/$2/airlock/dm-pid")
	printf ' stubqemu_pss_kib=%s stubqemu_pss_noram_kib=%s stubqemu_uss_kib=%s' "$(mem_pss "$q")" \
		"$(MEM_RAM_RE=$AIRLOCK_RAM_RE mem_pss_noram "$q")" "$(mem_uss "$q")"
	# relay_uss_all: MEM_RAM_RE='^$' matches no mapping, so all are counted.
	printf ' relay_uss_kib=%s relay_uss_all_kib=%s stub_ram_mib=%s\n' "$(uss_noram "$r")" \
		"$(MEM_RAM_RE='^$' mem_uss "$r")" \
		"$(tr '\0' '\n' <"/proc/$q/cmdline" 2>/dev/null | awk 'p { print $1 + 0; exit } $0 == "-m" { p = 1 }')"
}

stub_console_mem() {
	local mt ma
	mt=$(tr -d '\r' <"$1" | sed -n 's/.*memory: .*MemTotal: \([0-9]*\) KiB.*/\1/p' | head -1)
	ma=$(tr -d '\r' <"$1" | sed -n 's/.*MemAvailable: \([0-9]*\) KiB.*/\1/p' | head -1)
	echo "stub_memtotal_kib=${mt:-0} stub_memavail_kib=${ma:-0}"
}

log_tails() {
	local n=$1 f
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "last lines of $(basename "$f"):"
		tail -n "$n" "$f" | tr -d '\r' | sed 's/^/  /'
	done
}

airlock_teardown() {
	[ "${DOMAIN_UP:-0}" = 1 ] && timeout 30 "$AIRLOCK_BIN" destroy "$NAME" >/dev/null 2>&1
	if [ -n "${STORE_PID:-}" ]; then kill -TERM "$STORE_PID" 2>/dev/null; wait "$STORE_PID" 2>/dev/null; fi
	[ "${NS_MADE:-0}" = 1 ] && ip netns del "$NS" 2>/dev/null
	return 0
}
