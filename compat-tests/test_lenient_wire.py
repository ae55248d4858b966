#!/usr/bin/python3
"""Kafka's leniency in reading requests, byte by byte.

Kafka reads the fields it knows and ignores the bytes after them; reads any
non-zero byte as a true boolean; takes tagged fields in any order. Real
clients depend on it: librdkafka 2.15's all-topics Metadata v12 leaves three
bytes after its tagged fields, librdkafka 2.0.2's ListGroups v4 and
OffsetFetch v7 leave bytes too. Each request here must be answered with what
it means to Kafka, on the same connection, and the broker's SIGUSR1 line
must count the ignored bytes. Uses EDDY_BOOTSTRAP.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ["EDDY_BOOTSTRAP"]
PORT = int(BOOT.rsplit(":", 1)[1])
NAME = os.environ.get("EDDY_TEST_NAME", "lenient_wire")
T = kw.EMPTY_TAGS
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def metadata_v12_topics(body):
    """Topic names (and errors) of a Metadata v12 answer."""
    r = kw.Reader(body)
    r.i32()
    for _ in range(r.compact_array_len()):
        r.i32(), r.compact_string(), r.i32(), r.compact_string(), r.tagged_fields()
    r.compact_string()
    r.i32()
    out = {}
    for _ in range(r.compact_array_len()):
        err, tname, _, _ = r.i16(), r.compact_string(), r.take(16), r.boolean()
        for _ in range(max(r.compact_array_len(), 0)):
            r.i16(), r.i32(), r.i32(), r.i32()
            for _ in range(3):
                for _ in range(r.compact_array_len()):
                    r.i32()
            r.tagged_fields()
        r.i32()
        r.tagged_fields()
        out[tname] = err
    r.tagged_fields()
    return out


def metadata_v4_topics(body):
    r = kw.Reader(body)
    r.i32()
    for _ in range(r.array_len()):
        r.i32(), r.string(), r.i32(), r.string()
    r.string()
    r.i32()
    out = {}
    for _ in range(r.array_len()):
        err, tname, _ = r.i16(), r.string(), r.boolean()
        for _ in range(r.array_len()):
            r.i16(), r.i32(), r.i32()
            for _ in range(2):
                for _ in range(r.array_len()):
                    r.i32()
        out[tname] = err
    return out


def main():
    c = kw.Conn(BOOT, timeout=5.0)
    topics = [NAME + "_a", NAME + "_b"]
    _, res = kw.decode_create_topics_v4(c.call(19, 4, kw.encode_create_topics_v4([(t, 2, 1) for t in topics])))
    check(all(r[1] == 0 for r in res), "created %s" % topics)

    # librdkafka 2.15.1's all-topics Metadata v12, exactly as it sends it.
    seen = metadata_v12_topics(c.call(3, 12, bytes.fromhex("00000000010000")))
    check(all(seen.get(t) == 0 for t in topics), "Metadata v12 with 3 bytes left lists every topic: %s" % sorted(seen))

    # The same connection still answers (nothing was closed).
    seen = metadata_v12_topics(c.call(3, 12, bytes.fromhex("00000000")))
    check(all(seen.get(t) == 0 for t in topics), "the connection goes on after the ignored bytes")

    # ListGroups v4 (states_filter: empty compact array) with bytes after its tags.
    r = kw.Reader(c.call(16, 4, kw.compact_array([]) + T + b"\x00\x00\x00\x00"))
    r.i32()
    err = r.i16()
    check(err == 0, "ListGroups v4 with 4 bytes left answers error %d" % err)

    # OffsetFetch v7 (group, topics null, require_stable) with bytes left: no committed offset -> all topics, none.
    body = kw.compact_string(NAME + "_g") + kw.uvarint(0) + kw.boolean(False) + T + b"\x01\x02\x03"
    r = kw.Reader(c.call(9, 7, body))
    r.i32()
    n = r.compact_array_len()
    for _ in range(max(n, 0)):
        r.compact_string()
        for _ in range(r.compact_array_len()):
            r.i32(), r.i64(), r.i32(), r.compact_string(), r.i16(), r.tagged_fields()
        r.tagged_fields()
    err = r.i16()
    check(err == 0 and n == 0, "OffsetFetch v7 with 3 bytes left: error %d, %d topics" % (err, n))

    # Old, non-flexible versions too: Metadata v1 with junk after the topic array.
    r = kw.Reader(c.call(3, 1, kw.array([topics[0]], kw.string) + b"junk"))
    check(r.remaining() > 0, "Metadata v1 with 4 bytes left is answered")

    # A boolean is "byte != 0": allow_auto_topic_creation = 0x02 creates the topic (Metadata v4).
    auto = NAME + "_auto"
    seen = metadata_v4_topics(c.call(3, 4, kw.array([auto], kw.string) + b"\x02"))
    check(seen.get(auto) in (0, 5), "Metadata v4 allow_auto_topic_creation=0x02 auto-creates (error %s)" % seen.get(auto))
    seen = metadata_v4_topics(c.call(3, 4, kw.array([auto], kw.string) + b"\x00"))
    check(seen.get(auto) == 0, "... and the topic exists afterwards (error %s)" % seen.get(auto))

    # ApiVersions v3 with bytes after its tags still answers with the ranges.
    r = kw.Reader(c.call(18, 3, kw.compact_string("eddy-compat") + kw.compact_string("1.0") + T + b"\xff\xff"))
    err = r.i16()
    check(err == 0 and r.compact_array_len() > 10, "ApiVersions v3 with 2 bytes left answers")

    # Tagged fields in any order (request header v2 with tags 5 then 1, both unknown).
    hdr = kw.i16(3) + kw.i16(12) + kw.i32(777) + kw.string("eddy-compat") + b"\x02\x05\x01\x00\x01\x01\x00"
    c.sock.sendall(kw.frame(hdr + bytes.fromhex("00000000")))
    payload = kw.recv_frame(c.sock, 5.0)
    check(payload is not None and payload[:4] == kw.i32(777), "header tags out of order are read, not refused")
    c.close()

    pid = kw.broker_pid(PORT)
    line = kw.broker_usr1_line(pid, "after their known fields") if pid else None
    m = re.search(r"(\d+) requests carried (\d+) bytes", line or "")
    check(m is not None and int(m.group(1)) == 5 and int(m.group(2)) == 3 + 4 + 3 + 4 + 2,
          "SIGUSR1 counts the ignored bytes: %s" % line)

    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
