# shellcheck shell=dash disable=SC2013 # the command line is split into words on purpose
# /etc/airlock/lib.sh — helpers shared by the airlock guest's init scripts
# (/init, /etc/airlock/rc, /etc/airlock/shutdown). Sourced, busybox ash.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

# log MSG...: one progress line on the console, with the kernel's uptime, so
# a slow step shows up in the serial log.
log() {
	local up
	up=$(cut -d' ' -f1 /proc/uptime 2>/dev/null) || up="?"
	echo "airlock-guest: [${up}s] $*" >/dev/console 2>/dev/null || echo "airlock-guest: $*"
}

# cmdline_get KEY: value of the last KEY=VALUE word on the kernel command
# line; prints nothing (and fails) when KEY is absent.
cmdline_get() {
	local w v="" found=1
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1="*) v=${w#"$1="}; found=0 ;;
		esac
	done
	[ $found -eq 0 ] && echo "$v"
	return $found
}

# cmdline_has WORD: true if WORD appears as a whole word on the command line.
cmdline_has() {
	local w
	for w in $(cat /proc/cmdline); do
		[ "$w" = "$1" ] && return 0
	done
	return 1
}

# mount_api: proc, sys and devtmpfs, each only if not mounted yet (the rc
# finds them already there after switch_root moved them).
mount_api() {
	[ -e /proc/self ] || mount -t proc -o nosuid,nodev,noexec proc /proc
	[ -d /sys/kernel ] || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
	[ -c /dev/null ] || mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
}
