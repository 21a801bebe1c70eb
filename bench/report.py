#!/usr/bin/python3
"""bench/report.py RAW META ANALYSIS OUT_MD DATDIR — bench/report.sh's report.

Reads the raw lines bench/report.sh wrote (KEY=VALUE words; `what=` is one
of boot, terms, disk, net, mem), the run's description META (KEY=VALUE
lines) and the old report's hand-written "## Analysis" section ANALYSIS
(may be empty), and writes:
  OUT_MD               the markdown report (tables, goals, a generated
                       reading of the figures, the analysis, the raw runs);
  DATDIR/*.dat         gnuplot's data (bench/report.gp draws the PNGs);
  DATDIR/figures.txt   "PLACEMENT FIGURE MEDIAN", what the checks test;
  DATDIR/headline.md   the README's "Placements at a glance" table;
  DATDIR/summary.txt   the results table, for the terminal.
Standard library only (run it with /usr/bin/python3).
"""
import statistics as st
import sys

P = ('qemu', 'qsd', 'dom0', 'stub', 'native')
NAME = {
    'qemu': "QEMU's built-in virtio-blk and virtio-net, in the engine (`device_model_version = \"qemu\"`)",
    'qsd': "qemu-storage-daemon serves the disk (vhost-user-blk); the NIC is QEMU's built-in",
    'dom0': 'airlock-dm in dom0, a host process (`device_model_version = "airlock"`)',
    'stub': 'airlock-dm in the guest\'s stub domain (the same + `device_model_stubdomain_override = 1`)',
    'native': 'no guest: the host\'s dd on the same file; iperf3 between two namespaces',
}
SHORT = {'qemu': "QEMU's built-in devices", 'qsd': 'qemu-storage-daemon', 'dom0': 'airlock-dm in dom0',
         'stub': 'airlock-dm in a stub domain', 'native': 'native'}
BOOTABLE = ('qemu', 'dom0', 'stub')
# figure key -> (label, unit, bigger is better, decimals)
FIG = {
    'dd_read_mib_s': ('dd read', 'MiB/s', True, 1),
    'dd_write_mib_s': ('dd write', 'MiB/s', True, 1),
    'g2h_mbit_s': ('iperf3 guest→host', 'Mbit/s', True, 0),
    'h2g_mbit_s': ('iperf3 host→guest', 'Mbit/s', True, 0),
    'ssh_s': ('create → ssh', 's', False, 2),
    'host_mem_mib': ('host memory per guest', 'MiB', False, 1),
}
# (placement, baseline, figure, goal): the goals of the earlier issues.
GOALS = [('dom0', 'qemu', f, 1.0) for f in ('dd_read_mib_s', 'dd_write_mib_s', 'g2h_mbit_s', 'h2g_mbit_s')] + \
        [('dom0', 'qsd', f, 1.0) for f in ('dd_read_mib_s', 'dd_write_mib_s')] + \
        [('stub', 'dom0', f, 0.8) for f in ('dd_read_mib_s', 'dd_write_mib_s')] + \
        [('stub', 'dom0', f, 0.7) for f in ('g2h_mbit_s', 'h2g_mbit_s')] + \
        [('stub', 'dom0', 'ssh_s', 1.05)]


def load(path):
    return [dict(w.split('=', 1) for w in line.split()) for line in open(path) if line.strip()]


def med(rows, key, **match):
    v = [float(r[key]) for r in rows if key in r and all(r.get(k) == x for k, x in match.items())]
    return st.median(v) if v else None


def fmt(x, d=1):
    return '—' if x is None else f"{x:.{d}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def rfmt(r):
    return '—' if r is None else f"{r:.2f}×"


class Report:
    def __init__(self, raw, meta):
        self.raw = load(raw)
        self.m = dict(line.rstrip('\n').split('=', 1) for line in open(meta) if '=' in line)
        self.fig = {p: {} for p in P}
        self.mem = {}
        self.boot = {}
        self.terms = {}
        self.zero = {}
        self.collect()

    def rows(self, what):
        return [r for r in self.raw if r['what'] == what]

    def collect(self):
        disk, net, boot, mem = (self.rows(w) for w in ('disk', 'net', 'boot', 'mem'))
        for p in P:
            f = self.fig[p]
            f['dd_read_mib_s'] = med(disk, 'mib_per_s', placement=p, op='read')
            f['dd_write_mib_s'] = med(disk, 'mib_per_s', placement=p, op='write')
            self.zero[p] = med(disk, 'mib_per_s', placement=p, op='zero')
            f['g2h_mbit_s'] = med(net, 'mbit_per_s', placement=p, dir='g2h')
            f['h2g_mbit_s'] = med(net, 'mbit_per_s', placement=p, dir='h2g')
            v = [float(r['ssh_s']) for r in boot if r['placement'] == p]
            c = [float(r['create_s']) for r in boot if r['placement'] == p]
            if v:
                self.boot[p] = dict(n=len(v), mean=st.mean(v), median=st.median(v), min=min(v), max=max(v),
                                    sd=st.stdev(v) if len(v) > 1 else 0.0, create=st.median(c))
                f['ssh_s'] = self.boot[p]['median']
            else:
                f['ssh_s'] = None
            k = lambda key: (lambda x: None if x is None else x / 1024)(med(mem, key, placement=p))
            mm = dict(engine=k('engine_pss_kib'), engine_own=k('engine_pss_noram_kib'),
                      ram=k('guest_ram_rss_kib'), dm=k('dm_uss_kib'), stubqemu=k('stubqemu_pss_noram_kib'),
                      relay=k('relay_uss_kib'), stub_ram=med(mem, 'stub_ram_mib', placement=p),
                      stub_total=k('stub_memtotal_kib'), n=sum(1 for r in mem if r['placement'] == p))
            if mm['engine_own'] is not None:
                side = (mm['dm'] or 0) + (mm['stubqemu'] or 0) + (mm['relay'] or 0)
                mm['total'] = mm['engine_own'] + side
                f['host_mem_mib'] = mm['total']
            else:
                f['host_mem_mib'] = None
            f['stub_ram_mib'] = mm['stub_ram']
            self.mem[p] = mm
            t = [r for r in self.rows('terms') if r['placement'] == p]
            if t:
                self.terms[p] = t[0]

    # --- tables -----------------------------------------------------------------

    def results(self):
        n = self.boot.get('dom0', {}).get('n', 0)
        out = ['| placement | dd read, MiB/s | dd write, MiB/s | iperf3 guest→host, Mbit/s | '
               f'iperf3 host→guest, Mbit/s | create → ssh, s (median of {n}) | host memory per guest, MiB |',
               '|---|--:|--:|--:|--:|--:|--:|']
        for p in P:
            f = self.fig[p]
            out.append(f"| `{p}` | {fmt(f['dd_read_mib_s'])} | {fmt(f['dd_write_mib_s'])} | {fmt(f['g2h_mbit_s'], 0)} | "
                       f"{fmt(f['h2g_mbit_s'], 0)} | {fmt(f['ssh_s'], 2)} | {fmt(f['host_mem_mib'])} |")
        return out

    def ratios(self, base):
        keys = list(FIG) if base == 'dom0' else list(FIG)[:4]
        out = [f'| placement ÷ `{base}` | ' + ' | '.join(FIG[k][0] for k in keys) + ' |',
               '|---|' + '--:|' * len(keys)]
        for p in P:
            out.append(f"| `{p}` | " + ' | '.join(rfmt(ratio(self.fig[p][k], self.fig[base][k])) for k in keys) + ' |')
        return out

    def goal_rows(self):
        out = ['| goal | figure | placement / baseline | ratio | met? |', '|---|---|--:|--:|---|']
        for p, b, k, g in GOALS:
            label, unit, bigger, d = FIG[k]
            r = ratio(self.fig[p][k], self.fig[b][k])
            sign = '≥' if bigger else '≤'
            if r is None:
                verdict = 'not measured'
            elif (r >= g) if bigger else (r <= g):
                verdict = 'met'
            elif bigger:
                verdict = (f"**missed by {(1 - r / g) * 100:.0f}%**: {r:.2f}× for ≥ {g:.2f}× "
                           f"(`{p}` would need {g / r:.2f}× its figure)")
            else:
                verdict = (f"**missed by {(r / g - 1) * 100:.0f}%**: {r:.2f}× for ≤ {g:.2f}× "
                           f"({fmt(self.fig[p][k] - g * self.fig[b][k], d)} {unit} over)")
            out.append(f"| goal: {SHORT[p]} {sign} {g:.2f}× {SHORT[b]} | {label} | "
                       f"{fmt(self.fig[p][k], d)} / {fmt(self.fig[b][k], d)} {unit} | {rfmt(r)} | {verdict} |")
        return out

    def boots(self):
        out = ['| placement | boots | mean | median | min | max | stddev | `airlock create` returned (median) |',
               '|---|--:|--:|--:|--:|--:|--:|--:|']
        for p in P:
            b = self.boot.get(p)
            if b:
                out.append(f"| `{p}` | {b['n']} | {b['mean']:.2f} | {b['median']:.2f} | {b['min']:.2f} | {b['max']:.2f} | "
                           f"{b['sd']:.2f} | {b['create']:.2f} |")
            else:
                why = 'not an airlock placement' if p == 'qsd' else 'no guest'
                out.append(f"| `{p}` | — ({why}) | | | | | | |")
        return out

    def memory(self):
        out = ['| placement | engine PSS, all | engine PSS without guest RAM | guest RAM resident | '
               'device model USS, guest RAM left out | stub domain: its QEMU\'s PSS without guest RAM + relay USS | '
               'stub domain RAM: configured / MemTotal inside | host cost per guest, guest RAM left out | samples |',
               '|---|--:|--:|--:|--:|--:|--:|--:|--:|']
        for p in P:
            m = self.mem[p]
            if m['engine'] is None:
                out.append(f"| `{p}` | — (no guest) | | | | | | | |")
                continue
            dm = fmt(m['dm']) if m['dm'] is not None else ('— (in the engine)' if p == 'qemu' else '—')
            stub = '—'
            ram = '—'
            if m['stubqemu'] is not None:
                stub = f"{fmt(m['stubqemu'])} + {fmt(m['relay'])}"
                ram = f"{fmt(m['stub_ram'], 0)} / {fmt((m['stub_total'] or 0) or None)}"
            out.append(f"| `{p}` | {fmt(m['engine'])} | {fmt(m['engine_own'])} | {fmt(m['ram'])} | {dm} | {stub} | "
                       f"{ram} | **{fmt(m['total'])}** | {m['n']} |")
        return out

    def guest_view(self):
        out = ['| placement | disk queues | disk queue depth (blk-mq tags) | INDIRECT_DESC | EVENT_IDX | '
               'NIC queue pairs | guest RAM (MemTotal), MiB | vCPUs | dd /dev/zero → /dev/null, MiB/s |',
               '|---|--:|--:|--:|--:|--:|--:|--:|--:|']
        for p in P:
            t = self.terms.get(p)
            if not t:
                out.append(f"| `{p}` | — (no guest) | | | | | | | {fmt(self.zero[p])} |")
                continue
            yn = lambda x: {'1': 'yes', '0': 'no'}.get(x, x)
            out.append(f"| `{p}` | {t['blk_queues']} | {t['blk_depth']} | {yn(t['blk_indirect'])} | "
                       f"{yn(t['blk_event_idx'])} | {t['net_queue_pairs']} | {int(t['guest_mem_kib']) / 1024:.0f} | "
                       f"{t['vcpus']} | {fmt(self.zero[p])} |")
        return out

    # --- words -----------------------------------------------------------------------

    def reading(self):
        f = self.fig
        r = lambda p, b, k: rfmt(ratio(f[p][k], f[b][k]))
        s = []
        s.append(f"- **Disk** (dd, 1 MiB, direct I/O): airlock-dm in dom0 reads at {r('dom0', 'qemu', 'dd_read_mib_s')} "
                 f"and writes at {r('dom0', 'qemu', 'dd_write_mib_s')} QEMU's built-in virtio-blk "
                 f"({r('dom0', 'qsd', 'dd_read_mib_s')} / {r('dom0', 'qsd', 'dd_write_mib_s')} qemu-storage-daemon); "
                 f"in the stub domain it reaches {r('stub', 'dom0', 'dd_read_mib_s')} / {r('stub', 'dom0', 'dd_write_mib_s')} "
                 f"of dom0. The host itself on the same file: {fmt(f['native']['dd_read_mib_s'])} / "
                 f"{fmt(f['native']['dd_write_mib_s'])} MiB/s, so the best guest reads at "
                 f"{rfmt(max((ratio(f[p]['dd_read_mib_s'], f['native']['dd_read_mib_s']) or 0) for p in BOOTABLE + ('qsd',)))} native.")
        s.append(f"- **Network** (iperf3, one TCP stream): airlock-dm in dom0 gives {r('dom0', 'qemu', 'g2h_mbit_s')} "
                 f"(guest→host) and {r('dom0', 'qemu', 'h2g_mbit_s')} (host→guest) of QEMU's built-in virtio-net; "
                 f"the stub domain {r('stub', 'dom0', 'g2h_mbit_s')} / {r('stub', 'dom0', 'h2g_mbit_s')} of dom0. "
                 f"Two host namespaces over a veth (native) reach {fmt(f['native']['g2h_mbit_s'], 0)} / "
                 f"{fmt(f['native']['h2g_mbit_s'], 0)} Mbit/s.")
        b = self.boot
        if all(p in b for p in BOOTABLE):
            s.append(f"- **Boot** (`airlock create` → ssh, medians): {b['qemu']['median']:.2f} s with QEMU's devices, "
                     f"{b['dom0']['median']:.2f} s with airlock-dm in dom0, {b['stub']['median']:.2f} s with the stub "
                     f"domain ({r('stub', 'dom0', 'ssh_s')} dom0, +{b['stub']['median'] - b['dom0']['median']:.2f} s; "
                     f"`airlock create` itself returns after {b['stub']['create']:.2f} s there, as it starts the stub "
                     f"domain first).")
        m = self.mem
        if all(m[p].get('total') is not None for p in ('qemu', 'dom0', 'stub')):
            s.append(f"- **Memory** (host cost per guest beyond its RAM): {fmt(m['qemu']['total'])} MiB with QEMU's "
                     f"devices, {fmt(m['dom0']['total'])} MiB with airlock-dm in dom0 (airlock-dm itself "
                     f"{fmt(m['dom0']['dm'])} MiB USS), {fmt(m['stub']['total'])} MiB with the stub domain "
                     f"(+{fmt(m['stub']['total'] - m['dom0']['total'])} MiB over dom0: the stub's QEMU with its "
                     f"{fmt(m['stub']['stub_ram'], 0)} MiB of RAM and translation cache).")
        missed = [g for g in GOALS if self.missed(g)]
        s.append(f"- **Goals**: {len(GOALS) - len(missed)} of {len(GOALS)} met on this run"
                 + ('' if not missed else '; missed: ' + ', '.join(
                     f"{SHORT[p]} vs {SHORT[b]} on {FIG[k][0]}" for p, b, k, _ in missed)) + '.')
        return s

    def missed(self, g):
        p, b, k, goal = g
        r = ratio(self.fig[p][k], self.fig[b][k])
        return r is not None and ((r < goal) if FIG[k][2] else (r > goal))

    def choosing(self):
        f, b = self.fig, self.boot
        r = lambda p, q, k: rfmt(ratio(f[p][k], f[q][k]))
        extra_s = (b['stub']['median'] - b['dom0']['median']) if all(p in b for p in ('stub', 'dom0')) else None
        extra_m = None
        if all(self.mem[p].get('total') is not None for p in ('stub', 'dom0')):
            extra_m = self.mem['stub']['total'] - self.mem['dom0']['total']
        return (f"For a user choosing a placement on this machine ({self.m.get('accel', '?')}): "
                f"`device_model_version = \"airlock\"` takes the devices out of the engine at "
                f"{r('dom0', 'qemu', 'dd_read_mib_s')} QEMU's disk reads and {r('dom0', 'qemu', 'g2h_mbit_s')} its "
                f"guest→host network; adding the stub domain isolates the device model in its own VM for "
                f"{r('stub', 'dom0', 'dd_read_mib_s')} of dom0's disk reads, {r('stub', 'dom0', 'g2h_mbit_s')} of its "
                f"network, {'—' if extra_s is None else f'{extra_s:+.2f} s'} to boot and "
                f"{'—' if extra_m is None else f'{extra_m:+.0f} MiB'} of host memory per guest.")

    # --- outputs -------------------------------------------------------------------------

    def write_dat(self, d):
        f = self.fig
        z = lambda x: 0 if x is None else x
        with open(f'{d}/disk.dat', 'w') as o:
            for p in P:
                o.write(f"{p} {z(f[p]['dd_read_mib_s']):.1f} {z(f[p]['dd_write_mib_s']):.1f}\n")
        with open(f'{d}/net.dat', 'w') as o:
            for p in P:
                o.write(f"{p} {z(f[p]['g2h_mbit_s']):.1f} {z(f[p]['h2g_mbit_s']):.1f}\n")
        with open(f'{d}/boot.dat', 'w') as o:
            for p in BOOTABLE:
                b = self.boot.get(p)
                if b:
                    o.write(f"{p} {b['median']:.3f} {b['min']:.3f} {b['max']:.3f}\n")
        with open(f'{d}/mem.dat', 'w') as o:
            for p in P[:4]:
                m = self.mem[p]
                stub = (m['stubqemu'] or 0) + (m['relay'] or 0)
                o.write(f"{p} {z(m['engine_own']):.1f} {z(m['dm']):.1f} {stub:.1f}\n")
        with open(f'{d}/figures.txt', 'w') as o:
            for p in P:
                for k, v in f[p].items():
                    if v is not None:
                        o.write(f"{p} {k} {v:.3f}\n")
        with open(f'{d}/headline.md', 'w') as o:
            o.write(f"Full run of {self.m['date']} (`{self.m['command']}`, commit {self.m['commit']}): "
                    f"{self.m['accel']}, {self.m['machine']}; medians of {self.m['rounds']} interleaved round(s) "
                    f"and {self.m['boots']} boot(s) per placement. Method, spreads, goals and plots: "
                    "`docs/bench-report.md`.\n\n")
            o.write('\n'.join(self.results()) + '\n\n' + self.choosing() + '\n')
        with open(f'{d}/summary.txt', 'w') as o:
            o.write('\n'.join(self.results() + [''] + self.goal_rows()) + '\n')

    def markdown(self, analysis):
        m = self.m
        L = []
        w = L.append
        w('# Placements side by side: the seed\'s evaluation')
        w('')
        w(f"Measured by `{m['command']}` ({'`make bench-report`' if m['mode'] == 'full' else 'quick mode: 1 round, short transfers — a harness check, not figures to quote'}) "
          f"on {m['date']}, commit {m['commit']}.")
        w('')
        w('## The run')
        w('')
        w(f"- Machine: {m['machine']}; shared with other work. Load average (1/5/15 min) before: "
          f"{m['load_before']}; after: {m['load_after']} (each boot's 1-minute figure is in the raw runs).")
        w(f"- Accelerator: **{m['accel']}** for every guest ({m['accel_reason']}); the stub domain runs under TCG "
          f"in any case. QEMU {m['qemu']} (engine, qemu-storage-daemon, stub domain); iperf3 {m['iperf3']}.")
        w(f"- Guest: airlock's image (`out/images`, {m['guest_kernel']}): vmlinux + initrd.img, 1 vCPU, 256 MiB "
          "of RAM in a shared memfd, one virtio disk, one virtio-net NIC on a bridge `br0` in the benchmark's own "
          "network namespace, with the same MAC and address in every placement.")
        w('- Placements:')
        for p in P:
            w(f"  - `{p}`: {NAME[p]}.")
        w(f"- **Boots**: {m['boots']} round(s) of `airlock create` → the guest answers ssh → `airlock destroy` for "
          "`qemu`, `dom0` and `stub` (interleaved), each from a fresh copy of `rootfs.ext4` as its root disk "
          "(`root=/dev/vda`); \"ssh answers\" is the first `ssh root@guest true` that succeeds, polled every "
          "0.2 s after a 0.3 s TCP probe of port 22. qemu-storage-daemon is not an airlock placement: it has no "
          "boot figure.")
        w(f"- **I/O**: {m['rounds']} round(s) of `qemu qsd dom0 stub native`, a fresh guest each, the scratch disk "
          "its only disk (`root=none`: userspace in the initramfs). `dom0` and `stub` guests come from "
          "`airlock create`; the `qemu` and `qsd` guests from the benchmark's own QEMU command line "
          "(`bench/lib.sh`: `engine_start`, `blk_start`) with the machine, RAM, kernel and queues of "
          "airlock's engine, because airlock's `qemu` placement opens disks through the host page cache "
          "(and lacks the engine's seccomp, chroot and uid, which if anything favours them).")
        w(f"- **Disk**: a 1 GiB raw file written in full beforehand; in the guest `dd if=/dev/vda of=/dev/null "
          f"bs=1M count={m['dd_mib']} iflag=direct`, then `dd if=/dev/zero of=/dev/vda bs=1M count={m['dd_mib']} "
          "oflag=direct conv=notrunc` (busybox dd; one request in flight); native: GNU dd with the same "
          "arguments on the same file. MiB/s: the MiB dd copied (checked: all of them, whole records) over the "
          "time around it (`bench/dd-timed.sh`; the guest's clock is busybox adjtimex's, in µs). Under TCG the "
          "write is bounded by the guest's own CPU producing the data (`dd if=/dev/zero of=/dev/null`, timed in "
          "every guest, last column below): write figures of different placements converge on that ceiling; "
          "`docs/bench-disk.md` (ioprobe, no data to produce) shows the device models' write paths apart.")
        w(f"- **Network**: iperf3 from the benchmark's namespace to the guest's `iperf3 -s`, one TCP stream, "
          f"{m['net_seconds']} s after 1 s omitted, the receiver's figure; guest→host with `-R`. Native: the "
          "same client against `iperf3 -s` in a second namespace on a veth into `br0`. No traffic leaves the "
          "machine.")
        w("- **Memory**, sampled in the middle of the guest→host transfer (`bench/mem.sh`): PSS for QEMU "
          "processes (the engine; the stub domain's QEMU), USS (Private_Clean + Private_Dirty) for device models "
          "(airlock-dm, qemu-storage-daemon, airlock-relay), guest RAM mappings (the guest's memfd) left out "
          "where said; the guest RAM resident is counted once, from the engine. The stub domain's RAM: its "
          "QEMU's `-m` and the MemTotal its init prints on the stub's console.")
        w("- **Same terms** for every placement: host page cache bypassed (`cache.direct=on,aio=threads` for "
          "QEMU's virtio-blk and for qemu-storage-daemon; O_DIRECT with io_uring in airlock-dm in dom0; in the "
          "stub domain, airlock-dm drives the stub's own virtio disk, which its QEMU serves with "
          f"`cache.direct=on,aio=io_uring`, the data moving by DMA straight into guest RAM); one disk queue of {m['qsize']} descriptors (what airlock's engine "
          "gives `vhost-user-blk-pci`, set explicitly for the others), one rx and one tx queue of 256 on the NIC "
          "(QEMU's defaults), the same guest image. One difference is not ours to remove: vhost-user NICs "
          "(`dom0`, `stub`) run with INTx under TCG (QEMU 7.2 crashes with MSI-X there, `docs/dm.md`), QEMU's "
          "built-in NIC with MSI-X; `docs/bench-net.md` measures what INTx alone costs.")
        w("- Order: placements interleaved in every round (A B C D E, A B C D E, …); figures are medians over "
          "the rounds; ratios are of medians.")
        w('')
        w('### What each guest saw of its devices')
        w('')
        w('Read in the guest (`/sys/block/vda/mq`, the virtio features, `/sys/class/net/eth0/queues`): the '
          'terms above as the guest\'s kernel got them.')
        w('')
        L += self.guest_view()
        w('')
        w('## Results (medians)')
        w('')
        L += self.results()
        w('')
        w('![disk](bench-report/disk.png)')
        w('![network](bench-report/net.png)')
        w('')
        w('### Relative to airlock-dm in dom0')
        w('')
        L += self.ratios('dom0')
        w('')
        w('### Relative to native')
        w('')
        L += self.ratios('native')
        w('')
        w('## Goals of the earlier issues')
        w('')
        L += self.goal_rows()
        w('')
        w('Profiles of the stub domain\'s data path: `BENCH_PROFILE=DIR bench/stubdom.sh build` (perf on the '
          'stub\'s QEMU, strace on the relay); what they showed is in the analysis below and in '
          '`docs/bench-stubdom.md`.')
        w('')
        w('## Boot: `airlock create` → ssh answers (seconds)')
        w('')
        L += self.boots()
        w('')
        w('![boot](bench-report/boot.png)')
        w('')
        w('## Memory per guest (MiB, medians over the samples)')
        w('')
        L += self.memory()
        w('')
        w('![memory](bench-report/mem.png)')
        w('')
        w('## What the figures say (generated from this run)')
        w('')
        L += self.reading()
        w('')
        w(self.choosing())
        w('')
        if analysis.strip():
            L.append(analysis.rstrip('\n'))
        else:
            w('## Analysis')
            w('')
            w('Hand-written after a full run (this section survives reruns): causes, profiles, what would close '
              'the missed goals. Not written yet for this report.')
        w('')
        w('## Raw runs')
        w('')
        w('```')
        L += [' '.join(f"{k}={v}" for k, v in r.items()) for r in self.raw]
        w('```')
        return '\n'.join(L) + '\n'


def main():
    raw, meta, analysis, out_md, datdir = sys.argv[1:6]
    r = Report(raw, meta)
    r.write_dat(datdir)
    with open(out_md, 'w') as o:
        o.write(r.markdown(open(analysis).read()))


if __name__ == '__main__':
    main()
