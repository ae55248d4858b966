#!/usr/bin/python3
"""confluent-kafka-python (Debian's, on librdkafka 2.0.2) against a running
eddy (EDDY_BOOTSTRAP).

Covers: AdminClient create_topics / delete_topics (futures awaited, checked
with list_topics), re-creating a deleted topic starts empty, TOPIC_ALREADY_EXISTS
on a duplicate; Producer with delivery callbacks, snappy, headers, null keys,
tombstones and explicit CreateTime timestamps; Consumer with assign() at
OFFSET_BEGINNING and no group membership; get_watermark_offsets and
offsets_for_times. Every message read back is compared with what was sent.

confluent_kafka.Consumer insists on a group.id even for assign(); one is set
but never joined, and nothing is committed or stored, so the group
coordinator should not be needed. Whether librdkafka still sent
FindCoordinator is printed (from its protocol debug log) for the record.
"""

import logging
import os
import random
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, Consumer, KafkaError,
                             KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
PREFIX = os.environ.get("EDDY_TEST_NAME", "confluent_kafka")
TOPIC = PREFIX + "_data"
DOOMED = PREFIX + "_deleted"
PARTITIONS = 3
COUNT = 1000


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    check(False, "timed out waiting for " + what)


class RequestLog(logging.Handler):
    """Collects librdkafka's debug lines so requests sent can be counted."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def count(self, word):
        return sum(1 for l in self.lines if word in l)


def topics(admin):
    md = admin.list_topics(timeout=10)
    return {name: t for name, t in md.topics.items() if t.error is None}


def create(admin, new_topics):
    for name, fut in admin.create_topics(new_topics, operation_timeout=10, request_timeout=15).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "create_topics(%s): %s" % (name, e.args[0]))


def admin_steps(admin):
    md = admin.list_topics(timeout=10)
    check(list(md.brokers) == [1], "brokers %r, want [1]" % list(md.brokers))
    check(md.controller_id == 1, "controller_id %r, want 1 (admin requests go to the controller)" % md.controller_id)
    host, port = BOOTSTRAP.rsplit(":", 1)
    b = md.brokers[1]
    check((b.host, b.port) == (host, int(port)), "broker 1 advertised at %s:%d, want %s" % (b.host, b.port, BOOTSTRAP))

    create(admin, [NewTopic(TOPIC, PARTITIONS, 1), NewTopic(DOOMED, 2, 1)])
    wait_for(lambda: {TOPIC, DOOMED} <= set(topics(admin)), "list_topics to show both new topics")
    t = topics(admin)
    check(sorted(t[TOPIC].partitions) == list(range(PARTITIONS)),
          "%s partitions %r" % (TOPIC, sorted(t[TOPIC].partitions)))
    for p in t[TOPIC].partitions.values():
        check(p.leader == 1 and list(p.replicas) == [1] and list(p.isrs) == [1] and p.error is None,
              "%s partition %d: leader %r replicas %r isrs %r error %r" % (
                  TOPIC, p.id, p.leader, p.replicas, p.isrs, p.error))

    fut = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=10)[TOPIC]
    try:
        fut.result(timeout=20)
        check(False, "creating %s twice succeeded; want TOPIC_ALREADY_EXISTS" % TOPIC)
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS,
              "duplicate create_topics: %s, want TOPIC_ALREADY_EXISTS" % e.args[0])

    # Put data in the doomed topic, delete it, re-create it: it must start empty.
    p = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(5):
        p.produce(DOOMED, value=b"old-%d" % i, partition=0)
    check(p.flush(15) == 0, "could not produce to %s" % DOOMED)
    for name, fut in admin.delete_topics([DOOMED], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "delete_topics(%s): %s" % (name, e.args[0]))
    wait_for(lambda: DOOMED not in topics(admin), "list_topics to drop " + DOOMED)
    check(TOPIC in topics(admin), "%s vanished when %s was deleted" % (TOPIC, DOOMED))

    def recreated():
        fut = admin.create_topics([NewTopic(DOOMED, 1, 1)], operation_timeout=10)[DOOMED]
        try:
            fut.result(timeout=20)
            return True
        except KafkaException as e:
            print("re-create %s: %s (retrying)" % (DOOMED, e.args[0]))
            return False
    wait_for(recreated, "re-creating " + DOOMED)
    wait_for(lambda: DOOMED in topics(admin), "list_topics to show the re-created " + DOOMED)
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "-unused"})
    lo, hi = c.get_watermark_offsets(TopicPartition(DOOMED, 0), timeout=10)
    c.close()
    check((lo, hi) == (0, 0), "re-created %s has watermarks (%d, %d), want (0, 0): old data survived" % (DOOMED, lo, hi))


def main():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin_steps(admin)

    rng = random.Random(99)
    base_ts = int(time.time() * 1000) - 50000
    sent = []  # (partition, key, value, headers, ts)
    for i in range(COUNT):
        n = rng.choice([0, 3, 64, 700, 4000])
        value = bytes(rng.getrandbits(8) for _ in range(n // 2)) + b"z" * (n - n // 2)
        key = b"ck-%06d" % i
        headers = [("i", b"%d" % i), ("bin", bytes([0, 255, i % 256]))] if i % 4 == 0 else None
        if i % 40 == 11:
            key = None
        if i % 40 == 13:
            value = None
        sent.append((i % PARTITIONS, key, value, headers, base_ts + i))

    delivered = {}
    errors = []

    def on_delivery(err, msg, idx):
        if err is not None:
            errors.append((idx, err))
        else:
            delivered[idx] = (msg.partition(), msg.offset(), msg.timestamp())

    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 10,
                         "compression.codec": "snappy", "client.id": "eddy-compat-ckp"})
    plog = RequestLog()
    for i, (p, k, v, h, ts) in enumerate(sent):
        kwargs = {"partition": p, "timestamp": ts,
                  "on_delivery": (lambda err, msg, i=i: on_delivery(err, msg, i))}
        if k is not None:
            kwargs["key"] = k
        if h is not None:
            kwargs["headers"] = h
        producer.produce(TOPIC, value=v, **kwargs)
        producer.poll(0)
    check(producer.flush(30) == 0, "messages left unflushed")
    check(not errors, "delivery errors: %r" % errors[:5])
    check(len(delivered) == COUNT, "%d delivery reports, want %d" % (len(delivered), COUNT))
    per_part = {p: 0 for p in range(PARTITIONS)}
    for i, (p, *_rest) in enumerate(sent):
        dp, do, _ = delivered[i]
        check(dp == p, "message %d delivered to partition %d, sent to %d" % (i, dp, p))
        check(do == per_part[p], "message %d delivered at offset %d, want %d" % (i, do, per_part[p]))
        per_part[p] += 1
    print("produced", COUNT, "messages:", per_part)

    clog = RequestLog()
    logger = logging.getLogger("rdkafka-consumer")
    logger.addHandler(clog)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "-assign-only",
                         "enable.auto.commit": False, "enable.auto.offset.store": False,
                         "auto.offset.reset": "error", "fetch.wait.max.ms": 100,
                         "debug": "protocol", "logger": logger})
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])

    expect = {}
    for i, (p, k, v, h, ts) in enumerate(sent):
        expect[(p, delivered[i][1])] = (k, v, h, ts)
    got = 0
    last = {p: -1 for p in range(PARTITIONS)}
    deadline = time.monotonic() + 30
    while got < COUNT and time.monotonic() < deadline:
        for m in consumer.consume(num_messages=500, timeout=0.5):
            check(m.error() is None, "consumer error: %s" % m.error())
            p, o = m.partition(), m.offset()
            check(o == last[p] + 1, "partition %d: offset %d follows %d" % (p, o, last[p]))
            last[p] = o
            check((p, o) in expect, "unexpected message at %d/%d" % (p, o))
            k, v, h, ts = expect[(p, o)]
            where = "message %d/%d" % (p, o)
            check(m.key() == k, "%s: key %r, want %r" % (where, m.key(), k))
            check(m.value() == v, "%s: value differs" % where)
            check(m.headers() == h, "%s: headers %r, want %r" % (where, m.headers(), h))
            check(m.timestamp() == (TIMESTAMP_CREATE_TIME, ts),
                  "%s: timestamp %r, want (CreateTime, %d)" % (where, m.timestamp(), ts))
            got += 1
    check(got == COUNT, "consumed %d messages, want %d (positions %r)" % (got, COUNT, last))

    for p in range(PARTITIONS):
        lo, hi = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
        check((lo, hi) == (0, per_part[p]), "partition %d watermarks (%d, %d), want (0, %d)" % (p, lo, hi, per_part[p]))

    # offsets_for_times: earliest offset whose timestamp >= the one asked for.
    for p in range(PARTITIONS):
        mine = sorted((o, e[3]) for (pp, o), e in expect.items() if pp == p)
        queries = [(ts, o) for o, ts in mine[:: max(1, len(mine) // 6)]]
        # Timestamps step by PARTITIONS ms within a partition, so one
        # millisecond before a message's timestamp still finds that message.
        queries.append((mine[2][1] - 1, mine[2][0]))
        queries.append((mine[-1][1] + 1, -1))  # after the last message: -1
        for ts, want in queries:
            res = consumer.offsets_for_times([TopicPartition(TOPIC, p, ts)], timeout=10)
            check(len(res) == 1 and res[0].error is None and res[0].offset == want,
                  "offsets_for_times(p%d, %d) = %r, want offset %d" % (p, ts, res, want))

    # The Fetch count shows the debug log really reached us, so a zero
    # FindCoordinator count means none was sent.
    print("assign-only consumer sent %d FindCoordinator and %d Fetch requests" % (
        clog.count("Sent FindCoordinatorRequest"), clog.count("Sent FetchRequest")))
    consumer.close()
    print("PASS: confluent-kafka %d messages round-tripped byte-exact" % got)


if __name__ == "__main__":
    main()
