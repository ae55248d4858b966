#!/usr/bin/python3
"""The librdkafka calls whose requests carry bytes after their known fields
(Kafka ignores them, so must eddy): listing all topics (librdkafka 2.15's
Metadata v12), a regex subscription (all-topics Metadata again, with a
cooperative-sticky group), rd_kafka_ListConsumerGroups (2.0.2's ListGroups
v4) and rd_kafka_ListConsumerGroupOffsets (OffsetFetch v7), through
compat_rdkafka_lenient. run.py runs it on Debian's librdkafka 2.0.2 and again
on 2.15.1 (LD_LIBRARY_PATH, EDDY_RDKAFKA_VERSION); the program prints the
version it runs on, which must be the one asked for. Uses EDDY_BOOTSTRAP and
EDDY_BUILD_DIR.
"""
import os
import subprocess
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOT = os.environ["EDDY_BOOTSTRAP"]
NAME = os.environ.get("EDDY_TEST_NAME", "rdkafka_lenient").replace("@", "_").replace(".", "_")
PROG = os.path.join(os.environ["EDDY_BUILD_DIR"], "compat-tests", "compat_rdkafka_lenient")
WANT_VERSION = os.environ.get("EDDY_RDKAFKA_VERSION")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(*args):
    p = subprocess.run([PROG] + list(args), capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    print(out.rstrip())
    first = p.stdout.splitlines()[0] if p.stdout else ""
    if WANT_VERSION:
        check(first == "librdkafka " + WANT_VERSION, "program runs on librdkafka %s (%s)" % (WANT_VERSION, first))
    return p.returncode, out


def main():
    topics = [NAME + "_re_a", NAME + "_re_b"]
    admin = AdminClient({"bootstrap.servers": BOOT})
    for f in admin.create_topics([NewTopic(t, 2, 1) for t in topics]).values():
        f.result(15)
    p = Producer({"bootstrap.servers": BOOT})
    for t in topics:
        for i in range(10):
            p.produce(t, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2)
    check(p.flush(15) == 0, "20 messages acknowledged")

    rc, _ = run("list-topics", BOOT, *topics)
    check(rc == 0, "all-topics metadata lists both topics")

    rc, _ = run("regex", BOOT, NAME + "_regex_group", "^" + NAME + "_re_.*", "20")
    check(rc == 0, "a regex subscription reads all 20 messages")

    group = NAME + "_offsets_group"
    c = Consumer({"bootstrap.servers": BOOT, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topics[0], 0, 5)], asynchronous=False)
    c.close()

    rc, _ = run("list-groups", BOOT, group)
    check(rc == 0, "ListConsumerGroups lists the group")

    rc, _ = run("group-offsets", BOOT, group, topics[0], "0", "5")
    check(rc == 0, "ListConsumerGroupOffsets returns the committed offset")

    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print("took %.1fs" % (time.monotonic() - t0))
    sys.exit(rc)
