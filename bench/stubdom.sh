#!/usr/bin/env bash
# bench/stubdom.sh BUILD_DIR [--quick] [--rounds N] [--disk-seconds S] [--net-seconds S]
#
# The device model's two placements side by side, from `airlock create` of
# the same guest, in the same run, interleaved (dom0 stub dom0 stub ...),
# medians and the ratio stub/dom0 reported:
#   dom0  device_model_version = "airlock": airlock-dm a host process;
#   stub  plus device_model_stubdomain_override = 1: airlock-dm inside the
#         guest's stub domain <name>-dm (a TCG VM), airlock-relay in dom0.
#
# Every round creates a fresh guest (1 vCPU, 256 MiB, vmlinux + initrd, a
# fresh copy of rootfs.ext4 as xvda, a 1 GiB raw scratch disk as xvdb,
# written in full once beforehand, one vif on a bridge) and measures:
#   - create -> the guest answers ssh (seconds from just before create);
#   - stub only: the stub QEMU's start (its process start time, from the
#     store's airlock/engine-start, 10 ms ticks) -> airlock-dm's "serving"
#     line in the stub's console log (host clock, log polled every 20 ms);
#     the init's first "[T s]" line's arrival minus T gives QEMU start ->
#     the stub kernel's clock starting, hence the stub's uptime at serving;
#   - ioprobe in the guest on /dev/vdb (O_DIRECT, one request in flight):
#     sequential read and write in 1 MiB blocks, random 4 KiB reads;
#   - iperf3 guest->host and host->guest against the guest's server
#     (airlock.iperf3), the peer in the script's namespace, one TCP stream;
#   - memory, sampled in the middle of the seqread probe and the g2h
#     transfer: the engine's PSS; dom0: airlock-dm's USS; stub: the stub
#     QEMU's PSS and the relay's USS (guest RAM mappings left out), and the
#     stub's own "memory: MemTotal ... MemAvailable" console line.
#
# The guest, its tap and every peer live in a network namespace the script
# makes (br0, 10.78.0.1/24): no traffic leaves this machine. Figures are
# reported, never compared with a threshold in a test.
#   default   N=3 rounds; rewrites docs/bench-stubdom.md (a hand-written
#             "## Analysis" section there survives reruns)
#   --quick   one round, short durations, TAP output, no document
# Needs root (namespace, tap, cgroups).
set -euo pipefail
shopt -s extglob
usage() {
	echo "usage: bench/stubdom.sh BUILD_DIR [--quick] [--rounds N] [--disk-seconds S] [--net-seconds S]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD_ARG=$1
BUILD=$(cd "$1" && pwd) || usage
shift
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0 ROUNDS=3 DSECS=5 NSECS=8
# BENCH_PROFILE=DIR: after the rounds, one more stub guest (not in the
# figures) with perf and strace on the stub QEMU and the relay during a
# disk read and each transfer; the reports go to DIR.
PROF=${BENCH_PROFILE:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ROUNDS=1 DSECS=2 NSECS=3 ;;
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift ;;
	--disk-seconds) DSECS=${2:?}; shift ;;
	--net-seconds) NSECS=${2:?}; shift ;;
	*) usage ;;
	esac
	shift
done
. "$TOP/bench/lib.sh"
STORE_BIN=$BUILD/store/airlock-store
AIRLOCK_BIN=$BUILD/cli/airlock
export AIRLOCK_SUPERVISOR=$BUILD/supervisor/airlock-supervisor
for b in "$STORE_BIN" "$AIRLOCK_BIN" "$AIRLOCK_SUPERVISOR"; do
	[ -x "$b" ] || { echo "bench/stubdom.sh: $b: not built (make build)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench/stubdom.sh: needs root" >&2; exit 1; }
IMG=$TOP/out/images
KERNEL=$IMG/vmlinux
[ -s "$KERNEL" ] || KERNEL=$IMG/vmlinuz
NAME=sdbench
NS=airlock-bsd$$
GUEST_IP=10.78.0.2
BRIDGE_IP=10.78.0.1
GUEST_MAC=00:16:3e:78:00:02
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-300}

D=$(mktemp -d /tmp/airlock-bstub.XXXXXX)
KEY=$D/key
STORE_PID="" WATCH_PID="" DOMAIN_UP=0 NS_MADE=0
export AIRLOCK_RUN_DIR=$D/run AIRLOCK_LOG_DIR=$D/log
mkdir -p "$D/run" "$D/log"

say() { if [ "$QUICK" = 1 ]; then printf '# %s\n' "$*"; else printf '%s\n' "$*" >&2; fi; }
fail() {
	if [ "$QUICK" = 1 ]; then echo "not ok 1 - stubdom bench: $*"; else echo "bench/stubdom.sh: error: $*" >&2; fi
	local l
	log_tails 12 "$AIRLOCK_LOG_DIR/$NAME.console.log" "$AIRLOCK_LOG_DIR/$NAME.log" \
		"$AIRLOCK_LOG_DIR/$NAME-dm.console.log" | while IFS= read -r l; do say "$l"; done
	exit 1
}
cleanup() {
	local rc=$?
	set +e
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
	airlock_teardown
	[ -n "${BENCH_KEEP:-}" ] && echo "kept $D" >&2 || rm -rf "$D"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_ns, in_net (create runs with the namespace's network only), gssh,
# domid_of, rd, elapsed, dom_mem (memory from the store's pids; guest RAM:
# the supervisor's memfd), iperf_run, iperf_line: bench/lib.sh.

# --- preparation --------------------------------------------------------------
bench_images "$D" || fail "images/build.sh"
bash "$TOP/images/stubdom/build.sh" >"$D/stubimg.log" 2>&1 || { tail -20 "$D/stubimg.log" >&2; fail "images/stubdom/build.sh"; }
bench_scratch "$D/scratch.raw"
store_start "$D" || fail "airlock-store did not start"
NS_MADE=1
bench_netns "$BRIDGE_IP/24"

# cfg PLACEMENT: the guest's config (bench/lib.sh's guest_cfg): root on a
# fresh copy of rootfs.ext4 as xvda, the scratch disk as xvdb.
cfg() { guest_cfg "$1" /dev/vda "airlock.hostname=$NAME airlock.iperf3" "$D/root.ext4" "$D/scratch.raw"; }

# watch_serving FILE: polls the stub's console log FILE every 20 ms; writes
# the host's epoch time to $D/init.at when the init's first line shows up
# and to $D/serving.at when airlock-dm's "stub: serving" line does.
watch_serving() {
	local f=$1
	for _ in $(seq 1 $((BOOT_TIMEOUT * 50))); do
		if [ ! -s "$D/init.at" ] && [ -f "$f" ] && grep -aq 'airlock-stubdom: \[' "$f"; then
			echo "$EPOCHREALTIME" >"$D/init.at"
		fi
		if [ -f "$f" ] && grep -aq 'stub: serving' "$f"; then
			echo "$EPOCHREALTIME" >"$D/serving.at"
			return 0
		fi
		sleep 0.02
	done
}

# epoch_of_ticks TICKS: a process start time (clock ticks since boot) as
# epoch seconds.
epoch_of_ticks() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" '$1 == "btime" { printf "%.3f", $2 + t / hz }' /proc/stat
}

# stub_times: appends "qemu_to_serving_s= uptime_at_serving_s= qemu_to_kernel_s=
# stub_memtotal_kib= stub_memavail_kib=" for the stub domain just created.
stub_times() {
	local sid=$1 log="$AIRLOCK_LOG_DIR/$NAME-dm.console.log" ticks qstart seen init up up0
	ticks=$(rd "/local/domain/$sid/airlock/engine-start")
	qstart=$(epoch_of_ticks "$ticks")
	for _ in $(seq 1 300); do [ -s "$D/serving.at" ] && break; sleep 0.1; done
	seen=$(cat "$D/serving.at" 2>/dev/null || echo "")
	init=$(cat "$D/init.at" 2>/dev/null || echo "")
	up0=$(tr -d '\r' <"$log" | sed -n 's/^airlock-stubdom: \[\([0-9.]*\)s\].*/\1/p' | head -1)
	# The uptime stamp: airlock-dm's own lines carry none; the init's first
	# "[T s]" line after the serving line (its state/memory lines, written
	# half a second after airlock-dm started) or, failing that, the last
	# stamp before it.
	up=$(tr -d '\r' <"$log" | awk '
		/\[[0-9.]+s\]/ { match($0, /\[[0-9.]+s\]/); t = substr($0, RSTART + 1, RLENGTH - 3)
			if (served && after == "") after = t; last = t }
		/stub: serving/ && !served { served = 1; before = last }
		END { print before, after }')
	set -- $up
	# restored=1: the stub was restored from a template (its first line is
	# the wake line; its kernel clock started in the template).
	local restored=0
	tr -d '\r' <"$log" | grep -aq 'woken from the template' && restored=1
	echo "restored=$restored qemu_to_serving_s=$(elapsed "$qstart" "${seen:-$qstart}") qemu_to_init_s=$(elapsed "$qstart" "${init:-$qstart}") uptime_at_init_s=${up0:-0} uptime_before_serving_s=${1:-0} uptime_after_serving_s=${2:-0} $(stub_console_mem "$log")"
}

# sample_mem PLACEMENT ROUND WHAT GUEST_DOMID STUB_DOMID
sample_mem() {
	echo "placement=$1 round=$2 during=$3 $(dom_mem "$4" ${5:+"$5"})" >>"$D/mem"
	if [ "$1" = stub ]; then
		local q r
		q=$(rd "/local/domain/$5/airlock/engine-pid")
		r=$(rd "/local/domain/$5/airlock/dm-pid")
		[ -f "$D/stubqemu.maps" ] || awk '{ print $2, $6 }' "/proc/$q/maps" >"$D/stubqemu.maps" 2>/dev/null || true
		[ -f "$D/relaymaps.txt" ] || cp "/proc/$r/maps" "$D/relaymaps.txt" 2>/dev/null || true
	fi
	return 0
}

# iperf_once ARGS...: one iperf3 run from the namespace into $D/iperf.json
# (bench/lib.sh's iperf_run: retried while the guest's server is not
# listening yet).
iperf_once() { iperf_run "$D/iperf.json" "$GUEST_IP" "$NSECS" "$@"; }

# one_run PLACEMENT ROUND
one_run() {
	local p=$1 r=$2 t0 t_create t_ssh domid sid="" extra="" m
	cp --sparse=always "$IMG/rootfs.ext4" "$D/root.ext4"
	cfg "$p" >"$D/$NAME.cfg"
	rm -f "$AIRLOCK_LOG_DIR"/* "$D/serving.at" "$D/init.at"
	if [ "$p" = stub ]; then
		watch_serving "$AIRLOCK_LOG_DIR/$NAME-dm.console.log" &
		WATCH_PID=$!
	fi
	local load
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$EPOCHREALTIME
	DOMAIN_UP=1
	in_net "$AIRLOCK_BIN" create "$D/$NAME.cfg" >"$D/create.out" 2>&1 ||
		fail "$p round $r: airlock create: $(cat "$D/create.out")"
	t_create=$EPOCHREALTIME
	local deadline=$((SECONDS + BOOT_TIMEOUT))
	until gssh true 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$p round $r: no ssh after $BOOT_TIMEOUT s"
		sleep 0.2
	done
	t_ssh=$EPOCHREALTIME
	domid=$(domid_of "$NAME")
	if [ "$p" = stub ]; then
		sid=$(domid_of "$NAME-dm")
		extra=$(stub_times "$sid")
		WATCH_PID=""
	fi
	echo "placement=$p round=$r what=boot create_s=$(elapsed "$t0" "$t_create") ssh_s=$(elapsed "$t0" "$t_ssh") load1=$load $extra" >>"$D/raw"
	say "$p round $r: ssh after $(elapsed "$t0" "$t_ssh") s $extra"
	# Disk: ioprobe on the scratch disk, memory halfway through seqread.
	for m in seqread seqwrite randread; do
		gssh ioprobe "$m" /dev/vdb "$DSECS" >"$D/probe.out" 2>&1 &
		local pp=$!
		if [ "$m" = seqread ]; then
			sleep "$(awk -v s="$DSECS" 'BEGIN { print 1 + s / 2 }')"
			sample_mem "$p" "$r" disk "$domid" "$sid"
		fi
		wait "$pp" || fail "$p round $r: ioprobe $m: $(cat "$D/probe.out")"
		echo "placement=$p round=$r what=disk $(grep mode= "$D/probe.out")" >>"$D/raw"
	done
	# Network: guest->host (-R) and host->guest.
	for dir in g2h h2g; do
		local rev=()
		[ "$dir" = g2h ] && rev=(-R)
		iperf_once "${rev[@]}" &
		local ip=$!
		if [ "$dir" = g2h ]; then
			sleep "$(awk -v s="$NSECS" 'BEGIN { print 2 + s / 2 }')"
			sample_mem "$p" "$r" net "$domid" "$sid"
		fi
		wait "$ip" || { cat "$D/iperf.json" >&2; fail "$p round $r: iperf3 $dir"; }
		iperf_line "$D/iperf.json" "placement=$p round=$r what=net dir=$dir" >>"$D/raw"
		sleep 0.5
	done
	[ "$p" = stub ] && cp "$AIRLOCK_LOG_DIR/$NAME-dm.console.log" "$D/stubcon-$r.log"
	"$AIRLOCK_BIN" destroy "$NAME" >/dev/null 2>&1 || fail "$p round $r: airlock destroy"
	DOMAIN_UP=0
	[ -z "$("$AIRLOCK_BIN" list | tail -n +2)" ] || fail "$p round $r: domains left after destroy"
}

# cpu_ticks PID...: utime+stime of each PID, space-separated.
cpu_ticks() { local p; for p in "$@"; do awk '{ printf "%d ", $14 + $15 }' "/proc/$p/stat" 2>/dev/null || printf '0 '; done; echo; }
# prof PHASE STUBQEMU RELAY ENGINE: 4 s of perf on the stub QEMU, strace -c
# on the relay and the CPU each of the three used, while PHASE runs.
prof() {
	local ph=$1 q=$2 rl=$3 e=$4 a b
	mkdir -p "$PROF"
	a=$(cpu_ticks "$q" "$rl" "$e")
	timeout -s INT 4 strace -c -f -p "$rl" -o "$PROF/$ph.relay.strace" 2>/dev/null &
	local sp=$!
	perf record -q -p "$q" -o "$D/perf.data" -- sleep 4 >/dev/null 2>&1 || true
	wait "$sp" || true
	b=$(cpu_ticks "$q" "$rl" "$e")
	echo "$ph: CPU over ~4 s (ticks of $(getconf CLK_TCK)/s): stub QEMU / relay / engine: $(paste -d- <(tr ' ' '\n' <<<"$b") <(tr ' ' '\n' <<<"$a") | head -3 | bc | tr '\n' ' ')" >>"$PROF/cpu.txt"
	perf report -i "$D/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -v '^$' | grep -E '^ +[0-9]' | head -40 >"$PROF/$ph.stubqemu.perf" || true
	perf report -i "$D/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -10 >"$PROF/$ph.stubqemu.dso" || true
}
profile_run() {
	local domid sid q rl e
	cp --sparse=always "$IMG/rootfs.ext4" "$D/root.ext4"
	cfg stub >"$D/$NAME.cfg"
	rm -f "$AIRLOCK_LOG_DIR"/*
	DOMAIN_UP=1
	in_net "$AIRLOCK_BIN" create "$D/$NAME.cfg" >"$D/create.out" 2>&1 || fail "profile: airlock create"
	local deadline=$((SECONDS + BOOT_TIMEOUT))
	until gssh true 2>/dev/null; do [ "$SECONDS" -lt "$deadline" ] || fail "profile: no ssh"; sleep 0.2; done
	domid=$(domid_of "$NAME") sid=$(domid_of "$NAME-dm")
	q=$(rd "/local/domain/$sid/airlock/engine-pid") rl=$(rd "/local/domain/$sid/airlock/dm-pid")
	e=$(rd "/local/domain/$domid/airlock/engine-pid")
	gssh ioprobe seqread /dev/vdb 7 >/dev/null & local pp=$!
	sleep 1.5; prof seqread "$q" "$rl" "$e"; wait "$pp" || true
	local NSECS=8
	iperf_once -R & pp=$!; sleep 2.5; prof g2h "$q" "$rl" "$e"; wait "$pp" || true
	cp "$D/iperf.json" "$PROF/g2h.iperf.json"
	sleep 0.5
	iperf_once & pp=$!; sleep 2.5; prof h2g "$q" "$rl" "$e"; wait "$pp" || true
	cp "$D/iperf.json" "$PROF/h2g.iperf.json"
	cp "$AIRLOCK_LOG_DIR/$NAME-dm.console.log" "$PROF/stub.console.log"
	"$AIRLOCK_BIN" destroy "$NAME" >/dev/null 2>&1 || fail "profile: airlock destroy"
	DOMAIN_UP=0
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	for p in dom0 stub; do one_run "$p" "$r"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

table=$(/usr/bin/python3 - "$D/raw" "$D/mem" <<'PY'
import sys, statistics as st
def rows(p):
    return [dict(kv.split('=', 1) for kv in l.split()) for l in open(p) if l.strip()]
R, M = rows(sys.argv[1]), rows(sys.argv[2])
def med(src, p, key, **f):
    v = [float(r[key]) for r in src if r['placement'] == p and key in r and all(r.get(k) == x for k, x in f.items())]
    return st.median(v) if v else None
def fmt(x, d=1):
    return '—' if x is None else f"{x:.{d}f}"
def ratio(s, d):
    return '—' if s is None or not d else f"{s / d:.2f}×"
lines = ['| figure | dom0 (median) | stub (median) | stub / dom0 | goal | met |', '|---|--:|--:|--:|--:|:-:|']
def row(name, key, src, goal, d=1, lower_better=False, **f):
    a, b = med(src, 'dom0', key, **f), med(src, 'stub', key, **f)
    rr = None if a is None or b is None or not a else b / a
    met = ''
    if goal is not None and rr is not None:
        met = 'yes' if (rr <= goal if lower_better else rr >= goal) else f"no ({(rr / goal - 1) * 100:+.0f}%)"
    g = '' if goal is None else (f"≤ {goal:.2f}×" if lower_better else f"≥ {goal:.2f}×")
    lines.append(f"| {name} | {fmt(a, d)} | {fmt(b, d)} | {ratio(b, a)} | {g} | {met} |")
row('create → ssh answers, s', 'ssh_s', R, 1.05, 2, True, what='boot')
row('`airlock create` returned, s', 'create_s', R, None, 2, True, what='boot')
row('seq read 1 MiB O_DIRECT, MiB/s', 'mib_per_s', R, 0.8, 1, mode='seqread')
row('seq write 1 MiB O_DIRECT, MiB/s', 'mib_per_s', R, 0.8, 1, mode='seqwrite')
row('rand read 4 KiB, IOPS', 'iops', R, 0.8, 0, mode='randread')
row('iperf3 guest→host, Mbit/s', 'mbit_per_s', R, 0.7, 0, dir='g2h')
row('iperf3 host→guest, Mbit/s', 'mbit_per_s', R, 0.7, 0, dir='h2g')
print('\n'.join(lines))
print()
s = lambda k: med(R, 'stub', k, what='boot')
q2s, ub, ua = s('qemu_to_serving_s'), s('uptime_before_serving_s'), s('uptime_after_serving_s')
q2i, ui = s('qemu_to_init_s'), s('uptime_at_init_s')
ua = ua or None
restored = s('restored')
restored = restored is not None and restored >= 0.5
# A restored stub's kernel clock started in the template, not in this QEMU.
k0 = None if restored or q2i is None or ui is None else q2i - ui
met = '—' if q2s is None else ('yes' if q2s <= 0.5 else f"no: {q2s:.2f} s, {q2s - 0.5:.2f} s over ({q2s / 0.5:.1f}× the goal)")
print('| stub start-up (medians) | s |')
print('|---|--:|')
print(f"| stub QEMU process start → airlock-dm's \"serving\" line in the stub's console log (host clock) | {fmt(q2s, 2)} |")
print(f"| how the stub domains started | {'restored from a template (supervisor/stubsnap.c)' if restored else 'booted'} |")
print(f"| stub QEMU process start → the init's first line in the log (host clock; {'the wake line' if restored else 'init started'}) | {fmt(q2i, 2)} |")
print(f"| the stub kernel's uptime stamp on that line | {fmt(ui, 2)} |")
print(f"| QEMU start → the stub kernel's clock starting (the two lines above: QEMU's own start-up, firmware-less PVH entry, early kernel before its clock) | {fmt(k0, 2)} |")
print(f"| the stub kernel's uptime at airlock-dm's \"serving\" line: from the host clock (serving − kernel clock start) | {fmt(None if k0 is None or q2s is None else q2s - k0, 2)} |")
print(f"| … bracketed by the init's stamps: last before the line / first after it | {fmt(ub, 2)} / {fmt(ua, 2)} |")
print(f"| goal: serving ≤ 0.5 s after the stub QEMU starts | {met} |")
print()
mib = lambda k: None if k is None else k / 1024
print('| memory, MiB (medians over the samples, taken while loaded) | dom0 | stub | stub / dom0 |')
print('|---|--:|--:|--:|')
def mrow(name, pd, ps, kd, ks):
    a = mib(med(M, 'dom0', kd)) if kd else None
    b = mib(med(M, 'stub', ks)) if ks else None
    print(f"| {name} | {fmt(a)} | {fmt(b)} | {ratio(b, a) if pd and ps else ''} |")
mrow('engine (guest\'s QEMU) PSS, all', 1, 1, 'engine_pss_kib', 'engine_pss_kib')
mrow('engine PSS without guest RAM', 1, 1, 'engine_pss_noram_kib', 'engine_pss_noram_kib')
mrow('airlock-dm USS (host process), guest RAM left out', 0, 0, 'dm_uss_kib', None)
mrow('stub domain QEMU PSS, all (its 32 MiB of RAM and the guest RAM pages it touched)', 0, 0, None, 'stubqemu_pss_kib')
mrow('stub domain QEMU PSS without the guest RAM it maps (ivshmem BAR)', 0, 0, None, 'stubqemu_pss_noram_kib')
mrow('stub domain QEMU USS', 0, 0, None, 'stubqemu_uss_kib')
mrow('airlock-relay USS, guest RAM left out', 0, 0, None, 'relay_uss_kib')
mrow('airlock-relay USS, everything', 0, 0, None, 'relay_uss_all_kib')
d = mib(med(M, 'dom0', 'dm_uss_kib'))
sd = [mib(med(M, 'stub', k)) for k in ('stubqemu_pss_noram_kib', 'relay_uss_kib')]
if d and all(x is not None for x in sd):
    print(f"| the device model's cost: dom0 airlock-dm USS vs stub QEMU PSS without guest RAM + relay USS | {fmt(d)} | {fmt(sum(sd))} | {sum(sd) / d:.1f}× |")
mt, ma = med(R, 'stub', 'stub_memtotal_kib', what='boot'), med(R, 'stub', 'stub_memavail_kib', what='boot')
print(f"| the stub's own view (console \"memory:\" line, 0.5 s after airlock-dm started): MemTotal / MemAvailable | | {fmt(mib(mt))} / {fmt(mib(ma))} | |")
PY
)
if [ "$QUICK" = 1 ]; then
	n=0
	while read -r line; do
		n=$((n + 1))
		echo "ok $n - stubdom bench ran: $line"
	done < <(awk '{ print $1, $3, $4, $5, $6 }' "$D/raw")
	echo "1..$n"
	echo "$table" | sed 's/^/# /'
	[ -z "$PROF" ] || profile_run
	exit 0
fi
echo "$table"
DOC=$TOP/docs/bench-stubdom.md
{
	echo "# Stub-domain benchmark: airlock-dm in dom0 and in the stub domain"
	echo
	echo "Measured by \`bench/stubdom.sh $BUILD_ARG\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$TOP" rev-parse --short HEAD)."
	echo
	echo "- Machine: $(machine_desc), shared with other work. Load average (1/5/15 min) before the run: $LOAD0; after: $LOAD1 (each boot's 1-minute figure is in the raw runs)."
	echo "- Accelerator: $("$AIRLOCK_BIN" info 2>/dev/null | awk '/^accelerator:/ { print $2 }') for the guest; the stub domain always runs under TCG. QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'); iperf3 $(iperf3 --version | head -1 | awk '{print $2}')."
	echo "- Guest: airlock's image (out/images, $(awk '/linux-image-[0-9]/ {print $2, $3; exit}' "$IMG/manifest.txt")), created with \`airlock create\` (build/cli/airlock, a private airlock-store): 1 vCPU, 256 MiB, $(basename "$KERNEL") + initrd, a fresh copy of rootfs.ext4 as xvda, a 1 GiB raw scratch file (written in full beforehand) as xvdb (/dev/vdb in the guest), one vif on a bridge in a network namespace the script makes. Placements: \`device_model_version = \"airlock\"\` (dom0: airlock-dm a host process) and the same plus \`device_model_stubdomain_override = 1\` (stub: airlock-dm in the stub domain $NAME-dm, TCG, 32 MiB; airlock-relay in dom0)."
	echo "- create → ssh: from just before \`airlock create\` to the first \`ssh root@guest true\` that succeeds (polled every 0.2 s)."
	echo "- Stub start-up: the stub QEMU's start is its process start time (\`airlock/engine-start\` in the stub domain's store record: /proc start ticks, 10 ms resolution); the \"serving\" line is airlock-dm's \`stub: serving N device(s)\` in \`<log dir>/$NAME-dm.console.log\`, seen by a host loop polling the log every 20 ms (so up to ~20 ms late, plus the console path's own delay: the stub's emulated serial port, then the supervisor). The same loop notes when the init's first \`airlock-stubdom: [T s]\` line arrives: its arrival minus its stamp T is QEMU start → the stub kernel's clock starting, and the serving line's arrival minus that is the stub kernel's uptime at the serving line (airlock-dm's lines carry no stamp of their own; the init's stamps around the line bound it from below)."
	echo "- Disk: ioprobe (images/tools/ioprobe.c) in the guest on /dev/vdb, O_DIRECT, one request in flight: sequential read and write in 1 MiB blocks, random 4 KiB reads, $DSECS s each."
	echo "- Network: iperf3 from the namespace against the guest's \`iperf3 -s\` (airlock.iperf3), one TCP stream, $NSECS s after 1 s omitted, the receiver's figure; guest→host with -R."
	echo "- Memory: sampled in the middle of the seqread probe and of the guest→host transfer (bench/mem.sh). PSS: smaps_rollup; USS: Private_Clean + Private_Dirty over smaps, guest RAM mappings (the supervisor's memfd, mapped by the engine and, as the ivshmem BAR, by the stub QEMU; the relay maps none) left out where said. Processes from the store: the engine \`/local/domain/<guest>/airlock/engine-pid\`, airlock-dm \`.../dm-pid\` (dom0); the stub QEMU \`/local/domain/<stub>/airlock/engine-pid\`, the relay \`.../dm-pid\`."
	echo "- $ROUNDS rounds, placements interleaved (dom0 stub dom0 stub …), a fresh guest each; medians. Goals: stub ≥ 0.8× dom0 on disk, ≥ 0.7× on network, create → ssh ≤ 1.05× dom0, stub serving ≤ 0.5 s after its QEMU starts."
	echo
	echo "$table"
	echo
	doc_analysis "$DOC"
	echo "## Raw runs"
	echo
	echo '```'
	cat "$D/raw"
	echo
	cat "$D/mem"
	echo '```'
	echo
	echo "The stub's console, last round (airlock-stubdom and airlock-dm lines):"
	echo
	echo '```'
	tr -d '\r' <"$D/stubcon-$ROUNDS.log" | grep -a 'airlock-stubdom\|airlock-dm\|serving' | grep -v 'dm-argv\[' | head -25
	echo '```'
} >"$DOC.new" && mv "$DOC.new" "$DOC"
echo "wrote docs/bench-stubdom.md"
[ -z "$PROF" ] || { profile_run; echo "profile in $PROF"; }
