#!/usr/bin/python3
"""Log compaction on the wire: a compacted topic with tiny segments keeps the
latest value of every key at its original offset, drops superseded ones,
keeps tombstones within delete.retention.ms, keeps the data readable across a
restart, and refuses records without a key. Starts its own eddy (EDDY_BIN).
"""
import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from test_fetch_wire import decode_fetch_v11, encode_fetch_v11  # noqa: E402
from test_restart import create_topic_v4, start, stop  # noqa: E402

failures = []
EXTRA = ["--log.cleaner.backoff.ms", "100", "--log.segment.bytes", "1024"]
TOPIC = "compacted"


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def varint(data, pos):
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos


def records(blob):
    """(offset, key, value) of every record in uncompressed batches."""
    out, pos = [], 0
    while pos + 61 <= len(blob):
        base, length = struct.unpack(">qi", blob[pos:pos + 12])
        end = pos + 12 + length
        if end > len(blob):
            break
        count = struct.unpack(">i", blob[pos + 57:pos + 61])[0]
        p = pos + 61
        for _ in range(count):
            _, p = varint(blob, p)
            p += 1
            _, p = varint(blob, p)
            delta, p = varint(blob, p)
            klen, p = varint(blob, p)
            key = None if klen < 0 else blob[p:p + klen]
            p += max(klen, 0)
            vlen, p = varint(blob, p)
            value = None if vlen < 0 else blob[p:p + vlen]
            p += max(vlen, 0)
            hcount, p = varint(blob, p)
            for _ in range(hcount):
                hk, p = varint(blob, p)
                p += hk
                hv, p = varint(blob, p)
                p += max(hv, 0)
            out.append((base + delta, key, value))
        pos = end
    return out


def next_offset(blob):
    """The offset after the last whole batch (compaction may leave batches with no records)."""
    pos, nxt = 0, None
    while pos + 61 <= len(blob):
        base, length = struct.unpack(">qi", blob[pos:pos + 12])
        if pos + 12 + length > len(blob):
            break
        nxt = base + struct.unpack(">i", blob[pos + 23:pos + 27])[0] + 1
        pos += 12 + length
    return nxt


def read_all(c):
    got, off = [], 0
    while True:
        err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(TOPIC, 0, off, 0)))
        blob = parts[0][3]
        if parts[0][1] != 0 or next_offset(blob) is None:
            return got, parts[0][2]
        got += [r for r in records(blob) if r[0] >= off]
        off = next_offset(blob)


def produce(c, pairs):
    payload = b"".join(kw.record_v2(i, k, v) for i, (k, v) in enumerate(pairs))
    b = kw.record_batch_v2(pairs, records_payload=payload)
    _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {TOPIC: {0: b}})))
    return r[(TOPIC, 0)][0]


def main():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        print("EDDY_BIN is not set")
        return 2
    data = tempfile.mkdtemp(prefix="eddy-compact-")
    try:
        p, boot = start(binary, data, EXTRA)
        c = kw.Conn(boot, timeout=5.0)
        res = create_topic_v4(c, TOPIC, 1, [("cleanup.policy", "compact"), ("min.cleanable.dirty.ratio", "0.01"),
                                            ("segment.bytes", "1024")])
        check(res[0][1] == 0, "create compacted topic")
        bad = create_topic_v4(c, "badpolicy", 1, [("cleanup.policy", "shred")])
        check(bad[0][1] == 40, "unknown cleanup.policy -> INVALID_CONFIG")
        latest = {}
        for i in range(60):
            key = b"key-%d" % (i % 5)
            value = b"value-%03d-" % i + b"x" * 100
            if produce(c, [(key, value)]) != 0:
                check(False, "produce %d" % i)
            latest[key] = (i, value)
        check(produce(c, [(b"key-0", None)]) == 0, "produce a tombstone for key-0")
        check(produce(c, [(None, b"no key")]) == 87, "a record without a key is refused with INVALID_RECORD")
        # The cleaner may run at any moment from here on, so what was written is
        # known from the produce answers (one record per batch: offset = i), not read back.
        before = [(i, b"key-%d" % (i % 5), b"value-%03d-" % i + b"x" * 100) for i in range(60)]
        before.append((60, b"key-0", None))
        _, hw = read_all(c)
        check(hw == 61, "61 records written (hw %d)" % hw)
        deadline = time.time() + 10
        after = before
        while time.time() < deadline:
            after, hw = read_all(c)
            if len(after) < 30:
                break
            time.sleep(0.2)
        check(len(after) < len(before), "compaction removed records (%d -> %d)" % (len(before), len(after)))
        check(hw == 61, "high watermark unchanged")
        offsets = [o for o, _, _ in after]
        check(offsets == sorted(set(offsets)), "offsets still increase")
        by_offset = {o: (k, v) for o, k, v in before}
        check(all(by_offset[o] == (k, v) for o, k, v in after), "every kept record has its original offset and content")
        final = {}
        for o, k, v in after:
            final[k] = v
        check(final.get(b"key-0", b"?") is None, "key-0 ends with its tombstone (kept within delete.retention.ms)")
        for k in (b"key-1", b"key-2", b"key-3", b"key-4"):
            check(final.get(k) == latest[k][1], "latest value of %s kept" % k.decode())
        c.close()
        check(stop(p) == 0, "clean shutdown")
        check(os.path.exists(os.path.join(data, "cleaner-offset-checkpoint")), "cleaner checkpoint written")
        p, boot = start(binary, data, EXTRA)
        c = kw.Conn(boot, timeout=5.0)
        again, hw2 = read_all(c)
        check(again[:len(after)] == after[:len(again)] and hw2 == 61, "compacted log reads the same after restart")
        c.close()
        check(stop(p) == 0, "second clean shutdown")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
