#!/usr/bin/env python3
"""fuzz/gen-seeds.py — writes the synthetic seed inputs in fuzz/corpus/.

Run from anywhere: python3 fuzz/gen-seeds.py. The seeds are small, valid
inputs in each target's input format (see the comment at the top of each
fuzz_*.c), so the fuzzers start from deep paths instead of discovering the
formats. fuzz/corpus/fuzz_persist/daemon.log is not generated here: it is a
state log written by a real airlock-store (see docs/fuzzing.md).
"""
import os
import struct

TOP = os.path.dirname(os.path.abspath(__file__))

# Message types (lib/xs/xs_wire.h).
CONTROL, DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH = 0, 1, 2, 3, 4, 5
TXN_START, TXN_END, INTRODUCE, RELEASE, GET_DOMAIN_PATH = 6, 7, 8, 9, 10
WRITE, MKDIR, RM, SET_PERMS = 11, 12, 13, 14
IS_INTRODUCED, RESUME, SET_TARGET, RESET_WATCHES = 17, 18, 19, 21
DIRECTORY_PART, GET_FEATURE, SET_FEATURE, GET_QUOTA, SET_QUOTA = 22, 23, 24, 25, 26


def z(*args):
    """NUL-terminated strings, concatenated."""
    return b"".join(a.encode() + b"\0" for a in args)


def write(target, name, data):
    d = os.path.join(TOP, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_msg: a raw client stream, 16-byte header + payload ----

def msg(type_, payload, req_id=1, tx_id=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IIII", type_, req_id, tx_id, n) + payload


def msg_seeds():
    write("fuzz_msg", "rw-watch-txn", b"".join([
        msg(READ, z("/local/domain/0/name")),
        msg(WRITE, z("/a/b") + b"value"),
        msg(WATCH, z("/a", "tok")),
        msg(TXN_START, z("")),
        msg(WRITE, z("data/x") + b"1", tx_id=1),
        msg(TXN_END, z("T"), tx_id=1),
        msg(UNWATCH, z("/a", "tok")),
        msg(RM, z("/a")),
    ]))
    write("fuzz_msg", "perms-domains", b"".join([
        msg(SET_PERMS, z("/a", "b0", "r5", "n7", "w65535")),
        msg(GET_PERMS, z("@releaseDomain")),
        msg(INTRODUCE, z("5", "0", "0")),
        msg(SET_TARGET, z("5", "6")),
        msg(IS_INTRODUCED, z("5")),
        msg(GET_DOMAIN_PATH, z("5")),
        msg(RELEASE, z("5")),
        msg(RESUME, z("5")),
    ]))
    write("fuzz_msg", "admin", b"".join([
        msg(DIRECTORY_PART, z("/local", "0")),
        msg(SET_QUOTA, z("5", "nodes", "100")),
        msg(GET_QUOTA, z("5", "nodes")),
        msg(GET_QUOTA, b""),
        msg(GET_FEATURE, z("")),
        msg(SET_FEATURE, z("5", "0")),
        msg(RESET_WATCHES, b""),
        msg(CONTROL, z("check")),
        msg(MKDIR, z("device/vif/0")),
    ]))
    write("fuzz_msg", "long-path", msg(READ, z("/" + "/".join(["abcdefghi"] * 300))))
    write("fuzz_msg", "too-long", msg(WRITE, z("/x") + b"y", length=4097))


# ---- fuzz_session: sel, type, tx, len, payload per message ----

def sm(slot, type_, payload, tx=0):
    """slot 0 dom0, 1 dom5, 2 dom6, 3 second dom0. tx: a tx byte (0x80 picks
    the first id a TRANSACTION_START returned)."""
    assert len(payload) < 0xff
    return bytes([slot, type_, tx, len(payload)]) + payload


def session_seeds():
    write("fuzz_session", "basic", b"".join([
        sm(0, WRITE, z("/a/b") + b"c"),
        sm(0, READ, z("/a/b")),
        sm(0, DIRECTORY, z("/")),
        sm(0, WATCH, z("/a", "tok")),
        sm(0, WRITE, z("/a/b/c") + b"d"),
        sm(0, GET_PERMS, z("/a/b")),
        sm(0, RM, z("/a")),
        sm(0, UNWATCH, z("/a", "tok")),
    ]))
    write("fuzz_session", "transaction", b"".join([
        sm(0, TXN_START, z("")),
        sm(0, WRITE, z("/t/x") + b"1", tx=0x80),
        sm(0, READ, z("/tool/airlock/x"), tx=0x80),
        sm(3, WRITE, z("/tool/airlock/x") + b"2"),  # conflicts
        sm(0, TXN_END, z("T"), tx=0x80),
        sm(1, TXN_START, z("")),
        sm(1, WRITE, z("data") + b"v", tx=0x81),
        sm(1, MKDIR, z("/local/domain/6/dm"), tx=0x81),
        sm(1, TXN_END, z("T"), tx=0x81),
    ]))
    write("fuzz_session", "guests", b"".join([
        sm(1, WRITE, z("/local/domain/6/device/vif/0/state") + b"4"),
        sm(2, READ, z("name")),
        sm(2, WATCH, z("device", "t2")),
        sm(2, WRITE, z("device/vif/0/state") + b"3"),
        sm(1, SET_PERMS, z("/local/domain/6/name", "n6", "r5")),
        sm(2, SET_PERMS, z("name", "n5")),
        sm(2, READ, z("/local/domain/5")),
        sm(1, DIRECTORY_PART, z("/local/domain/6", "0")),
    ]))
    write("fuzz_session", "release", b"".join([
        sm(0, WATCH, z("@introduceDomain", "intro")),
        sm(0, RELEASE, z("6")),
        sm(2, READ, z("name")),
        sm(0, INTRODUCE, z("6", "0", "0")),
        sm(0, IS_INTRODUCED, z("6")),
        sm(0, CONTROL, z("check")),
    ]))
    write("fuzz_session", "quota", b"".join([
        sm(0, SET_QUOTA, z("5", "nodes", "3")),
        sm(1, WRITE, z("a") + b"1"),
        sm(1, WRITE, z("b") + b"1"),
        sm(1, WRITE, z("c/d/e") + b"1"),
        sm(0, GET_QUOTA, z("5", "nodes")),
        sm(0, CONTROL, z("quota", "5")),
        sm(1, RM, z("a")),
    ]))
    write("fuzz_session", "control", b"".join([
        sm(0, CONTROL, z("help")),
        sm(0, CONTROL, z("memreport")),
        sm(0, CONTROL, z("log", "err")),
        sm(0, CONTROL, z("print", "hello")),
        sm(0, CONTROL, z("quota")),
        sm(0, CONTROL, z("compact")),
        sm(1, CONTROL, z("check")),
        sm(0, SET_QUOTA, z("nodes", "0")),
        sm(0, GET_QUOTA, b""),
        sm(0, GET_FEATURE, z("5")),
        sm(0, SET_FEATURE, z("5", "0")),
    ]))
    write("fuzz_session", "special-perms", b"".join([
        sm(0, SET_PERMS, z("@releaseDomain", "n0", "r5")),
        sm(0, GET_PERMS, z("@releaseDomain")),
        sm(1, WATCH, z("@releaseDomain", "gone")),
        sm(2, SET_PERMS, z("@introduceDomain", "n6")),
        sm(0, RELEASE, z("6")),
        sm(0, INTRODUCE, z("6", "0", "0")),
    ]))
    write("fuzz_session", "release-dm", b"".join([
        sm(1, WRITE, z("/local/domain/6/dm-state") + b"running"),
        sm(1, MKDIR, z("/local/domain/6/backend/vbd")),
        sm(1, TXN_START, z("")),
        sm(1, READ, z("/local/domain/6/dm-state"), tx=0x80),
        sm(0, RELEASE, z("5")),
        sm(0, GET_PERMS, z("/local/domain/6/dm-state")),
        sm(1, TXN_END, z("T"), tx=0x80),
        sm(0, RESUME, z("5")),
        sm(0, SET_TARGET, z("6", "5")),
    ]))
    write("fuzz_session", "limits", b"".join([
        sm(0, SET_QUOTA, z("6", "watches", "1")),
        sm(2, WATCH, z("name", "t1")),
        sm(0, SET_QUOTA, z("6", "transactions", "1")),
        sm(2, TXN_START, z("")),
        sm(2, TXN_START, z("")),
        sm(2, WRITE, z("big") + b"v" * 200, tx=0x80),
        sm(2, RESET_WATCHES, b""),
        sm(2, READ, z("big"), tx=0x80),
        sm(0, SET_QUOTA, z("permissions", "2")),
        sm(2, SET_PERMS, z("name", "n6", "r5", "r0")),
    ]))
    # Odd length: against a state directory, with restarts (sel 0xfb).
    restart = bytes([0xfb])
    seed = b"".join([
        sm(0, WRITE, z("/a/b") + b"c"),
        sm(1, TXN_START, z("")),
        sm(1, WRITE, z("t") + b"1", tx=0x80),
        sm(0, SET_QUOTA, z("6", "nodes", "20")),
        sm(0, SET_QUOTA, z("watches", "9")),
        restart,
        sm(1, TXN_END, z("T"), tx=0x80),
        sm(0, RM, z("/local/domain/6/device")),
        sm(0, CONTROL, z("compact")),
        sm(0, SET_PERMS, z("/a", "n5", "r6")),
        sm(0, RELEASE, z("5")),
        restart,
        sm(0, READ, z("/a/b")),
    ])
    write("fuzz_session", "restart", seed + (b"" if len(seed) % 2 else b"\0"))
    write("fuzz_session", "reopen", b"".join([
        bytes([0xff]),  # close slot 3
        bytes([0xff, 3]),  # reopen it as dom7
        sm(3, WRITE, z("x") + b"1"),
        sm(3, GET_DOMAIN_PATH, z("7")),
        bytes([0xfd]),  # close dom5 with its watch
        sm(0, RESET_WATCHES, b""),
    ]))


# ---- fuzz_persist: a state-log image (store/persist.h) ----

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def put(path, perms, value=b"", children=()):
    p = path.encode()
    out = struct.pack("<BH", 1, len(p)) + p + struct.pack("<H", len(perms))
    for domid, bits in perms:
        out += struct.pack("<IB", domid, bits)
    ch = b"".join(c.encode() + b"\0" for c in children)
    return out + struct.pack("<I", len(value)) + value + struct.pack("<I", len(ch)) + ch


def delete(path):
    p = path.encode()
    return struct.pack("<BH", 2, len(p)) + p


def domain(domid, introduced, target=0xFFFFFFFF, quotas=()):
    out = struct.pack("<IBIB", domid, introduced, target, len(quotas))
    return b"\3" + out + b"".join(struct.pack("<BI", q, v) for q, v in quotas)


def gquota(q, v):
    return struct.pack("<BBI", 4, q, v)


def record(*ops):
    payload = b"".join(ops)
    return struct.pack("<II", len(payload), crc32c(payload)) + payload


HEADER = b"ALSTORE\0" + struct.pack("<II", 1, 0)


def persist_seeds():
    write("fuzz_persist", "tree", HEADER + b"".join([
        record(put("/", [(0, 0)], children=["local", "vm"]),
               put("/local", [(0, 0)], children=["domain"]),
               put("/local/domain", [(0, 0)], children=["5"]),
               put("/local/domain/5", [(5, 0), (0, 1)], children=["name"]),
               put("/local/domain/5/name", [(5, 0)], b"guest"),
               put("/vm", [(0, 0)])),
        record(domain(5, 1, 6, [(0, 100), (5, 4096)])),
        record(gquota(1, 64)),
        record(put("/vm", [(0, 0)], children=["5"]), put("/vm/5", [(0, 1), (5, 3)], b"x")),
        record(delete("/vm/5"), put("/vm", [(0, 0)])),
    ]))
    # Inconsistent on purpose: an orphan, a dangling child name, a missing
    # name, a torn last record. The loader must repair all of it.
    write("fuzz_persist", "damaged", HEADER + b"".join([
        record(put("/", [(0, 0)], children=["a", "ghost"]),
               put("/a/b/c", [(3, 3)], b"orphan"),
               put("/a", [(0, 0)]),
               put("/a/x", [(7, 0)], b"unlisted")),
        record(domain(0, 1), domain(3, 1)),
    ]) + record(put("/a/y", [(0, 0)]))[:-3])
    write("fuzz_persist", "header-only", HEADER)
    # Regressions (store/persist.c repair()): a name listed twice outlived
    # the node's removal; a child name too long for any path was checked
    # under a truncated path that named a sibling, and kept.
    write("fuzz_persist", "dup-child", HEADER + record(
        put("/", [(0, 0)], children=["a", "a"]), put("/a", [(0, 0)])))
    long = "/" + "a" * 3069  # 3070 bytes: long + "/bc" is one past the limit
    write("fuzz_persist", "long-child-name", HEADER + record(
        put(long, [(0, 0)], children=["b", "bc"]), put(long + "/b", [(0, 0)])))


if __name__ == "__main__":
    msg_seeds()
    session_seeds()
    persist_seeds()
