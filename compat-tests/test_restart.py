#!/usr/bin/python3
"""Data and topics survive a clean restart, and LogAppendTime topics stamp
batches with the broker's clock. Starts its own eddy (EDDY_BIN) twice on one
temporary data directory.
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from test_fetch_wire import decode_fetch_v11, encode_fetch_v11  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def start(binary, data, extra=("--log.segment.bytes", "4096")):
    p = subprocess.Popen([binary, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log.dirs", data] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("eddy ready on "):
        p.kill()
        raise RuntimeError("no ready line: %r" % line)
    return p, line[len("eddy ready on "):]


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


def create_topic_v4(conn, name, parts, configs):
    body = kw.array([name], lambda n: kw.string(n) + kw.i32(parts) + kw.i16(1) + kw.array([])
                    + kw.array(configs, lambda c: kw.string(c[0]) + kw.string(c[1])))
    body += kw.i32(5000) + kw.boolean(False)
    return kw.decode_create_topics_v4(conn.call(19, 4, body))[1]


def fetch_all(conn, topic, partition):
    out, off = b"", 0
    while True:
        err, parts = decode_fetch_v11(conn.call(1, 11, encode_fetch_v11(topic, partition, off, 0)))
        recs = parts[0][3]
        if parts[0][1] != 0 or not recs:
            return out, parts[0][2]
        out += recs
        # continue after the last whole batch returned
        pos, last = 0, None
        while pos + 61 <= len(recs):
            base, length = struct.unpack(">qi", recs[pos:pos + 12])
            delta = struct.unpack(">i", recs[pos + 23:pos + 27])[0]
            last = base + delta
            pos += 12 + length
        off = last + 1


def main():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        print("EDDY_BIN is not set")
        return 2
    data = tempfile.mkdtemp(prefix="eddy-restart-")
    try:
        p, boot = start(binary, data)
        c = kw.Conn(boot, timeout=5.0)
        res = create_topic_v4(c, "kept", 2, [])
        check(res[0][1] == 0, "create kept")
        res = create_topic_v4(c, "stamped", 1, [("message.timestamp.type", "LogAppendTime")])
        check(res[0][1] == 0, "create stamped with LogAppendTime")
        res = create_topic_v4(c, "badconf", 1, [("no.such.config", "1")])
        check(res[0][1] == 40, "unknown topic config -> INVALID_CONFIG (%d)" % res[0][1])
        for i in range(40):  # 4 KiB segments: this rolls several times
            recs = [(("k%d" % i).encode(), b"x" * 300)]
            body = kw.encode_produce_v7(1, 5000, {"kept": {i % 2: kw.record_batch_v2(recs)}})
            _, r = kw.decode_produce_v7(c.call(0, 7, body))
            if r[("kept", i % 2)][0] != 0:
                check(False, "produce %d: error %d" % (i, r[("kept", i % 2)][0]))
        before = [fetch_all(c, "kept", i) for i in range(2)]
        check(before[0][1] == 20 and before[1][1] == 20, "20 batches per partition before restart")
        t0 = int(time.time() * 1000)
        body = kw.encode_produce_v7(1, 5000, {"stamped": {0: kw.record_batch_v2([(b"a", b"b")], base_timestamp=1000)}})
        _, r = kw.decode_produce_v7(c.call(0, 7, body))
        err, base, append_time = r[("stamped", 0)][:3]
        check(err == 0 and append_time >= t0 - 1000, "LogAppendTime produce answers the append time (%d)" % append_time)
        stamped, _ = fetch_all(c, "stamped", 0)
        attrs = struct.unpack(">h", stamped[21:23])[0]
        max_ts = struct.unpack(">q", stamped[35:43])[0]
        check(attrs & 0x08 and max_ts == append_time, "stored batch carries LogAppendTime and the broker's time")
        check(kw.crc32c(stamped[21:]) == struct.unpack(">I", stamped[17:21])[0], "rewritten batch has a valid CRC")
        c.close()
        check(stop(p) == 0, "clean shutdown exits 0")

        p, boot = start(binary, data)
        c = kw.Conn(boot, timeout=5.0)
        md = c.call(3, 1, kw.encode_metadata_v1(None))
        check(b"kept" in md and b"stamped" in md and b"badconf" not in md, "topics listed after restart")
        after = [fetch_all(c, "kept", i) for i in range(2)]
        check(after == before, "every byte of every batch is the same after restart")
        body = kw.encode_produce_v7(1, 5000, {"kept": {0: kw.record_batch_v2([(b"k", b"v")])}})
        _, r = kw.decode_produce_v7(c.call(0, 7, body))
        check(r[("kept", 0)][:2] == (0, 20), "offsets continue after restart: %r" % (r[("kept", 0)][:2],))
        segs = [f for f in os.listdir(os.path.join(data, "kept-0")) if f.endswith(".log")]
        check(len(segs) > 1, "small log.segment.bytes rolled segments (%d)" % len(segs))
        c.close()
        check(stop(p) == 0, "second clean shutdown exits 0")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
