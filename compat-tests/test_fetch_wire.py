#!/usr/bin/python3
"""Fetch semantics on the wire: long-poll parking and wake-up, ordering of
pipelined requests behind a parked Fetch, a connection closed while its Fetch
is parked, min_bytes, max_bytes / partition_max_bytes with the "at least one
batch" rule, and OFFSET_OUT_OF_RANGE. Uses only EDDY_BOOTSTRAP.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
TOPIC = os.environ.get("EDDY_TEST_NAME", "fetch_wire") + "_t"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def encode_fetch_v11(topic, partition, offset, max_wait_ms, min_bytes=1, max_bytes=50 << 20,
                     partition_max_bytes=1 << 20):
    return (kw.i32(-1) + kw.i32(max_wait_ms) + kw.i32(min_bytes) + kw.i32(max_bytes) + kw.i8(0)
            + kw.i32(0) + kw.i32(-1)  # sessionless full fetch
            + kw.array([topic], lambda t: kw.string(t) + kw.array(
                [partition], lambda p: kw.i32(p) + kw.i32(-1) + kw.i64(offset) + kw.i64(-1)
                + kw.i32(partition_max_bytes)))
            + kw.array([]) + kw.string(""))


def decode_fetch_v11(body):
    """-> (error, [(partition, error, hw, records bytes)])."""
    r = kw.Reader(body)
    r.i32()
    err = r.i16()
    r.i32()
    parts = []
    for _ in range(max(r.array_len(), 0)):
        r.string()
        for _ in range(max(r.array_len(), 0)):
            idx, perr, hw = r.i32(), r.i16(), r.i64()
            r.i64()
            r.i64()
            n = r.array_len()
            for _ in range(max(n, 0)):
                r.i64()
                r.i64()
            r.i32()
            n = r.i32()
            recs = r.take(n) if n > 0 else b""
            parts.append((idx, perr, hw, recs))
    return err, parts


def batches(recs):
    """Base offsets of the whole batches in a records blob."""
    out, pos = [], 0
    while pos + 12 <= len(recs):
        base, length = struct.unpack(">qi", recs[pos:pos + 12])
        if pos + 12 + length > len(recs):
            break
        out.append(base)
        pos += 12 + length
    return out


def produce(conn, payload_size=100, count=1):
    recs = [(b"k", b"v" * payload_size) for _ in range(count)]
    body = kw.encode_produce_v7(1, 5000, {TOPIC: {0: kw.record_batch_v2(recs)}})
    _, res = kw.decode_produce_v7(conn.call(0, 7, body))
    return res[(TOPIC, 0)]


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    admin = kw.Conn(BOOT, timeout=5.0)
    _, res = kw.decode_create_topics_v4(admin.call(19, 4, kw.encode_create_topics_v4([(TOPIC, 1, 1)])))
    check(res[0][1] == 0, "create topic %s: %r" % (TOPIC, res))

    # 1. Nothing to read: the answer comes after max_wait_ms, empty.
    c = kw.Conn(BOOT, timeout=5.0)
    t0 = time.monotonic()
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 0, 600)))
    dt = time.monotonic() - t0
    check(err == 0 and parts[0][1] == 0 and parts[0][3] == b"", "empty long-poll answers empty: %r" % (parts,))
    check(0.5 <= dt < 3.0, "empty long-poll waited max_wait_ms (%.2fs)" % dt)

    # 2. A parked Fetch is woken by an append from another connection.
    result = {}

    def waiter():
        t = time.monotonic()
        result["ans"] = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 0, 10000)))
        result["dt"] = time.monotonic() - t

    c.timeout = 15.0
    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)
    perr, base = produce(admin)[:2]
    check(perr == 0 and base == 0, "produce while a fetch is parked: err %d base %d" % (perr, base))
    th.join(15)
    check("ans" in result, "parked fetch answered")
    if "ans" in result:
        err, parts = result["ans"]
        check(result["dt"] < 5.0, "parked fetch woken by the append (%.2fs, not the 10s deadline)" % result["dt"])
        check(batches(parts[0][3]) == [0] and parts[0][2] == 1, "woken fetch returns the new batch, hw 1")

    # 3. Pipelined requests behind a parked Fetch are answered in order.
    s = kw.connect(BOOT, 5.0)
    s.sendall(kw.request(1, 11, 1, encode_fetch_v11(TOPIC, 0, 1, 700)) + kw.request(3, 1, 2, kw.encode_metadata_v1([TOPIC])))
    t0 = time.monotonic()
    first = kw.recv_frame(s, 5.0)
    second = kw.recv_frame(s, 5.0)
    corr = [struct.unpack(">i", f[:4])[0] if f else None for f in (first, second)]
    check(corr == [1, 2], "responses in request order behind a parked fetch: %r" % corr)
    check(time.monotonic() - t0 >= 0.6, "the metadata answer waited for the parked fetch")
    s.close()

    # 4. A connection closed while its Fetch is parked: the broker carries on.
    s = kw.connect(BOOT, 5.0)
    s.sendall(kw.request(1, 11, 1, encode_fetch_v11(TOPIC, 0, 1, 5000)))
    time.sleep(0.2)
    s.close()
    time.sleep(0.1)
    perr = produce(admin)[0]
    check(perr == 0, "append after a parked fetch's connection closed")
    md = kw.decode_metadata_v1(admin.call(3, 1, kw.encode_metadata_v1([TOPIC])))
    check(md is not None, "broker still answers metadata")

    # 5. min_bytes larger than what arrives: wait the full max_wait_ms, then answer with what is there.
    t0 = time.monotonic()
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 0, 700, min_bytes=1 << 20)))
    dt = time.monotonic() - t0
    check(0.6 <= dt < 3.0 and batches(parts[0][3]) == [0, 1], "min_bytes not reached: waited %.2fs, got %r"
          % (dt, batches(parts[0][3])))

    # 6. partition_max_bytes smaller than one batch still returns that batch whole; larger limits return whole batches only.
    for _ in range(3):
        produce(admin, payload_size=10000)
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 2, 0, partition_max_bytes=1)))
    check(batches(parts[0][3]) == [2], "at least one batch under a 1-byte partition limit: %r" % batches(parts[0][3]))
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 2, 0, partition_max_bytes=25000)))
    got = batches(parts[0][3])
    check(got == [2, 3] and len(parts[0][3]) <= 25000, "25000-byte limit returns two whole 10 KB batches: %r" % got)
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 2, 0, max_bytes=1)))
    check(batches(parts[0][3]) == [2], "at least one batch under a 1-byte response limit")

    # 7. Out of range offsets.
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, 1000, 0)))
    check(parts[0][1] == 1, "offset past the end -> OFFSET_OUT_OF_RANGE (%d)" % parts[0][1])
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, parts[0][2], 0)))
    check(parts[0][1] == 0 and parts[0][3] == b"", "offset == high watermark -> empty, no error")
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC + "_missing", 0, 0, 0)))
    check(parts[0][1] == 3, "unknown topic -> UNKNOWN_TOPIC_OR_PARTITION (%d)" % parts[0][1])

    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
