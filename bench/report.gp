# bench/report.gp — the plots of bench/report.sh's report.
#
#   gnuplot -e "datadir='DIR'; outdir='DIR'" bench/report.gp
#
# Reads bench/report.py's data files in datadir (disk.dat, net.dat, boot.dat,
# mem.dat: one line per placement, its name first) and writes disk.png,
# net.png, boot.png and mem.png into outdir. gnuplot-nox's pngcairo.
set terminal pngcairo size 860,460 noenhanced font "sans,10"
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set key top right
set yrange [0:*]
set xtics nomirror
set ytics nomirror
set border 3

# Disk: dd read and write per placement.
set output outdir."/disk.png"
set title "dd in the guest on its virtio disk, 1 MiB blocks, direct I/O (median; native: the host on the same file)"
set ylabel "MiB/s"
set style histogram clustered gap 1
plot datadir."/disk.dat" using 2:xtic(1) title "read" lc rgb "#3465a4", \
     "" using 3 title "write" lc rgb "#f57900", \
     "" using ($0 - 0.15):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle, \
     "" using ($0 + 0.15):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 notitle

# Network: iperf3 both ways; a log scale, native being an order of
# magnitude above any guest.
set output outdir."/net.png"
set title "iperf3, one TCP stream, peer in the benchmark's namespace (median; native: two host namespaces)"
set ylabel "Mbit/s (log scale)"
set key top left
set logscale y
set yrange [10:*]
plot datadir."/net.dat" using 2:xtic(1) title "guest -> host" lc rgb "#4e9a06", \
     "" using 3 title "host -> guest" lc rgb "#75507b", \
     "" using ($0 - 0.15):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle, \
     "" using ($0 + 0.15):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 notitle

unset logscale y
set yrange [0:*]

# Boot: median with the range of the boots.
set output outdir."/boot.png"
set title "airlock create -> the guest answers ssh (median; bars: min to max)"
set ylabel "seconds"
set style histogram errorbars gap 2 lw 1.5
set key off
plot datadir."/boot.dat" using 2:3:4:xtic(1) lc rgb "#3465a4", \
     "" using 0:4:(sprintf("%.2f", $2)) with labels offset 0,0.8 notitle

# Memory: what the host spends per guest beyond the guest's RAM.
set output outdir."/mem.png"
set title "Host memory per guest beyond its RAM (median)"
set ylabel "MiB"
set key top left
set offsets 0, 0, graph 0.3, 0
set style histogram rowstacked
plot datadir."/mem.dat" using 2:xtic(1) title "engine (QEMU) PSS without guest RAM" lc rgb "#888a85", \
     "" using 3 title "device model USS (airlock-dm, qemu-storage-daemon)" lc rgb "#3465a4", \
     "" using 4 title "stub domain: its QEMU's PSS + airlock-relay's USS" lc rgb "#cc0000", \
     "" using 0:($2 + $3 + $4):(sprintf("%.0f", $2 + $3 + $4)) with labels offset 0,0.7 notitle
