#!/usr/bin/env python3
"""fuzz/gen_stubproto_seeds.py — writes the seed inputs of fuzz_stubproto_dec
and fuzz_stubproto_session in fuzz/corpus/ (formats: the comments atop those
targets; the wire: docs/stubproto.md). Run from anywhere."""
import os
import struct

TOP = os.path.dirname(os.path.abspath(__file__))


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def frame(typ, payload, ch=0, sess=0, seq=0):
    h = b"ALKSTUB1" + struct.pack("<HHHHIII", 1, typ, ch, 0, sess, seq, len(payload))
    return h + struct.pack("<I", crc32c(h + payload)) + payload


HELLO = frame(1, struct.pack("<HHIQ", 1, 0, 0, 0x1122334455667788))
ACK = frame(2, struct.pack("<QII", 0x1122334455667788, 7, 0))
REHELLO = frame(3, struct.pack("<II", 11, 0))
TO_STUB = [
    ACK,
    frame(0x10, struct.pack("<Q", 1 << 32 | 1 << 28), 1, 7, 0),
    frame(0x11, struct.pack("<II", 2, 0) + struct.pack("<QQQ", 0, 0xA0000, 0)
          + struct.pack("<QQQ", 0x100000, 0x7F00000, 0x100000), 1, 7, 1),
    frame(0x16, struct.pack("<QQHHI", 0x8000000, 0x5000, 1, 128, 0), 1, 7, 2),
    frame(0x12, struct.pack("<HHHHHHIQQQ", 0, 256, 0, 1, 2, 0, 0, 0x10000, 0x11000, 0x12000), 1, 7, 3),
    frame(0x15, struct.pack("<HH", 0, 60), 2, 7, 4),
    frame(0x13, struct.pack("<HH", 0, 0), 1, 7, 5),
    frame(0x14, b"", 1, 7, 6),
    REHELLO,
]
result = bytes(range(1, 61)) + bytes(196)
TO_RELAY = [
    HELLO,
    frame(0x30, b"", 0, 7, 0),
    frame(0x20, struct.pack("<IHHII", 0, 0x10, 0, 0, 0) + bytes(256), 1, 7, 1),
    frame(0x20, struct.pack("<IHHII", 4, 0x15, 60, 0, 0) + result, 2, 7, 2),
    frame(0x20, struct.pack("<IHHII", 5, 0x13, 2, 0, 0) + b"\x34\x12" + bytes(254), 1, 7, 3),
    frame(0x31, struct.pack("<HHI", 1, 0, 1), 1, 7, 4),
    frame(0x32, struct.pack("<HH", 2, 0) + b"blk0: ready", 0, 7, 5),
]


def write(target, name, data):
    d = os.path.join(TOP, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


dec = "fuzz_stubproto_dec"
write(dec, "to-stub", b"\x07" + b"".join(TO_STUB))
write(dec, "to-relay", b"\x03" + b"".join(TO_RELAY))
write(dec, "garbage-between", b"\x05" + b"junk\n" + b"".join(f + b"ALKSTUB1xx" for f in TO_RELAY))
write(dec, "cut-then-hello", b"\x09" + TO_RELAY[3][:100] + bytes(304) + HELLO + TO_RELAY[1])
write(dec, "cut-no-preamble", b"\x0b" + TO_RELAY[3][:40] + HELLO * 7)
write(dec, "padding", b"\x01" + bytes(64) + ACK + bytes(7) + TO_STUB[1])

# fuzz_stubproto_session: opcodes (see the target's comment)
HS = bytes([0, 1, 3, 2])  # stub HELLO with preamble; relay acks; stub up


def req(t, c, f=bytes(8)):
    return bytes([1, t, c]) + f


ses = "fuzz_stubproto_session"
write(ses, "handshake", HS)
write(ses, "requests", HS + req(0, 1, b"\x01" * 8) + req(1, 2, bytes([1, 0, 15, 15, 0, 16, 0, 0]))
      + req(2, 3, bytes([0, 8, 0, 0, 1, 2, 0, 0])) + req(3, 1) + req(5, 4, bytes([0, 0, 12, 0, 0, 0, 0, 0]))
      + req(6, 5, bytes([32, 2, 1, 7, 0, 0, 0, 0])) + bytes([2, 3]) + bytes([9, 0, 9, 1, 9, 2, 3]))
write(ses, "stub-restart-mid-frame", HS + req(3, 1) + bytes([2, 5, 1, 200, 6, 0, 1, 3, 2])
      + req(4, 1) + bytes([2, 3]))
write(ses, "relay-restart", HS + req(4, 1) + bytes([7, 2, 3, 2, 3, 2]))
write(ses, "gap-and-garbage", HS + bytes([9, 0, 9, 0, 5, 1, 32, 3, 2, 3, 2]) + bytes([4, 0, 5]) + b"ALKST"
      + bytes([2, 8, 1, 0x30, 0, 7, 0, 0]) + bytes(16) + bytes([3, 2, 3]))
write(ses, "wrong-reply", HS + req(3, 1) + bytes([0x82, 3, 3, 2, 3]))
