#!/usr/bin/python3
"""Topics by id: Metadata v12 names a topic's id, finds the topic again by
that id alone, and answers UNKNOWN_TOPIC_ID for an id no topic has; a deleted
topic's id stops resolving. Uses EDDY_BOOTSTRAP.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
TOPIC = os.environ.get("EDDY_TEST_NAME", "topic_id_wire") + "_t"
T = kw.EMPTY_TAGS
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def metadata_v12(c, topic_id=None, name=None):
    """One topic by id (name null) or by name -> [(error, name, id, npartitions)]."""
    tid = topic_id if topic_id is not None else bytes(16)
    body = kw.compact_array([0], lambda _: tid + kw.compact_string(name) + T) + kw.boolean(False) + kw.boolean(False) + T
    r = kw.Reader(c.call(3, 12, body))
    r.i32()
    for _ in range(r.compact_array_len()):
        r.i32(), r.compact_string(), r.i32(), r.compact_string(), r.tagged_fields()
    r.compact_string()
    r.i32()
    out = []
    for _ in range(r.compact_array_len()):
        err, tname, tid, _ = r.i16(), r.compact_string(), r.take(16), r.boolean()
        nparts = r.compact_array_len()
        for _ in range(max(nparts, 0)):
            r.i16(), r.i32(), r.i32(), r.i32()
            for _ in range(3):
                for _ in range(r.compact_array_len()):
                    r.i32()
            r.tagged_fields()
        r.i32()
        r.tagged_fields()
        out.append((err, tname, tid, nparts))
    r.tagged_fields()
    return out


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    c = kw.Conn(BOOT, timeout=5.0)
    _, res = kw.decode_create_topics_v4(c.call(19, 4, kw.encode_create_topics_v4([(TOPIC, 3, 1)])))
    check(res[0][1] == 0, "create topic")
    (err, name, tid, nparts), = metadata_v12(c, name=TOPIC)
    check(err == 0 and name == TOPIC and tid != bytes(16) and nparts == 3, "by name: id %s" % tid.hex())
    (err, name, tid2, nparts), = metadata_v12(c, topic_id=tid)
    check(err == 0 and name == TOPIC and tid2 == tid and nparts == 3, "by id alone finds %r" % name)
    (err, name, _, _), = metadata_v12(c, topic_id=bytes(range(16)))
    check(err == 100, "unknown id -> UNKNOWN_TOPIC_ID (%d)" % err)
    body = kw.array([TOPIC], kw.string) + kw.i32(5000)
    c.call(20, 3, body)
    (err, _, _, _), = metadata_v12(c, topic_id=tid)
    check(err == 100, "a deleted topic's id no longer resolves (%d)" % err)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
