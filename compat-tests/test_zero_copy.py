#!/usr/bin/python3
"""Fetch answers send records straight from segment files (sendfile), and the
bytes are the same either way.

A confluent-kafka producer writes COUNT values of 1 KiB (lz4 and plain, with
keys and headers) to a 2-partition topic; two consumers read everything back
from the beginning: one read_committed (librdkafka's default; with no
transaction open, its answers can go out zero-copy too) and one
read_uncommitted. Every value, key, header and offset is compared with what
was acknowledged. Then the broker's SIGUSR1 line says how many response bytes
went out with sendfile.

Argument `copy` (row zero_copy_off, broker flag --eddy.fetch.zero.copy
false): the same reads, and no byte may have gone out with sendfile.
Otherwise at least the value bytes read must have.
"""

import os
import re
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ["EDDY_BOOTSTRAP"]
PORT = int(BOOT.rpartition(":")[2])
NAME = os.environ.get("EDDY_TEST_NAME", "zero_copy")
TOPIC = NAME + "-t"
COUNT = 4000
SIZE = 1024
COPY = len(sys.argv) > 1 and sys.argv[1] == "copy"


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)
    print("ok: " + msg)


def value(i):
    return (b"%08d-" % i) * (SIZE // 9) + b"x" * (SIZE % 9)


def produce():
    admin = AdminClient({"bootstrap.servers": BOOT})
    admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(10)
    acked = {}
    for codec in ("lz4", "none"):
        p = Producer({"bootstrap.servers": BOOT, "compression.type": codec, "linger.ms": 5})

        def dr(err, msg):
            check(err is None, "delivery of %s" % msg.key()) if err else None
            # Delivery reports carry no headers: the expected ones follow from the key.
            i = int(msg.key()[1:])
            acked[(msg.partition(), msg.offset())] = (msg.key(), msg.value(), [("h", b"%d" % i)])

        base = 0 if codec == "lz4" else COUNT // 2
        for i in range(base, base + COUNT // 2):
            p.produce(TOPIC, key=b"k%d" % i, value=value(i), headers=[("h", b"%d" % i)], on_delivery=dr)
            p.poll(0)
        check(p.flush(20) == 0, "all %s messages acknowledged" % codec)
    return acked


def consume(isolation, acked):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": NAME + isolation, "enable.auto.commit": False,
                  "isolation.level": isolation,
                  "max.partition.fetch.bytes": 64 * 1024})
    c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in (0, 1)])
    got = {}
    deadline = time.monotonic() + 30
    while len(got) < len(acked) and time.monotonic() < deadline:
        for m in c.consume(500, 1.0):
            check(m.error() is None, "no consumer error") if m.error() else None
            got[(m.partition(), m.offset())] = (m.key(), m.value(), m.headers())
    c.close()
    check(len(got) == len(acked), "%s: read %d of %d messages" % (isolation, len(got), len(acked)))
    bad = [k for k in acked if got.get(k) != acked[k]]
    if bad:
        print("first difference at %s: sent %r, read %r" % (bad[0], acked[bad[0]], got.get(bad[0])))
    check(not bad, "%s: every message has its acknowledged offset, key, value and headers (%d differ)"
          % (isolation, len(bad)))


def main():
    acked = produce()
    check(len(acked) == COUNT, "%d messages at distinct offsets" % COUNT)
    consume("read_committed", acked)
    consume("read_uncommitted", acked)
    pid = kw.broker_pid(PORT)
    check(pid is not None, "found the broker process")
    line = kw.broker_usr1_line(pid, "with sendfile")
    check(line is not None, "broker logged its send counters: %s" % line)
    m = re.search(r"sent (\d+) response bytes, (\d+) of them", line)
    check(m is not None, "counters parse")
    total, by_file = int(m.group(1)), int(m.group(2))
    if COPY:
        check(by_file == 0, "eddy.fetch.zero.copy=false: nothing sent with sendfile (%d of %d)" % (by_file, total))
    else:
        # Both consumers read every value once (lz4 halves compress, so count only the plain half twice).
        least = 2 * (COUNT // 2) * SIZE
        check(by_file >= least, "records went out with sendfile: %d bytes of %d (at least %d)"
              % (by_file, total, least))
    print("PASS")


if __name__ == "__main__":
    main()
