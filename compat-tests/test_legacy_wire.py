#!/usr/bin/python3
"""Legacy message sets on the wire, hand-made: Produce v0/v1/v2 with magic 0
and magic 1 sets (plain, a gzip wrapper with relative inner offsets, a
partial trailing entry, a bad CRC -> CORRUPT_MESSAGE, a wrapper followed by
another entry -> INVALID_RECORD, a LogAppendTime claim -> INVALID_TIMESTAMP,
a magic 2 batch in Produce v2), the per-version answer layouts, Fetch v0-v3
reading v2-produced data (headers, gzip, a control-free transactionless log)
back down-converted to magic 0 / magic 1 with offsets, timestamps and CRCs
checked, max_bytes (v3) and the first-message rule,
message.downconversion.enable=false -> UNSUPPORTED_VERSION, ListOffsets v0,
and ApiVersions advertising exactly the served ranges. Uses EDDY_BOOTSTRAP.
"""
import ctypes
import ctypes.util
import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
NAME = os.environ.get("EDDY_TEST_NAME", "legacy_wire")
TOPIC = NAME + "_t"
V2TOPIC = NAME + "_v2"
NODC = NAME + "_nodc"
failures = []

NONE, CORRUPT_MESSAGE, UNSUPPORTED_VERSION, INVALID_RECORD, INVALID_TIMESTAMP = 0, 2, 35, 87, 32


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


# ------------------------------------------------------------ message sets

def message(magic, key, value, offset=0, attributes=0, timestamp=-1, crc=None):
    """One legacy entry: offset, size, crc, magic, attributes, [timestamp], key, value."""
    body = kw.i8(magic) + kw.i8(attributes) + (kw.i64(timestamp) if magic == 1 else b"")
    body += kw.nbytes(key) + kw.nbytes(value)
    c = zlib.crc32(body) if crc is None else crc
    m = kw.u32(c) + body
    return kw.i64(offset) + kw.i32(len(m)) + m


def gzip_wrapper(magic, msgs, wrapper_offset=None, timestamp=-1):
    """A gzip wrapper around msgs [(key, value, ts)]; magic 1 inner offsets are relative."""
    inner = b"".join(message(magic, k, v, offset=i, timestamp=ts) for i, (k, v, ts) in enumerate(msgs))
    if wrapper_offset is None:
        wrapper_offset = len(msgs) - 1
    return message(magic, None, kw.gzip_compress(inner), offset=wrapper_offset, attributes=1, timestamp=timestamp)


def parse_set(data, check_crc=True):
    """-> [(offset, magic, attributes, timestamp, key, value)], wrappers opened (absolute offsets)."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        off, size = struct.unpack(">qi", data[pos:pos + 12])
        if pos + 12 + size > len(data):
            break  # a partial entry at the end (Kafka may send one; eddy should not)
        m = data[pos + 12:pos + 12 + size]
        pos += 12 + size
        crc = struct.unpack(">I", m[:4])[0]
        if check_crc and zlib.crc32(m[4:]) != crc:
            raise kw.WireError("CRC mismatch at offset %d" % off)
        magic, attrs = m[4], m[5]
        r = kw.Reader(m, 6)
        ts = r.i64() if magic == 1 else None
        kl = r.i32()
        key = r.take(kl) if kl >= 0 else None
        vl = r.i32()
        value = r.take(vl) if vl >= 0 else None
        if attrs & 7:
            if attrs & 7 != 1:
                raise kw.WireError("unexpected codec %d" % (attrs & 7))
            inner = parse_set(zlib.decompress(value, 47))
            last = inner[-1][0]
            for (io, im, ia, its, ik, iv) in inner:
                if im != magic:
                    raise kw.WireError("inner magic %d in a magic %d wrapper" % (im, magic))
                absolute = off - last + io if magic == 1 else io
                out.append((absolute, im, ia, its, ik, iv))
        else:
            out.append((off, magic, attrs, ts, key, value))
    return out


def zstd_compress(data):
    """zstd through libzstd (a build dependency of eddy), since Python has no zstd module here."""
    lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
    lib.ZSTD_compress.restype = ctypes.c_size_t
    lib.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    cap = lib.ZSTD_compressBound(len(data))
    buf = ctypes.create_string_buffer(cap)
    n = lib.ZSTD_compress(buf, cap, data, len(data), 3)
    return buf.raw[:n]


# ------------------------------------------------------------ requests

def produce_req(version, topic, records, acks=1):
    body = b"" if version < 3 else kw.string(None)
    return body + kw.i16(acks) + kw.i32(5000) + kw.array(
        [topic], lambda t: kw.string(t) + kw.array([0], lambda p: kw.i32(p) + kw.nbytes(records)))


def produce(conn, version, records, topic=TOPIC):
    """-> (error, base_offset, log_append_time or None); checks the v0/v1/v2 layouts decode exactly."""
    r = kw.Reader(conn.call(0, version, produce_req(version, topic, records)))
    n = r.array_len()
    r.string()
    r.array_len()
    r.i32()
    err, base = r.i16(), r.i64()
    lat = r.i64() if version >= 2 else None
    if version >= 5:
        r.i64()
    if version >= 1:
        r.i32()  # throttle_time_ms
    check(n == 1 and r.remaining() == 0, "Produce v%d answer has the v%d layout" % (version, version))
    return err, base, lat


def fetch_req(version, topic, offset, partition_max_bytes=1 << 20, max_bytes=50 << 20):
    body = kw.i32(-1) + kw.i32(100) + kw.i32(0)
    if version >= 3:
        body += kw.i32(max_bytes)
    return body + kw.array([topic], lambda t: kw.string(t) + kw.array(
        [0], lambda p: kw.i32(p) + kw.i64(offset) + kw.i32(partition_max_bytes)))


def fetch(conn, version, offset, topic=TOPIC, **kw_args):
    """-> (error, high_watermark, records bytes)."""
    r = kw.Reader(conn.call(1, version, fetch_req(version, topic, offset, **kw_args)))
    if version >= 1:
        r.i32()
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    err, hw = r.i16(), r.i64()
    n = r.i32()
    recs = r.take(n) if n > 0 else b""
    check(r.remaining() == 0, "Fetch v%d answer has the v%d layout" % (version, version))
    return err, hw, recs


def list_offsets_v0(conn, timestamp, max_num, topic=TOPIC):
    body = kw.i32(-1) + kw.array([topic], lambda t: kw.string(t) + kw.array(
        [0], lambda p: kw.i32(p) + kw.i64(timestamp) + kw.i32(max_num)))
    r = kw.Reader(conn.call(2, 0, body))
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    err = r.i16()
    offs = [r.i64() for _ in range(max(r.array_len(), 0))]
    check(r.remaining() == 0, "ListOffsets v0 answer has the v0 layout")
    return err, offs


def create_topic(conn, name, configs=()):
    def one(t):
        return (kw.string(name) + kw.i32(1) + kw.i16(1) + kw.array([])
                + kw.array(list(configs), lambda kv: kw.string(kv[0]) + kw.string(kv[1])))
    body = kw.array([name], one) + kw.i32(5000) + kw.boolean(False)
    _, res = kw.decode_create_topics_v4(conn.call(19, 4, body))
    check(res and res[0][1] == 0, "create topic %s %r" % (name, res))


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    c = kw.Conn(BOOT, timeout=5.0)

    # ApiVersions advertises exactly what is served, old versions included.
    versions = kw.decode_api_versions(c.call(18, 0, kw.encode_api_versions_v0()), 0)[1]
    check(versions.get(0, (9, 9))[0] == 0, "Produce advertised from v0: %r" % (versions.get(0),))
    check(versions.get(1, (9, 9))[0] == 0, "Fetch advertised from v0: %r" % (versions.get(1),))
    check(versions.get(2, (9, 9))[0] == 0, "ListOffsets advertised from v0: %r" % (versions.get(2),))

    create_topic(c, TOPIC)
    create_topic(c, V2TOPIC)
    create_topic(c, NODC, [("message.downconversion.enable", "false")])

    # Produce v0, magic 0: three plain messages (one with a null key, one a tombstone).
    s0 = message(0, b"k0", b"v0") + message(0, None, b"v1") + message(0, b"k2", None)
    err, base, lat = produce(c, 0, s0)
    check((err, base) == (NONE, 0), "Produce v0 magic 0 set: %r" % ((err, base),))
    # Produce v1, magic 1 with timestamps; the offsets the producer wrote do not matter.
    s1 = message(1, b"k3", b"v3", offset=77, timestamp=1000) + message(1, b"k4", b"v4", offset=5, timestamp=2000)
    err, base, lat = produce(c, 1, s1)
    check((err, base) == (NONE, 3), "Produce v1 magic 1 set: %r" % ((err, base),))
    # Produce v2, a magic 1 gzip wrapper with relative inner offsets.
    w = gzip_wrapper(1, [(b"k5", b"v5", 3000), (b"k6", b"v6", 3001), (b"k7", b"v7", 3002)], timestamp=3002)
    err, base, lat = produce(c, 2, w)
    check((err, base, lat) == (NONE, 5, -1), "Produce v2 gzip wrapper, log_append_time -1: %r" % ((err, base, lat),))
    # Produce v0, a magic 0 gzip wrapper (absolute inner offsets, here 0..1).
    inner0 = message(0, b"k8", b"v8", offset=0) + message(0, b"k9", b"v9", offset=1)
    w0 = message(0, None, kw.gzip_compress(inner0), offset=1, attributes=1)
    err, base, lat = produce(c, 0, w0)
    check((err, base) == (NONE, 8), "Produce v0 magic 0 gzip wrapper: %r" % ((err, base),))
    # A partial trailing entry is dropped (Kafka trims it), the rest appended.
    s2 = message(1, b"k10", b"v10", timestamp=4000)
    err, base, lat = produce(c, 1, s2 + message(1, b"cut", b"cut")[:-3])
    check((err, base) == (NONE, 10), "partial trailing entry dropped: %r" % ((err, base),))

    # Rejections, none of which appends anything.
    bad_crc = message(0, b"x", b"y", crc=12345)
    check(produce(c, 0, bad_crc)[0] == CORRUPT_MESSAGE, "bad CRC -> CORRUPT_MESSAGE")
    raw_inner = message(1, b"a", b"b", timestamp=1, crc=1)
    bad_inner = message(1, None, kw.gzip_compress(raw_inner), attributes=1, timestamp=1)
    check(produce(c, 2, bad_inner)[0] == CORRUPT_MESSAGE, "bad inner CRC -> CORRUPT_MESSAGE")
    two = w + message(1, b"x", b"y")
    check(produce(c, 2, two)[0] == INVALID_RECORD, "a wrapper followed by another entry -> INVALID_RECORD")
    mixed = message(0, b"x", b"y") + message(1, b"x", b"y")
    check(produce(c, 1, mixed)[0] == INVALID_RECORD, "entries of two magics -> INVALID_RECORD")
    nested = message(1, None, kw.gzip_compress(w), attributes=1)
    check(produce(c, 2, nested)[0] == INVALID_RECORD, "a compressed inner entry -> INVALID_RECORD")
    lat_claim = message(1, b"x", b"y", attributes=0x08, timestamp=-1)
    check(produce(c, 1, lat_claim)[0] == INVALID_TIMESTAMP, "LogAppendTime claimed by a producer -> INVALID_TIMESTAMP")
    short = kw.i64(0) + kw.i32(5) + b"\x00" * 5
    check(produce(c, 0, short)[0] == CORRUPT_MESSAGE, "entry shorter than a message -> CORRUPT_MESSAGE")
    err, base, _ = produce(c, 0, message(0, b"cut", b"cut")[:-1])
    check((err, base) == (NONE, -1), "only a partial entry: nothing appended, NONE with offset -1: %r" % ((err, base),))
    # A magic 2 batch in Produce v2 is taken as it is (Kafka checks magic only from v3).
    err, base, _ = produce(c, 2, kw.record_batch_v2([(b"k11", b"v11")]))
    check((err, base) == (NONE, 11), "magic 2 batch in Produce v2: %r" % ((err, base),))

    want = [(0, b"k0", b"v0"), (1, None, b"v1"), (2, b"k2", None), (3, b"k3", b"v3"), (4, b"k4", b"v4"),
            (5, b"k5", b"v5"), (6, b"k6", b"v6"), (7, b"k7", b"v7"), (8, b"k8", b"v8"), (9, b"k9", b"v9"),
            (10, b"k10", b"v10"), (11, b"k11", b"v11")]
    want_ts = {3: 1000, 4: 2000, 5: 3000, 6: 3001, 7: 3002, 10: 4000}
    for version in (0, 1, 2, 3):
        magic = 0 if version <= 1 else 1
        err, hw, recs = fetch(c, version, 0)
        try:
            msgs = parse_set(recs)
        except kw.WireError as e:
            msgs = []
            check(False, "Fetch v%d message set parses: %s" % (version, e))
        check(err == NONE and hw == 12, "Fetch v%d: error %d, high watermark %d" % (version, err, hw))
        got = [(o, k, v) for (o, m, a, ts, k, v) in msgs]
        check(got == want, "Fetch v%d: every key, value and offset: %r" % (version, got))
        check(all(m == magic for (_, m, _, _, _, _) in msgs), "Fetch v%d answers magic %d" % (version, magic))
        if magic == 1:
            ts_ok = all(ts == want_ts[o] for (o, _, _, ts, _, _) in msgs if o in want_ts)
            check(ts_ok, "Fetch v%d: CreateTime timestamps kept" % version)
            check(all(ts == -1 for (o, _, _, ts, _, _) in msgs if o <= 2 or o in (8, 9)),
                  "Fetch v%d: magic 0 messages have timestamp -1" % version)
        # From the middle of an uncompressed batch the first message is the one asked for.
        err, _, recs = fetch(c, version, 1)
        first = parse_set(recs)[0][0] if recs else None
        check(err == NONE and first == 1, "Fetch v%d from offset 1 starts at 1 (got %r)" % (version, first))

    # Data produced as v2 batches (headers dropped, gzip re-wrapped) read through Fetch v0-v3.
    now = int(time.time() * 1000)
    plain = kw.record_batch_v2([(b"a", b"1"), (b"b", b"2")], base_timestamp=now)
    payload = b"".join(kw.record_v2(i, k, v, headers=[(b"h", b"x")]) for i, (k, v) in
                       enumerate([(b"c", b"3"), (b"d", b"4"), (b"e", b"5")]))
    gz = kw.record_batch_v2([(b"c", b"3"), (b"d", b"4"), (b"e", b"5")], base_timestamp=now,
                            attributes=1, records_payload=kw.gzip_compress(payload))
    for b in (plain, gz):
        _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {V2TOPIC: {0: b}})))
        check(r[(V2TOPIC, 0)][0] == 0, "produce v2 batch to %s" % V2TOPIC)
    for version in (0, 1, 2, 3):
        err, hw, recs = fetch(c, version, 0, topic=V2TOPIC)
        msgs = parse_set(recs)
        got = [(o, k, v) for (o, m, a, ts, k, v) in msgs]
        check(err == NONE and got == [(0, b"a", b"1"), (1, b"b", b"2"), (2, b"c", b"3"), (3, b"d", b"4"),
                                      (4, b"e", b"5")], "Fetch v%d of v2 batches: %r" % (version, got))
        if version >= 2:
            check(all(ts == now for (_, _, _, ts, _, _) in msgs), "Fetch v%d: v2 timestamps carried" % version)
        # The gzip batch comes back as one gzip wrapper.
        wrappers = 0
        pos = 0
        while pos + 12 <= len(recs):
            size = struct.unpack(">i", recs[pos + 8:pos + 12])[0]
            wrappers += 1 if recs[pos + 17] & 7 == 1 else 0
            pos += 12 + size
        check(wrappers == 1, "Fetch v%d: the gzip batch is re-wrapped with gzip" % version)
        # A compressed batch is returned whole, even from its middle.
        err, _, recs = fetch(c, version, 3, topic=V2TOPIC)
        check([o for (o, *_rest) in parse_set(recs)] == [2, 3, 4], "Fetch v%d in a wrapper returns it whole" % version)

    # max_bytes (v3) and partition_max_bytes: the first message always comes, whole.
    err, _, recs = fetch(c, 3, 0, max_bytes=1, partition_max_bytes=1)
    msgs = parse_set(recs)
    check(err == NONE and len(msgs) >= 1 and msgs[0][0] == 0, "Fetch v3 max_bytes=1 still returns the first message")
    err, _, recs_small = fetch(c, 3, 0, max_bytes=60)
    err2, _, recs_all = fetch(c, 3, 0)
    check(0 < len(recs_small) < len(recs_all), "Fetch v3 max_bytes cuts the answer (%d < %d bytes)"
          % (len(recs_small), len(recs_all)))
    small = parse_set(recs_small)
    check(sum(12 + len(m[4] or b"") + len(m[5] or b"") + 22 for m in small) == len(recs_small)
          and small == parse_set(recs_all)[:len(small)],
          "the cut answer holds whole messages, a prefix of the full one")

    # message.downconversion.enable=false: old fetches get UNSUPPORTED_VERSION, new ones data.
    _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {NODC: {0: plain}})))
    check(r[(NODC, 0)][0] == 0, "produce to %s" % NODC)
    for version in (0, 1, 2, 3):
        err, hw, recs = fetch(c, version, 0, topic=NODC)
        check(err == UNSUPPORTED_VERSION and recs == b"",
              "Fetch v%d with message.downconversion.enable=false -> UNSUPPORTED_VERSION (%d)" % (version, err))
    # ...while Produce v0 to it still works (conversion on append is not down-conversion).
    check(produce(c, 0, s0, topic=NODC)[0] == NONE, "Produce v0 to a topic without down-conversion")

    # zstd: Kafka checks a batch's codec against the Produce version only from v3, so a magic 2
    # zstd batch in Produce v2 is taken (v3-6 refuse it); it has no legacy form, so Fetch v0-3
    # answer UNSUPPORTED_COMPRESSION_TYPE while Fetch v4+ return it as stored.
    zt = NAME + "_zstd"
    create_topic(c, zt)
    payload = b"".join(kw.record_v2(i, k, v) for i, (k, v) in enumerate([(b"z0", b"zz"), (b"z1", b"zz")]))
    zb = kw.record_batch_v2([(b"z0", b"zz"), (b"z1", b"zz")], attributes=4, records_payload=zstd_compress(payload))
    check(produce(c, 2, zb, topic=zt)[:2] == (NONE, 0), "Produce v2 with a magic 2 zstd batch is taken")
    r = kw.Reader(c.call(0, 5, produce_req(5, zt, zb)))
    r.array_len(), r.string(), r.array_len(), r.i32()
    check(r.i16() == 76, "Produce v5 with a zstd batch -> UNSUPPORTED_COMPRESSION_TYPE")
    for version in (0, 1, 2, 3):
        err, hw, recs = fetch(c, version, 0, topic=zt)
        check(err == 76 and hw == -1 and recs == b"",
              "Fetch v%d of a zstd batch -> UNSUPPORTED_COMPRESSION_TYPE (%d, hw %d)" % (version, err, hw))
    # After a convertible batch, a zstd one just ends the answer.
    _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {zt: {0: plain}})))
    check(produce(c, 2, zb, topic=zt)[:2] == (NONE, 4), "Produce v2, another zstd batch")
    err, hw, recs = fetch(c, 3, 2, topic=zt)
    check(err == NONE and [m[0] for m in parse_set(recs)] == [2, 3], "Fetch v3: a zstd batch after a plain one ends the answer")

    # A topic whose compression.type is zstd answers every Fetch below v10 so, data or not (Kafka).
    zc = NAME + "_zstd_config"
    create_topic(c, zc, [("compression.type", "zstd")])
    err, hw, recs = fetch(c, 3, 0, topic=zc)
    check(err == 76, "Fetch v3 of a compression.type=zstd topic -> UNSUPPORTED_COMPRESSION_TYPE (%d)" % err)

    # ListOffsets v0: offsets from segment boundaries, newest first.
    check(list_offsets_v0(c, -1, 1) == (NONE, [12]), "ListOffsets v0 latest, 1 offset")
    check(list_offsets_v0(c, -2, 1) == (NONE, [0]), "ListOffsets v0 earliest")
    check(list_offsets_v0(c, -1, 10) == (NONE, [12, 0]), "ListOffsets v0 latest, 10 offsets: [end, segment base]")
    check(list_offsets_v0(c, -2, 10) == (NONE, [0]), "ListOffsets v0 earliest, 10 offsets")
    check(list_offsets_v0(c, -1, 0) == (NONE, []), "ListOffsets v0 max_num_offsets 0")
    far = int(time.time() * 1000) + 3600 * 1000
    check(list_offsets_v0(c, far, 10) == (NONE, [12, 0]), "ListOffsets v0 a future timestamp: everything")
    check(list_offsets_v0(c, 1, 10) == (NONE, []), "ListOffsets v0 a timestamp before every segment: none")
    check(list_offsets_v0(c, -3, 1)[0] == UNSUPPORTED_VERSION, "ListOffsets v0 timestamp -3 -> UNSUPPORTED_VERSION")
    check(list_offsets_v0(c, -1, 1, topic=NAME + "_missing")[0] == 3, "ListOffsets v0 unknown topic")

    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
