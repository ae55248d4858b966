#!/usr/bin/python3
"""Storage on the wire: DeleteRecords (low watermark, reads below it refused,
ListOffsets earliest, the new start offset surviving SIGKILL), retention by
time and by size with tiny segments, and the clean-shutdown marker. Starts its
own eddy (EDDY_BIN) on a temporary data directory.
"""
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from test_fetch_wire import decode_fetch_v11, encode_fetch_v11  # noqa: E402
from test_restart import create_topic_v4, start, stop  # noqa: E402

failures = []
EXTRA = ["--log.retention.check.interval.ms", "200", "--log.segment.bytes", "1024"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def produce(c, topic, n, ts=None):
    for i in range(n):
        b = kw.record_batch_v2([(b"k%d" % i, b"x" * 200)], base_timestamp=ts)
        _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {topic: {0: b}})))
        if r[(topic, 0)][0] != 0:
            check(False, "produce to %s: error %d" % (topic, r[(topic, 0)][0]))
            return


def earliest(c, topic):
    body = kw.i32(-1) + kw.i8(0) + kw.array([topic], lambda t: kw.string(t) + kw.array(
        [0], lambda p: kw.i32(p) + kw.i32(-1) + kw.i64(-2)))
    r = kw.Reader(c.call(2, 5, body))
    r.i32()
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    err, _, off = r.i16(), r.i64(), r.i64()
    return off if err == 0 else -1000 - err


def delete_records_v1(c, topic, offset):
    body = kw.array([topic], lambda t: kw.string(t) + kw.array([0], lambda p: kw.i32(p) + kw.i64(offset)))
    r = kw.Reader(c.call(21, 1, body + kw.i32(5000)))
    r.i32()
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    low, err = r.i64(), r.i16()
    return err, low


def fetch_err(c, topic, offset):
    err, parts = decode_fetch_v11(c.call(1, 11, encode_fetch_v11(topic, 0, offset, 0)))
    return parts[0][1]


def main():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        print("EDDY_BIN is not set")
        return 2
    data = tempfile.mkdtemp(prefix="eddy-storage-")
    try:
        p, boot = start(binary, data, EXTRA)
        c = kw.Conn(boot, timeout=5.0)
        # DeleteRecords
        check(create_topic_v4(c, "dr", 1, [])[0][1] == 0, "create dr")
        produce(c, "dr", 20)
        check(delete_records_v1(c, "dr", 7) == (0, 7), "DeleteRecords to 7 -> low watermark 7")
        check(earliest(c, "dr") == 7, "ListOffsets earliest follows the low watermark")
        check(fetch_err(c, "dr", 3) == 1, "fetch below the low watermark -> OFFSET_OUT_OF_RANGE")
        check(fetch_err(c, "dr", 7) == 0, "fetch at the low watermark works")
        check(delete_records_v1(c, "dr", 5) == (0, 7), "DeleteRecords never moves backwards")
        check(delete_records_v1(c, "dr", 100)[0] == 1, "DeleteRecords past the high watermark -> OFFSET_OUT_OF_RANGE")
        check(delete_records_v1(c, "nosuch", 1)[0] == 3, "DeleteRecords on an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")
        # retention by time: batches stamped ten minutes ago, retention.ms one second
        old = int(time.time() * 1000) - 600000
        check(create_topic_v4(c, "rt", 1, [("retention.ms", "1000")])[0][1] == 0, "create rt with retention.ms=1000")
        produce(c, "rt", 20, ts=old)
        # retention by size
        check(create_topic_v4(c, "rb", 1, [("retention.bytes", "2500")])[0][1] == 0, "create rb with retention.bytes")
        produce(c, "rb", 30)
        deadline = time.time() + 5
        while time.time() < deadline and (earliest(c, "rt") < 20 or earliest(c, "rb") == 0):
            time.sleep(0.1)
        check(earliest(c, "rt") == 20, "time retention removed every expired segment (earliest %d)" % earliest(c, "rt"))
        check(fetch_err(c, "rt", 0) == 1, "fetch of a retained-away offset -> OFFSET_OUT_OF_RANGE")
        rb = earliest(c, "rb")
        size = sum(os.path.getsize(os.path.join(data, "rb-0", f)) for f in os.listdir(os.path.join(data, "rb-0"))
                   if f.endswith(".log"))
        check(rb > 0 and size <= 2500 + 1024, "size retention: earliest %d, %d bytes left" % (rb, size))
        # SIGKILL: the DeleteRecords start offset was checkpointed before the answer
        p.send_signal(signal.SIGKILL)
        p.wait(5)
        check(not os.path.exists(os.path.join(data, ".eddy-clean-shutdown")), "no clean-shutdown marker after SIGKILL")
        p, boot = start(binary, data, EXTRA)
        c = kw.Conn(boot, timeout=5.0)
        check(earliest(c, "dr") == 7, "low watermark survives SIGKILL (earliest %d)" % earliest(c, "dr"))
        check(fetch_err(c, "dr", 19) == 0, "data above it is still there")
        c.close()
        check(stop(p) == 0, "clean shutdown")
        check(os.path.exists(os.path.join(data, ".eddy-clean-shutdown")), "clean-shutdown marker written")
        p, boot = start(binary, data, EXTRA)
        check(not os.path.exists(os.path.join(data, ".eddy-clean-shutdown")), "marker consumed at start")
        c = kw.Conn(boot, timeout=5.0)
        check(create_topic_v4(c, "broken", 2, [])[0][1] == 0, "create broken with 2 partitions")
        produce(c, "broken", 3)
        c.close()
        check(stop(p) == 0, "second clean shutdown")
        # A partition whose files cannot be opened goes offline; everything else serves.
        seg = os.path.join(data, "broken-0", "00000000000000000000.log")
        os.unlink(seg)
        os.mkdir(seg)
        p, boot = start(binary, data, EXTRA)
        c = kw.Conn(boot, timeout=5.0)
        md = kw.decode_metadata_v1(c.call(3, 1, kw.encode_metadata_v1(["broken", "dr"])))
        parts = md["topics"]["broken"][2]
        check(parts[0][0] == 56 and parts[1][0] == 0, "metadata: broken-0 KAFKA_STORAGE_ERROR, broken-1 fine: %r" % parts)
        b = kw.record_batch_v2([(b"k", b"v")])
        _, r = kw.decode_produce_v7(c.call(0, 7, kw.encode_produce_v7(1, 5000, {"broken": {0: b, 1: b}})))
        check(r[("broken", 0)][0] == 56 and r[("broken", 1)][0] == 0,
              "produce: offline partition refused with KAFKA_STORAGE_ERROR, the other accepted")
        check(fetch_err(c, "broken", 0) == 56, "fetch from the offline partition -> KAFKA_STORAGE_ERROR")
        check(fetch_err(c, "dr", 19) == 0, "other topics keep serving")
        c.close()
        check(stop(p) == 0, "clean shutdown with an offline partition")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
