#!/usr/bin/env bash
# airlock-dm serving a real guest's root disk over vhost-user: QEMU started
# directly (vhost-user-blk-pci on memfd guest RAM), the guest boots from the
# disk, writes files through the serial console and powers off; then the
# image must fsck clean on the host and hold exactly what the guest wrote.
# Also: --print-capabilities, and the daemon serving a second front end
# after the first one went away, and exiting on SIGTERM.
. "$(dirname "$0")/../lib.sh"
DM=$AIRLOCK_BUILD/dm/airlock-dm
IMG=$TOP/out/images
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
DM_PID="" QEMU_PID=""
# Nothing outlives the test, whatever way it ends.
trap 'for p in $QEMU_PID $DM_PID; do kill $p 2>/dev/null; done; cleanup' EXIT

check "--print-capabilities names the block type" bash -c "$DM --print-capabilities | grep -q '\"type\": \"block\"'"
check "no socket: usage error" bash -c "! $DM --blk-file /dev/null 2>/dev/null"

# --fd: a listening socket handed over (as the supervisor will); a garbage
# message closes that connection, and the next front end is served.
truncate -s 1M "$TMP/small.img"
check "--fd: answers GET_FEATURES after a malformed front end" python3 - "$DM" "$TMP/small.img" "$TMP/fd.sock" <<'PY'
import socket, struct, subprocess, sys, time
dm, img, path = sys.argv[1:4]
ls = socket.socket(socket.AF_UNIX); ls.bind(path); ls.listen(4)
p = subprocess.Popen([dm, '--fd', str(ls.fileno()), '--blk-file', img],
                     pass_fds=[ls.fileno()], stderr=subprocess.DEVNULL)
def conn():
    c = socket.socket(socket.AF_UNIX); c.connect(path); c.settimeout(10); return c
try:
    c = conn(); c.sendall(struct.pack('<III', 999, 1, 0))   # unknown request
    ok1 = c.recv(64) == b''                                 # closed on us
    c = conn(); c.sendall(struct.pack('<III', 1, 1, 0))     # GET_FEATURES
    r = c.recv(64)
    req, flags, size = struct.unpack('<III', r[:12])
    feats = struct.unpack('<Q', r[12:20])[0]
    ok2 = req == 1 and flags & 4 and size == 8 and feats & (1 << 32) and feats & (1 << 30)
    p.terminate(); rc = p.wait(10)
    sys.exit(0 if ok1 and ok2 and rc == 0 else 1)
finally:
    if p.poll() is None: p.kill()
PY

if ! bash "$TOP/images/build.sh" >"$TMP/images.log" 2>&1; then
	fail "guest images build"
	tail -20 "$TMP/images.log" | sed 's/^/# /'
	done_testing
	exit 1
fi
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v debugfs >/dev/null; then
	echo "1..0 # SKIP needs qemu-system-x86_64 and debugfs"
	exit 0
fi

cp "$IMG/rootfs.ext4" "$TMP/disk.img"
SOCK=$TMP/dm.sock
"$DM" --socket-path "$SOCK" --blk-file "$TMP/disk.img" 2>"$TMP/dm.log" &
DM_PID=$!
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "airlock-dm listens" test -S "$SOCK"

# run_guest SCRIPT: boots QEMU on the disk; tests/serial_console.py types
# SCRIPT on the console once the guest is ready, waits for "dm-test: end",
# powers off and waits for QEMU to exit. Console output goes to
# $TMP/serial.log.
run_guest() {
	# TCG: the placement issue decides on KVM through the host probe.
	local accel=${DM_TEST_ACCEL:-tcg}
	qemu-system-x86_64 -nodefaults -display none -m 256 \
		-object memory-backend-memfd,id=mem,size=256M,share=on \
		-machine pc,accel=$accel,memory-backend=mem \
		-chardev socket,id=c0,path="$SOCK" -device vhost-user-blk-pci,chardev=c0 \
		-kernel "$IMG/vmlinux" -initrd "$IMG/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw quiet" \
		-chardev socket,id=ser,path="$TMP/ser.sock",server=on,wait=off \
		-serial chardev:ser >"$TMP/qemu.log" 2>&1 &
	QEMU_PID=$!
	python3 "$TOP/tests/serial_console.py" "$TMP/ser.sock" "$TMP/serial.log" "$BOOT_TIMEOUT" \
		script "$1"
	local rc=$?
	# After a poweroff QEMU exits by itself; after a failure, at once.
	[ $rc -eq 0 ] && for _ in $(seq 1 60); do kill -0 $QEMU_PID 2>/dev/null || break; sleep 1; done
	kill $QEMU_PID 2>/dev/null && wait $QEMU_PID 2>/dev/null
	wait $QEMU_PID 2>/dev/null
	return $rc
}

SCRIPT='echo airlock-dm-data >/root/x; dd if=/dev/urandom of=/root/r bs=64k count=64 2>/dev/null; sync; echo "sum $(md5sum </root/r)"; dd if=/dev/vda of=/dev/null bs=1M count=8 2>/dev/null && echo read-ok'
if run_guest "$SCRIPT"; then ok "guest boots from airlock-dm, writes and powers off"; else
	fail "guest boots from airlock-dm, writes and powers off (driver rc $?)"
	tail -20 "$TMP/serial.log" | sed 's/^/#   /'
	tail -5 "$TMP/dm.log" | sed 's/^/# dm: /'
fi
check "the guest read the whole disk head" grep -q read-ok "$TMP/serial.log"
check "e2fsck -fn is clean after shutdown" bash -c "e2fsck -fn '$TMP/disk.img' >'$TMP/fsck.log' 2>&1"
check_eq "the written file is on the image" "airlock-dm-data" "$(debugfs -R 'cat /root/x' "$TMP/disk.img" 2>/dev/null)"
guest_sum=$(grep -a -o 'sum [0-9a-f]\{32\}' "$TMP/serial.log" | head -1 | cut -d' ' -f2)
host_sum=$(debugfs -R 'cat /root/r' "$TMP/disk.img" 2>/dev/null | md5sum | cut -d' ' -f1)
check_eq "4 MiB of random data reads back with the guest's checksum" "$guest_sum" "$host_sum"
check "airlock-dm outlived the front end" kill -0 $DM_PID

# A second front end after the first went away: the same daemon serves it.
if [ "$T_FAILED" -gt 0 ]; then
	fail "a second boot is served by the same airlock-dm (skipped: the first failed)"
elif run_guest 'cat /root/x'; then ok "a second boot is served by the same airlock-dm"; else
	fail "a second boot is served by the same airlock-dm"
	tail -10 "$TMP/serial.log" | sed 's/^/#   /'
fi
check "the second guest read the file" grep -q airlock-dm-data "$TMP/serial.log"
check "e2fsck -fn still clean" bash -c "e2fsck -fn '$TMP/disk.img' >'$TMP/fsck2.log' 2>&1"

kill -TERM $DM_PID
for _ in $(seq 1 50); do kill -0 $DM_PID 2>/dev/null || break; sleep 0.1; done
check "airlock-dm exits on SIGTERM" bash -c "! kill -0 $DM_PID 2>/dev/null"
wait $DM_PID
check_eq "airlock-dm exit status" 0 $?
done_testing
