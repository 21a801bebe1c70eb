# bench/dd-timed.sh read|write|zero DEV MIB — one timed dd, for bench/report.sh.
#
# Runs `dd if=DEV of=/dev/null bs=1M count=MIB iflag=direct` (read),
# `dd if=/dev/zero of=DEV bs=1M count=MIB oflag=direct conv=notrunc`
# (write) or `dd if=/dev/zero of=/dev/null bs=1M count=MIB` (zero, DEV
# unused: what producing the written data costs, the ceiling of write under
# TCG) and prints "start=T0 end=T1 records_out=N+M" (epoch seconds with
# microseconds). POSIX sh: it runs on the host (GNU dd, bash or sh) and in
# the guest (busybox, fed on stdin: `ssh guest sh -s read /dev/vda 128 <
# bench/dd-timed.sh`), whose dd prints no timing and whose date has no %N:
# there the clock is busybox adjtimex's time.tv_sec/tv_usec.
set -eu
now() {
	d=$(date +%s.%N)
	case $d in
	*N) adjtimex | awk '/tv_sec/ { s = $2 } /tv_usec/ { printf "%d.%06d\n", s, $2 }' ;;
	*) echo "$d" ;;
	esac
}
op=$1 dev=$2 mib=$3
case $op in
read) set -- if="$dev" of=/dev/null bs=1M count="$mib" iflag=direct ;;
write) set -- if=/dev/zero of="$dev" bs=1M count="$mib" oflag=direct conv=notrunc ;;
*) set -- if=/dev/zero of=/dev/null bs=1M count="$mib" ;;
esac
a=$(now)
err=$(dd "$@" 2>&1) || { echo "$err"; exit 1; }
b=$(now)
echo "start=$a end=$b records_out=$(echo "$err" | sed -n 's/^\([0-9+]*\) records out$/\1/p')"
