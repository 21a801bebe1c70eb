#!/usr/bin/env bash
# Lifecycle actions and faults with real (initramfs-only) guests: a reboot
# the guest asks for, on_reboot=destroy, on_crash=preserve, a store restart
# under a running guest, racing creates, and configs that must start
# nothing. Complements guest_lifecycle.sh (disks, network, firmware boot).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../guest.sh"

type_on_console() { printf '%s\n' "$2" | timeout 8 $A console "$1" >/dev/null 2>&1; }
gone() { for _ in $(seq 1 60); do [ -z "$(field "$1" 1)" ] && return 0; sleep 1; done; return 1; }

# mkcfg NAME [extra lines...]: an initramfs-only guest.
mkcfg() {
	local name=$1
	shift
	{
		echo "name = \"$name\""
		echo "memory = 128"
		echo "kernel = \"$IMG/vmlinux\""
		echo "ramdisk = \"$IMG/initrd.img\""
		echo "cmdline = \"console=ttyS0 root=none quiet\""
		printf '%s\n' "$@"
	} >"$TMP/$name.cfg"
	echo "$TMP/$name.cfg"
}

# --- configs that must start nothing -------------------------------------------
cfg=$(mkcfg bad 'memroy = 64')
check "a typo in a key is an error" bash -c "! $A create $cfg 2>$TMP/typo.err"
check "  naming file, line and key with a suggestion" grep -q "bad.cfg:6.*memroy.*memory" "$TMP/typo.err"
cfg=$(mkcfg bad2 'kernel = "/nonexistent/vmlinuz"')
check "a missing kernel file is an error" bash -c "! $A create $cfg 2>$TMP/missing.err"
check "  naming the file" grep -q "/nonexistent/vmlinuz" "$TMP/missing.err"
cfg=$(mkcfg bad3 'vcpus = "two"')
check "a wrong type is an error" bash -c "! $A create $cfg 2>/dev/null"
check_eq "nothing was started by bad configs" "" "$($A list | tail -n +2)"
cfg=$(mkcfg warn1 'viridian = 1' 'vnc = 1')
check "keys xl knows but airlock does not support only warn (dry run)" bash -c "$A create -n $cfg >/dev/null 2>$TMP/warn.err"
check "  with a warning" grep -q "warning" "$TMP/warn.err"
check "airlock info names the accelerator and why" bash -c "$A info | grep -q '^accelerator:'"

# --- racing creates: distinct domids, one winner per name ------------------------
ca=$(mkcfg ra)
cb=$(mkcfg rb)
$A create "$ca" >/dev/null 2>&1 &
p1=$!
$A create "$cb" >/dev/null 2>&1 &
p2=$!
$A create "$ca" >/dev/null 2>&1 &
p3=$!
wait $p1; r1=$?
wait $p2; r2=$?
wait $p3; r3=$?
check_eq "two creates of different names at once both succeed" "0 0" "$r2 $([ $r1 -eq 0 ] || [ $r3 -eq 0 ] && echo 0 || echo 1)"
check "the same name created twice at once: exactly one wins" test $((r1 == 0 ? 1 : 0)) -ne $((r3 == 0 ? 1 : 0))
ida=$(field ra 1)
idb=$(field rb 1)
check "they got distinct domain ids" test -n "$ida" -a -n "$idb" -a "$ida" != "$idb"
$A destroy ra >/dev/null
$A destroy rb >/dev/null
check_eq "both destroyed" "" "$($A list | tail -n +2)"

# --- a reboot the guest asks for: on_reboot=restart ---------------------------------
cfg=$(mkcfg g1 'on_reboot = "restart"' 'on_poweroff = "destroy"')
check "create g1" $A create "$cfg"
check "g1 ready" wait_log g1 "airlock-guest: ready" 1
id=$(field g1 1)
e1=$($A read "/local/domain/$id/airlock/engine-pid")
type_on_console g1 reboot
check "a reboot inside the guest restarts it (on_reboot=restart)" wait_log g1 "airlock-guest: ready" 2
check_eq "same domain id after the reboot" "$id" "$(field g1 1)"
check "with a fresh engine" test "$($A read "/local/domain/$id/airlock/engine-pid")" != "$e1"

# --- a store restart under a running guest -----------------------------------------
stop_store TERM
start_store || fail "store restarts"
check_eq "after a store restart the guest is still listed as running" "running" "$(field g1 3)"
type_on_console g1 poweroff
check "a poweroff inside the guest applies on_poweroff=destroy" gone g1
check "its records are gone (the supervisor reconnected to the store)" bash -c "! $A read /local/domain/$id/name 2>/dev/null"

# --- on_reboot=destroy ------------------------------------------------------------------
cfg=$(mkcfg g2 'on_reboot = "destroy"')
check "create g2" $A create "$cfg"
check "g2 ready" wait_log g2 "airlock-guest: ready" 1
type_on_console g2 reboot
check "a reboot with on_reboot=destroy ends the domain" gone g2

# --- on_crash=preserve ---------------------------------------------------------------------
cfg=$(mkcfg g3 'on_crash = "preserve"')
check "create g3" $A create "$cfg"
check "g3 ready" wait_log g3 "airlock-guest: ready" 1
id=$(field g3 1)
type_on_console g3 'echo c > /proc/sysrq-trigger'
for _ in $(seq 1 30); do [ "$(field g3 3)" = crashed ] && break; sleep 1; done
check_eq "a panic with on_crash=preserve keeps the domain, state crashed" "crashed" "$(field g3 3)"
check "its engine is kept (paused) for inspection" kill -0 "$($A read "/local/domain/$id/airlock/engine-pid")"
check "destroy removes the preserved domain" $A destroy g3
check_eq "nothing is listed" "" "$($A list | tail -n +2)"
check "no engine remains" bash -c "! pgrep -f '[g]uest=g3,' >/dev/null"

# --- user-mode networking through passt (no tap, no bridge) ------------------------------
# passt needs a host route; the namespace gets a veth with an address and a
# default route, and a web server on its loopback, which passt maps to the
# guest's gateway address.
NS=airlock-p$$
trap 'ip netns del $NS 2>/dev/null; cleanup' EXIT
ip netns add $NS
ip netns exec $NS ip link set lo up
ip netns exec $NS ip link add v0 type veth peer name v1
ip netns exec $NS ip addr add 10.88.0.1/24 dev v0
ip netns exec $NS ip link set v0 up
ip netns exec $NS ip link set v1 up
ip netns exec $NS ip route add default via 10.88.0.254 dev v0
mkdir -p "$TMP/www" && echo "hello-through-passt" >"$TMP/www/index.html"
(cd "$TMP/www" && exec ip netns exec $NS timeout 120 /usr/bin/python3 -m http.server 7777 --bind 127.0.0.1) >/dev/null 2>&1 &
cfg=$(mkcfg p1 "vif = [ 'type=passt' ]")
check "create p1 with a passt vif" nsenter --net=/run/netns/$NS $A create "$cfg"
check "p1 ready" wait_log p1 "airlock-guest: ready" 1
check "the guest got its address from passt's DHCP" wait_log p1 "eth0 by DHCP: 10.88.0.1/24" 1
check_eq "passt runs as the domain's uid, not root" "$((640000 + $(field p1 1)))" "$(ps -eo uid=,args= | awk '/[p]asst.*--one-off/ { print $1; exit }')"
printf 'wget -qO- http://10.88.0.254:7777/index.html\n' | timeout 15 $A console p1 >"$TMP/passt.out" 2>&1
check "the guest reaches a host service through passt" grep -aq "hello-through-passt" "$TMP/passt.out"
check "destroy p1" $A destroy p1
check "passt is gone with the domain" bash -c "! ps -eo args= | grep -q '[p]asst.*--one-off'"

# The same through a stub domain: passt serves the stub's own NIC, which
# airlock-dm in the stub bridges to the guest's (raw frames, no offloads:
# with offload=on airlock-dm would refuse a NIC without TSO and the create
# would fail).
need_stubdom_image
(cd "$TMP/www" && exec ip netns exec $NS timeout 300 /usr/bin/python3 -m http.server 7778 --bind 127.0.0.1) >/dev/null 2>&1 &
cfg=$(mkcfg p2 "vif = [ 'type=passt' ]" 'device_model_stubdomain_override = 1')
check "create p2 with a passt vif and its device model in a stub domain" \
	nsenter --net=/run/netns/$NS $A create "$cfg"
check "p2 ready" wait_log p2 "airlock-guest: ready" 1
check "p2 got its address from passt's DHCP through its stub domain" \
	wait_log p2 "eth0 by DHCP: 10.88.0.1/24" 1
printf 'wget -qO- http://10.88.0.254:7778/index.html\n' | timeout 20 $A console p2 >"$TMP/passt2.out" 2>&1
check "p2 reaches a host service through its stub domain and passt" \
	grep -aq "hello-through-passt" "$TMP/passt2.out"
check "destroy p2" $A destroy p2
check "passt is gone with p2 and its stub" bash -c "! ps -eo args= | grep -q '[p]asst.*--one-off'"

stop_store
done_testing
