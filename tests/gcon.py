#!/usr/bin/env python3
"""gcon.py AIRLOCK NAME TIMEOUT -- run shell commands on a guest's serial
console through `airlock console NAME` and print what they printed.

Reads the commands from stdin (one shell snippet). Each run is wrapped in
unique markers, so output from before (boot messages, earlier commands) is
never mistaken for this run's. Exits 0 when the end marker arrived within
TIMEOUT seconds, with the snippet's exit status printed as the last line
("gcon-status N"); 2 on a timeout (what came so far is printed).
"""
import os, random, subprocess, sys, time

airlock, name, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
snippet = sys.stdin.read()
tag = '%08x' % random.getrandbits(32)
p = subprocess.Popen([airlock, 'console', name], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
os.set_blocking(p.stdout.fileno(), False)
begin, end = f'gcon-b-{tag}', f'gcon-e-{tag}'
# The markers are built by the shell so the echoed command line never
# contains them literally.
cmd = (f"echo gcon-b-$((0)){tag[1:]}x; ( {snippet.strip()} ); "
       f"echo gcon-e-{tag[:4]}$((0)){tag[5:]}x $?\n")
begin = f'gcon-b-0{tag[1:]}x'
end = f'gcon-e-{tag[:4]}0{tag[5:]}x'
time.sleep(0.3)
p.stdin.write(b'\n' + cmd.encode()); p.stdin.flush()
buf = b''
deadline = time.time() + timeout
rc = 2
while time.time() < deadline:
    try:
        d = os.read(p.stdout.fileno(), 65536)
    except BlockingIOError:
        d = None
    if d == b'':
        break
    if d:
        buf += d
        text = buf.decode('utf-8', 'replace')
        b = text.find(begin + '\r\n')
        if b < 0:
            b = text.find(begin + '\n')
        e = text.find(end + ' ', b + 1) if b >= 0 else -1
        if e >= 0 and '\n' in text[e:]:
            status = text[e + len(end) + 1:].split()[0]
            out = text[text.index('\n', b) + 1:e]
            sys.stdout.write(out.replace('\r\n', '\n'))
            print('gcon-status', status)
            rc = 0
            break
    else:
        time.sleep(0.05)
else:
    sys.stdout.write(buf.decode('utf-8', 'replace')[-3000:])
p.kill()
p.wait()
sys.exit(rc)
