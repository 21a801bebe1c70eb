#!/usr/bin/env bash
# Guests for real: airlock create / list / console / log / reboot / shutdown
# / destroy with the engine's own devices ("qemu" placement), under the
# probed accelerator (TCG here). Everything runs inside a network namespace
# this test makes (bridge br0, 10.77.0.1/24): the guest's tap, the ssh
# client; no traffic leaves it. After each domain ends the test checks that
# nothing is left: processes, sockets, taps, RAM files, cgroups, store nodes.
. "$(dirname "$0")/../lib.sh"
NS=airlock-t$$

netns_cleanup() { ip netns del "$NS" 2>/dev/null; }
trap 'netns_cleanup; cleanup' EXIT
in_ns() { ip netns exec "$NS" "$@"; }
# Supervisors join only the namespace's network: `ip netns exec` would also
# give them a private /sys without the cgroup mounts.
in_net() { nsenter --net=/run/netns/"$NS" "$@"; }

. "$(dirname "$0")/../guest.sh"
ok "guest images ready"
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add br0 type bridge
in_ns ip addr add 10.77.0.1/24 dev br0
in_ns ip link set br0 up

gssh() { in_ns ssh -q -i "$TMP/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o BatchMode=yes root@10.77.0.2 "$@"; }
cp "$IMG/id_ed25519" "$TMP/key" && chmod 600 "$TMP/key"

domid_of() { field "$1" 1; }

# nothing_left NAME DOMID UUID: everything the domain owned is gone.
nothing_left() {
	local name=$1 id=$2 uuid=$3 bad="" p
	# A supervisor answers "done" before it exits (a sanitizer build takes
	# a moment to); a killed one may linger as a zombie nobody reaps.
	for _ in $(seq 1 50); do
		p=$(pgrep -f "airlock-supervisor --domid $id --uuid $uuid " | head -1)
		[ -z "$p" ] && break
		[ "$(ps -o stat= -p "$p" | cut -c1)" = Z ] && break
		sleep 0.2
	done
	pgrep -f "guest=$name,.* -uuid $uuid " >/dev/null && bad="$bad engine-process"
	if [ -n "$p" ] && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]; then
		bad="$bad supervisor"
		ps -o pid,stat,args -p "$p" | sed 's/^/#   /'
	fi
	in_ns ip -o link show | grep -q "vif$id\." && bad="$bad tap"
	[ -e "$AIRLOCK_RUN_DIR/$id" ] && bad="$bad run-dir"
	ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q "memfd:airlock:$name:$uuid " && bad="$bad ram-memfd"
	$A read "/local/domain/$id/name" >/dev/null 2>&1 && bad="$bad store:/local/domain/$id"
	[ -n "$uuid" ] && $A read "/vm/$uuid/name" >/dev/null 2>&1 && bad="$bad store:/vm/$uuid"
	compgen -G "/sys/fs/cgroup/*/airlock/dom$id-$uuid" >/dev/null && bad="$bad cgroup"
	compgen -G "/sys/fs/cgroup/*/*/*/airlock/dom$id-$uuid" >/dev/null && bad="$bad cgroup"
	[ -z "$bad" ] || echo "# left behind:$bad"
	[ -z "$bad" ]
}

cp --sparse=always "$IMG/rootfs.ext4" "$TMP/t1.ext4"
cat >"$TMP/t1.cfg" <<CFG
# a direct-boot guest with the ext4 image as its root disk
name = "t1"
memory = 256
vcpus = 1
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda airlock.ip=10.77.0.2/24 quiet"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/t1.ext4' ]
vif = [ 'bridge=br0, mac=00:16:3e:77:00:02, mtu=1400' ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
device_model_version = "qemu"
CFG

# --- create, and the engine's confinement ----------------------------------
t0=$(date +%s.%N)
check "create t1" in_net $A create "$TMP/t1.cfg"
check "a second create of a running name is refused" bash -c "! nsenter --net=/run/netns/$NS $A create $TMP/t1.cfg 2>$TMP/dup.err"
check "  and says why" grep -q "already runs" "$TMP/dup.err"
ID=$(domid_of t1)
UUID=$($A read "/local/domain/$ID/vm" | sed 's|/vm/||')
check_eq "list shows t1 running" "running" "$($A list | awk '$2 == "t1" { print $3 }')"
check "the store has t1's records" $A read "/vm/$UUID/name"
EPID=$($A read "/local/domain/$ID/airlock/engine-pid")
st=/proc/$EPID/status
check "engine runs as its own uid (not root)" bash -c "awk '/^Uid:/ { exit !(\$2 != 0) }' $st"
check_eq "engine is under seccomp (Seccomp 2)" "2" "$(awk '/^Seccomp:/ { print $2 }' "$st")"
check_eq "engine has NoNewPrivs 1" "1" "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")"
check_eq "engine has no capabilities" "0000000000000000" "$(awk '/^CapEff:/ { print $2 }' "$st")"
check_eq "engine is chrooted into an empty directory" "$AIRLOCK_RUN_DIR/$ID/chroot" "$(readlink /proc/$EPID/root)"
check "engine is in its own cgroup" grep -q "airlock/dom$ID-$UUID" /proc/$EPID/cgroup
check_eq "the vif's tap joined br0" "br0" "$(basename "$(in_ns readlink /sys/class/net/vif$ID.0/master)")"
check_eq "the vif's mtu= is applied to its tap" "1400" "$(in_ns cat /sys/class/net/vif$ID.0/mtu)"

# --- boot, console, ssh ----------------------------------------------------------
check "t1 boots to its ready banner (direct kernel, ext4 root)" wait_log t1 "airlock-guest: ready" 1
t1=$(date +%s.%N)
echo "# create -> ready: $(echo "$t1 - $t0" | bc) s"
mkfifo "$TMP/con.in"
(sleep 30 >"$TMP/con.in") &
holder=$!
timeout 20 $A console t1 <"$TMP/con.in" >"$TMP/con.out" 2>&1 &
cpid=$!
sleep 1
echo "echo console-marker-\$((6*7))" >"$TMP/con.in"
for _ in $(seq 1 15); do grep -q "console-marker-42" "$TMP/con.out" && break; sleep 1; done
check "airlock console shows the guest and takes input" grep -q "console-marker-42" "$TMP/con.out"
check "the console replays output from before it attached" grep -q "airlock-guest: ready" "$TMP/con.out"
kill $cpid $holder 2>/dev/null; wait $cpid $holder 2>/dev/null
check_eq "ssh into the guest from the test namespace" "t1-ok" "$(gssh 'echo t1-ok')"
check "write a file in the guest" gssh 'echo persisted-$((1+1)) > /root/mark; sync'

# --- reboot: a fresh engine, the disk survives -------------------------------
check "airlock reboot t1" $A reboot t1
check "t1 comes back after the reboot" wait_log t1 "airlock-guest: ready" 2
check_eq "the file written before the reboot is there" "persisted-2" "$(gssh 'cat /root/mark')"
NEWPID=$($A read "/local/domain/$ID/airlock/engine-pid")
check "the reboot started a new engine process" test "$NEWPID" != "$EPID"

# --- shutdown: ACPI power button, nothing left --------------------------------
check "airlock shutdown t1 (ACPI power button)" $A shutdown t1
check "the guest shut down cleanly" wait_log t1 "filesystems clean" 1
check "t1 is gone from the list" bash -c "! $A list | awk '{print \$2}' | grep -qx t1"
check "shutdown left nothing behind" nothing_left t1 "$ID" "$UUID"

# --- firmware boot of the bootable disk; destroy --------------------------------
cp --sparse=always "$IMG/boot.img" "$TMP/fw.img"
cat >"$TMP/fw.cfg" <<CFG
name = "fw1"
memory = 256
disk = [ '$TMP/fw.img,raw,xvda,rw' ]
vif = [ 'bridge=br0' ]
CFG
check "create fw1 (firmware boot)" in_net $A create "$TMP/fw.cfg"
FID=$(domid_of fw1)
FUUID=$($A read "/local/domain/$FID/vm" | sed 's|/vm/||')
check "fw1 boots through SeaBIOS and syslinux to its ready banner" wait_log fw1 "airlock-guest: ready" 1
check "airlock destroy fw1" $A destroy fw1
check "destroy left nothing behind" nothing_left fw1 "$FID" "$FUUID"
check "destroy of an unknown name fails" bash -c "! $A destroy nosuchdomain 2>$TMP/unk.err"
check "  and says so" grep -q "no such domain" "$TMP/unk.err"

# --- crash: a kernel panic reaches on_crash through pvpanic ---------------------
cp --sparse=always "$IMG/rootfs.ext4" "$TMP/t1.ext4"
check "create t1 again" in_net $A create "$TMP/t1.cfg"
ID=$(domid_of t1)
UUID=$($A read "/local/domain/$ID/vm" | sed 's|/vm/||')
check "t1 ready again" wait_log t1 "airlock-guest: ready" 3
# The panic is typed on the serial console, as an operator would.
printf 'echo c > /proc/sysrq-trigger\n' | timeout 10 $A console t1 >"$TMP/panic.out" 2>&1 &
for _ in $(seq 1 60); do [ -z "$(domid_of t1)" ] && break; sleep 1; done
check "a guest panic applies on_crash=destroy" test -z "$(domid_of t1)"
check "the crash is in the supervisor's log" grep -q "panicked" "$AIRLOCK_LOG_DIR/t1.log"
check "the crash left nothing behind" nothing_left t1 "$ID" "$UUID"

# --- a killed engine ---------------------------------------------------------------
check "create t1 once more" in_net $A create "$TMP/t1.cfg"
ID=$(domid_of t1)
UUID=$($A read "/local/domain/$ID/vm" | sed 's|/vm/||')
kill -9 "$($A read "/local/domain/$ID/airlock/engine-pid")"
for _ in $(seq 1 30); do [ -z "$(domid_of t1)" ] && break; sleep 1; done
check "a killed engine is a crash: on_crash=destroy" test -z "$(domid_of t1)"
check "the killed engine left nothing behind" nothing_left t1 "$ID" "$UUID"

# --- a dead supervisor: the next listing reaps what it left -----------------------
check "create t1 for the ghost test" in_net $A create "$TMP/t1.cfg"
ID=$(domid_of t1)
UUID=$($A read "/local/domain/$ID/vm" | sed 's|/vm/||')
kill -9 "$($A read "/local/domain/$ID/airlock/owner-pid")"
sleep 0.5
check "airlock list never shows a ghost" bash -c "! $A list | awk '{print \$2}' | grep -qx t1"
sleep 1
check "the ghost's engine and records are reaped" nothing_left t1 "$ID" "$UUID"

stop_store
done_testing
