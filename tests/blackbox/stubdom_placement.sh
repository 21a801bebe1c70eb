#!/usr/bin/env bash
# Placement "stubdom" for real: `airlock create` with
# device_model_stubdomain_override = 1 runs the guest's airlock-dm inside
# its stub domain <name>-dm, with the relay in dom0. A Debian guest boots
# from the disk served from the stub, reaches a peer in the test's
# namespace through the NIC served from the stub (ping, iperf3 both ways;
# the stub's own NIC is a tap on the guest's bridge), writes and reads back 256 MiB with
# checksums, survives kills of airlock-dm inside the stub with writes in
# flight, and both file systems check clean after shutdown. The stub
# domain shows in `airlock list`, answers on `airlock console --dm`, is
# confined (its QEMU: uid != 0, seccomp, no new privileges; the relay too),
# and destroy leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../guest.sh"
test_netns airlock-s$$
need_stubdom_image

# dmcon TIMEOUT <<<'commands': runs them on the stub domain's shell.
dmcon() { gcon s1-dm "$1"; }

cp --sparse=always "$IMG/rootfs.ext4" "$TMP/root.ext4"
truncate -s 640M "$TMP/data.ext4"
mkfs.ext4 -q -F -L data "$TMP/data.ext4"
cat >"$TMP/s1.cfg" <<CFG
name = "s1"
memory = 512
vcpus = 1
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda quiet airlock.ip=10.77.0.2/24 airlock.iperf3"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/root.ext4',
         'format=raw, vdev=xvdb, access=rw, target=$TMP/data.ext4' ]
vif = [ 'bridge=br0, mac=00:16:3e:77:00:02' ]
on_crash = "destroy"
device_model_version = "airlock"
device_model_stubdomain_override = 1
CFG

t0=$(date +%s.%N)
check "create s1 with its device model in a stub domain" in_net $A create "$TMP/s1.cfg"
t1=$(date +%s.%N)
echo "# create -> stub domain running: $(echo "$t1 - $t0" | bc) s"
ID=$(field s1 1)
SID=$(field s1-dm 1)
check "airlock list shows s1-dm" test -n "$SID"
check_eq "  with the stub's memory" "32" "$(field s1-dm 4)"
check_eq "  as a stub domain" "stub" "$(field s1-dm 6)"
STUBQ=$($A read "/local/domain/$SID/airlock/engine-pid")
RELAY=$($A read "/local/domain/$SID/airlock/dm-pid")
EPID=$($A read "/local/domain/$ID/airlock/engine-pid")
check "the stub's QEMU and the relay run" test -d "/proc/$STUBQ" -a -d "/proc/$RELAY"
check "s1 boots from the disk its stub domain serves" wait_log s1 "airlock-guest: ready"

# --- containment ------------------------------------------------------------------
for who in "stub QEMU:$STUBQ" "engine:$EPID"; do
	n=${who%%:*} p=${who##*:}
	check "$n runs as uid != 0" test "$(status_of "$p" Uid)" != 0
	check "$n has seccomp (2)" test "$(status_of "$p" Seccomp)" = 2
	check "$n has NoNewPrivs" test "$(status_of "$p" NoNewPrivs)" = 1
done
check "the engine holds no image (the stub's QEMU does)" bash -c \
	"! ls -l /proc/$EPID/fd | grep -q ext4 && ls -l /proc/$STUBQ/fd | grep -q root.ext4"

# --- the stub domain's console ----------------------------------------------------------
dmcon 20 >"$TMP/dmcon.out" <<<'cat /run/airlock/airlock-dm.pid; ls /sys/bus/pci/drivers/vfio-pci/'
check "airlock console --dm runs a command in the stub domain" grep -q "gcon-status 0" "$TMP/dmcon.out"
check "  where airlock-dm drives the guest's disks itself (vfio-pci)" \
	bash -c "grep -q 0000:00:10.0 '$TMP/dmcon.out' && grep -q 0000:00:11.0 '$TMP/dmcon.out'"
dmcon 20 >"$TMP/escape.out" <<<'ls /work /root /tmp/airlock-test* 2>&1 | head -3; cat /proc/mounts'
check "no dom0 file is reachable from the stub domain" bash -c "! grep -q '$TMP' '$TMP/escape.out'"

# --- network: the NIC served from the stub domain ----------------------------------
check "ping the guest from the test namespace" in_ns ping -c 3 -W 5 10.77.0.2
for dir in "" -R; do
	what=$([ -z "$dir" ] && echo "host -> guest" || echo "guest -> host")
	# The guest's server takes a moment to (re)listen: a few tries.
	for _ in 1 2 3 4 5; do
		in_ns iperf3 -c 10.77.0.2 -t 3 $dir -J >"$TMP/iperf$dir.json" 2>&1 && break
		sleep 2
	done
	bps=$(/usr/bin/python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$TMP/iperf$dir.json" 2>/dev/null)
	echo "# iperf3 $what through the stub domain: $((${bps:-0} / 1000000)) Mbit/s"
	[ "${bps:-0}" -gt 0 ] || grep -m3 error "$TMP/iperf$dir.json" | sed 's/^/#   /'
	check "iperf3 $what moves data through the stub domain" test "${bps:-0}" -gt 0
done

# --- the stub domain's store rights: its own home, nothing of dom0's ---------------
cat >"$TMP/xs.sh" <<XS
for p in /sys/class/virtio-ports/*; do [ "\$(cat \$p/name)" = org.airlock.store ] && export XENSTORED_PATH=/dev/\${p##*/}; done
echo "o""wn \$(airlock read device-model/$ID/state 2>&1)"
airlock write /local/domain/$ID/airlock/owner-pid 1 2>/dev/null && echo "tamper-guest ALL""OWED" || echo "tamper-guest ref""used"
airlock write /vm/x 1 2>/dev/null && echo "tamper-vm ALL""OWED" || echo "tamper-vm ref""used"
XS
dmcon 30 <"$TMP/xs.sh" >"$TMP/xs.out"
check_eq "the stub reads its own state node" "own running" "$(grep -a '^own ' "$TMP/xs.out" | tr -d '\r')"
check "the stub cannot write its guest's records" grep -aq "tamper-guest refused" "$TMP/xs.out"
check "the stub cannot write outside its home" grep -aq "tamper-vm refused" "$TMP/xs.out"

# --- 256 MiB written and read back with checksums ------------------------------
gcon s1 300 >"$TMP/big.out" <<'G'
mkdir -p /mnt && mount /dev/vdb /mnt &&
dd if=/dev/urandom of=/mnt/src bs=1M count=256 2>/dev/null && sync &&
echo "writ""ten $(md5sum </mnt/src)" && echo 3 >/proc/sys/vm/drop_caches &&
echo "read""back $(md5sum </mnt/src)"
G
check "the guest wrote and read back 256 MiB" grep -q "gcon-status 0" "$TMP/big.out"
w=$(awk '$1 == "written" {print $2}' "$TMP/big.out")
check_eq "the read-back checksum equals the written one" "$w" "$(awk '$1 == "readback" {print $2}' "$TMP/big.out")"

# --- airlock-dm killed inside the stub during a copy ---------------------------------
gcon s1 5 >/dev/null <<'G'
(cp /mnt/src /mnt/copy && sync && touch /tmp/copied && echo copy-done >/dev/console) </dev/null >/dev/null 2>&1 &
G
kills=0
for i in $(seq 1 5); do
	sleep "1.$((RANDOM % 5))"
	dmcon 10 >/dev/null <<<'kill -9 $(cat /run/airlock/airlock-dm.pid)' && kills=$((kills + 1))
done
echo "# $kills kills inside the stub domain"
check "airlock-dm was killed inside the stub domain" test "$kills" -ge 5
check "the copy finishes after the kills" wait_log s1 "copy-done"
gcon s1 120 >"$TMP/copy.out" <<'G'
echo 3 >/proc/sys/vm/drop_caches; echo "co""py $(md5sum </mnt/copy)"
G
check_eq "the copy made across the kills has the source's checksum" "$w" "$(awk '$1 == "copy" {print $2}' "$TMP/copy.out")"
gcon s1 60 >/dev/null <<<'umount /mnt'

# --- shutdown: clean file systems, nothing left ------------------------------------
check "airlock shutdown s1" $A shutdown s1
wait_gone s1
check "s1 and s1-dm are gone" bash -c "! $A list | awk '{print \$2}' | grep -qE '^s1(-dm)?\$'"
check "the stub's QEMU and the relay are gone" bash -c "! kill -0 $STUBQ 2>/dev/null && ! kill -0 $RELAY 2>/dev/null"
check "the run directory is gone" test ! -e "$AIRLOCK_RUN_DIR/$ID"
check "the stub domain is released from the store" bash -c "! $A read /local/domain/$SID/name >/dev/null 2>&1"
check "e2fsck -fn: the root file system is clean" fsck_clean "$TMP/root.ext4"
check "e2fsck -fn: the data file system is clean" fsck_clean "$TMP/data.ext4"
check_eq "the host reads the guest's 256 MiB with the same checksum" "$w" \
	"$(debugfs -R 'cat /src' "$TMP/data.ext4" 2>/dev/null | md5sum | cut -d' ' -f1)"

# --- airlock-dm that keeps dying inside the stub: on_crash ------------------------
cp --sparse=always "$IMG/rootfs.ext4" "$TMP/root3.ext4"
sed -e 's/"s1"/"s3"/' -e "s|$TMP/root.ext4|$TMP/root3.ext4|" -e '/data.ext4/d' -e '/^vif/d' \
	-e "s|'format=raw, vdev=xvda, access=rw, target=$TMP/root3.ext4',|'format=raw, vdev=xvda, access=rw, target=$TMP/root3.ext4' ]|" \
	"$TMP/s1.cfg" >"$TMP/s3.cfg"
check "create s3 (restart limit 1)" env AIRLOCK_DM_RESTARTS=1 $A create "$TMP/s3.cfg"
s3con() { gcon s3-dm "$1"; }
SID3=$(field s3-dm 1) ID3=$(field s3 1)
st3() { $A read "/local/domain/$SID3/device-model/$ID3/state" 2>/dev/null; }
s3con 20 >/dev/null <<<'kill -9 $(cat /run/airlock/airlock-dm.pid)'
# the init says restarting, then running again after its back-off
for _ in $(seq 1 60); do [ "$(st3)" = restarting ] && break; sleep 0.25; done
for _ in $(seq 1 120); do [ "$(st3)" = running ] && break; sleep 0.25; done
check "s3 survives airlock-dm's first death in its stub" bash -c "$A list | awk '{print \$2}' | grep -qx s3"
s3con 20 >/dev/null <<<'kill -9 $(cat /run/airlock/airlock-dm.pid)'
for _ in $(seq 1 60); do $A list | awk '{print $2}' | grep -qx s3 || break; sleep 0.5; done
check "after airlock-dm's second death in the stub, on_crash (destroy) ends s3" bash -c "! $A list | awk '{print \$2}' | grep -qE '^s3(-dm)?\$'"
check "  and the supervisor said why" grep -q "airlock-dm died 2 times within 60 s" "$AIRLOCK_LOG_DIR/s3.log"

# --- a stub domain that cannot start fails the create, leaving nothing ------------
cat >"$TMP/bad.cfg" <<CFG
name = "s2"
memory = 256
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda quiet"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/root.ext4' ]
device_model_stubdomain_override = 1
stubdomain_cmdline = "airlock.dm-argv-test=1"
stubdomain_kernel = "$IMG/vmlinux"
CFG
check "a stub domain that never runs fails the create" bash -c "! AIRLOCK_STUBDOM_TIMEOUT=15 $A create $TMP/bad.cfg 2>$TMP/bad.err"
check "  and says why" grep -q "stub domain s2-dm" "$TMP/bad.err"
check "  leaving no domain" bash -c "! $A list | awk '{print \$2}' | grep -qE '^s2(-dm)?\$'"
done_testing
