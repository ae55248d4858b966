#!/usr/bin/python3
"""Kafka's append rules, seen from the wire and the disk (log/validate.c).

- A batch whose header is right is stored byte for byte as sent (only the
  base offset and leader epoch, which the CRC does not cover, change).
- sarama writes max_timestamp -1: Kafka recomputes it from the records, so
  offsets-for-times finds the batch and the stored header carries the max.
- message.timestamp.before.max.ms / after.max.ms refuse records outside them
  with INVALID_TIMESTAMP and record_errors (Produce v8).
- A compacted topic refuses keyless records with INVALID_RECORD and their
  indexes in record_errors.
- LogAppendTime topics stamp the batch and answer log_append_time_ms.
- Bytes after the batch that do not make a second batch are dropped.
Uses EDDY_BOOTSTRAP and EDDY_DATA_DIR.
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ["EDDY_BOOTSTRAP"]
DATA = os.environ["EDDY_DATA_DIR"]
NAME = os.environ.get("EDDY_TEST_NAME", "append_rules_wire")
OFF_MAX_TIMESTAMP = 35
T = kw.EMPTY_TAGS
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def create(c, name, configs=()):
    body = kw.array([name], lambda n: kw.string(n) + kw.i32(1) + kw.i16(1) + kw.array([]) + kw.array(
        list(configs), lambda kv: kw.string(kv[0]) + kw.string(kv[1]))) + kw.i32(5000) + kw.boolean(False)
    _, res = kw.decode_create_topics_v4(c.call(19, 4, body))
    check(res and res[0][1] == 0, "create %s %s" % (name, dict(configs)))


def batch(base_ts, deltas, keyless=False):
    payload = b"".join(kw.record_v2(i, None if keyless else b"k%d" % i, b"v%d" % i, timestamp_delta=d)
                       for i, d in enumerate(deltas))
    b = kw.record_batch_v2([(b"k", b"v")] * len(deltas), base_timestamp=base_ts, records_payload=payload)
    return kw.batch_patch(b, OFF_MAX_TIMESTAMP, struct.pack(">q", base_ts + max(deltas)))


def produce_v8(c, topic, records):
    """-> (error, base_offset, log_append_time, [(batch_index, message)], error_message)."""
    body = kw.string(None) + kw.i16(1) + kw.i32(5000) + kw.array(
        [topic], lambda t: kw.string(t) + kw.array([0], lambda p: kw.i32(p) + kw.nbytes(records)))
    r = kw.Reader(c.call(0, 8, body))
    out = None
    for _ in range(r.array_len()):
        r.string()
        for _ in range(r.array_len()):
            r.i32()
            err, base, lat, _ = r.i16(), r.i64(), r.i64(), r.i64()
            rec_errors = [(r.i32(), r.string()) for _ in range(r.array_len())]
            out = (err, base, lat, rec_errors, r.string())
    return out


def offset_for_time(c, topic, ts):
    body = kw.i32(-1) + kw.array([topic], lambda t: kw.string(t) + kw.array([0], lambda p: kw.i32(p) + kw.i64(ts)))
    r = kw.Reader(c.call(2, 1, body))
    for _ in range(r.array_len()):
        r.string()
        for _ in range(r.array_len()):
            r.i32()
            err, t, off = r.i16(), r.i64(), r.i64()
            return err, t, off
    return None


def segment_bytes(topic):
    d = os.path.join(DATA, topic + "-0")
    logs = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    with open(os.path.join(d, logs[0]), "rb") as f:
        return f.read()


def main():
    c = kw.Conn(BOOT, timeout=5.0)
    now = int(time.time() * 1000)

    # Stored as sent.
    t_plain = NAME + "_plain"
    create(c, t_plain)
    sent = batch(now, [0, 5, 9])
    err, base, _, _, _ = produce_v8(c, t_plain, sent)
    check(err == 0 and base == 0, "a correct batch is accepted (error %d)" % err)
    disk = segment_bytes(t_plain)
    check(len(disk) == len(sent) and disk[16:] == sent[16:] and disk[8:12] == sent[8:12],
          "the batch is on disk byte for byte as sent (but offset and epoch)")

    # sarama's max_timestamp -1.
    t_sarama = NAME + "_sarama"
    create(c, t_sarama)
    b = kw.batch_patch(batch(now - 60000, [0, 100, 200]), OFF_MAX_TIMESTAMP, struct.pack(">q", -1))
    err, base, _, _, _ = produce_v8(c, t_sarama, b)
    check(err == 0, "a batch with max_timestamp -1 is accepted (error %d)" % err)
    b2 = kw.batch_patch(batch(now - 30000, [0, 100]), OFF_MAX_TIMESTAMP, struct.pack(">q", -1))
    err, base2, _, _, _ = produce_v8(c, t_sarama, b2)
    check(err == 0 and base2 == 3, "a second one follows at offset 3 (%d)" % base2)
    got = offset_for_time(c, t_sarama, now - 60000 + 150)
    check(got is not None and got[0] == 0 and got[2] == 2 and got[1] == now - 60000 + 200,
          "offsets-for-times inside the first batch finds offset 2 (got %s)" % (got,))
    got = offset_for_time(c, t_sarama, now - 30000 + 50)
    check(got is not None and got[2] == 4, "offsets-for-times inside the second batch finds offset 4 (got %s)" % (got,))
    disk = segment_bytes(t_sarama)
    (max_ts,) = struct.unpack(">q", disk[OFF_MAX_TIMESTAMP:OFF_MAX_TIMESTAMP + 8])
    check(max_ts == now - 60000 + 200, "the stored header carries the records' max timestamp (%d)" % max_ts)
    check(kw.crc32c(disk[21:len(b)]) == struct.unpack(">I", disk[17:21])[0], "and a CRC that matches it")

    # Timestamp bounds.
    t_bounds = NAME + "_bounds"
    create(c, t_bounds, [("message.timestamp.before.max.ms", "60000"), ("message.timestamp.after.max.ms", "60000")])
    err, _, _, rec_errors, msg = produce_v8(c, t_bounds, batch(now - 3600000, [0, 3590000, 3600000]))
    check(err == 32, "a record an hour old is INVALID_TIMESTAMP (error %d)" % err)
    check([i for i, _ in rec_errors] == [0], "record_errors names record 0: %s (%r)" % (rec_errors, msg))
    err, _, _, rec_errors, _ = produce_v8(c, t_bounds, batch(now + 3600000, [0]))
    check(err == 32, "a record an hour ahead is INVALID_TIMESTAMP (error %d)" % err)
    err, _, _, _, _ = produce_v8(c, t_bounds, batch(now, [0, 1]))
    check(err == 0, "records of now are accepted (error %d)" % err)
    t_diff = NAME + "_difference"
    create(c, t_diff, [("message.timestamp.difference.max.ms", "60000")])
    err, _, _, _, _ = produce_v8(c, t_diff, batch(now - 3600000, [0]))
    check(err == 32, "the deprecated difference.max.ms still bounds timestamps (error %d)" % err)

    # Compacted topics need keys.
    t_compact = NAME + "_compact"
    create(c, t_compact, [("cleanup.policy", "compact")])
    err, _, _, rec_errors, msg = produce_v8(c, t_compact, batch(now, [0, 1], keyless=True))
    check(err == 87 and [i for i, _ in rec_errors] == [0, 1],
          "keyless records on a compacted topic: INVALID_RECORD with both indexes (%d %s %r)" % (err, rec_errors, msg))

    # LogAppendTime.
    t_lat = NAME + "_lat"
    create(c, t_lat, [("message.timestamp.type", "LogAppendTime")])
    before = int(time.time() * 1000)
    err, _, lat, _, _ = produce_v8(c, t_lat, batch(now - 100000, [0]))
    check(err == 0 and before - 1000 <= lat <= int(time.time() * 1000) + 1000,
          "LogAppendTime answers the broker's time (%d)" % lat)
    disk = segment_bytes(t_lat)
    (attrs,) = struct.unpack(">h", disk[21:23])
    (max_ts,) = struct.unpack(">q", disk[OFF_MAX_TIMESTAMP:OFF_MAX_TIMESTAMP + 8])
    check(attrs & 8 and max_ts == lat, "the stored batch has the LogAppendTime bit and that time")

    # Bytes after the batch.
    t_tail = NAME + "_tail"
    create(c, t_tail)
    one = batch(now, [0])
    err, base, _, _, _ = produce_v8(c, t_tail, one + one[:20])
    check(err == 0 and base == 0, "a batch followed by part of another is accepted (error %d)" % err)
    err, base, _, _, _ = produce_v8(c, t_tail, one)
    check(err == 0 and base == 1, "and nothing of the part was stored (next offset %d)" % base)
    check(len(segment_bytes(t_tail)) == 2 * len(one), "the log holds exactly the two batches")
    err, _, _, _, _ = produce_v8(c, t_tail, one + one)
    check(err == 87, "two whole batches in one partition are INVALID_RECORD (error %d)" % err)

    c.close()
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
