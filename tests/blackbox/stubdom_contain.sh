#!/usr/bin/env bash
# What a stub domain holds, and what an intruder in it could reach, for
# guests created by `airlock create` with device_model_stubdomain_override.
# Two guests, each with its stub domain: c1 (256 MiB), whose stub is the
# intruder's, and c2 (1 GiB: the largest guest the stub's default 32 MiB is
# stated for, docs/config.md), the neighbour, later loaded.
#
#  1. each stub QEMU holds exactly its guest's RAM memfd, its disk images,
#     its tap, its four sockets (ivshmem, stub protocol, store, console),
#     /dev/null, its log, and QEMU's own eventfds and the like; each relay
#     the memfd, its listening sockets and their connections, eventfds,
#     epoll, signalfd;
#  2. from c1-dm's root shell, with a scanner typed in as an intruder would
#     bring one (tests/blackbox/memscan.c): a canary in c2's RAM is in no PCI
#     BAR, no process's memory, no file, and /dev/mem and /proc/kcore cannot
#     be had (not even with mknod); a canary in c1's own RAM is found in the
#     ivshmem BAR (the search works); a marker file on the host is in no file
#     the stub sees, `ls /` is the initramfs, no other file system is mounted;
#  3. the stub's store rights, beyond stubdom_placement's: nothing of dom0's,
#     of c2's or of c2's stub, nothing of its own records, nothing of its
#     guest's outside device-model/, no privileged verb;
#  4. c2 under disk (O_DIRECT, 256 MiB written and read back, checksummed)
#     and network (iperf3 both ways at once) load for ~20 s: no
#     out-of-memory in c2-dm, its airlock-dm never restarted, c2 running;
#     c2-dm's MemAvailable is printed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../guest.sh"
# The guests go before the store and the namespace do (lib.sh's cleanup).
destroy_all() {
	for n in c1 c2; do $A destroy "$n" >/dev/null 2>&1; done
	cleanup
}
trap destroy_all EXIT
test_netns airlock-c$$
need_stubdom_image
dmcon() { gcon c1-dm "$1"; }
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
rand() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
# need DESCRIPTION COMMAND...: a check the rest of the test cannot go without.
need() {
	local failed=$T_FAILED
	check "$@"
	[ "$T_FAILED" = "$failed" ] || { done_testing; exit 1; }
}

need "the scanner builds (freestanding, static)" \
	cc -static -nostdlib -ffreestanding -fno-stack-protector -fno-tree-loop-distribute-patterns \
	-O2 -s -Wall -Wextra -Werror -o "$TMP/memscan" "$TOP/tests/blackbox/memscan.c"

# guest_cfg NAME MEMORY DATA-SIZE IP [CMDLINE-EXTRA]: a Debian guest with a
# root disk, a raw data disk and a vif on br0, its airlock-dm in a stub domain.
guest_cfg() {
	cp --sparse=always "$IMG/rootfs.ext4" "$TMP/$1-root.ext4"
	truncate -s "$3" "$TMP/$1-data.img"
	cat >"$TMP/$1.cfg" <<CFG
name = "$1"
memory = $2
vcpus = 1
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda quiet airlock.ip=$4/24 ${5:-}"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/$1-root.ext4',
         'format=raw, vdev=xvdb, access=rw, target=$TMP/$1-data.img' ]
vif = [ 'bridge=br0' ]
device_model_version = "airlock"
device_model_stubdomain_override = 1
CFG
}
MEM1=256 MEM2=1024
guest_cfg c1 $MEM1 64M 10.77.0.3
guest_cfg c2 $MEM2 512M 10.77.0.2 airlock.iperf3
# create NAME: airlock create in the test's namespace, saying how it ended.
create() {
	in_net $A create "$TMP/$1.cfg"
	set -- "$1" $?
	[ "$2" = 0 ] || echo "#   airlock create $1: exit status $2"
	return "$2"
}
need "create c1 (the intruder's stub domain)" create c1
need "create c2 (the neighbour)" create c2
check_eq "c2-dm has the default stub memory for a $MEM2 MiB guest (docs/config.md)" 32 "$(field c2-dm 4)"
need "c1 boots from the disk its stub domain serves" wait_log c1 "airlock-guest: ready"
need "c2 boots from the disk its stub domain serves" wait_log c2 "airlock-guest: ready"
# guest_ids NAME: ID SID (its stub), STUBQ (the stub's QEMU), RELAY, SUP
# (its supervisor), UUID, from the store.
guest_ids() {
	ID=$(field "$1" 1) SID=$(field "$1-dm" 1)
	STUBQ=$($A read "/local/domain/$SID/airlock/engine-pid")
	RELAY=$($A read "/local/domain/$SID/airlock/dm-pid")
	SUP=$($A read "/local/domain/$ID/airlock/owner-pid")
	UUID=$($A read "/local/domain/$ID/vm")
	UUID=${UUID#/vm/}
}

# --- 1. the stub QEMU's and the relay's fds: exactly what they need ------------
# unix_peers PID: "INODE PATH PEER-INODE USERS" of every UNIX socket seen from
# PID's network namespace and from ours (the store's sockets are here).
unix_peers() {
	{
		ss -xapH
		nsenter --net=/proc/"$1"/ns/net ss -xapH
	} 2>/dev/null | awk '{ print $6, $5, $8, $9 }' | sort -u
}
# ram_fd NAME PID: PID's fd that is guest NAME's RAM memfd.
ram_fd() {
	for f in /proc/"$2"/fd/*; do
		case "$(readlink "$f")" in /memfd:airlock:"$1":*) echo "$f"; return ;; esac
	done
}
# sock_desc INODE PEERS: a socket by the path it is bound to, else by the
# path its peer is bound to and who holds the peer.
sock_desc() {
	awk -v ino="$1" -v run="$AIRLOCK_RUN_DIR/$ID/" -v store="$TMP/store.sock.d/$SID" \
		-v relay="pid=$RELAY," -v sup="pid=$SUP," -v st="pid=$STORE_PID," '
		{ path[$1] = $2; peer[$1] = $3; users[$1] = $4 }
		function name(p) {
			if (index(p, run) == 1) p = substr(p, length(run) + 1)
			return p == store ? "store.sock.d/<stub>" : p
		}
		END {
			if (!(ino in path)) { print "unknown"; exit }
			p = peer[ino]
			if (path[ino] != "*") {
				print (p == 0 ? "listen " : "accepted ") name(path[ino])
			} else if (path[p] != "*") {
				who = index(users[p], relay) ? "relay" : index(users[p], st) ? "store" : "other"
				print "to " name(path[p]) " (" who ")"
			} else {
				print "pair with " (index(users[p], sup) ? "the supervisor" : "another: " users[p])
			}
		}' <<<"$2"
}
# fd_kinds NAME PID: one line per fd of PID (guest NAME's stub QEMU or
# relay), what it is; "? FD TARGET" for what should not be there.
fd_kinds() {
	local pid=$2 fd t mode peers ram_id ino
	peers=$(unix_peers "$pid")
	ram_id=$(stat -L -c %d:%i "$(ram_fd "$1" "$SUP")")
	for f in /proc/"$pid"/fd/*; do
		fd=${f##*/}
		t=$(readlink "$f") || continue
		mode=$(awk '$1 == "flags:" { print substr($2, length($2), 1) }' "/proc/$pid/fdinfo/$fd")
		case "$t" in
		/dev/null) [ "$fd" -le 1 ] && echo stdio || echo "? $fd $t" ;;
		"$AIRLOCK_LOG_DIR/$1.log")
			# stderr, write-only (access mode 1)
			[ "$fd" = 2 ] && [ "$mode" = 1 ] && echo log || echo "? $fd $t (mode $mode)" ;;
		/memfd:airlock:"$1":*)
			[ "$(stat -L -c %d:%i "$f")" = "$ram_id" ] && echo ram || echo "? $fd $t (another memfd)" ;;
		/dev/net/tun) echo "tap $(awk '$1 == "iff:" { print $2 }' "/proc/$pid/fdinfo/$fd")" ;;
		"$TMP/$1-root.ext4" | "$TMP/$1-data.img") echo "disk ${t##*/}" ;;
		anon_inode:\[eventfd\] | anon_inode:\[eventpoll\] | anon_inode:\[signalfd\] | \
			anon_inode:\[timerfd\] | anon_inode:\[io_uring\] | pipe:\[*\]) echo internal ;;
		socket:\[*\])
			ino=${t#socket:[}
			echo "sock $(sock_desc "${ino%]}" "$peers")" ;;
		*) echo "? $fd $t" ;;
		esac
	done
}
# summary: the kinds but QEMU's internal ones, counted, on one line.
summary() { grep -v '^internal$' | sort | uniq -c | awk '{ $1 = $1; print }' | paste -sd, -; }

for g in c1 c2; do
	guest_ids $g
	fd_kinds $g "$STUBQ" >"$TMP/$g-stubq.fds"
	TAP=$(awk '$1 == "tap" { print $2 }' "$TMP/$g-stubq.fds")
	check_eq "$g-dm's QEMU holds $g's RAM, disks, tap, its four sockets, QEMU's own fds, nothing else" \
		"1 disk $g-data.img,1 disk $g-root.ext4,1 log,1 ram,1 sock pair with the supervisor,1 sock to store.sock.d/<stub> (store),1 sock to stub/ivshmem.sock (relay),1 sock to stub/stubproto.sock (relay),2 stdio,1 tap $TAP" \
		"$(summary <"$TMP/$g-stubq.fds")"
	grep '^?' "$TMP/$g-stubq.fds" | sed 's/^/#   unexpected: /'
	echo "#   and $(grep -c '^internal$' "$TMP/$g-stubq.fds") of QEMU's own (eventfds, signalfd, ...)"
	check "  its tap is on $g's bridge" bash -c "ip netns exec $NS ip -o link show master br0 | grep -q ': ${TAP}[@:]'"
	fd_kinds $g "$RELAY" >"$TMP/$g-relay.fds"
	l='' c=''
	for s in chroot/dm-blk0.sock chroot/dm-blk1.sock chroot/dm-net0.sock stub/ivshmem.sock stub/stubproto.sock; do
		l+="1 sock listen $s," c+="1 sock accepted $s,"
	done
	check_eq "$g's relay holds $g's RAM, its sockets and their connections, eventfds, epoll, nothing else" \
		"1 log,1 ram,$c${l}2 stdio" "$(summary <"$TMP/$g-relay.fds")"
	grep '^?' "$TMP/$g-relay.fds" | sed 's/^/#   unexpected: /'
done

# --- 2. canaries: c2's RAM is out of reach, c1's own is where it should be ------
guest_ids c2
ID2=$ID SID2=$SID UUID2=$UUID
guest_ids c1
CANARY1=airlock-canary-c1-$(rand) CANARY2=airlock-canary-c2-$(rand)
# plant NAME CANARY: 1 MiB of a tmpfs file in the guest, the canary every
# 64 bytes (the file's pages are guest RAM).
plant() {
	gcon "$1" 60 <<G
printf '%-63s\n' $2 >/run/canary && for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do cat /run/canary /run/canary >/run/c2 && mv /run/c2 /run/canary; done && wc -c </run/canary
G
}
plant c2 "$CANARY2" >"$TMP/plant2.out"
check "a canary in c2's RAM (1 MiB tmpfs file)" grep -qx 1048576 "$TMP/plant2.out"
plant c1 "$CANARY1" >"$TMP/plant1.out"
check "a canary in c1's RAM (1 MiB tmpfs file)" grep -qx 1048576 "$TMP/plant1.out"

# The scanner goes in through the stub's console, as an intruder's tool would.
{
	echo "base64 -d <<'EOF' | gunzip >/tmp/memscan"
	gzip -9c "$TMP/memscan" | base64
	echo "EOF"
	echo 'chmod +x /tmp/memscan && echo "memscan $(md5sum </tmp/memscan)"'
} >"$TMP/upload.sh"
dmcon 60 <"$TMP/upload.sh" >"$TMP/upload.out"
check_eq "the scanner is in c1-dm" "memscan $(md5sum <"$TMP/memscan" | cut -d' ' -f1)" \
	"$(grep -a '^memscan ' "$TMP/upload.out" | tr -d '\r' | awk '{ print $1, $2 }')"
IVS=$(dmcon 20 <<<'grep -l 0x1110 /sys/bus/pci/devices/*/device' | grep -a '^/sys' | tr -d '\r')
IVS=${IVS%/device}
check "the stub sees its ivshmem device (c1's RAM as BAR2)" test -n "$IVS"
# search CANARY: the scanner over every PCI resource file, every process's
# memory, /dev/mem and /proc/kcore, also as made with mknod (memory, kernel
# memory), and every file on the stub's tmpfs mounts. The ivshmem BAR is
# searched as far as c1's RAM goes: reading its padding beyond (the memfd
# is a power of two) makes the host allocate it, and c1's cgroup would
# end c1 (the intruder can only hurt its own guest).
search() {
	dmcon 600 <<S
mknod /tmp/mem c 1 1 2>/dev/null; mknod /tmp/kmem c 1 2 2>/dev/null
/tmp/memscan $(hex "$1") -l $((MEM1 << 20)) $IVS/resource2 -l 0 \$(ls /sys/bus/pci/devices/*/resource* | grep -v '^$IVS/resource2') /proc/[0-9]*/mem /dev/mem /proc/kcore /tmp/mem /tmp/kmem \$(find /run /tmp -type f ! -name memscan)
rm -f /tmp/mem /tmp/kmem
S
}
# cg_mem PID: the memory use of PID's cgroup (the domain's), and its limit.
cg_mem() {
	local v1 d
	v1=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$1/cgroup")
	if [ -n "$v1" ]; then
		d=/sys/fs/cgroup/memory$v1
		set -- "$d/memory.usage_in_bytes" "$d/memory.max_usage_in_bytes" "$d/memory.limit_in_bytes"
	else
		d=/sys/fs/cgroup$(awk -F: '$1 == 0 { print $3 }' "/proc/$1/cgroup")
		set -- "$d/memory.current" "$d/memory.peak" "$d/memory.max"
	fi
	echo "$(($(cat "$1") >> 20)) MiB (peak $(($(cat "$2") >> 20)) MiB) of $(($(cat "$3") >> 20)) MiB" 2>/dev/null
}
t0=$(date +%s)
search "$CANARY2" | tr -d '\r' >"$TMP/scan2.out"
echo "# the search took $(($(date +%s) - t0)) s; c1's cgroup: $(cg_mem "$STUBQ"); what it read:"
grep -a '^scan ' "$TMP/scan2.out" | grep -av 'found=none\|open-failed' | sed 's/^/#   /'
grep -a '^scan ' "$TMP/scan2.out" | awk '/found=none/ { n++; b += substr($3, 7) } END { printf "#   (%d places with nothing found, %d MiB in all)\n", n, b / 1048576 }'
check "the search ran to its end" grep -aq "gcon-status 0" "$TMP/scan2.out"
check "  it read c1's whole RAM through the ivshmem BAR" grep -aq "^scan $IVS/resource2 bytes=$((MEM1 << 20)) " "$TMP/scan2.out"
check "  it read the memory of the stub's processes (airlock-dm's too)" bash -c \
	"[ \$(grep -ac '^scan /proc/[0-9]*/mem bytes=[1-9]' '$TMP/scan2.out') -ge 3 ]"
check "  /dev/mem, /proc/kcore and a mknod'ed /dev/mem or /dev/kmem cannot be opened" bash -c \
	"[ \$(grep -acE '^scan (/dev/mem|/proc/kcore|/tmp/mem|/tmp/kmem) open-failed' '$TMP/scan2.out') = 4 ]"
check "c2's canary is nowhere the stub domain can read" bash -c \
	"! grep -a '^scan ' '$TMP/scan2.out' | grep -av 'found=none\|open-failed' | sed 's/^/#   FOUND: /' | grep ."
search "$CANARY1" | tr -d '\r' >"$TMP/scan1.out"
check "c1's own canary is found in the ivshmem BAR (the search works)" \
	grep -aq "^scan $IVS/resource2 bytes=[0-9]* found=[0-9]" "$TMP/scan1.out"

# No dom0 file: a marker on the host is in no file the stub sees; / is the
# initramfs; only the stub's own kinds of file system are mounted.
MARKER=airlock-host-marker-$(rand)
echo "$MARKER" >"$TMP/host-marker"
dmcon 120 >"$TMP/files.out" <<S
find / /run /tmp -xdev -type f | xargs grep -lF $MARKER | sed 's/^/marker-in /'
echo "files \$(find / /run /tmp -xdev -type f | wc -l)"
echo "root \$(ls / | sort | tr '\n' ' ')"
echo "fstypes \$(awk '{ print \$3 }' /proc/mounts | sort -u | tr '\n' ' ')"
S
tr -d '\r' <"$TMP/files.out" >"$TMP/files.txt"
check "the host's marker file is in none of the stub's files" bash -c \
	"grep -q '^files [1-9]' '$TMP/files.txt' && ! grep '^marker-in' '$TMP/files.txt'"
root_expect=$( (zcat "$TOP/out/stubdom/initramfs.cpio.gz" | cpio -t --quiet 2>/dev/null | cut -d/ -f1
	printf '%s\n' proc sys dev run tmp) | grep -v '^\.$' | sort -u | tr '\n' ' ')
check_eq "the stub's / holds the initramfs and its mount points only" "root $root_expect" \
	"$(grep '^root ' "$TMP/files.txt")"
check_eq "the stub mounts no file system but its own (no 9p, virtiofs, nfs...)" \
	"fstypes devtmpfs proc rootfs sysfs tmpfs " "$(grep '^fstypes ' "$TMP/files.txt")"

# --- 3. the store: what stubdom_placement does not cover ------------------------
# dom0 has no node of its own in airlock's store: one, as xenstored has.
$A write /local/domain/0/name Domain-0
# Each line: the stub's airlock CLI, "xs LABEL allowed" or "xs LABEL refused
# ERRNO".
cat >"$TMP/xs.sh" <<XS
for p in /sys/class/virtio-ports/*; do [ "\$(cat \$p/name)" = org.airlock.store ] && export XENSTORED_PATH=/dev/\${p##*/}; done
t() { n=\$1; shift; if e=\$(airlock "\$@" 2>&1 >/dev/null); then echo "xs \$n al""lowed"; else echo "xs \$n re""fused \$(echo "\$e" | sed -n 's/.*: \(E[A-Z]*\) (.*/\1/p' | head -1)"; fi; }
t ls-dom0 ls /local/domain/0
t read-dom0 read /local/domain/0/name
t write-dom0 write /local/domain/0/x 1
t ls-c2 ls /local/domain/$ID2
t read-c2 read /local/domain/$ID2/name
t write-c2 write /local/domain/$ID2/x 1
t read-c2-vm ls /vm/$UUID2
t write-c2-vm write /vm/$UUID2/x 1
t read-c2-argv read /vm/$UUID2/image/dm-argv/0
t read-c2-stub ls /local/domain/$SID2
t write-c2-stub-state write /local/domain/$SID2/device-model/$ID2/state failed
t write-own-record write /local/domain/$SID/airlock/engine-pid 1
t write-own-name write /local/domain/$SID/name x
t write-own-stub-of write /local/domain/$SID/airlock/stub-of $ID2
t write-c1-name write /local/domain/$ID/name x
t write-c1-engine-pid write /local/domain/$ID/airlock/engine-pid 1
t write-c1-stubdom write /local/domain/$ID/airlock/stubdom $SID2
t write-c1-new write /local/domain/$ID/x 1
t rm-c1 rm /local/domain/$ID/name
t write-c1-argv write /vm/$UUID/image/dm-argv/0 x
t chmod-c1 chmod /local/domain/$ID n$SID
t chmod-argv chmod /vm/$UUID/image/dm-argv/0 n$SID
t introduce introduce 99
t release release $ID2
t set-target set-target $SID $ID2
t control store-control check
t quota-set quota $SID nodes 100000
t read-c1-argv read /vm/$UUID/image/dm-argv/0
t write-own-dm write device-model/$ID/probe 1
t ls-domains ls /local/domain
t ls-vm ls /vm
XS
dmcon 120 <"$TMP/xs.sh" | tr -d '\r' >"$TMP/xs.out"
# xs_is LABEL allowed|refused: refused means EACCES or EPERM from the store.
xs_is() {
	local want=$2
	[ "$2" = refused ] && want="refused (EACCES|EPERM)"
	grep -qxE "xs $1 $want" "$TMP/xs.out" || { grep "^xs $1 " "$TMP/xs.out" | sed 's/^/#   got: /'; false; }
}
for what in ls-dom0 read-dom0 write-dom0 ls-c2 read-c2 write-c2 read-c2-vm write-c2-vm \
	read-c2-argv read-c2-stub write-c2-stub-state; do
	check "the stub cannot $what" xs_is "$what" refused
done
for what in write-own-record write-own-name write-own-stub-of; do
	check "the stub cannot rewrite its own record: $what" xs_is "$what" refused
done
for what in write-c1-name write-c1-engine-pid write-c1-stubdom write-c1-new rm-c1 write-c1-argv \
	chmod-c1 chmod-argv; do
	check "the stub cannot change its guest's nodes outside device-model/: $what" xs_is "$what" refused
done
for what in introduce release set-target control quota-set; do
	check "the stub cannot use the privileged verb $what" xs_is "$what" refused
done
check "  but it reads its arguments" xs_is read-c1-argv allowed
check "  and writes under its device-model/<guest>/" xs_is write-own-dm allowed
grep -E '^xs (ls-domains|ls-vm) ' "$TMP/xs.out" | sed 's/^/# (not asserted) /'

# --- 4. c2 under disk and network load at once: no out-of-memory in c2-dm -------
# The data: 256 MiB from /dev/urandom in c2's tmpfs, made before the load.
gcon c2 300 >"$TMP/src.out" <<'G'
dd if=/dev/urandom of=/run/src bs=1M count=256 2>/dev/null && echo "src $(md5sum </run/src)"
G
SRC=$(awk '$1 == "src" { print $2 }' "$TMP/src.out")
check "256 MiB of data in c2's RAM" test -n "$SRC"
meminfo() { gcon c2-dm 30 <<<'grep -E "^(MemTotal|MemFree|MemAvailable):" /proc/meminfo | tr -s " " | tr "\n" " "; echo' | grep -a '^MemTotal' | tr -d '\r'; }
echo "# c2-dm before the load: $(meminfo)"
# Rounds until 20 s have passed: 256 MiB written with O_DIRECT through the
# stub, read back with O_DIRECT, checksummed.
gcon c2 10 >/dev/null <<'G'
(t0=$(date +%s); n=0; while [ $n -eq 0 ] || [ $(($(date +%s) - t0)) -lt 20 ]; do n=$((n + 1)); dd if=/run/src of=/dev/vdb bs=1M oflag=direct 2>/dev/null && echo "round $n $(dd if=/dev/vdb bs=1M count=256 iflag=direct 2>/dev/null | md5sum)" >>/run/load.out; done; echo "load-""done $n" >/dev/console) </dev/null >/dev/null 2>&1 &
G
t0=$(date +%s)
in_ns iperf3 -c 10.77.0.2 -t 20 --bidir -J >"$TMP/iperf.json" 2>&1 &
IPERF=$!
: >"$TMP/mem.samples"
while kill -0 "$IPERF" 2>/dev/null; do
	echo "$(($(date +%s) - t0)) s: $(meminfo)" >>"$TMP/mem.samples"
	sleep 2
done
wait "$IPERF"
check "the disk load finished" wait_log c2 "load-done [0-9]"
echo "# c2's cgroup after the load: $(cg_mem "$($A read "/local/domain/$SID2/airlock/engine-pid")")"
echo "# load: $(($(date +%s) - t0)) s; c2-dm's memory meanwhile:"
sed 's/^/#   /' "$TMP/mem.samples"
MINAVAIL=$(awk '{ for (i = 1; i < NF; i++) if ($i == "MemAvailable:") print $(i + 1) }' "$TMP/mem.samples" | sort -n | head -1)
echo "# c2-dm's lowest MemAvailable under load: ${MINAVAIL:-?} KiB"
check "c2-dm's memory was sampled under load" test -n "$MINAVAIL"
gcon c2 30 <<<'cat /run/load.out' | tr -d '\r' >"$TMP/load.out"
rounds=$(grep -c '^round ' "$TMP/load.out")
echo "# $rounds round(s) of 256 MiB written and read back with O_DIRECT"
check "every round read back what was written" bash -c \
	"[ $rounds -ge 1 ] && ! grep '^round ' '$TMP/load.out' | grep -v ' $SRC'"
/usr/bin/python3 - "$TMP/iperf.json" <<'PY' | sed 's/^/# /'
import json, sys
try:
    e = json.load(open(sys.argv[1]))["end"]
    for k, what in (("sum_received", "host -> c2"), ("sum_received_bidir_reverse", "c2 -> host")):
        print("iperf3 %s, at once with the other way: %.0f Mbit/s" % (what, e[k]["bits_per_second"] / 1e6))
except Exception as x:
    print("iperf3: no result (%s)" % x)
PY
check "iperf3 moved data both ways at once" /usr/bin/python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; sys.exit(not (e["sum_received"]["bits_per_second"] > 0 and e["sum_received_bidir_reverse"]["bits_per_second"] > 0))' "$TMP/iperf.json"
# (the typed command must not hold what it looks for: the console echoes it)
gcon c2-dm 30 <<<'dmesg | grep -iE "ou""t of memory|oo""m|page allocatio""n failure" | sed "s/^/dmesg: /"' | tr -d '\r' >"$TMP/dmesg.out"
$A log c2-dm >"$TMP/c2-dm.console" 2>&1
check "no out-of-memory in c2-dm (its console and its kernel log)" bash -c \
	"! grep -aiE 'out of memory|oom-kill|invoked oom-killer|page allocation failure' '$TMP/c2-dm.console' && ! grep -a '^dmesg:' '$TMP/dmesg.out'"
check "airlock-dm in c2-dm was never restarted" bash -c \
	"grep -aq 'airlock-dm started (pid [0-9]*, run 1)' '$TMP/c2-dm.console' && ! grep -aE 'run [2-9]|airlock-dm \(pid [0-9]*\) (exited|killed)|restarting airlock-dm' '$TMP/c2-dm.console'"
check_eq "c2 is still running" running "$(field c2 3)"
check_eq "c2-dm is still running" running "$(field c2-dm 3)"
done_testing
