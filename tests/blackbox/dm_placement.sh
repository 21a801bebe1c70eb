#!/usr/bin/env bash
# Placement "airlock" for real: `airlock create` with device_model_version =
# "airlock" starts airlock-dm beside the engine; a Debian guest boots from
# the disk it serves, reaches a peer in the test's namespace through the
# NIC it serves (ping, iperf3 both ways), writes and reads back 256 MiB with
# checksums on a second disk, and both file systems check clean after
# shutdown. Then
# airlock-dm is killed -9 at random moments (20 times, during a large
# buffered copy, so many writes are in flight; and right after its
# restarts, during the vhost-user handshake with the reconnecting engine):
# the supervisor restarts it, the engine reconnects, and the copy's
# checksum and fsck show nothing lost or corrupted. Last, a device model
# that keeps dying: after AIRLOCK_DM_RESTARTS deaths the guest's on_crash
# applies, and nothing is left behind.
. "$(dirname "$0")/../lib.sh"
NS=airlock-p$$
trap 'ip netns del "$NS" 2>/dev/null; cleanup' EXIT
in_ns() { ip netns exec "$NS" "$@"; }
in_net() { nsenter --net=/run/netns/"$NS" "$@"; }
. "$(dirname "$0")/../guest.sh"
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add br0 type bridge
in_ns ip addr add 10.77.0.1/24 dev br0
in_ns ip link set br0 up

# gcon NAME TIMEOUT <<<'commands': runs them on the guest's console. The
# console echoes (and may wrap) the command text, so keys the test greps
# for are split by quotes in the command ("co""py") and whole in the output.
gcon() { python3 "$TOP/tests/gcon.py" "$A" "$1" "$2"; }
dm_pid() { $A read "/local/domain/$1/airlock/dm-pid" 2>/dev/null; }

cp --sparse=always "$IMG/rootfs.ext4" "$TMP/root.ext4"
truncate -s 640M "$TMP/data.ext4"
mkfs.ext4 -q -F -L data "$TMP/data.ext4"
cat >"$TMP/p1.cfg" <<CFG
name = "p1"
memory = 512
vcpus = 1
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda quiet airlock.ip=10.77.0.2/24 airlock.iperf3"
vif = [ 'bridge=br0, mac=00:16:3e:77:00:02' ]
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/root.ext4',
         'format=raw, vdev=xvdb, access=rw, target=$TMP/data.ext4' ]
on_crash = "destroy"
device_model_version = "airlock"
CFG

export AIRLOCK_DM_RESTARTS=100
check "create p1 with airlock-dm" in_net $A create "$TMP/p1.cfg"
ID=$(field p1 1)
UUID=$($A read "/local/domain/$ID/vm" | sed 's|/vm/||')
check_eq "airlock list shows the placement" "airlock" "$(field p1 6)"
DMPID=$(dm_pid "$ID")
check "airlock-dm runs as a process of its own" test -n "$DMPID" -a -d "/proc/$DMPID"
check "the engine has no image file open (airlock-dm does)" bash -c \
	"! ls -l /proc/$($A read /local/domain/$ID/airlock/engine-pid)/fd | grep -q root.ext4 && ls -l /proc/$DMPID/fd | grep -q root.ext4"
check "p1 boots from airlock-dm's disk to its ready banner" wait_log p1 "airlock-guest: ready"
EPID=$($A read "/local/domain/$ID/airlock/engine-pid")
check "the engine holds no tap (airlock-dm does)" bash -c \
	"! ls -l /proc/$EPID/fd | grep -q tun && ls -l /proc/$DMPID/fd | grep -q /dev/net/tun"

# --- network: the NIC airlock-dm serves ------------------------------------------
check "ping the guest from the test namespace" in_ns ping -c 3 -W 5 10.77.0.2
for dir in "" -R; do
	what=$([ -z "$dir" ] && echo "host -> guest" || echo "guest -> host")
	in_ns iperf3 -c 10.77.0.2 -t 3 $dir -J >"$TMP/iperf$dir.json" 2>&1
	bps=$(/usr/bin/python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$TMP/iperf$dir.json" 2>/dev/null)
	echo "# iperf3 $what: $((${bps:-0} / 1000000)) Mbit/s"
	check "iperf3 $what moves data" test "${bps:-0}" -gt 0
done

# --- 256 MiB written and read back with checksums ------------------------------
gcon p1 300 >"$TMP/big.out" <<'G'
mkdir -p /mnt && mount /dev/vdb /mnt &&
dd if=/dev/urandom of=/mnt/src bs=1M count=256 2>/dev/null && sync &&
echo "writ""ten $(md5sum </mnt/src)" && echo 3 >/proc/sys/vm/drop_caches &&
echo "read""back $(md5sum </mnt/src)"
G
check "the guest wrote and read back 256 MiB" grep -q "gcon-status 0" "$TMP/big.out"
w=$(awk '$1 == "written" {print $2}' "$TMP/big.out")
r=$(awk '$1 == "readback" {print $2}' "$TMP/big.out")
check_eq "the read-back checksum equals the written one" "$w" "$r"
[ -n "$w" ] || sed 's/^/#   /' "$TMP/big.out" | tail -5

# --- kill -9 at random moments during a copy; during handshakes ------------------
# The guest samples its disk's in-flight writes while it copies, so the
# test knows the kills met a loaded queue.
gcon p1 5 >/dev/null <<'G'
(cp /mnt/src /mnt/copy && sync && touch /tmp/copied && echo copy-done >/dev/console) </dev/null >/dev/null 2>&1 &
(m=0; while [ ! -e /tmp/copied ]; do set -- $(cat /sys/block/vdb/inflight); [ "$2" -gt "$m" ] && m=$2; usleep 20000; done; echo "$m" >/tmp/maxw.new && mv /tmp/maxw.new /tmp/maxw) </dev/null >/dev/null 2>&1 &
G
kills=0 restarts=0
for i in $(seq 1 20); do
	sleep "0.$((RANDOM % 8 + 2))"
	p=$(dm_pid "$ID")
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
	# Every fourth time, kill the new one as soon as it appears: the
	# engine is reconnecting, mid vhost-user handshake.
	if [ $((i % 4)) -eq 0 ]; then
		for _ in $(seq 1 200); do
			q=$(dm_pid "$ID")
			[ -n "$q" ] && [ "$q" != "$p" ] && break
			sleep 0.01
		done
		[ -n "$q" ] && [ "$q" != "$p" ] && kill -9 "$q" 2>/dev/null && kills=$((kills + 1))
	fi
done
echo "# $kills kills"
check "at least 20 kills of airlock-dm" test "$kills" -ge 20
sleep 2
restarts=$(grep -c "airlock-dm restarted" "$AIRLOCK_LOG_DIR/p1.log")
check "the supervisor restarted airlock-dm after each kill ($restarts)" test "$restarts" -ge "$kills"
check "p1 is still running" bash -c "[ \"\$($A list | awk '\$2 == \"p1\" {print \$3}')\" = running ]"
check "the copy finishes after the kills" wait_log p1 "copy-done"
gcon p1 120 >"$TMP/copy.out" <<'G'
while [ ! -e /tmp/maxw ]; do usleep 50000; done; echo "max""w $(cat /tmp/maxw)"
echo 3 >/proc/sys/vm/drop_caches; echo "co""py $(md5sum </mnt/copy)"; echo "s""rc $(md5sum </mnt/src)"
G
maxw=$(awk '$1 == "maxw" {print $2}' "$TMP/copy.out")
echo "# most writes in flight seen by the guest during the kills: ${maxw:-?}"
check "at least 16 writes were in flight at once during the kills" test "${maxw:-0}" -ge 16
c=$(awk '$1 == "copy" {print $2}' "$TMP/copy.out")
check_eq "the copy made across the kills has the source's checksum" "$w" "$c"
check_eq "the source is intact" "$w" "$(awk '$1 == "src" {print $2}' "$TMP/copy.out")"
gcon p1 60 >/dev/null <<<'umount /mnt'

# --- shutdown: both file systems clean, the data on the host -------------------
check "airlock shutdown p1" $A shutdown p1
wait_gone p1
check "p1 is gone" bash -c "! $A list | awk '{print \$2}' | grep -qx p1"
check "no airlock-dm is left" bash -c "! kill -0 $DMPID 2>/dev/null && ! pgrep -f 'airlock-dm --device blk,fd=[0-9]*,file=$TMP' >/dev/null"
check "no socket is left in the run directory" test ! -e "$AIRLOCK_RUN_DIR/$ID"
check "e2fsck -fn: the root file system is clean" fsck_clean "$TMP/root.ext4"
check "e2fsck -fn: the data file system is clean" fsck_clean "$TMP/data.ext4"
check_eq "the host reads the guest's 256 MiB with the same checksum" "$w" \
	"$(debugfs -R 'cat /src' "$TMP/data.ext4" 2>/dev/null | md5sum | cut -d' ' -f1)"

# --- a firmware boot from airlock-dm under TCG is refused, with the reason -----
if [ "$(field p1 1)" = "" ] && ! $A info 2>/dev/null | grep -Eq "^accelerator: +kvm"; then
	cat >"$TMP/fw.cfg" <<CFG
name = "fw1"
memory = 256
disk = [ '$TMP/root.ext4,raw,xvda,rw' ]
device_model_version = "airlock"
CFG
	check "a firmware boot from airlock-dm under TCG is refused" bash -c "! $A create $TMP/fw.cfg 2>$TMP/fw.err"
	check "  and says why" grep -q "hangs under TCG" "$TMP/fw.err"
fi

# --- a device model that keeps dying: on_crash ---------------------------------
export AIRLOCK_DM_RESTARTS=2
check "create p1 again (restart limit 2)" in_net $A create "$TMP/p1.cfg"
ID=$(field p1 1)
EPID=$($A read "/local/domain/$ID/airlock/engine-pid")
for i in 1 2 3; do
	p=$(dm_pid "$ID")
	[ -n "$p" ] && kill -9 "$p"
	for _ in $(seq 1 100); do q=$(dm_pid "$ID"); [ "$q" != "$p" ] && break; sleep 0.05; done
done
for _ in $(seq 1 50); do $A list | awk '{print $2}' | grep -qx p1 || break; sleep 0.2; done
check "after the third death on_crash (destroy) ends p1" bash -c "! $A list | awk '{print \$2}' | grep -qx p1"
check "the supervisor said why" grep -q "airlock-dm died 3 times within 60 s" "$AIRLOCK_LOG_DIR/p1.log"
check "its engine and last airlock-dm are gone" bash -c "! kill -0 $EPID 2>/dev/null && ! kill -0 $q 2>/dev/null"
check "nothing of p1 is left in the run directory" test ! -e "$AIRLOCK_RUN_DIR/$ID"

# --- a killed supervisor: the next listing reaps the device model too -----------
export AIRLOCK_DM_RESTARTS=5
check "create p1 once more" in_net $A create "$TMP/p1.cfg"
ID=$(field p1 1)
SUP=$($A read "/local/domain/$ID/airlock/owner-pid")
EPID=$($A read "/local/domain/$ID/airlock/engine-pid")
DMPID=$(dm_pid "$ID")
check "its airlock-dm runs" test -n "$DMPID" -a -d "/proc/$DMPID"
kill -9 "$SUP"
for _ in $(seq 1 50); do kill -0 "$SUP" 2>/dev/null || break; sleep 0.1; done
$A list >/dev/null 2>&1
for _ in $(seq 1 50); do kill -0 "$DMPID" 2>/dev/null || break; sleep 0.1; done
check "after the supervisor's kill -9, a listing reaps airlock-dm" bash -c "! kill -0 $DMPID 2>/dev/null"
check "  and the engine" bash -c "! kill -0 $EPID 2>/dev/null"
check "  and the run directory with the device sockets" test ! -e "$AIRLOCK_RUN_DIR/$ID"
check "  and the records" bash -c "! $A read /local/domain/$ID/name >/dev/null 2>&1"
done_testing
