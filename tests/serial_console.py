#!/usr/bin/env python3
"""serial_console.py -- drive a test guest's serial console on a UNIX
socket (QEMU's `-chardev socket,...,server=on`): wait until the guest says
"airlock-guest: ready", type commands, wait for what they print, power the
guest off. Everything the guest prints is written to LOG as it comes.

As a program:
  serial_console.py SOCK LOG TIMEOUT script SCRIPT
      types SCRIPT, then `echo dm-test: $((40+2)) end`, and waits 60 s for
      "dm-test: 42 end";
  serial_console.py SOCK LOG TIMEOUT steps STEPS
      types each line of STEPS followed by an echo of its exit status
      ("@@step N rc=R", N from 0) and waits 150 s for each;
then types `poweroff` and waits 60 s for the console to close. Exit status:
0; 2 when the guest was not ready within TIMEOUT seconds; 3 when a
command's end did not come.

As a module (PYTHONPATH=tests; `import serial_console`): Console(SOCK, LOG)
and its ready, send, wait_for, run and poweroff, for drivers that do more
between the commands.
"""
import socket
import sys
import time


class Console:
    """The guest's console on the UNIX socket path; its output goes to log."""

    def __init__(self, path, log):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.buf = b''
        self.out = open(log, 'wb')

    def wait_for(self, pat, t):
        """True once pat (bytes) was printed since the start, False when t
        seconds pass or the console closes first."""
        end = time.time() + t
        while pat not in self.buf:
            if time.time() > end:
                return False
            self.s.settimeout(max(0.1, end - time.time()))
            try:
                d = self.s.recv(4096)
            except socket.timeout:
                continue
            if not d:
                return False
            self.buf += d
            self.out.write(d)
            self.out.flush()
        return True

    def send(self, text):
        """Types text (str) as it is."""
        self.s.sendall(text.encode())

    def ready(self, timeout):
        """Waits for the guest's "airlock-guest: ready" and a second more;
        False if it did not come within timeout seconds."""
        if not self.wait_for(b'airlock-guest: ready', timeout):
            return False
        time.sleep(1)
        return True

    def run(self, script, n, t):
        """Types script, then an echo that prints "dm-test: 4n end" (40 + n)
        once it is done; True if that came within t seconds."""
        self.send('\n' + script + '\necho dm-test: $((40+%d)) end\n' % n)
        return self.wait_for(b'dm-test: %d end' % (40 + n), t)

    def poweroff(self, t):
        """Types poweroff and waits up to t seconds for the console to close."""
        self.send('poweroff\n')
        self.wait_for(b'\0never', t)


def main(argv):
    path, log, timeout, mode, what = argv[1], argv[2], float(argv[3]), argv[4], argv[5]
    con = Console(path, log)
    if not con.ready(timeout):
        return 2
    if mode == 'script':
        if not con.run(what, 2, 60):
            return 3
    else:
        for i, cmd in enumerate(what.splitlines()):
            con.send('%s; echo "@""@step %d rc=$?"\n' % (cmd, i))
            if not con.wait_for(b'@@step %d rc=' % i, 150):
                return 3
    con.poweroff(60)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
