#!/usr/bin/env bash
# tests/blackbox/images_boot.sh — builds (or reuses) the guest images with
# images/build.sh and boots them for real under QEMU (TCG):
#   (a) direct kernel boot, rootfs.ext4 as a virtio-blk root, virtio-net on a
#       tap in a network namespace of our own: ssh in with the test key, write
#       a file, power off from inside; boot again: the file, the sshd host key
#       and a clean ext4 survived; power off through QMP (ACPI button, acpid);
#   (b) firmware boot (SeaBIOS -> syslinux) of boot.img;
#   (c) the initramfs alone (no disk), with iperf3 from the namespace;
#   (d) the decompressed vmlinux (PVH entry) with the initramfs: reboot
#       from inside, then a kernel crash that must reach QEMU through pvpanic.
# Every boot must print "airlock-guest: ready" on the serial console; boot
# times are printed as TAP comments (reported, not asserted). Needs root
# (network namespace, tap); skips otherwise. All traffic stays inside the
# namespace.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

READY_TIMEOUT=${READY_TIMEOUT:-120} # seconds; TCG is slow
NS=airlock-imgtest-$$
GUEST_IP=10.77.0.2
VM_PID=""

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing (scripts/setup.sh)"
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

# Kill a QEMU still running, remove the namespace (its bridge and tap go
# with it), then lib.sh's cleanup (the $TMP directory).
images_cleanup() {
	if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
		kill "$VM_PID" 2>/dev/null || true
		wait "$VM_PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	cleanup
}
trap images_cleanup EXIT

# ms_since T0: milliseconds since $EPOCHREALTIME was T0.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}
secs() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }

# --- images --------------------------------------------------------------
t0=$EPOCHREALTIME
if ! IMG=$("$TOP/images/build.sh" --print-dir 2>"$TMP/build.log"); then
	fail "images/build.sh builds the images"
	sed 's/^/#   /' "$TMP/build.log"
	done_testing
	exit 1
fi
ok "images/build.sh builds or reuses the images ($(secs "$(ms_since "$t0")") s)"
sed 's/^/# build: /' "$TMP/build.log"
for f in vmlinuz initrd.img rootfs.ext4 boot.img id_ed25519 id_ed25519.pub manifest.txt; do
	[ -s "$IMG/$f" ] || fail "product $f exists"
done
KVER=$(sed -n 's/^kernel: \([^ ]*\) .*/\1/p' "$IMG/manifest.txt")
check "manifest names the kernel" test -n "$KVER"
t0=$EPOCHREALTIME
"$TOP/images/build.sh" --print-dir >/dev/null 2>"$TMP/build2.log"
hit_ms=$(ms_since "$t0")
check "a second build is a cache hit" grep -q 'cache hit' "$TMP/build2.log"
echo "# cache hit took $(secs "$hit_ms") s"
# Guests write to their disks: boot copies, never the cached images.
KEY=$TMP/id_ed25519
install -m 600 "$IMG/id_ed25519" "$KEY"

# --- network namespace: bridge 10.77.0.1/24 + tap0 -----------------------------
ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip addr add 10.77.0.1/24 dev br0
nsx ip link set br0 up
nsx ip tuntap add dev tap0 mode tap
nsx ip link set tap0 master br0
nsx ip link set tap0 up

# --- helpers -------------------------------------------------------------------
# start_vm NAME QEMU-ARGS...: QEMU in the namespace, serial console to
# $TMP/NAME.serial, QMP on the pipes $TMP/NAME.qmp.{in,out}.
start_vm() {
	local name=$1
	shift
	mkfifo "$TMP/$name.qmp.in" "$TMP/$name.qmp.out"
	: >"$TMP/$name.serial"
	VM_NAME=$name
	VM_T0=$EPOCHREALTIME
	nsx qemu-system-x86_64 -accel tcg -machine pc -m 256 -nodefaults -no-user-config \
		-nographic -serial "file:$TMP/$name.serial" \
		-chardev "pipe,id=qmp,path=$TMP/$name.qmp" -mon chardev=qmp,mode=control \
		"$@" >"$TMP/$name.qemu.log" 2>&1 &
	VM_PID=$!
	exec {QMP_IN}<>"$TMP/$name.qmp.in" {QMP_OUT}<>"$TMP/$name.qmp.out"
}

# wait_ready: waits for the ready line; prints the boot time as a comment.
wait_ready() {
	local deadline=$((SECONDS + READY_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		if grep -aq 'airlock-guest: ready' "$TMP/$VM_NAME.serial"; then
			BOOT_MS=$(ms_since "$VM_T0")
			echo "# boot $VM_NAME: QEMU start -> 'airlock-guest: ready' in $(secs "$BOOT_MS") s"
			return 0
		fi
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# $VM_NAME did not reach ready; serial console:"
	tr -d '\r' <"$TMP/$VM_NAME.serial" | tail -n 40 | sed 's/^/#   /'
	sed 's/^/#   qemu: /' "$TMP/$VM_NAME.qemu.log"
	return 1
}

# wait_exit SECONDS: true if QEMU exits within that time (guest powered off).
wait_exit() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			wait "$VM_PID" 2>/dev/null || true
			VM_PID=""
			exec {QMP_IN}>&- {QMP_OUT}<&-
			return 0
		fi
		sleep 0.1
	done
	echo "# QEMU still running after $1 s; serial tail:"
	tr -d '\r' <"$TMP/$VM_NAME.serial" | tail -n 15 | sed 's/^/#   /'
	return 1
}

# kill_vm: ends a QEMU that did not stop by itself.
kill_vm() {
	[ -n "$VM_PID" ] || return 0
	kill "$VM_PID" 2>/dev/null || true
	wait "$VM_PID" 2>/dev/null || true
	VM_PID=""
	exec {QMP_IN}>&- {QMP_OUT}<&-
}

# qmp JSON: sends one command (after the greeting and qmp_capabilities the
# first time) and waits for its "return" (events in between are skipped).
qmp() {
	local line
	printf '%s\n' "$1" >&"$QMP_IN"
	while read -r -t 10 -u "$QMP_OUT" line; do
		case "$line" in
		*'"return"'*) return 0 ;;
		*'"error"'*) echo "# qmp: $line"; return 1 ;;
		esac
	done
	echo "# qmp: no answer to $1"
	return 1
}
qmp_powerdown() {
	qmp '{"execute":"qmp_capabilities"}' && qmp '{"execute":"system_powerdown"}'
}

# gssh CMD: runs CMD in the guest as root over ssh with the test key. The
# keepalives and the timeout end a session whose guest went away.
gssh() {
	timeout 120 ip netns exec "$NS" ssh -i "$KEY" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes \
		-o ConnectTimeout=30 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \
		"root@$GUEST_IP" "$@"
}

serial_has() { tr -d '\r' <"$TMP/$VM_NAME.serial" | grep -aq -- "$1"; }

# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
NET=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0)
# disk FILE: sets DISK to the options of a virtio-blk disk backed by FILE.
# shellcheck disable=SC2054
disk() { DISK=(-drive "file=$1,format=raw,if=none,id=d0,cache=unsafe" -device virtio-blk-pci,drive=d0); }
declare -A TIMES=()

# --- (a) direct kernel boot, ext4 root, ssh, persistence ------------------------------
cp --sparse=always "$IMG/rootfs.ext4" "$TMP/root.ext4"
APPEND="console=ttyS0 quiet root=/dev/vda airlock.ip=$GUEST_IP/24 airlock.hostname=alpha"
disk "$TMP/root.ext4"
start_vm a1 -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND" "${DISK[@]}" "${NET[@]}"
if wait_ready; then
	ok "(a) direct kernel boot with rootfs.ext4 reaches ready"
	TIMES[a]=$BOOT_MS
	check "(a) root is the ext4 disk" serial_has "root /dev/vda ext4"
	t0=$EPOCHREALTIME
	out=$(gssh 'uname -r; cat /proc/cmdline; hostname' 2>&1) || true
	echo "# first ssh command took $(secs "$(ms_since "$t0")") s"
	check_eq "(a) ssh: uname -r" "$KVER" "$(sed -n 1p <<<"$out")"
	check_eq "(a) ssh: /proc/cmdline" "$APPEND" "$(sed -n 2p <<<"$out")"
	check_eq "(a) hostname from airlock.hostname=" "alpha" "$(sed -n 3p <<<"$out")"
	check "(a) iperf3 runs in the guest" gssh 'iperf3 --version >/dev/null'
	# shellcheck disable=SC2016 # $m expands in the guest
	check "(a) ext4, virtio and pvpanic modules loaded" \
		gssh 'for m in ext4 virtio_blk virtio_net button evdev pvpanic_pci; do test -d /sys/module/$m || exit 1; done'
	check_eq "(a) kernel.panic_on_oops" "1" "$(gssh 'cat /proc/sys/kernel/panic_on_oops' 2>&1)"
	MARK=persisted-$$-$RANDOM
	gssh "echo $MARK >/root/marker && sync" || true
	hostkey1=$(gssh 'dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep -i fingerprint' 2>&1) || true
	check "(a) sshd made its host key at first boot" test -n "$hostkey1"
	gssh poweroff >/dev/null 2>&1 || true
	if wait_exit 60; then ok "(a) poweroff inside the guest ends QEMU"; else fail "(a) poweroff inside the guest ends QEMU"; fi
	check "(a) shutdown unmounted cleanly" serial_has "filesystems clean"
	kill_vm
else
	fail "(a) direct kernel boot with rootfs.ext4 reaches ready"
	kill_vm
fi

# Second boot of the same disk.
start_vm a2 -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND" "${DISK[@]}" "${NET[@]}"
if wait_ready; then
	ok "(a) second boot of the same disk reaches ready"
	TIMES[a2]=$BOOT_MS
	check_eq "(a) the file written before poweroff survived" "${MARK:-}" "$(gssh 'cat /root/marker' 2>&1)"
	check_eq "(a) the sshd host key survived" "$hostkey1" \
		"$(gssh 'dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep -i fingerprint' 2>&1)"
	check "(a) ext4 needed no journal recovery" gssh '! dmesg | grep -q "recovery complete"'
	if qmp_powerdown && wait_exit 60; then
		ok "(a) QMP system_powerdown (ACPI button -> acpid) ends QEMU"
	else
		fail "(a) QMP system_powerdown (ACPI button -> acpid) ends QEMU"
	fi
	kill_vm
else
	fail "(a) second boot of the same disk reaches ready"
	kill_vm
fi

# --- (b) firmware boot: SeaBIOS -> syslinux -> kernel, root on partition 2 -------------
cp --sparse=always "$IMG/boot.img" "$TMP/boot.img"
disk "$TMP/boot.img"
start_vm b "${DISK[@]}"
if wait_ready; then
	ok "(b) firmware boot of boot.img reaches ready"
	TIMES[b]=$BOOT_MS
	check "(b) root is partition 2" serial_has "root /dev/vda2 ext4"
	if qmp_powerdown && wait_exit 60; then ok "(b) system_powerdown ends QEMU"; else fail "(b) system_powerdown ends QEMU"; fi
else
	fail "(b) firmware boot of boot.img reaches ready"
fi
kill_vm

# --- (c) initramfs only, no disk; iperf3 from the namespace ------------------------
start_vm c -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
	-append "console=ttyS0 quiet airlock.ip=$GUEST_IP/24 airlock.iperf3" "${NET[@]}"
if wait_ready; then
	ok "(c) initramfs-only boot reaches ready"
	TIMES[c]=$BOOT_MS
	check "(c) stays in the initramfs" serial_has "no root disk, running from the initramfs"
	check_eq "(c) default hostname" "guest" "$(gssh hostname 2>&1)"
	if nsx iperf3 -c "$GUEST_IP" -t 2 -f m >"$TMP/iperf3.log" 2>&1; then
		ok "(c) iperf3 from the namespace to the guest"
		awk '/receiver/ { print "# iperf3 (TCG): " $7 " " $8 }' "$TMP/iperf3.log"
	else
		fail "(c) iperf3 from the namespace to the guest"
		sed 's/^/#   /' "$TMP/iperf3.log"
	fi
	gssh poweroff >/dev/null 2>&1 || true
	if wait_exit 60; then ok "(c) poweroff ends QEMU"; else fail "(c) poweroff ends QEMU"; fi
else
	fail "(c) initramfs-only boot reaches ready"
fi
kill_vm

# --- (d) vmlinux (PVH entry, no bzImage decompressor), pvpanic on a crash ---------
if [ -f "$IMG/vmlinux" ]; then
	start_vm d -kernel "$IMG/vmlinux" -initrd "$IMG/initrd.img" \
		-append "console=ttyS0 quiet airlock.ip=$GUEST_IP/24" "${NET[@]}" \
		-device pvpanic -action panic=shutdown
	if wait_ready; then
		ok "(d) direct boot of vmlinux (PVH) reaches ready"
		TIMES[d]=$BOOT_MS
		# reboot from inside: the same QEMU boots the guest again.
		gssh reboot >/dev/null 2>&1 || true
		for _ in $(seq 1 $((READY_TIMEOUT * 10))); do
			[ "$(tr -d '\r' <"$TMP/d.serial" | grep -ac '^airlock-guest: ready')" -lt 2 ] || break
			kill -0 "$VM_PID" 2>/dev/null || break
			sleep 0.1
		done
		check_eq "(d) reboot inside the guest boots it again" 2 \
			"$(tr -d '\r' <"$TMP/d.serial" | grep -ac '^airlock-guest: ready')"
		# A kernel crash: pvpanic reports it, QEMU's -action panic=shutdown
		# ends the VM (the toolstack's on_crash hook).
		# (In the background, so that the ssh session ends first.)
		gssh '(sleep 1; echo c >/proc/sysrq-trigger) >/dev/null 2>&1 </dev/null &' || true
		if wait_exit 60; then ok "(d) a guest crash reaches QEMU through pvpanic"; else fail "(d) a guest crash reaches QEMU through pvpanic"; fi
		check "(d) the console shows the panic" serial_has "Kernel panic"
	else
		fail "(d) direct boot of vmlinux (PVH) reaches ready"
	fi
	kill_vm
else
	echo "# no vmlinux in the images: (d) skipped"
fi

echo "# boot times to ready (TCG): a=$(secs "${TIMES[a]:-0}") s, a(2nd)=$(secs "${TIMES[a2]:-0}") s, b=$(secs "${TIMES[b]:-0}") s, c=$(secs "${TIMES[c]:-0}") s, d(vmlinux)=$(secs "${TIMES[d]:-0}") s"
done_testing
