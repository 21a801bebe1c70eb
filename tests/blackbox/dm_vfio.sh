#!/usr/bin/env bash
# Hostile virtqueues from inside a real guest, through QEMU's real
# vhost-user-blk front end, into airlock-dm.
#
# Two airlock-dm daemons, each serving one disk to one vhost-user-blk-pci
# device (modern only, one queue) of a TCG guest booted from the initramfs
# (no root disk). The guest has an IOMMU (q35 + intel-iommu, without
# interrupt remapping, hence vfio_iommu_type1 allow_unsafe_interrupts=1:
# Debian's 6.1 kernel has no VFIO no-IOMMU mode), binds the FIRST device to
# vfio-pci and runs vringprobe (images/tools/vringprobe.c), a userspace
# virtio-blk driver that resets and re-initialises the device for each
# scenario: a valid read of sector 0, then looped (direct and indirect), too
# long, out-of-RAM, wrapping, index-ahead, bad-head, nested-indirect and
# status-less chains, then the valid read again. Asserted:
#   - `good` reads sector 0 with status OK, both before the attack and after
#     it (a device reset restarts the vhost-user rings), and the data is the
#     image's sector 0 (FNV-1a hash computed here);
#   - every hostile chain completes nothing, nor does a valid request posted
#     after it on the same queue (the queue is broken until reset);
#   - the first airlock-dm is alive and logged exactly one line per broken
#     queue, each with its scenario's reason; the second logged none;
#   - QEMU heard of every broken queue on the ring's err eventfd (it prints
#     "vhost vring error in virtqueue 0" for each signal);
#   - the second disk, driven by the guest kernel's virtio_blk, reads back
#     what was written before the attack and takes new writes after it, and
#     the host's image holds exactly those bytes;
#   - the guest kernel logged no oops/BUG and powered off cleanly.
# SKIPs only without qemu-system-x86_64.
. "$(dirname "$0")/../lib.sh"
DM=$AIRLOCK_BUILD/dm/airlock-dm
IMG=$TOP/out/images
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
DM1_PID="" DM2_PID="" QEMU_PID=""
trap 'for p in $QEMU_PID $DM1_PID $DM2_PID; do kill $p 2>/dev/null; done; cleanup' EXIT

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP needs qemu-system-x86_64"
	exit 0
fi
if ! bash "$TOP/images/build.sh" >"$TMP/images.log" 2>&1; then
	fail "guest images build"
	tail -20 "$TMP/images.log" | sed 's/^/# /'
	done_testing
	exit 1
fi

# Hostile scenarios and a word of the reason airlock-dm must log for each.
HOSTILE=(loop long loop-indirect oob overflow badidx badhead nested-indirect nostatus)
REASON=(looped looped looped "outside guest memory" "outside guest memory" "runs ahead"
	"head index" "nested indirect" "status byte")
BDF1=0000:00:04.0 # attacked through vringprobe
BDF2=0000:00:05.0 # left to the guest kernel's virtio_blk

# disk1: random sector 0 (what `good` must read), disk2: zeros.
head -c 512 /dev/urandom >"$TMP/disk1.img"
truncate -s 8M "$TMP/disk1.img"
truncate -s 8M "$TMP/disk2.img"
want_hash=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read(512):
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$TMP/disk1.img")

for i in 1 2; do
	"$DM" --socket-path "$TMP/dm$i.sock" --blk-file "$TMP/disk$i.img" 2>"$TMP/dm$i.log" &
	eval "DM${i}_PID=$!"
done
for _ in $(seq 1 50); do [ -S "$TMP/dm1.sock" ] && [ -S "$TMP/dm2.sock" ] && break; sleep 0.1; done
check "two airlock-dm daemons listen" test -S "$TMP/dm1.sock" -a -S "$TMP/dm2.sock"

# The guest's commands, one per line; each is followed by an echo of its
# exit status ("@@step N rc=R") that the driver (tests/serial_console.py)
# waits for.
STEPS=$(
	cat <<EOF
D2=\$(ls /sys/bus/pci/devices/$BDF2/virtio*/block); echo "disk2=\$D2"
dd if=/dev/urandom of=/tmp/a bs=64k count=16 2>/dev/null && dd if=/tmp/a of=/dev/\$D2 bs=64k conv=fsync 2>/dev/null && echo "pre=\$(md5sum </tmp/a)"
modprobe vfio-pci && modprobe vfio_iommu_type1 allow_unsafe_interrupts=1
vringprobe $BDF1 good ${HOSTILE[*]} long-indirect good
echo 3 >/proc/sys/vm/drop_caches; echo "post=\$(dd if=/dev/\$D2 bs=64k count=16 2>/dev/null | md5sum)"
dd if=/dev/urandom of=/tmp/b bs=64k count=16 2>/dev/null && dd if=/tmp/b of=/dev/\$D2 bs=64k seek=16 conv=fsync 2>/dev/null && echo 3 >/proc/sys/vm/drop_caches && echo "new=\$(md5sum </tmp/b) back=\$(dd if=/dev/\$D2 bs=64k skip=16 count=16 2>/dev/null | md5sum)"
echo "oops=\$(dmesg | grep -ciE 'Oops|BUG:|Call Trace|Kernel panic|general protection')"
EOF
)

t0=$SECONDS
qemu-system-x86_64 -nodefaults -display none -m 256 \
	-object memory-backend-memfd,id=mem,size=256M,share=on \
	-machine q35,accel=tcg,memory-backend=mem \
	-device intel-iommu,intremap=off \
	-chardev socket,id=c1,path="$TMP/dm1.sock" \
	-device vhost-user-blk-pci,chardev=c1,num-queues=1,disable-legacy=on,addr=04.0 \
	-chardev socket,id=c2,path="$TMP/dm2.sock" \
	-device vhost-user-blk-pci,chardev=c2,num-queues=1,disable-legacy=on,addr=05.0 \
	-kernel "$IMG/vmlinux" -initrd "$IMG/initrd.img" \
	-append "console=ttyS0 root=none quiet intel_iommu=on" \
	-chardev socket,id=ser,path="$TMP/ser.sock",server=on,wait=off \
	-serial chardev:ser >"$TMP/qemu.log" 2>&1 &
QEMU_PID=$!
python3 "$TOP/tests/serial_console.py" "$TMP/ser.sock" "$TMP/serial.log" "$BOOT_TIMEOUT" \
	steps "$STEPS"
rc=$?
[ $rc -eq 0 ] && for _ in $(seq 1 60); do kill -0 $QEMU_PID 2>/dev/null || break; sleep 1; done
if kill -0 $QEMU_PID 2>/dev/null; then
	powered_off=1
	kill $QEMU_PID
else powered_off=0; fi
wait $QEMU_PID 2>/dev/null
QEMU_PID=""
echo "# guest ran $((SECONDS - t0)) s"
if [ $rc -eq 0 ]; then ok "guest boots, runs every step and is told to power off"; else
	fail "guest boots, runs every step and is told to power off (driver rc $rc)"
	tail -30 "$TMP/serial.log" | sed 's/^/#   /'
fi
check_eq "QEMU exited by itself after poweroff" 0 "$powered_off"

S=$(tr -d '\r' <"$TMP/serial.log")
grep -a '^vringprobe:' <<<"$S" | sed 's/^/#   /'
step_rc() { sed -n "s/^@@step $1 rc=\([0-9]*\).*/\1/p" <<<"$S" | head -1; }
check_eq "vfio-pci and vfio_iommu_type1 load" 0 "$(step_rc 2)"
check_eq "vringprobe sets the device up and runs every scenario" 0 "$(step_rc 3)"
check "vringprobe used VFIO with an IOMMU (type1)" grep -qa '^vringprobe: vfio group .*, iommu type1' <<<"$S"

# good: before and after the attack, the image's sector 0, status OK.
mapfile -t goods < <(grep -a '^vringprobe: scenario=good ' <<<"$S")
check_eq "good ran twice (first and last)" 2 "${#goods[@]}"
for n in 0 1; do
	g=${goods[$n]:-}
	what=$([ $n -eq 0 ] && echo "before the attack" || echo "after the attack (device reset)")
	check "good $what: completed, status 0, 513 bytes" grep -q 'used=1 id=0 len=513 blkstatus=0 .*result=ok$' <<<"$g"
	check_eq "good $what: data is the image's sector 0" "hash=$want_hash" "$(grep -o 'hash=[0-9a-f]*' <<<"$g")"
done
check "INDIRECT_DESC negotiated (needed by long-indirect, nested-indirect)" \
	grep -qa "^vringprobe: scenario=good features=0x110000000 " <<<"$S"

for sc in "${HOSTILE[@]}"; do
	l=$(grep -a "^vringprobe: scenario=$sc " <<<"$S" | head -1)
	check "$sc: nothing completed, the follow-up neither" grep -q 'used=0 followup=0 .*result=refused$' <<<"$l"
done

# An indirect table longer than the queue but looping nowhere: virtio
# forbids the driver to build it and requires nothing of the device;
# airlock-dm bounds a chain by its table's size. Reported, not asserted.
echo "# long-indirect (chain of queue size + 2 in its own table): $(grep -ao '^vringprobe: scenario=long-indirect .*result=[a-z]*' <<<"$S" | sed 's/.*result=//')"

# The daemons.
check "airlock-dm 1 outlived the attack and the front end" kill -0 "$DM1_PID"
check "airlock-dm 2 outlived the front end" kill -0 "$DM2_PID"
grep 'virtqueue broken' "$TMP/dm1.log" | sed 's/^/# dm1: /'
check_eq "airlock-dm 1 logged one line per broken queue" "${#HOSTILE[@]}" "$(grep -c 'virtqueue broken' "$TMP/dm1.log")"
mapfile -t lines < <(grep 'virtqueue broken' "$TMP/dm1.log")
why_ok=1
for k in "${!HOSTILE[@]}"; do
	[[ ${lines[$k]:-} == *"${REASON[$k]}"* ]] || why_ok=0
done
check_eq "each broken queue for its own reason, in order (${REASON[*]})" 1 $why_ok
# The front end hears of each break: airlock-dm signals the ring's err
# eventfd (VHOST_USER_SET_VRING_ERR), which QEMU 7.2 reports on stderr.
check_eq "QEMU was told of each broken queue (err eventfd)" "${#HOSTILE[@]}" \
	"$(grep -c 'vhost vring error in virtqueue 0' "$TMP/qemu.log")"
check_eq "airlock-dm 2 logged no broken queue" 0 "$(grep -c 'virtqueue broken' "$TMP/dm2.log")"

# The second disk, through the guest's own virtio_blk, after the attack.
pre=$(sed -n 's/^pre=\([0-9a-f]\{32\}\).*/\1/p' <<<"$S" | head -1)
post=$(sed -n 's/^post=\([0-9a-f]\{32\}\).*/\1/p' <<<"$S" | head -1)
new=$(sed -n 's/^new=\([0-9a-f]\{32\}\).*/\1/p' <<<"$S" | head -1)
back=$(sed -n 's/^new=.* back=\([0-9a-f]\{32\}\).*/\1/p' <<<"$S" | head -1)
check "the guest wrote 1 MiB to its second disk before the attack" test -n "$pre"
check_eq "after the attack the guest reads it back" "$pre" "$post"
check "after the attack the guest writes 1 MiB more" test -n "$new"
check_eq "and reads that back" "$new" "$back"
check_eq "the host's image holds the first MiB" "$pre" \
	"$(dd if="$TMP/disk2.img" bs=64k count=16 2>/dev/null | md5sum | cut -c1-32)"
check_eq "the host's image holds the second MiB" "$new" \
	"$(dd if="$TMP/disk2.img" bs=64k skip=16 count=16 2>/dev/null | md5sum | cut -c1-32)"
check_eq "guest kernel logged no oops, BUG or panic" "oops=0" "$(grep -ao '^oops=[0-9]*' <<<"$S" | head -1)"
check "guest shut down cleanly" grep -qa 'filesystems clean' <<<"$S"

for i in 1 2; do
	eval "p=\$DM${i}_PID"
	kill -TERM "$p"
	wait "$p"
	check_eq "airlock-dm $i exits 0 on SIGTERM" 0 $?
done
DM1_PID="" DM2_PID=""
done_testing
