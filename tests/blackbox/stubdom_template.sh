#!/usr/bin/env bash
# Stub domains restored from a template (supervisor/stubsnap.h): the first
# create with an empty cache boots a template and saves it; each stub
# domain then loads it, gets its guest's devices plugged in and a wake line
# with a fresh seed. Checked: the template is made once and reused, the
# cache is root's alone, a restored stub serves its guest's disk and NIC,
# two stubs from one template do not share their random state, a corrupt
# template is deleted and the stub boots instead (and the next create makes
# a new one), a template that cannot be made is not retried within the
# hour, and
# AIRLOCK_STUBDOM_SNAPSHOT=0 boots the stub.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../guest.sh"
test_netns airlock-t$$
need_stubdom_image
export AIRLOCK_CACHE_DIR=$TMP/cache
CACHE=$AIRLOCK_CACHE_DIR/stubdom

# cfg NAME IP: a guest with its device model in a stub domain.
cfg() {
	cp --sparse=always "$IMG/rootfs.ext4" "$TMP/$1.ext4"
	cat >"$TMP/$1.cfg" <<CFG
name = "$1"
memory = 256
vcpus = 1
kernel = "$IMG/vmlinux"
ramdisk = "$IMG/initrd.img"
cmdline = "console=ttyS0 root=/dev/vda quiet airlock.ip=$2/24"
disk = [ 'format=raw, vdev=xvda, access=rw, target=$TMP/$1.ext4' ]
vif = [ 'bridge=br0, mac=00:16:3e:77:00:${2##*.}' ]
on_crash = "destroy"
device_model_version = "airlock"
device_model_stubdomain_override = 1
CFG
}
slog() { cat "$AIRLOCK_LOG_DIR/$1.log" 2>/dev/null; }
dmlog() { tr -d '\r' <"$AIRLOCK_LOG_DIR/$1-dm.console.log" 2>/dev/null; }
# says NAME PATTERN / dmsays NAME PATTERN: the supervisor's log / the stub's
# console log has a line matching PATTERN; "no" before them negates.
says() { slog "$1" | grep -q -- "$2"; }
dmsays() { dmlog "$1" | grep -q -- "$2"; }
no() { ! "$@"; }
destroy() { $A destroy "$1" >/dev/null 2>&1; wait_gone "$1"; wait_gone "$1-dm"; }
# aslr NAME: where airlock-dm's stack starts inside NAME's stub (randomized
# at its exec; the static binary's text is not).
aslr() {
	gcon "$1-dm" 20 <<<'echo "stack=$(grep stack /proc/$(cat /run/airlock/airlock-dm.pid)/maps | cut -d- -f1)"' |
		tr -d '\r' | sed -n 's/^stack=\([0-9a-f]\{8,\}\)$/\1/p' | head -1
}

# --- the first stub domain makes the template --------------------------------------
cfg t1 10.77.0.11
check "create t1 with an empty template cache" in_net $A create "$TMP/t1.cfg"
check "  the supervisor booted a template first" says t1 'stub template: booting one'
check "  and saved it" says t1 'stub template: saved in'
check "  then restored t1-dm from it" says t1 'stub domain t1-dm: restored from'
slog t1 | grep -E 'saved in|restored from' | sed 's/^.*info: /# /'
check_eq "the cache directory is root's alone" "700 root" "$(stat -c '%a %U' "$CACHE")"
T=$(ls "$CACHE"/template-*.state 2>/dev/null | head -1)
check "one template in it" test "$(ls "$CACHE"/template-*.state 2>/dev/null | wc -l)" = 1
check_eq "  readable by root only" "600 root" "$(stat -c '%a %U' "$T" 2>/dev/null)"
check "  beside its key" grep -q "^airlock-stubsnap v1" "$T.key"
check "t1-dm woke with a fresh random seed" dmsays t1 'woken from the template; random number generator reseeded'
check "  and found the devices plugged in after the restore" dmsays t1 'airlock-dm: info: stub: serving 2 device(s)'
check "t1 boots from the disk its restored stub serves" wait_log t1 "airlock-guest: ready"
check "  and its NIC answers through the stub" in_ns ping -c 2 -W 5 10.77.0.11

# --- the second reuses it ----------------------------------------------------------------------
cfg t2 10.77.0.12
check "create t2" in_net $A create "$TMP/t2.cfg"
check "  restored from the same template" says t2 "restored from $T"
check "  without booting another" no says t2 'stub template: booting'
check "t2-dm woke with its own seed" dmsays t2 'random number generator reseeded'
a1=$(aslr t1) a2=$(aslr t2)
echo "# airlock-dm's stack: t1-dm $a1, t2-dm $a2"
check "the two stubs' airlock-dm processes are laid out differently" test -n "$a1" -a -n "$a2" -a "$a1" != "$a2"
u1=$(gcon t1-dm 20 <<<'cat /proc/sys/kernel/random/uuid' | tr -d '\r' | grep -aoE '^[0-9a-f-]{36}$')
u2=$(gcon t2-dm 20 <<<'cat /proc/sys/kernel/random/uuid' | tr -d '\r' | grep -aoE '^[0-9a-f-]{36}$')
check "  and draw different random numbers" test -n "$u1" -a -n "$u2" -a "$u1" != "$u2"
destroy t1
destroy t2
check "destroy leaves the template" test -f "$T"

# --- a corrupt template: deleted, the stub boots ------------------------------------
dd if=/dev/urandom of="$T" bs=4096 count=64 seek=16 conv=notrunc 2>/dev/null
cfg t3 10.77.0.13
check "create t3 over a corrupt template" in_net $A create "$TMP/t3.cfg"
check "  the supervisor saw the load fail" says t3 'restoring .* failed'
check "  deleted the template" test ! -e "$T"
check "  and booted t3-dm instead" dmsays t3 'init started'
check "  (not woken from a template)" no dmsays t3 'woken from the template'
check "t3 boots from the disk its booted stub serves" wait_log t3 "airlock-guest: ready"
destroy t3
cfg t4 10.77.0.14
check "create t4 after that" in_net $A create "$TMP/t4.cfg"
check "  makes a new template" says t4 'stub template: saved in'
check "  and restores from it" says t4 'restored from'
destroy t4

# --- a template that cannot be made: not retried ----------------------------------------
# The guest's kernel as the stub's: it never reaches the template point.
cfg t5 10.77.0.15
echo "stubdomain_kernel = \"$IMG/vmlinux\"" >>"$TMP/t5.cfg"
check "a stub kernel without the airlock init fails the create" no in_net env AIRLOCK_STUBDOM_TIMEOUT=10 $A create "$TMP/t5.cfg"
check "  after the template could not be made" says t5 'stub domains of this key boot for the next hour'
check "  which is remembered" bash -c "ls $CACHE/*.failed >/dev/null 2>&1"
wait_gone t5
in_net env AIRLOCK_STUBDOM_TIMEOUT=10 $A create "$TMP/t5.cfg" >/dev/null 2>&1
check_eq "the next create of that key boots no template" 1 "$(slog t5 | grep -c 'stub template: booting')"
wait_gone t5
touch -d '2 hours ago' "$CACHE"/*.failed
in_net env AIRLOCK_STUBDOM_TIMEOUT=10 $A create "$TMP/t5.cfg" >/dev/null 2>&1
check_eq "  but an hour later it is tried again" 2 "$(slog t5 | grep -c 'stub template: booting')"
wait_gone t5

# --- templates off ---------------------------------------------------------------------------
cfg t6 10.77.0.16
check "create t6 with AIRLOCK_STUBDOM_SNAPSHOT=0" in_net env AIRLOCK_STUBDOM_SNAPSHOT=0 $A create "$TMP/t6.cfg"
check "  its stub booted" dmsays t6 'init started'
check "  with no template" no says t6 'template'
destroy t6
check "no domain is left" test "$($A list | awk 'NR > 1' | grep -vc 'no domains')" = 0
done_testing
