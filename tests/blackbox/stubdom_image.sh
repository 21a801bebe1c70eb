#!/usr/bin/env bash
# tests/blackbox/stubdom_image.sh — builds (or reuses) the stub-domain image
# with images/stubdom/build.sh, checks its products and kernel config, then
# boots it for real under QEMU (TCG, -m 32) against a real airlock-store:
# the stub domain is an introduced domain (its own unprivileged store
# connection through a virtio-serial port named org.airlock.store), reads
# its device model's arguments from /vm/<uuid>/image/dm-argv/, starts
# airlock-dm with them, reports running in the store, restarts airlock-dm
# when it is killed, and offers a console shell with airlock.shell. A
# second boot gives airlock-dm arguments it refuses: state "failed".
# Boot times are printed as TAP comments (reported, not asserted).
#
# The first run builds the kernel (minutes; see docs/stubdom.md), later
# runs hit the cache. Skips only without qemu-system-x86_64.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BOOT_TIMEOUT=${BOOT_TIMEOUT:-60} # seconds per wait; TCG on a loaded host
STUB=7                            # the stub domain's domid
TARGET=5                          # its target (the guest's domid)
UUID=5b1e0c2a-7d33-4c4e-9a51-0c7f3e2d9a10
VM_PID=""

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing (scripts/setup.sh)"
[ -x "$STORE_BIN" ] && [ -x "$AIRLOCK_BIN" ] || skip_all "no airlock-store/airlock in $AIRLOCK_BUILD (build first)"

stub_cleanup() {
	if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
		kill "$VM_PID" 2>/dev/null || true
		wait "$VM_PID" 2>/dev/null || true
	fi
	[ -z "${CAT_PID:-}" ] || kill "$CAT_PID" 2>/dev/null || true
	cleanup
}
trap stub_cleanup EXIT

ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}
secs() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }
al() { "$AIRLOCK_BIN" "$@"; }

# --- the image -----------------------------------------------------------------
t0=$EPOCHREALTIME
if ! IMG=$("$TOP/images/stubdom/build.sh" --print-dir 2>"$TMP/build.log"); then
	fail "images/stubdom/build.sh builds the image"
	sed 's/^/#   /' "$TMP/build.log"
	done_testing
	exit 1
fi
ok "images/stubdom/build.sh builds or reuses the image ($(secs "$(ms_since "$t0")") s)"
sed 's/^/# build: /' "$TMP/build.log"
t0=$EPOCHREALTIME
"$TOP/images/stubdom/build.sh" --out "$TMP/stubdom" >/dev/null 2>"$TMP/build2.log"
check "a second build is a cache hit" grep -q 'cache hit' "$TMP/build2.log"
check "--out makes a symlink to the same entry" test "$(readlink "$TMP/stubdom")" = "$IMG"
echo "# cache hit took $(secs "$(ms_since "$t0")") s"

check "vmlinux is a 64-bit ELF" bash -c "readelf -h '$IMG/vmlinux' | grep -q 'Class:.*ELF64'"
# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry QEMU boots without a BIOS.
check "vmlinux has a PVH entry note" bash -c "readelf -n '$IMG/vmlinux' | grep -q 'Xen.*0x00000012'"
check "initramfs.cpio.gz is gzip" bash -c "gzip -t '$IMG/initramfs.cpio.gz'"
for k in 'key:' 'kernel:' 'kernel config sha256:' 'busybox-static:' 'airlock-dm: sha256' 'vmlinux '; do
	check "manifest has '$k'" grep -q "^$k" "$IMG/manifest.txt"
done
sed -n '/^# products/,$p' "$IMG/manifest.txt" | tail -n +2 | sed 's/^/# size: /'
check_eq "manifest's config hash is the config's" \
	"$(sha256sum <"$IMG/config" | cut -d' ' -f1)" \
	"$(sed -n 's/^kernel config sha256: //p' "$IMG/manifest.txt")"

# Every line of the fragment, as asked, in the final .config.
bad=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF -- "$line" "$IMG/config" || bad+=("$line") ;;
	"# CONFIG_"*" is not set")
		o=${line#\# }
		o=${o%% *}
		! grep -qE "^$o=" "$IMG/config" || bad+=("$line")
		;;
	esac
done <"$TOP/images/stubdom/kernel.config"
check_eq "every kernel.config option is set as asked" "" "${bad[*]}"
for o in CONFIG_PVH=y CONFIG_VFIO_NOIOMMU=y CONFIG_VIRTIO_CONSOLE=y CONFIG_IO_URING=y \
	CONFIG_SECCOMP_FILTER=y CONFIG_PACKET=y; do
	check "config has $o" grep -qxF "$o" "$IMG/config"
done
check "config: no loadable modules" grep -qx '# CONFIG_MODULES is not set' "$IMG/config"
check "config: no IPv4 (INET)" grep -qx '# CONFIG_INET is not set' "$IMG/config"

# The initramfs: what is in it, and the binaries are static.
mkdir -p "$TMP/initramfs"
(cd "$TMP/initramfs" && zcat "$IMG/initramfs.cpio.gz" | cpio -id --quiet --no-absolute-filenames 2>/dev/null)
for f in init bin/busybox bin/sh usr/bin/airlock-dm usr/bin/airlock; do
	check "initramfs has /$f" test -e "$TMP/initramfs/$f"
done
for f in bin/busybox usr/bin/airlock-dm usr/bin/airlock; do
	check "/$f is static" bash -c "! readelf -l '$TMP/initramfs/$f' | grep -q 'program interpreter'"
done
check "initramfs /dev/console is a character device" \
	bash -c "zcat '$IMG/initramfs.cpio.gz' | cpio -tv --quiet 2>/dev/null | grep -q '^crw.* dev/console$'"

# --- the store ---------------------------------------------------------------------
start_store
DOMSOCK=$TMP/store.sock.d/$STUB
al introduce "$STUB"
check "INTRODUCE made the stub domain's socket" test -S "$DOMSOCK"
# The device model's arguments, one node each (as libxl writes them),
# written out of order: the init must take them in numeric order ("10"
# after "9", not after "1"). airlock-dm accepts this argv.
ARGV=(--log-level info --socket-path /run/airlock/blk.sock --blk-file /dev/vda
	--read-only --log-level warn --log-level info)
for i in 10 3 0 7 1 2 4 5 6 8 9; do
	al write "/vm/$UUID/image/dm-argv/$i" "${ARGV[$i]}"
done
# The stub reads dm-argv (and nothing else of /vm) and owns its home.
al chmod "/vm/$UUID/image/dm-argv" n0 "r$STUB"
for i in "${!ARGV[@]}"; do al chmod "/vm/$UUID/image/dm-argv/$i" n0 "r$STUB"; done
al write "/vm/$UUID/name" guest
al mkdir "/local/domain/$STUB"
al chmod "/local/domain/$STUB" "n$STUB"
STATE=/local/domain/$STUB/device-model/$TARGET/state

# --- booting it --------------------------------------------------------------------
truncate -s 8M "$TMP/stub-disk.img" # the stub's own disk (airlock-dm serves it)
# boot NAME APPEND: starts the stub domain; console on the pipes
# $TMP/NAME.con.{in,out}, copied to $TMP/NAME.console.log.
boot() {
	local name=$1 append=$2
	mkfifo "$TMP/$name.con.in" "$TMP/$name.con.out"
	: >"$TMP/$name.console.log"
	VM_NAME=$name
	VM_T0=$EPOCHREALTIME
	qemu-system-x86_64 -machine pc -accel tcg -m 32 -nodefaults -no-user-config -display none \
		-no-reboot -kernel "$IMG/vmlinux" -initrd "$IMG/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet $append" \
		-chardev "pipe,id=con,path=$TMP/$name.con" -serial chardev:con \
		-device virtio-serial-pci \
		-chardev "socket,id=st,path=$DOMSOCK" \
		-device virtserialport,chardev=st,name=org.airlock.store \
		-chardev "socket,id=sp,path=$TMP/$name.proto.sock,server=on,wait=off" \
		-device virtserialport,chardev=sp,name=org.airlock.stubproto \
		-drive "file=$TMP/stub-disk.img,format=raw,if=none,id=d0" \
		-device virtio-blk-pci,drive=d0 \
		>"$TMP/$name.qemu.log" 2>&1 &
	VM_PID=$!
	exec {CON_IN}<>"$TMP/$name.con.in" {CON_OUT}<>"$TMP/$name.con.out"
	cat <&"$CON_OUT" >"$TMP/$name.console.log" &
	CAT_PID=$!
}
# wait_serial ERE [SECONDS]: waits for a console line matching ERE.
wait_serial() {
	local deadline=$((SECONDS + ${2:-$BOOT_TIMEOUT}))
	while [ $SECONDS -lt $deadline ]; do
		grep -aqE -- "$1" "$TMP/$VM_NAME.console.log" && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# no '$1' on the console of $VM_NAME; its tail:"
	tr -d '\r' <"$TMP/$VM_NAME.console.log" | tail -n 30 | sed 's/^/#   /'
	sed 's/^/#   qemu: /' "$TMP/$VM_NAME.qemu.log"
	return 1
}
# wait_state VALUE: waits for the state node to read VALUE.
wait_state() {
	local deadline=$((SECONDS + BOOT_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(al read "$STATE" 2>/dev/null)" = "$1" ] && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# $STATE is '$(al read "$STATE" 2>&1)', not '$1'; console tail:"
	tr -d '\r' <"$TMP/$VM_NAME.console.log" | tail -n 20 | sed 's/^/#   /'
	return 1
}
# console CMD: types CMD on the console shell.
console() { printf '%s\n' "$1" >&"$CON_IN"; }
halt_vm() {
	kill "$VM_PID" 2>/dev/null || true
	wait "$VM_PID" 2>/dev/null || true
	VM_PID=""
	kill "$CAT_PID" 2>/dev/null || true
	wait "$CAT_PID" 2>/dev/null || true
	CAT_PID=""
	exec {CON_IN}>&- {CON_OUT}<&-
}

boot a "airlock.target=$TARGET airlock.uuid=$UUID airlock.shell"
if wait_serial 'airlock-stubdom: \[[0-9.]+s\] init started'; then
	init_ms=$(ms_since "$VM_T0")
	up=$(grep -aoE 'airlock-stubdom: \[[0-9.]+s\] init started' "$TMP/a.console.log" | sed 's/.*\[\([0-9.]*\)s\].*/\1/')
	ok "the stub domain reaches its /init"
	echo "# boot: QEMU start -> /init in $(secs "$init_ms") s (kernel uptime at /init: $up s)"
else
	fail "the stub domain reaches its /init"
fi
if wait_state running; then
	run_ms=$(ms_since "$VM_T0")
	ok "$STATE becomes running"
	echo "# boot: QEMU start -> state running in $(secs "$run_ms") s (-m 32, TCG)"
else
	fail "$STATE becomes running"
fi
check "the init found the store port" grep -aqE 'store channel org.airlock.store on /dev/vport[0-9]+p[0-9]+' "$TMP/a.console.log"
check "the init recorded the stub protocol port" \
	grep -aqE 'stub protocol port org.airlock.stubproto on /dev/vport[0-9]+p[0-9]+' "$TMP/a.console.log"
# The argv it logged: exactly the nodes written, in numeric order.
want=""
for i in "${!ARGV[@]}"; do want+="dm-argv[$i] = '${ARGV[$i]}'"$'\n'; done
got=$(tr -d '\r' <"$TMP/a.console.log" | sed -n 's/^airlock-stubdom: \[[0-9.]*s\] \(dm-argv\[.*\)$/\1/p')
check_eq "the init logged exactly the dm-argv nodes, in order" "${want%$'\n'}" "$got"
check "the init read ${#ARGV[@]} arguments" grep -aq "read ${#ARGV[@]} arguments from /vm/$UUID/image/dm-argv" "$TMP/a.console.log"
wait_serial 'memory: MemTotal' 20 >/dev/null || true
mem=$(tr -d '\r' <"$TMP/a.console.log" | sed -n 's/.*memory: MemTotal: \([0-9]*\) KiB.*/\1/p' | head -n 1)
if [ -n "$mem" ] && [ "$mem" -le 32768 ]; then
	ok "it runs in 32 MiB (MemTotal $mem KiB)"
	tr -d '\r' <"$TMP/a.console.log" | grep -a 'memory: ' | head -n 1 | sed 's/^.*memory: /# memory with airlock-dm running: /'
else
	fail "it runs in 32 MiB (MemTotal '${mem:-?}' KiB)"
fi

# The console shell: a typed command runs (the computed value proves it
# is not just the echo of the typed line).
if wait_serial 'shell on the console'; then
	sleep 0.5
	console 'echo shell-says-$((6 * 7))'
	check "a command typed on the console runs (airlock.shell)" wait_serial 'shell-says-42' 20
	# airlock-dm runs with exactly the argv read from the store.
	console 'echo dm-cmdline: $(tr "\0" " " </proc/$(cat /run/airlock/airlock-dm.pid)/cmdline)'
	check "airlock-dm runs with exactly those arguments" \
		wait_serial "dm-cmdline: airlock-dm ${ARGV[*]} ?"$'\r'"?$" 20
	# Supervision: kill it; the init says so, restarts it, running again.
	al write "$STATE" killed-by-test
	console 'kill $(cat /run/airlock/airlock-dm.pid)'
	# (airlock-dm exits 0 on SIGTERM: it is the exit the init must see.)
	check "the init logs airlock-dm's exit" wait_serial 'airlock-dm \(pid [0-9]+\) (exited with status|killed by signal)' 20
	check "the init restarts airlock-dm" wait_serial 'airlock-dm started \(pid [0-9]+, run 2\)' 20
	check "state is running again after the restart" wait_state running
else
	fail "the console shell starts"
fi
check "the stub's QEMU is still running" kill -0 "$VM_PID"
halt_vm

# --- arguments airlock-dm refuses ------------------------------------------------------
al rm "/vm/$UUID/image/dm-argv"
al write "/vm/$UUID/image/dm-argv/0" --no-such-option
al chmod "/vm/$UUID/image/dm-argv" n0 "r$STUB"
al chmod "/vm/$UUID/image/dm-argv/0" n0 "r$STUB"
al rm "/local/domain/$STUB/device-model"
boot b "airlock.target=$TARGET airlock.uuid=$UUID"
check "refused arguments: state failed" wait_state failed
check "refused arguments: the error node says why" \
	bash -c "'$AIRLOCK_BIN' read /local/domain/$STUB/device-model/$TARGET/error | grep -q 'refused its arguments'"
check "refused arguments: reported on the console" wait_serial 'refused its arguments .*not restarting' 10
check "refused arguments: not restarted" bash -c "! grep -aq 'run 2)' '$TMP/b.console.log'"
halt_vm

stop_store
done_testing
