#!/usr/bin/python3
"""The coordinators' internal topics are created on first use, as in Kafka.

Against a fresh broker (EDDY_BOOTSTRAP, data in EDDY_DATA_DIR):

1. Nothing asked for a coordinator yet: Metadata lists neither
   __consumer_offsets nor __transaction_state, and the data directory holds
   no partition of either.
2. A plain producer (acks=all, not idempotent) writes 10 messages: neither
   topic appears.
3. A consumer in a group reads them and commits: __consumer_offsets now
   exists with offsets.topic.num.partitions (50) partitions and the commit
   reads back; __transaction_state still does not exist. (An idempotent
   producer would create it: eddy persists its producer-id blocks there.)
4. A transactional producer's init_transactions + a committed transaction:
   __transaction_state now exists with 50 partitions, and a read_committed
   consumer sees the transaction's message.
"""

import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOT = os.environ["EDDY_BOOTSTRAP"]
DATA = os.environ.get("EDDY_DATA_DIR")
PREFIX = os.environ.get("EDDY_TEST_NAME", "lazy_internal")
TOPIC = PREFIX + "_data"
OFFSETS = "__consumer_offsets"
TXNS = "__transaction_state"


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def topics(admin):
    md = admin.list_topics(timeout=10)
    return {name: len(t.partitions) for name, t in md.topics.items()}


def on_disk(name):
    if not DATA:
        return False
    return any(d.startswith(name + "-") for d in os.listdir(DATA))


def check_absent(admin, name, when):
    if name in topics(admin):
        fail("%s exists %s" % (name, when))
    if on_disk(name):
        fail("%s has partitions on disk %s" % (name, when))


def main():
    admin = AdminClient({"bootstrap.servers": BOOT})
    check_absent(admin, OFFSETS, "before any group")
    check_absent(admin, TXNS, "before any transaction")
    for f in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
        f.result(10)

    p = Producer({"bootstrap.servers": BOOT, "enable.idempotence": False, "acks": "all"})
    for i in range(10):
        p.produce(TOPIC, value=b"m%d" % i)
    if p.flush(10) != 0:
        fail("produce did not complete")
    check_absent(admin, OFFSETS, "after a producer")
    check_absent(admin, TXNS, "after a producer")
    print("no internal topics after produce", flush=True)

    group = PREFIX + "-group"
    c = Consumer({"bootstrap.servers": BOOT, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = 0
    deadline = time.monotonic() + 30
    while got < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    if got != 10:
        fail("the group consumer read %d of 10 messages" % got)
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(TOPIC, 0)], timeout=10)
    c.close()
    if committed[0].offset != 10:
        fail("committed offset %d, expected 10" % committed[0].offset)
    t = topics(admin)
    if t.get(OFFSETS) != 50:
        fail("__consumer_offsets after a commit: %r partitions, expected 50" % t.get(OFFSETS))
    md = admin.list_topics(topic=OFFSETS, timeout=10)
    if not on_disk(OFFSETS) and DATA:
        fail("__consumer_offsets has no partitions on disk after a commit")
    check_absent(admin, TXNS, "after a group commit")
    print("__consumer_offsets created by the group (%d partitions)" % len(md.topics[OFFSETS].partitions), flush=True)

    tp = Producer({"bootstrap.servers": BOOT, "transactional.id": PREFIX + "-txn"})
    tp.init_transactions(10)
    tp.begin_transaction()
    tp.produce(TOPIC, value=b"txn")
    tp.commit_transaction(10)
    t = topics(admin)
    if t.get(TXNS) != 50:
        fail("__transaction_state after a transaction: %r partitions, expected 50" % t.get(TXNS))
    rc = Consumer({"bootstrap.servers": BOOT, "group.id": PREFIX + "-rc", "auto.offset.reset": "earliest",
                   "isolation.level": "read_committed"})
    rc.assign([TopicPartition(TOPIC, 0, 10)])
    seen = None
    deadline = time.monotonic() + 20
    while seen is None and time.monotonic() < deadline:
        m = rc.poll(0.5)
        if m is not None and not m.error():
            seen = m.value()
    rc.close()
    if seen != b"txn":
        fail("read_committed consumer saw %r, expected b'txn'" % (seen,))
    print("__transaction_state created by the transactional producer", flush=True)
    print("OK", flush=True)


if __name__ == "__main__":
    main()
