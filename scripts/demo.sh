#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR — what `make demo` runs: one guest's life under
# airlock, from the store to a destroyed domain.
#
#   1. starts airlock-store on a private socket and uses a couple of store verbs
#   2. builds (or reuses, cached) the guest images with images/build.sh
#   3. makes a network namespace with a bridge br0 (10.77.0.1/24): the guest's
#      tap, the ssh client and the iperf3 client all live there, so no demo
#      traffic leaves this machine
#   4. writes a guest config (direct kernel boot of vmlinux, a copy of
#      rootfs.ext4 as the root disk, a vif on br0) and runs `airlock create`
#   5. shows the guest's console live (`airlock console`) until the guest
#      prints its ready banner, then `airlock list` and the domain's records
#   6. over ssh from the namespace: a disk check (dd a file, sync, drop the
#      page cache, read it back, compare checksums; df and the root mount) and
#      a network check (ping the bridge from the guest, iperf3 both ways)
#   7. prints a summary, destroys the guest, shows that `airlock list` is
#      empty, stops the store and deletes the namespace
#
# Needs root (network namespaces, taps, cgroups). Every step is announced
# with an "== step" line; the script exits non-zero as soon as a step fails,
# and a trap removes the guest, the store, the namespace and the temporary
# directory whatever happens.
#
# Environment: DEMO_BOOT_TIMEOUT (seconds to the ready banner, default 300),
# DEMO_IPERF_SECONDS (per direction, default 4), DEMO_QUIET=0 (show the
# kernel's boot messages on the console too, not only airlock's),
# DEMO_KEEP=1 (keep the demo's directory, with its logs and both consoles').
set -euo pipefail
shopt -s extglob

BUILD=${1:?usage: scripts/demo.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STORE_BIN=$BUILD/store/airlock-store
AIRLOCK_BIN=$BUILD/cli/airlock
SUPERVISOR_BIN=$BUILD/supervisor/airlock-supervisor
IMG=$TOP/out/images
BOOT_TIMEOUT=${DEMO_BOOT_TIMEOUT:-300}
IPERF_SECONDS=${DEMO_IPERF_SECONDS:-4}
NAME=demo
NS=airlock-demo-$$
GUEST_IP=10.77.0.2
BRIDGE_IP=10.77.0.1

D=""          # temporary directory: store socket and state, run dir, logs, disk
STORE_PID=""  # airlock-store
CONSOLE_PID="" # the background `airlock console`
SUP_PID=""    # the domain's supervisor, once created (fallback for cleanup)
DOMAIN_UP=0   # 1 while the demo guest may exist
NS_MADE=0

step() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
# run CMD...: echoes a command, then runs it (output indented).
run() {
	echo "\$ $*"
	"$@"
}
# airlock ARGS...: the CLI, echoed like a typed command.
airlock() {
	echo "\$ airlock $*"
	"$AIRLOCK_BIN" "$@"
}
die() {
	echo "demo: FAILED: $*" >&2
	if [ -n "$D" ] && [ -s "$D/log/$NAME.console.log" ]; then
		echo "demo: last lines of the guest's console log:" >&2
		tail -n 15 "$D/log/$NAME.console.log" | tr -d '\r' | sed 's/^/  console: /' >&2
	fi
	if [ -n "$D" ] && [ -s "$D/log/$NAME.log" ]; then
		echo "demo: supervisor log:" >&2
		tail -n 15 "$D/log/$NAME.log" | sed 's/^/  supervisor: /' >&2
	fi
	if [ -n "$D" ] && [ -s "$D/store.log" ]; then
		tail -n 10 "$D/store.log" | sed 's/^/  store: /' >&2
	fi
	exit 1
}

# cleanup: runs on every exit. Order matters: the domain goes first (its
# supervisor needs the store to remove its records), then the store, then
# the namespace (the guest's tap lives in it), then the files.
cleanup() {
	local rc=$?
	set +e
	if [ -n "$CONSOLE_PID" ]; then
		kill "$CONSOLE_PID" 2>/dev/null
		wait "$CONSOLE_PID" 2>/dev/null
	fi
	if [ "$DOMAIN_UP" -eq 1 ]; then
		echo "demo: cleanup: destroying $NAME" >&2
		if ! timeout 30 "$AIRLOCK_BIN" destroy "$NAME" >/dev/null 2>&1 && [ -n "$SUP_PID" ]; then
			# No store or no answer: SIGTERM makes the supervisor destroy
			# the domain itself (engine, tap, RAM, cgroup).
			kill -TERM "$SUP_PID" 2>/dev/null
			for _ in $(seq 1 50); do kill -0 "$SUP_PID" 2>/dev/null || break; sleep 0.1; done
		fi
	fi
	if [ -n "$STORE_PID" ]; then
		kill -TERM "$STORE_PID" 2>/dev/null
		wait "$STORE_PID" 2>/dev/null
	fi
	[ "$NS_MADE" -eq 1 ] && ip netns del "$NS" 2>/dev/null
	[ -n "$D" ] && [ -z "${DEMO_KEEP:-}" ] && rm -rf "$D"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# now: seconds since the epoch with microseconds; since T0: elapsed seconds.
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# in_ns CMD...: runs CMD in the demo's namespace (network, mount and sysfs).
in_ns() { ip netns exec "$NS" "$@"; }
# in_net CMD...: joins only the namespace's network. `airlock create` runs
# this way: `ip netns exec` would also give the supervisor it starts a
# private /sys without the cgroup mounts.
in_net() { nsenter --net=/run/netns/"$NS" "$@"; }
# gssh CMD: runs CMD in the guest as root, over ssh from the namespace.
gssh() {
	in_ns ssh -q -i "$D/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o BatchMode=yes root@"$GUEST_IP" "$@"
}
store_up() {
	[ -S "$D/store.sock" ] || { kill -0 "$STORE_PID" 2>/dev/null || die "airlock-store exited"; false; }
}
domid_of() { "$AIRLOCK_BIN" list | awk -v n="$1" '$2 == n { print $1 }'; }

# follow_console FILE PID: prints FILE's lines as they arrive ("  | " in
# front, carriage returns and terminal escapes removed) until the guest's
# ready banner, BOOT_TIMEOUT, or the console process PID ending. Sets
# READY_AT (epoch seconds) when the banner shows up.
follow_console() {
	local file=$1 pid=$2 deadline=$((SECONDS + BOOT_TIMEOUT)) fd="" part line buf=""
	exec {fd}<"$file" || return 1
	while :; do
		if IFS= read -r -u "$fd" part; then
			line=$buf$part
			buf=""
			line=${line//$'\r'/}
			line=${line//$'\e'\[*([0-9;?])[A-Za-z]/}
			printf '  | %s\n' "$line"
			if [[ $line == *"airlock-guest: ready"* ]]; then
				READY_AT=$EPOCHREALTIME
				exec {fd}<&-
				return 0
			fi
			continue
		fi
		buf+=$part # a partial line: keep it until its newline arrives
		if [ "$SECONDS" -ge "$deadline" ]; then
			exec {fd}<&-
			echo "demo: no ready banner after $BOOT_TIMEOUT s" >&2
			return 1
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			exec {fd}<&-
			echo "demo: the console ended before the ready banner (the domain is gone?)" >&2
			return 1
		fi
		sleep 0.05
	done
}

# --- preflight ---------------------------------------------------------------
for bin in "$STORE_BIN" "$AIRLOCK_BIN" "$SUPERVISOR_BIN"; do
	[ -x "$bin" ] || die "$bin is missing (run: make build)"
done
[ "$(id -u)" -eq 0 ] || die "the guest part needs root (network namespace, tap, cgroups)"
for c in ip nsenter ssh iperf3 sha256sum qemu-system-x86_64; do
	command -v "$c" >/dev/null || die "$c is not installed (run: make setup)"
done
export AIRLOCK_SUPERVISOR=$SUPERVISOR_BIN

D=$(mktemp -d /tmp/airlock-demo.XXXXXX)
# Private run and log directories: the demo never touches /run/airlock or
# another store's domains.
export XENSTORED_PATH=$D/store.sock AIRLOCK_RUN_DIR=$D/run AIRLOCK_LOG_DIR=$D/log
mkdir -p "$D/state" "$D/run" "$D/log"

# --- 1. the store ------------------------------------------------------------
step "starting airlock-store on $XENSTORED_PATH"
"$STORE_BIN" --socket "$D/store.sock" --state "$D/state" 2>"$D/store.log" &
STORE_PID=$!
wait_for 10 store_up || die "airlock-store did not create its socket"
note "airlock-store running (pid $STORE_PID)"

step "a couple of store verbs"
airlock write /demo/greeting "hello from airlock" /demo/answer 42 || die "airlock write"
airlock read /demo/greeting /demo/answer || die "airlock read"
airlock ls -r /demo || die "airlock ls"
airlock rm /demo || die "airlock rm"

# --- 2. images -----------------------------------------------------------------
step "guest images (images/build.sh: Debian packages, cached by their inputs)"
bash "$TOP/images/build.sh" 2>&1 | sed 's/^/  /' || die "images/build.sh failed"
# The uncompressed vmlinux (PVH entry) boots about twice as fast under TCG
# as vmlinuz, whose decompression runs on the emulated CPU; the images keep
# vmlinuz for when no vmlinux could be made.
KERNEL=$IMG/vmlinux
[ -s "$KERNEL" ] || KERNEL=$IMG/vmlinuz
for f in "$(basename "$KERNEL")" initrd.img rootfs.ext4 id_ed25519; do
	[ -s "$IMG/$f" ] || die "$IMG/$f is missing after images/build.sh"
done
grep -E '^(kernel|built):' "$IMG/manifest.txt" | sed 's/^/  /'

step "host: which accelerator airlock chose"
"$AIRLOCK_BIN" info | grep -E '^(accelerator|reason|qemu):' | sed 's/^/  /' ||
	die "airlock info"

# --- 3. network ----------------------------------------------------------------
step "network namespace $NS with bridge br0 ($BRIDGE_IP/24)"
run ip netns add "$NS" || die "ip netns add"
NS_MADE=1
in_ns ip link set lo up
in_ns ip link add br0 type bridge
in_ns ip addr add "$BRIDGE_IP/24" dev br0
in_ns ip link set br0 up
in_ns ip -br addr show br0 | sed 's/^/  /'

# --- 4. config and create -----------------------------------------------------------
step "guest config ($D/$NAME.cfg)"
cp --sparse=always "$IMG/rootfs.ext4" "$D/$NAME-root.ext4"
cp "$IMG/id_ed25519" "$D/key"
chmod 600 "$D/key"
quiet=" quiet"
[ "${DEMO_QUIET:-1}" = 0 ] && quiet=""
cat >"$D/$NAME.cfg" <<CFG
# The demo guest: Debian's kernel ($(basename "$KERNEL")) booted directly, a private copy of
# rootfs.ext4 as its root disk, one NIC on br0 in the demo's namespace; both
# served by airlock-dm, the device model, inside the guest's stub domain
# $NAME-dm (a tiny Linux VM; the seed's Linux stub domain).
name = "$NAME"
memory = 256
vcpus = 1
kernel = "$KERNEL"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda airlock.hostname=$NAME airlock.ip=$GUEST_IP/24 airlock.iperf3$quiet"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$D/$NAME-root.ext4' ]
vif = [ 'bridge=br0, mac=00:16:3e:77:00:02' ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
device_model_version = "airlock"
device_model_stubdomain_override = 1
CFG
sed 's/^/  /' "$D/$NAME.cfg"

step "airlock create (inside the namespace's network, so the tap joins br0)"
T0=$(now)
DOMAIN_UP=1
echo "\$ airlock create $D/$NAME.cfg"
in_net "$AIRLOCK_BIN" create "$D/$NAME.cfg" || die "airlock create"
CREATED_S=$(since "$T0")
DOMID=$(domid_of "$NAME")
[ -n "$DOMID" ] || die "$NAME is not in airlock list after create"
SUP_PID=$("$AIRLOCK_BIN" read "/local/domain/$DOMID/airlock/owner-pid" 2>/dev/null || true)
note "create returned after $CREATED_S s (domain $DOMID, supervisor pid ${SUP_PID:-?})"

step "console until the ready banner (airlock console $NAME, in the background)"
# The supervisor keeps a ring buffer, so attaching after create loses
# nothing. stdin is /dev/null: the console only shows output. The file is
# made first so that follow_console can open it at once.
: >"$D/console.out"
"$AIRLOCK_BIN" console "$NAME" </dev/null >"$D/console.out" 2>&1 &
CONSOLE_PID=$!
READY_AT=""
follow_console "$D/console.out" "$CONSOLE_PID" || die "the guest did not become ready"
READY_S=$(awk -v a="$T0" -v b="$READY_AT" 'BEGIN { printf "%.1f", b - a }')
kill "$CONSOLE_PID" 2>/dev/null
wait "$CONSOLE_PID" 2>/dev/null || true
CONSOLE_PID=""
note "create -> ready banner: $READY_S s"

# --- 5. list and records ------------------------------------------------------------
step "airlock list"
airlock list || die "airlock list"

step "the device model: airlock-dm in the stub domain $NAME-dm"
SID=$(domid_of "$NAME-dm")
[ -n "$SID" ] || die "no stub domain $NAME-dm in airlock list"
STUBQ=$("$AIRLOCK_BIN" read "/local/domain/$SID/airlock/engine-pid" 2>/dev/null || true)
RELAY=$("$AIRLOCK_BIN" read "/local/domain/$SID/airlock/dm-pid" 2>/dev/null || true)
ENG_PID=$("$AIRLOCK_BIN" read "/local/domain/$DOMID/airlock/engine-pid" 2>/dev/null || true)
echo "  the stub domain's QEMU, the relay and the guest's engine on the host:"
ps -o pid,user,rss,args -p "$STUBQ,$RELAY,$ENG_PID" | cut -c1-150 | sed 's/^/  /'
echo "  the first lines of the guest's console ($NAME):"
"$AIRLOCK_BIN" log "$NAME" | grep -a . | head -4 | sed 's/^/  | /'
echo "  the first lines of the stub domain's console ($NAME-dm):"
"$AIRLOCK_BIN" log "$NAME-dm" | grep -a "airlock-stubdom\|airlock-dm" | head -6 | sed 's/^/  | /'
if ls -l "/proc/$ENG_PID/fd" | grep -qE "ext4|/dev/net/tun"; then
	die "the engine holds the image or the tap"
fi
note "engine: no image file, no tap; its devices are served from the stub domain through the relay"

step "the domain's records in the store"
airlock ls -r "/local/domain/$DOMID" || die "airlock ls"

# --- 6. ssh, disk, network ------------------------------------------------------------
step "ssh into the guest from the namespace"
wait_for 60 gssh true || die "the guest does not answer ssh"
SSH_S=$(since "$T0")
echo "\$ ssh root@$GUEST_IP 'uname -r; hostname; grep -m1 \"model name\" /proc/cpuinfo'"
gssh 'uname -r; hostname; grep -m1 "model name" /proc/cpuinfo' | sed 's/^/  /' || die "ssh"
note "create -> ssh answers: $SSH_S s"

step "disk check: write 16 MiB with dd, sync, drop the page cache, read back"
# The checksum of the bytes as written (tee) against the checksum of the
# file read back from the virtio disk after the guest dropped its caches.
DISK_OUT=$(gssh 'set -e
	echo "root: $(grep " / " /proc/mounts)"
	dd if=/dev/urandom bs=1M count=16 2>/dev/null | tee /root/demo.bin | sha256sum | cut -d" " -f1 >/root/demo.sum
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo "written:   $(cat /root/demo.sum)"
	echo "read back: $(sha256sum /root/demo.bin | cut -d" " -f1)"
	ls -l /root/demo.bin
	df -h /') || die "the disk check did not run"
sed 's/^/  /' <<<"$DISK_OUT"
w=$(awk '/^written:/ { print $2 }' <<<"$DISK_OUT")
r=$(awk '/^read back:/ { print $3 }' <<<"$DISK_OUT")
if [ -z "$w" ] || [ "$w" != "$r" ]; then
	die "disk check: checksums differ ('$w' vs '$r')"
fi
DISK_RESULT="ok (16 MiB, sha256 ${w:0:12}…)"
note "disk check ok: checksums match"

step "network check: ping the bridge from the guest"
echo "\$ ssh root@$GUEST_IP ping -c 3 $BRIDGE_IP"
PING_OUT=$(gssh "ping -c 3 -W 2 $BRIDGE_IP") || { echo "$PING_OUT"; die "ping from the guest failed"; }
sed 's/^/  /' <<<"$PING_OUT"
PING_RTT=$(awk -F'[ /]' '/min\/avg\/max/ { print $(NF-2) }' <<<"$PING_OUT")

# iperf_run ARGS...: runs iperf3 from the namespace against the guest's
# server (airlock.iperf3 on its command line) and prints its summary; sets
# MBPS to the receiver's bitrate. The server takes a moment after each test
# before it listens again ("Connection refused", "server is busy"): such
# attempts are retried, up to 5 times a second apart.
iperf_run() {
	local out="" try
	echo "\$ iperf3 -c $GUEST_IP -t $IPERF_SECONDS -f m $*"
	for try in 1 2 3 4 5; do
		if out=$(in_ns iperf3 -c "$GUEST_IP" -t "$IPERF_SECONDS" -f m "$@" 2>&1); then
			break
		fi
		grep -qE 'unable to connect|server is busy' <<<"$out" && [ "$try" -lt 5 ] ||
			{ echo "$out"; return 1; }
		note "(the guest's iperf3 server is not listening yet: retrying)"
		sleep 1
	done
	grep -E 'sender|receiver' <<<"$out" | sed 's/^/  /'
	MBPS=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' <<<"$out")
	[ -n "$MBPS" ]
}
step "network check: iperf3 from the namespace to the guest, ${IPERF_SECONDS} s each way"
iperf_run || die "iperf3 host -> guest"
TX_MBPS=$MBPS
iperf_run -R || die "iperf3 guest -> host"
RX_MBPS=$MBPS

# --- 7. summary and teardown -------------------------------------------------------
step "summary"
ACCEL=$("$AIRLOCK_BIN" info | awk '/^accelerator:/ { print $2 }')
printf '  %-26s %s\n' \
	"accelerator" "$ACCEL" \
	"create returned" "$CREATED_S s" \
	"create -> ready banner" "$READY_S s" \
	"create -> ssh answers" "$SSH_S s" \
	"disk check" "$DISK_RESULT" \
	"ping guest -> bridge" "ok (avg ${PING_RTT:-?} ms)" \
	"iperf3 namespace -> guest" "$TX_MBPS Mbit/s" \
	"iperf3 guest -> namespace" "$RX_MBPS Mbit/s"

step "airlock destroy $NAME"
airlock destroy "$NAME" || die "airlock destroy"
DOMAIN_UP=0
airlock list || die "airlock list"
[ -z "$(domid_of "$NAME")" ] || die "$NAME is still listed after destroy"
left=$("$AIRLOCK_BIN" list | tail -n +2)
[ -z "$left" ] || die "airlock list is not empty after destroy: $left"
[ ! -e "$AIRLOCK_RUN_DIR/$DOMID" ] || die "the domain's run directory is still there"
note "no domains left"

step "stopping the store"
kill -TERM "$STORE_PID"
rc=0
wait "$STORE_PID" || rc=$?
STORE_PID=""
# 143: killed by the SIGTERM itself, also an orderly stop for a daemon.
[ "$rc" -eq 0 ] || [ "$rc" -eq 143 ] || die "airlock-store exited with status $rc"
note "airlock-store stopped"

step "deleting the namespace $NS"
run ip netns del "$NS" || die "ip netns del"
NS_MADE=0

step "demo finished"
