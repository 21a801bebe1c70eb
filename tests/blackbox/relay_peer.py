#!/usr/bin/env python3
"""relay_peer.py — the supervisor's and the peers' side of airlock-relay for
tests/blackbox/relay_confined.sh.

  relay_peer.py spawn DIR RAM_BYTES -- CMD...
      Makes what the supervisor hands the relay (supervisor/stubdom.c): a
      guest-RAM memfd of RAM_BYTES and listening UNIX sockets DIR/eng0.sock
      (the engine's), DIR/ivshmem.sock and DIR/stubproto.sock; replaces
      @RAM@ @ENG0@ @IVS@ @PORT@ in CMD by their fd numbers and execs CMD
      with them inherited and every other fd above 2 closed (so the
      caller's $! is the relay's pid).
  relay_peer.py engine SOCK
      A vhost-user front end: GET_FEATURES (printed as 0x%x), then the
      set-up an engine makes before the stub exists: SET_FEATURES,
      GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_INFLIGHT_FD (the relay
      writes a fresh area into the memfd and sends it back), SET_VRING_KICK
      with an eventfd, and a kick; prints "queues=N inflight=SIZE@OFFSET".
  relay_peer.py port SOCK
      The stub QEMU's port chardev: connects, prints how many bytes the
      relay sent first (its preamble and HELLO).
  relay_peer.py ivshmem SOCK NVEC
      An ivshmem-doorbell client: reads the server's set-up and prints
      "version=V id=I memfd=BYTES peer0=N peer1=N" (N: eventfds per peer).
  relay_peer.py hold SOCK
      Listens on SOCK and accepts until killed (a stand-in store socket).
"""
import os
import socket
import struct
import sys


def listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s.bind(path)
    s.listen(4)
    return s


def spawn(d, ram, cmd):
    fds = {}
    mfd = os.memfd_create("guest-ram", 0)
    os.ftruncate(mfd, ram)
    fds["@RAM@"] = mfd
    keep = [mfd]
    for tok, name in (("@ENG0@", "eng0.sock"), ("@IVS@", "ivshmem.sock"),
                      ("@PORT@", "stubproto.sock")):
        s = listener(os.path.join(d, name))
        fds[tok] = s.detach()
        keep.append(fds[tok])
    for fd in keep:
        os.set_inheritable(fd, True)
    # Like spawn_proc: the child gets stdio and the kept fds, nothing else.
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    argv = []
    for a in cmd:
        for tok, fd in fds.items():
            a = a.replace(tok, str(fd))
        argv.append(a)
    os.execvp(argv[0], argv)


def vu_send(s, req, payload=b"", fds=()):
    msg = struct.pack("<III", req, 1, len(payload)) + payload
    if fds:
        socket.send_fds(s, [msg], list(fds))
    else:
        s.sendall(msg)


def vu_recv(s, req):
    hdr = s.recv(12, socket.MSG_WAITALL)
    if len(hdr) != 12:
        sys.exit("closed before the reply to request %d" % req)
    got, flags, size = struct.unpack("<III", hdr)
    body, fds, _, _ = socket.recv_fds(s, size, 1) if size else (b"", [], 0, 0)
    if got != req or not flags & 0x4 or len(body) != size:
        sys.exit("bad reply to %d: request %d flags 0x%x size %d" % (req, got, flags, size))
    return body, fds


def engine(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    vu_send(s, 1)  # GET_FEATURES
    feat = struct.unpack("<Q", vu_recv(s, 1)[0])[0]
    print("0x%x" % feat)
    vu_send(s, 2, struct.pack("<Q", feat))  # SET_FEATURES
    vu_send(s, 15)  # GET_PROTOCOL_FEATURES
    proto = struct.unpack("<Q", vu_recv(s, 15)[0])[0]
    vu_send(s, 16, struct.pack("<Q", proto))  # SET_PROTOCOL_FEATURES
    vu_send(s, 17)  # GET_QUEUE_NUM
    queues = struct.unpack("<Q", vu_recv(s, 17)[0])[0]
    vu_send(s, 31, struct.pack("<QQHHI", 0, 0, 1, 128, 0))  # GET_INFLIGHT_FD
    body, fds = vu_recv(s, 31)
    size, off, _, _ = struct.unpack("<QQHH", body[:20])
    for fd in fds:
        os.close(fd)
    kick = os.eventfd(0)
    vu_send(s, 12, struct.pack("<Q", 0), [kick])  # SET_VRING_KICK, queue 0
    os.eventfd_write(kick, 1)
    # A round trip, so that everything above has been handled.
    vu_send(s, 17)
    vu_recv(s, 17)
    print("queues=%d inflight=%d@%d" % (queues, size, off))


def port(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    got = b""
    try:
        while len(got) < 16:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    print(len(got))


def ivshmem(path, nvec):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)

    def msg():
        data, fds, _, _ = socket.recv_fds(s, 8, 1)
        if len(data) != 8:
            sys.exit("short message (%d bytes)" % len(data))
        return struct.unpack("<q", data)[0], (fds[0] if fds else -1)

    version, _ = msg()
    ident, _ = msg()
    tag, mfd = msg()
    size = os.fstat(mfd).st_size if tag == -1 and mfd >= 0 else -1
    peers = {0: 0, 1: 0}
    for _ in range(2 * nvec):
        p, fd = msg()
        if fd >= 0 and p in peers:
            peers[p] += 1
            os.close(fd)
    print("version=%d id=%d memfd=%d peer0=%d peer1=%d" %
          (version, ident, size, peers[0], peers[1]))


def hold(path):
    s = listener(path)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "spawn" and a[3] == "--":
        spawn(a[1], int(a[2]), a[4:])
    elif len(a) == 2 and a[0] == "engine":
        engine(a[1])
    elif len(a) == 2 and a[0] == "port":
        port(a[1])
    elif len(a) == 3 and a[0] == "ivshmem":
        ivshmem(a[1], int(a[2]))
    elif len(a) == 2 and a[0] == "hold":
        hold(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
