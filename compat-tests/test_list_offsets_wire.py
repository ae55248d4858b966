#!/usr/bin/python3
"""ListOffsets v7 on the wire (earliest, latest, max timestamp, by timestamp
to the exact record, timestamps out of order across batches), and acks=0
Produce: no answer on success, the connection closed on an error.
Uses only EDDY_BOOTSTRAP.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
TOPIC = os.environ.get("EDDY_TEST_NAME", "list_offsets_wire") + "_t"
OFF_MAX_TIMESTAMP = 35
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def batch(base_ts, deltas):
    """One batch whose record i has timestamp base_ts + deltas[i]."""
    payload = b"".join(kw.record_v2(i, b"k%d" % i, b"v", timestamp_delta=d) for i, d in enumerate(deltas))
    b = kw.record_batch_v2([(b"k", b"v")] * len(deltas), base_timestamp=base_ts, records_payload=payload)
    return kw.batch_patch(b, OFF_MAX_TIMESTAMP, struct.pack(">q", base_ts + max(deltas)))


def list_offsets_v7(conn, queries):
    """ListOffsets v7 is flexible: compact strings and arrays, tag sections."""
    tags = kw.EMPTY_TAGS
    body = kw.i32(-1) + kw.i8(0) + kw.compact_array([TOPIC], lambda t: kw.compact_string(t) + kw.compact_array(
        queries, lambda ts: kw.i32(0) + kw.i32(-1) + kw.i64(ts) + tags) + tags) + tags
    r = kw.Reader(conn.call(2, 7, body))
    r.i32()
    out = []
    for _ in range(r.compact_array_len()):
        r.compact_string()
        for _ in range(r.compact_array_len()):
            _, err, ts, off, epoch = r.i32(), r.i16(), r.i64(), r.i64(), r.i32()
            r.tagged_fields()
            out.append((err, ts, off))
        r.tagged_fields()
    r.tagged_fields()
    check(r.remaining() == 0, "ListOffsets v7 answer decodes exactly")
    return out


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    c = kw.Conn(BOOT, timeout=5.0)
    _, res = kw.decode_create_topics_v4(c.call(19, 4, kw.encode_create_topics_v4([(TOPIC, 1, 1)])))
    check(res[0][1] == 0, "create topic")
    # offsets 0-2 at 1000/1005/1010, 3-4 at 2000/2500, 5 at 1500 (out of order)
    for b in (batch(1000, [0, 5, 10]), batch(2000, [0, 500]), batch(1500, [0])):
        _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {TOPIC: {0: b}})))
        check(r[(TOPIC, 0)][0] == 0, "produce batch: %r" % (r[(TOPIC, 0)],))

    got = list_offsets_v7(c, [-2, -1, -3, 1004, 1011, 1500, 2600, 0])
    want = [
        (0, -1, 0),      # earliest
        (0, -1, 6),      # latest = high watermark
        (0, 2500, 4),    # the record with the largest timestamp
        (0, 1005, 1),    # first record at or after 1004, inside the first batch
        (0, 2000, 3),    # first record at or after 1011 is in the second batch
        (0, 2000, 3),    # 1500 is first reached at offset 3 (offset 5's 1500 comes later)
        (0, -1, -1),     # nothing that late
        (0, 1000, 0),    # everything is at or after 0
    ]
    names = ["earliest", "latest", "max timestamp", "ts 1004", "ts 1011", "ts 1500", "ts 2600", "ts 0"]
    for name, g, w in zip(names, got, want):
        check(g == w, "ListOffsets %s: got %r want %r" % (name, g, w))

    # acks=0: a good batch gets no answer; the next request's answer is the next frame.
    s = kw.connect(BOOT, 5.0)
    ok0 = kw.encode_produce_v7(0, 5000, {TOPIC: {0: batch(3000, [0])}})
    s.sendall(kw.request(0, 7, 1, ok0) + kw.request(3, 1, 2, kw.encode_metadata_v1([TOPIC])))
    f = kw.recv_frame(s, 5.0)
    check(f is not None and struct.unpack(">i", f[:4])[0] == 2, "acks=0 produce is not answered")
    # acks=0 to a partition that does not exist: the broker closes the connection.
    bad0 = kw.encode_produce_v7(0, 5000, {TOPIC: {7: batch(3000, [0])}})
    s.sendall(kw.request(0, 7, 3, bad0))
    try:
        closed = kw.recv_frame(s, 5.0) is None
    except (OSError, kw.WireError):
        closed = True
    check(closed, "failed acks=0 produce closes the connection")
    s.close()
    got = list_offsets_v7(c, [-1])
    check(got == [(0, -1, 7)], "the acks=0 batch was appended, the failed one not: %r" % got)

    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
