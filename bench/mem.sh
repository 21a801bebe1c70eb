# bench/mem.sh — memory figures of the processes behind one guest, sourced
# by bench/lib.sh (so by every guest benchmark) and taken while the guest
# is loaded.
#
#   mem_uss PID          KiB private to PID (Private_Clean + Private_Dirty
#                        summed over /proc/PID/smaps) leaving out the guest
#                        RAM mapping (the engine's memory-backend-memfd,
#                        mapped by a vhost-user back end after SET_MEM_TABLE):
#                        what the device model itself costs.
#   mem_pss PID          KiB, Pss from /proc/PID/smaps_rollup (everything,
#                        guest RAM included).
#   mem_pss_noram PID    KiB, Pss summed over the mappings that are not
#                        guest RAM: the engine's own overhead.
#   mem_ram_rss PID      KiB of guest RAM resident: Rss summed over the
#                        guest RAM mappings (counted once per guest, where
#                        PSS splits it between the processes mapping it).
#   mem_sample LINE PID_ENGINE [PID_DM]
#                        prints "LINE engine_pss_kib=.. engine_pss_noram_kib=..
#                        [dm_uss_kib=..]".
#
# Guest RAM is recognised by its name in smaps: QEMU names the memfd after the
# backend's type ("/memfd:memory-backend-memfd (deleted)"); every benchmark
# guest uses that backend (share=on), so the rule is the same for all.

MEM_RAM_RE='memfd:memory-backend-memfd'

# _mem_sum PID FIELDS [RAM]: sums the fields over the non-RAM mappings of
# PID (over the RAM mappings with RAM=1).
_mem_sum() {
	awk -v re="$MEM_RAM_RE" -v fields="$2" -v inram="${3:-0}" '
		BEGIN { n = split(fields, f, ","); for (i = 1; i <= n; i++) want[f[i] ":"] = 1 }
		/^[0-9a-f]+-[0-9a-f]+ / { ram = ($0 ~ re); next }
		ram == inram && ($1 in want) { s += $2 }
		END { printf "%d\n", s }' "/proc/$1/smaps" 2>/dev/null || echo 0
}
mem_uss() { _mem_sum "$1" Private_Clean,Private_Dirty; }
mem_pss_noram() { _mem_sum "$1" Pss; }
mem_ram_rss() { _mem_sum "$1" Rss 1; }
mem_pss() { awk '$1 == "Pss:" { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

mem_sample() {
	local line="$1 engine_pss_kib=$(mem_pss "$2") engine_pss_noram_kib=$(mem_pss_noram "$2")"
	[ -n "${3:-}" ] && line="$line dm_uss_kib=$(mem_uss "$3")"
	echo "$line"
}

# mem_table FILE NAMES...: the memory table (medians over the samples) from
# the sample lines in FILE; NAMES are config=label pairs, in table order.
mem_table() {
	/usr/bin/python3 - "$@" <<'PY'
import sys, statistics as st
path, pairs = sys.argv[1], [a.split('=', 1) for a in sys.argv[2:]]
rows = [dict(kv.split('=', 1) for kv in l.split()) for l in open(path) if l.strip()]
def med(c, k):
    v = [int(r[k]) for r in rows if r['config'] == c and k in r]
    return (st.median(v), max(v)) if v else None
mib = lambda k: f"{k / 1024:.1f}"
print('| configuration | device model USS MiB (median / max), guest RAM left out | engine QEMU PSS MiB (all) | engine QEMU PSS MiB without guest RAM | samples |')
print('|---|--:|--:|--:|--:|')
for c, name in pairs:
    d, e, en = med(c, 'dm_uss_kib'), med(c, 'engine_pss_kib'), med(c, 'engine_pss_noram_kib')
    n = sum(1 for r in rows if r['config'] == c)
    if e is None:
        continue
    dm = f"{mib(d[0])} / {mib(d[1])}" if d else '— (in the engine)'
    print(f"| {name} | {dm} | {mib(e[0])} | {mib(en[0])} | {n} |")
PY
}
