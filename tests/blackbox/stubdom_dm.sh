#!/usr/bin/env bash
# airlock-dm serving a guest's disk from inside a stub domain, end to end,
# without the supervisor (docs/stubdom-design.md): the test plays the
# supervisor's part by hand. A guest-RAM file in /dev/shm (a power of two
# that holds the guest's RAM and the inflight areas), a store holding the
# stub's dm-argv, airlock-relay on the engine's, ivshmem and port sockets,
# the stub QEMU (the stub-domain image: airlock-dm --stubdom on /dev/vda,
# the guest's disk, and on eth0, a NIC on a tap in a bridge of a network
# namespace of the test's), then the engine QEMU booting the Debian test
# guest from the vhost-user disk and NIC the relay serves. The test pings
# the guest from the namespace; the guest writes and reads back data with
# checksums; airlock-dm in the stub is killed during a 20 MiB write and the
# init's new one serves on (the engine reconnects); the guest powers off;
# the image must fsck clean on the host and hold what the guest wrote.
# Prints the stub's timings.
#
# STUBDOM_DM_INITRAMFS (optional) overrides the image's initramfs.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
STUB=7
TARGET=5
UUID=8c0f2b4e-3a61-4d2f-b7e9-1d5a6c7e8f90
RAM_MIB=240 # guest RAM; the file is 256 MiB (the next power of two)
SHM_MIB=256
RELAY=$AIRLOCK_BUILD/relay/airlock-relay
DM=$AIRLOCK_BUILD/dm/airlock-dm
GIMG=$TOP/out/images
RELAY_PID="" STUB_PID="" ENG_PID="" CAT_PID=""
SHM=/dev/shm/airlock-stubdom-dm.$$
NS=airlock-sd$$
in_ns() { ip netns exec "$NS" "$@"; }

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing (scripts/setup.sh)"
command -v debugfs >/dev/null || skip_all "debugfs missing"
for b in "$STORE_BIN" "$AIRLOCK_BIN" "$RELAY" "$DM"; do
	[ -x "$b" ] || skip_all "no $b (build first)"
done

sd_cleanup() {
	for p in $ENG_PID $STUB_PID $RELAY_PID $CAT_PID; do kill "$p" 2>/dev/null; done
	for p in $ENG_PID $STUB_PID $RELAY_PID; do wait "$p" 2>/dev/null; done
	rm -f "$SHM"
	ip netns del "$NS" 2>/dev/null
	cleanup
}
trap sd_cleanup EXIT
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}
secs() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }
al() { "$AIRLOCK_BIN" "$@"; }

# --- images -------------------------------------------------------------------
if ! SIMG=$("$TOP/images/stubdom/build.sh" --print-dir 2>"$TMP/build.log"); then
	fail "images/stubdom/build.sh builds the stub-domain image"
	sed 's/^/#   /' "$TMP/build.log"
	done_testing
	exit 1
fi
INITRAMFS=${STUBDOM_DM_INITRAMFS:-$SIMG/initramfs.cpio.gz}
if ! bash "$TOP/images/build.sh" >"$TMP/images.log" 2>&1; then
	fail "guest images build"
	tail -20 "$TMP/images.log" | sed 's/^/# /'
	done_testing
	exit 1
fi
cp "$GIMG/rootfs.ext4" "$TMP/disk.img"

# --- what dom0 knows about the devices (the supervisor computes it with the
# same code): features and config space, asked of dom0 airlock-dms over
# vhost-user: the disk on the same image (DISCARD and WRITE_ZEROES masked
# as the supervisor does: the stub's /dev/vda offers neither), the NIC on a
# raw-frame backend like the stub's packet socket (its config is the
# engine's).
DESC=$(python3 - "$DM" "$TMP" <<'PY'
import os, socket, struct, subprocess, sys, time
dm, tmp = sys.argv[1:3]
def ask(path, config):
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX); s.connect(path); break
        except OSError:
            time.sleep(0.05)
    s.settimeout(10)
    def msg(req, payload=b'', reply=True):
        s.sendall(struct.pack('<III', req, 1, len(payload)) + payload)
        if not reply: return b''
        _, _, n = struct.unpack('<III', s.recv(12))
        b = b''
        while len(b) < n: b += s.recv(n - len(b))
        return b
    feats = struct.unpack('<Q', msg(1))[0]
    if not config: return feats, b''
    msg(2, struct.pack('<Q', feats), reply=False)
    pf = struct.unpack('<Q', msg(15))[0]
    msg(16, struct.pack('<Q', pf & (1 << 9)), reply=False)
    return feats, msg(24, struct.pack('<III', 0, 60, 0) + bytes(60))[12:]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen([dm, '--device', 'blk,socket=%s/q0.sock,file=%s/disk.img' % (tmp, tmp),
    '--device', 'net,socket=%s/q1.sock,tap-fd=%d' % (tmp, a.fileno())],
    pass_fds=[a.fileno()], stderr=subprocess.DEVNULL)
try:
    bf, cfg = ask(tmp + '/q0.sock', True)
    nf, _ = ask(tmp + '/q1.sock', False)
finally:
    p.terminate(); p.wait(10)
bf &= ~((1 << 13) | (1 << 14) | (1 << 30))   # DISCARD, WRITE_ZEROES, PROTOCOL_FEATURES
nf &= ~(1 << 30)
print('0x%x %s 0x%x' % (bf, cfg.hex(), nf))
PY
)
read -r FEATS CONFIG NFEATS <<<"$DESC"
check "dom0 describes the devices (disk 0x${FEATS#0x}, NIC 0x${NFEATS#0x})" test -n "$NFEATS"

# --- the network: a bridge in a namespace, the stub's tap on it ---------------------
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add br0 type bridge
in_ns ip addr add 10.77.0.1/24 dev br0
in_ns ip link set br0 up
in_ns ip tuntap add tap0 mode tap
in_ns ip link set tap0 master br0
in_ns ip link set tap0 up

# --- store: the stub's argv --------------------------------------------------------
start_store
al introduce "$STUB"
DOMSOCK=$TMP/store.sock.d/$STUB
ARGV=(--stubdom @stubproto@ --device "blk,channel=1,pci=0000:00:10.0"
	--device "net,channel=2,packet=eth0")
for i in "${!ARGV[@]}"; do al write "/vm/$UUID/image/dm-argv/$i" "${ARGV[$i]}"; done
al chmod "/vm/$UUID/image/dm-argv" n0 "r$STUB"
for i in "${!ARGV[@]}"; do al chmod "/vm/$UUID/image/dm-argv/$i" n0 "r$STUB"; done
al mkdir "/local/domain/$STUB"
al chmod "/local/domain/$STUB" "n$STUB"
STATE=/local/domain/$STUB/device-model/$TARGET/state

# --- guest RAM and the relay ---------------------------------------------------------
truncate -s ${SHM_MIB}M "$SHM"
# The relay inherits the RAM file and three listening sockets, as from the
# supervisor.
python3 - "$RELAY" "$SHM" "$TMP" "$((RAM_MIB << 20))" "$FEATS" "$CONFIG" "$NFEATS" 2>"$TMP/relay.log" <<'PY' &
import os, socket, sys
relay, shm, tmp, ram, feats, cfg, nfeats = sys.argv[1:8]
ram_fd = os.open(shm, os.O_RDWR)
def listen(name):
    s = socket.socket(socket.AF_UNIX); s.bind(os.path.join(tmp, name)); s.listen(4)
    s.set_inheritable(True); return s
ivs, port = listen('ivs.sock'), listen('port.sock')
blk, net = listen('blk0.sock'), listen('net0.sock')
os.set_inheritable(ram_fd, True)
# Not as root (the relay refuses it): an unprivileged uid, like the
# supervisor's per-domain uids.
# The binary is opened first: uid 65534 may not traverse the tree's path.
xfd = os.open(relay, os.O_PATH)
if os.getuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
os.execve(xfd, [relay, '--name', 'stubdom-dm-test', '--ram-fd', str(ram_fd),
    '--ram-size', ram, '--ivshmem-fd', str(ivs.fileno()), '--port-fd', str(port.fileno()),
    '--device', 'blk,fd=%d,features=%s,queues=1,config=%s' % (blk.fileno(), feats, cfg),
    '--device', 'net,fd=%d,features=%s,queues=2' % (net.fileno(), nfeats),
    '--log-level', 'debug'], os.environ)
PY
RELAY_PID=$!
for _ in $(seq 1 100); do [ -S "$TMP/net0.sock" ] && break; sleep 0.05; done
check "airlock-relay listens" test -S "$TMP/blk0.sock"

# --- the stub domain ---------------------------------------------------------------------
mkfifo "$TMP/con.in" "$TMP/con.out"
: >"$TMP/stub.console.log"
T_STUB=$EPOCHREALTIME
ip netns exec "$NS" qemu-system-x86_64 -machine pc -accel tcg -m 32 -nodefaults -no-user-config -display none \
	-no-reboot -kernel "$SIMG/vmlinux" -initrd "$INITRAMFS" \
	-append "console=ttyS0 quiet vfio.enable_unsafe_noiommu_mode=1 airlock.target=$TARGET airlock.uuid=$UUID airlock.shell" \
	-chardev "pipe,id=con,path=$TMP/con" -serial chardev:con \
	-chardev "socket,id=ivs,path=$TMP/ivs.sock" -device ivshmem-doorbell,chardev=ivs,vectors=17 \
	-device virtio-serial-pci \
	-chardev "socket,id=sp,path=$TMP/port.sock,reconnect=1" \
	-device virtserialport,chardev=sp,name=org.airlock.stubproto \
	-chardev "socket,id=st,path=$DOMSOCK" -device virtserialport,chardev=st,name=org.airlock.store \
	-drive "file=$TMP/disk.img,if=none,id=d0,format=raw,cache=none" -device virtio-blk-pci,drive=d0,addr=0x10,disable-legacy=on,num-queues=1 \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0 \
	>"$TMP/stub.qemu.log" 2>&1 &
STUB_PID=$!
# Both ends held open: the console's input stays a writable FIFO (the
# guest driver writes into it by path).
# shellcheck disable=SC2034
exec {CON_IN}<>"$TMP/con.in" {CON_OUT}<>"$TMP/con.out"
cat <&"$CON_OUT" >"$TMP/stub.console.log" &
CAT_PID=$!

# wait_for FILE REGEX SECONDS
wait_for() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		grep -aqE -- "$2" "$1" && return 0
		kill -0 "$STUB_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
dump() {
	echo "# stub console:"; tr -d '\r' <"$TMP/stub.console.log" | tail -n 40 | sed 's/^/#   /'
	echo "# relay:"; tail -n 30 "$TMP/relay.log" | sed 's/^/#   /'
	sed 's/^/#   stub qemu: /' "$TMP/stub.qemu.log"
}
if wait_for "$TMP/stub.console.log" 'stub: serving' "$BOOT_TIMEOUT"; then
	T_SERVE=$(ms_since "$T_STUB")
	ok "airlock-dm serves inside the stub domain"
else
	fail "airlock-dm serves inside the stub domain"
	dump
fi
if wait_for "$TMP/relay.log" 'stub session up' 60; then
	T_HELLO=$(ms_since "$T_STUB")
	ok "the relay's session with the stub is up (HELLO acknowledged)"
else
	fail "the relay's session with the stub is up (HELLO acknowledged)"
	dump
fi
check "the stub's init substituted the port for @stubproto@" \
	grep -aq "dm-argv\[1\] = '/dev/vport" "$TMP/stub.console.log"
check "state running under the stub's home" bash -c "[ \"\$('$AIRLOCK_BIN' read '$STATE')\" = running ]"

# --- the engine: the guest boots from the disk served inside the stub -------------------
if [ "$T_FAILED" -gt 0 ]; then
	echo "# the stub domain is not serving: no guest"
	done_testing
	exit 1
fi
T_ENG=$EPOCHREALTIME
qemu-system-x86_64 -nodefaults -display none -m $RAM_MIB \
	-object "memory-backend-file,id=mem,size=${RAM_MIB}M,mem-path=$SHM,share=on" \
	-machine pc,accel=tcg,memory-backend=mem \
	-chardev "socket,id=c0,path=$TMP/blk0.sock,reconnect=1" \
	-device vhost-user-blk-pci,chardev=c0,num-queues=1 \
	-chardev "socket,id=c1,path=$TMP/net0.sock,reconnect=1" -netdev vhost-user,id=n1,chardev=c1 \
	-device virtio-net-pci,netdev=n1,vectors=0,mac=00:16:3e:77:00:02 \
	-kernel "$GIMG/vmlinux" -initrd "$GIMG/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw quiet airlock.ip=10.77.0.2/24" \
	-chardev "socket,id=ser,path=$TMP/ser.sock,server=on,wait=off" \
	-serial chardev:ser >"$TMP/engine.qemu.log" 2>&1 &
ENG_PID=$!
SCRIPT='ping -c 2 -W 5 10.77.0.1 >/dev/null && echo ping-""ok; echo stubdom-dm-data >/root/x; dd if=/dev/urandom of=/root/r bs=64k count=64 2>/dev/null; sync; echo 3 >/proc/sys/vm/drop_caches; echo "sum $(md5sum </root/r)"; dd if=/dev/vda of=/dev/null bs=1M count=8 2>/dev/null && echo read-ok; read a x </proc/uptime; dd if=/dev/vda of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; read b x </proc/uptime; echo "rate $a $b"'
# Then airlock-dm in the stub is killed (through the stub's console shell)
# while the guest writes 20 MiB: the init starts a new one, it says HELLO,
# the relay drops the engine's connections, the engine reconnects and the
# write completes (the inflight areas carry what was in flight); the guest
# reads the first file back again and pings once more.
SCRIPT2='(dd if=/dev/urandom of=/root/big bs=64k count=320 2>/dev/null; sync; echo "big $(md5sum </root/big)") &'
SCRIPT3='echo 3 >/proc/sys/vm/drop_caches; echo "again $(md5sum </root/r)"; ping -c 2 -W 5 10.77.0.1 >/dev/null && echo ping2-""ok'
PYTHONPATH="$TOP/tests" python3 - "$TMP/ser.sock" "$TMP/serial.log" "$BOOT_TIMEOUT" "$SCRIPT" "$NS" \
	"$TMP/ping.log" "$SCRIPT2" "$SCRIPT3" "$TMP/con.in" "$TMP/relay.log" <<'PY'
import subprocess, sys, time
from serial_console import Console
path, log, timeout, script, ns, plog = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
script2, script3, con_in, relay_log = sys.argv[7:11]
con = Console(path, log)
if not con.ready(timeout): sys.exit(2)
# The NIC: pinged from the namespace while the guest is up.
with open(plog, 'w') as f:
    r = subprocess.run(['ip', 'netns', 'exec', ns, 'ping', '-c', '3', '-W', '5', '10.77.0.2'],
                       stdout=f, stderr=subprocess.STDOUT)
    f.write('rc=%d\n' % r.returncode)
if not con.run(script, 2, 120): sys.exit(3)
def restarts():
    return open(relay_log, 'rb').read().count(b"airlock-dm restarted")
n0 = restarts()
con.send(script2 + '\n')
time.sleep(2)
with open(con_in, 'wb') as c:
    c.write(b'kill -9 $(cat /run/airlock/airlock-dm.pid)\n')
end = time.time() + 60
while restarts() == n0 and time.time() < end:
    time.sleep(0.1)
if restarts() == n0: sys.exit(4)
if not con.wait_for(b'big ', 180): sys.exit(5)
if not con.run(script3, 3, 120): sys.exit(6)
con.poweroff(120)
PY
rc=$?
T_GUEST=$(ms_since "$T_ENG")
[ $rc -eq 0 ] && for _ in $(seq 1 60); do kill -0 $ENG_PID 2>/dev/null || break; sleep 1; done
kill $ENG_PID 2>/dev/null
wait $ENG_PID 2>/dev/null
ENG_PID=""
if [ $rc -eq 0 ]; then ok "the guest boots from the disk served in the stub, writes and powers off"; else
	fail "the guest boots from the disk served in the stub, writes and powers off (driver rc $rc)"
	tail -20 "$TMP/serial.log" | sed 's/^/#   guest: /'
	dump
fi
check "the guest read the disk head" grep -q read-ok "$TMP/serial.log"
if grep -q '^rc=0' "$TMP/ping.log"; then
	ok "ping the guest from the namespace (its NIC served in the stub, on eth0)"
	grep 'rtt' "$TMP/ping.log" | sed 's/^/# /'
else
	fail "ping the guest from the namespace (its NIC served in the stub, on eth0)"
	sed 's/^/#   /' "$TMP/ping.log"
fi
check "the guest pings the namespace's bridge" grep -q ping-ok "$TMP/serial.log"
check "the stub's init restarted the killed airlock-dm" \
	grep -aq 'airlock-dm started (pid [0-9]*, run 2)' "$TMP/stub.console.log"
check "the relay saw the restart and dropped the engine's connections" \
	grep -q 'airlock-dm restarted' "$TMP/relay.log"
check "after the restart the guest reads its file again" bash -c \
	"[ \"\$(grep -a -o 'again [0-9a-f]\{32\}' '$TMP/serial.log' | cut -d' ' -f2)\" = \"\$(grep -a -o 'sum [0-9a-f]\{32\}' '$TMP/serial.log' | head -1 | cut -d' ' -f2)\" ]"
check "after the restart the guest pings again" grep -q ping2-ok "$TMP/serial.log"

# The relay goes away: the port's host end closes, airlock-dm exits 1, the
# init starts a new one, which waits for the relay's end of the port.
kill $RELAY_PID 2>/dev/null
wait $RELAY_PID 2>/dev/null
RELAY_PID=""
check "without the relay airlock-dm exits (port closed) and its successor waits for the port" \
	bash -c "$(declare -f wait_for); STUB_PID=$STUB_PID; wait_for '$TMP/stub.console.log' 'closed: exiting' 30 &&
		wait_for '$TMP/stub.console.log' 'exited with status 1' 10 &&
		wait_for '$TMP/stub.console.log' 'waiting for the relay' 30"

# The stub goes first: its QEMU holds the image.
kill $STUB_PID 2>/dev/null
wait $STUB_PID 2>/dev/null
STUB_PID=""
check "e2fsck -fn is clean after shutdown" bash -c "e2fsck -fn '$TMP/disk.img' >'$TMP/fsck.log' 2>&1"
check_eq "the written file is on the image" "stubdom-dm-data" "$(debugfs -R 'cat /root/x' "$TMP/disk.img" 2>/dev/null)"
guest_sum=$(grep -a -o 'sum [0-9a-f]\{32\}' "$TMP/serial.log" | head -1 | cut -d' ' -f2)
host_sum=$(debugfs -R 'cat /root/r' "$TMP/disk.img" 2>/dev/null | md5sum | cut -d' ' -f1)
check_eq "4 MiB of random data reads back with the guest's checksum" "$guest_sum" "$host_sum"
big_guest=$(grep -a -o 'big [0-9a-f]\{32\}' "$TMP/serial.log" | head -1 | cut -d' ' -f2)
big_host=$(debugfs -R 'cat /root/big' "$TMP/disk.img" 2>/dev/null | md5sum | cut -d' ' -f1)
check_eq "20 MiB written across the restart read back with the guest's checksum" "$big_guest" "$big_host"

[ -n "${T_SERVE:-}" ] && echo "# stub QEMU start -> airlock-dm serving: $(secs "$T_SERVE") s"
[ -n "${T_HELLO:-}" ] && echo "# stub QEMU start -> relay's stub session up: $(secs "$T_HELLO") s"
echo "# engine start -> guest powered off: $(secs "$T_GUEST") s"
grep -a -o 'rate [0-9.]* [0-9.]*' "$TMP/serial.log" | head -1 |
	awk '$3 > $2 { printf "# guest: 64 MiB O_DIRECT read of its disk through the stub: %.2f s, %.1f MiB/s\n", $3 - $2, 64 / ($3 - $2) }'
grep -a 'airlock-stubdom: .*memory' "$TMP/stub.console.log" | tr -d '\r' | head -1 | sed 's/^/# /'
done_testing
