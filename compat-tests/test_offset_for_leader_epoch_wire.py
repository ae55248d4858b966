#!/usr/bin/python3
"""OffsetForLeaderEpoch (23) on the wire, v0 and v2-v4: what a log without
leader epochs answers (no error, epoch -1, end offset -1: Kafka's
UNDEFINED, which makes a follower or consumer fall back), unknown topics
and partitions (UNKNOWN_TOPIC_OR_PARTITION), current_leader_epoch fencing
(-1 skips it; newer than the partition's is UNKNOWN_LEADER_EPOCH, older
FENCED_LEADER_EPOCH) and ApiVersions advertising 0-4.
Stock clients do not send it yet: eddy reports leader epoch -1 everywhere.
Uses only EDDY_BOOTSTRAP.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
TOPIC = os.environ.get("EDDY_TEST_NAME", "offset_for_leader_epoch_wire") + "_t"
API = 23
UNKNOWN_TOPIC_OR_PARTITION = 3
FENCED_LEADER_EPOCH = 74
UNKNOWN_LEADER_EPOCH = 75
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def request(version, topics, replica_id=-1):
    """topics: [(name, [(partition, current_leader_epoch, leader_epoch)])]."""
    flex = version >= 4
    arr = kw.compact_array if flex else kw.array
    st = kw.compact_string if flex else kw.string
    tags = kw.EMPTY_TAGS if flex else b""

    def part(p):
        b = kw.i32(p[0])
        if version >= 2:
            b += kw.i32(p[1])
        return b + kw.i32(p[2]) + tags

    body = kw.i32(replica_id) if version >= 3 else b""
    body += arr(topics, lambda t: st(t[0]) + arr(t[1], part) + tags)
    return body + tags


def answer(version, body):
    """-> {(topic, partition): (error, leader_epoch, end_offset)}, exactly decoded."""
    flex = version >= 4
    r = kw.Reader(body)
    if version >= 2:
        check(r.i32() == 0, "v%d throttle_time_ms is 0" % version)
    out = {}
    for _ in range(r.compact_array_len() if flex else r.array_len()):
        name = r.compact_string() if flex else r.string()
        for _ in range(r.compact_array_len() if flex else r.array_len()):
            err, part = r.i16(), r.i32()
            epoch = r.i32() if version >= 1 else None
            end = r.i64()
            if flex:
                r.tagged_fields()
            out[(name, part)] = (err, epoch, end)
        if flex:
            r.tagged_fields()
    if flex:
        r.tagged_fields()
    check(r.remaining() == 0, "v%d answer decodes exactly" % version)
    return out


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    c = kw.Conn(BOOT, timeout=5.0)
    err, keys, _ = kw.decode_api_versions(c.call(18, 0, kw.encode_api_versions_v0()), 0)
    check(err == 0 and keys.get(API) == (0, 4), "ApiVersions lists OffsetForLeaderEpoch 0-4: %r" % (keys.get(API),))
    _, res = kw.decode_create_topics_v4(c.call(19, 4, kw.encode_create_topics_v4([(TOPIC, 2, 1)])))
    check(res[0][1] == 0, "create topic")
    b = kw.record_batch_v2([(b"k", b"v"), (b"k2", b"v2")])
    _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {TOPIC: {0: b}})))
    check(r[(TOPIC, 0)][0] == 0, "produce two records")

    # v0: no current epoch, no epoch in the answer.
    got = answer(0, c.call(API, 0, request(0, [(TOPIC, [(0, -1, 0), (1, -1, 3), (7, -1, 0)]),
                                                ("no_such_topic", [(0, -1, 0)])])))
    check(got.get((TOPIC, 0)) == (0, None, -1), "v0 partition without epochs: undefined end offset %r"
          % (got.get((TOPIC, 0)),))
    check(got.get((TOPIC, 1)) == (0, None, -1), "v0 empty partition: undefined %r" % (got.get((TOPIC, 1)),))
    check(got.get((TOPIC, 7)) == (UNKNOWN_TOPIC_OR_PARTITION, None, -1), "v0 unknown partition %r"
          % (got.get((TOPIC, 7)),))
    check(got.get(("no_such_topic", 0)) == (UNKNOWN_TOPIC_OR_PARTITION, None, -1), "v0 unknown topic")

    # v4 (flexible, replica_id -1 for a consumer; a follower's id is answered the same).
    for rid in (-1, 1):
        got = answer(4, c.call(API, 4, request(4, [(TOPIC, [(0, -1, 0), (0, 3, 0), (1, -2, 0)]),
                                                    ("no_such_topic", [(0, -1, 5)])], replica_id=rid)))
        check(len(got) == 3, "v4 answers every distinct partition")
        # the same partition twice: the map keeps the last, which carries current epoch 3
        check(got.get((TOPIC, 0)) == (UNKNOWN_LEADER_EPOCH, -1, -1),
              "v4 replica %d current epoch 3 > the partition's -1: UNKNOWN_LEADER_EPOCH %r" % (rid, got.get((TOPIC, 0))))
        check(got.get((TOPIC, 1)) == (FENCED_LEADER_EPOCH, -1, -1),
              "v4 replica %d current epoch -2 < -1: FENCED_LEADER_EPOCH %r" % (rid, got.get((TOPIC, 1))))
        check(got.get(("no_such_topic", 0)) == (UNKNOWN_TOPIC_OR_PARTITION, -1, -1), "v4 unknown topic")
    got = answer(4, c.call(API, 4, request(4, [(TOPIC, [(0, -1, 0)])])))
    check(got.get((TOPIC, 0)) == (0, -1, -1), "v4 current epoch -1 skips the check: undefined answer %r"
          % (got.get((TOPIC, 0)),))
    got = answer(2, c.call(API, 2, request(2, [(TOPIC, [(0, 0, 0)])])))
    check(got.get((TOPIC, 0)) == (UNKNOWN_LEADER_EPOCH, -1, -1), "v2 current epoch 0: UNKNOWN_LEADER_EPOCH")
    got = answer(3, c.call(API, 3, request(3, [(TOPIC, [(0, -1, -1)])], replica_id=-2)))
    check(got.get((TOPIC, 0)) == (0, -1, -1), "v3 asking for epoch -1: undefined")
    c.close()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
