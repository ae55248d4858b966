#!/usr/bin/python3
"""kafka-python 2.0.2 against a running eddy (EDDY_BOOTSTRAP).

kafka-python does not negotiate per request: it infers a broker version from
the ApiVersions v0 answer and then uses fixed request versions (PROTOCOL.md
1.1, 1.2). No api_version is passed here, so that inference is exercised.

Covers: KafkaAdminClient create_topics (and the TOPIC_ALREADY_EXISTS answer),
delete_topics and list_topics; KafkaProducer with acks=all, uncompressed and
gzip, keyed/null-key/tombstone messages with headers and explicit timestamps;
KafkaConsumer without a group (group_id=None, assign + seek_to_beginning),
beginning_offsets, end_offsets and offsets_for_times. Every record read back
is compared with what was sent: partition, offset, key, value, headers and
timestamp.
"""

import os
import random
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
PREFIX = os.environ.get("EDDY_TEST_NAME", "kafka_python")
TOPIC = PREFIX + "_data"
DOOMED = PREFIX + "_deleted"
PARTITIONS = 3
PER_PRODUCER = 300


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


def admin_steps():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="eddy-compat-kpy-admin",
                             request_timeout_ms=15000)
    print("admin: inferred broker version", admin.config["api_version"])
    resp = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1), NewTopic(DOOMED, 1, 1)],
                               timeout_ms=10000)
    errs = {t[0]: t[1] for t in resp.topic_errors}
    check(errs == {TOPIC: 0, DOOMED: 0}, "CreateTopics per-topic error codes %r, want all 0" % errs)
    wait_for(lambda: {TOPIC, DOOMED} <= set(admin.list_topics()),
             "list_topics to show %s and %s" % (TOPIC, DOOMED))

    try:
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], timeout_ms=10000)
        check(False, "creating %s a second time succeeded; want TOPIC_ALREADY_EXISTS (36)" % TOPIC)
    except TopicAlreadyExistsError:
        pass

    resp = admin.delete_topics([DOOMED], timeout_ms=10000)
    errs = {t[0]: t[1] for t in resp.topic_error_codes}
    check(errs == {DOOMED: 0}, "DeleteTopics error codes %r, want {%r: 0}" % (errs, DOOMED))
    wait_for(lambda: DOOMED not in admin.list_topics(), "list_topics to drop " + DOOMED)
    check(TOPIC in admin.list_topics(), "%s disappeared when %s was deleted" % (TOPIC, DOOMED))
    admin.close()


def make_messages(rng, base_ts, first, count, tag):
    """(partition or None, key, value, headers, timestamp_ms) tuples."""
    msgs = []
    for i in range(first, first + count):
        n = rng.choice([0, 1, 7, 100, 1000, 5000])
        value = bytes(rng.getrandbits(8) for _ in range(n // 2)) + (b"%s-%d-" % (tag, i)) * (n // 16 + 1)
        key = b"k%05d" % i
        partition = None
        headers = []
        if i % 50 == 7:
            key = None  # null key: partition chosen explicitly
            partition = i % PARTITIONS
        if i % 50 == 9:
            value = None  # tombstone
        if i % 3 == 0:
            headers = [("idx", b"%d" % i), ("tag", tag), ("empty", b"")]
        msgs.append((partition, key, value, headers, base_ts + i))
    return msgs


def produce(msgs, compression):
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, client_id="eddy-compat-kpy-producer",
                             acks="all", linger_ms=20, compression_type=compression,
                             request_timeout_ms=15000)
    version = producer.config["api_version"]
    print("producer (%s): inferred broker version %r" % (compression, version))
    check(version >= (0, 11), "kafka-python inferred broker version %r from ApiVersions; need >= (0, 11) "
          "for record batches v2 and headers (PROTOCOL.md 1.1)" % (version,))
    futures = [producer.send(TOPIC, key=k, value=v, partition=p, headers=h, timestamp_ms=ts)
               for (p, k, v, h, ts) in msgs]
    producer.flush(timeout=30)
    metas = [f.get(timeout=30) for f in futures]
    producer.close(timeout=10)
    return metas


def main():
    admin_steps()

    rng = random.Random(1234)
    base_ts = int(time.time() * 1000) - 100000
    plain = make_messages(rng, base_ts, 0, PER_PRODUCER, b"plain")
    gz = make_messages(rng, base_ts, PER_PRODUCER, PER_PRODUCER, b"gzip")
    sent = plain + gz
    metas = produce(plain, None) + produce(gz, "gzip")

    expected = {}  # (partition, offset) -> message
    for m, md in zip(sent, metas):
        check(md.topic == TOPIC, "RecordMetadata topic %r" % md.topic)
        if m[0] is not None:
            check(md.partition == m[0], "message sent to partition %d landed on %d" % (m[0], md.partition))
        check((md.partition, md.offset) not in expected,
              "two messages got the same partition/offset %d/%d" % (md.partition, md.offset))
        expected[(md.partition, md.offset)] = m
    counts = {p: sum(1 for (pp, _) in expected if pp == p) for p in range(PARTITIONS)}
    for p in range(PARTITIONS):
        offs = sorted(o for (pp, o) in expected if pp == p)
        check(offs == list(range(counts[p])),
              "partition %d: producer offsets are not 0..%d: %r..." % (p, counts[p] - 1, offs[:10]))
    print("produced", len(sent), "messages, per partition", counts)

    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="eddy-compat-kpy-consumer",
                             group_id=None, enable_auto_commit=False, auto_offset_reset="none",
                             request_timeout_ms=15000, fetch_max_wait_ms=100)
    check(consumer.partitions_for_topic(TOPIC) == set(range(PARTITIONS)),
          "partitions_for_topic(%s) = %r" % (TOPIC, consumer.partitions_for_topic(TOPIC)))
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning()

    got = []
    deadline = time.monotonic() + 30
    while len(got) < len(sent) and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            got.extend(records)
    check(len(got) == len(sent), "consumed %d records, want %d" % (len(got), len(sent)))

    last = {p: -1 for p in range(PARTITIONS)}
    for r in got:
        check(r.topic == TOPIC, "record from topic %r" % r.topic)
        check(r.offset == last[r.partition] + 1,
              "partition %d: offset %d follows %d" % (r.partition, r.offset, last[r.partition]))
        last[r.partition] = r.offset
        want = expected.get((r.partition, r.offset))
        check(want is not None, "unexpected record at %d/%d" % (r.partition, r.offset))
        _, key, value, headers, ts = want
        where = "record %d/%d" % (r.partition, r.offset)
        check(r.key == key, "%s: key %r, want %r" % (where, r.key, key))
        check(r.value == value, "%s: value differs (%s bytes, want %s)" % (
            where, None if r.value is None else len(r.value), None if value is None else len(value)))
        check(list(r.headers) == headers, "%s: headers %r, want %r" % (where, r.headers, headers))
        check(r.timestamp == ts and r.timestamp_type == 0,
              "%s: timestamp %r type %r, want %r CreateTime (0)" % (where, r.timestamp, r.timestamp_type, ts))

    begin = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    for tp in tps:
        check(begin[tp] == 0, "beginning_offsets %r = %r, want 0" % (tp, begin[tp]))
        check(end[tp] == counts[tp.partition], "end_offsets %r = %r, want %d" % (tp, end[tp], counts[tp.partition]))

    # offsets_for_times: first offset whose timestamp is >= the one asked for.
    for p in range(PARTITIONS):
        by_offset = sorted((o, m[4]) for (pp, o), m in expected.items() if pp == p)
        for o, ts in by_offset[:: max(1, len(by_offset) // 5)]:
            ans = consumer.offsets_for_times({TopicPartition(TOPIC, p): ts})[TopicPartition(TOPIC, p)]
            check(ans is not None and ans.offset == o and ans.timestamp == ts,
                  "offsets_for_times(p%d, %d) = %r, want offset %d" % (p, ts, ans, o))
        after = by_offset[-1][1] + 1
        ans = consumer.offsets_for_times({TopicPartition(TOPIC, p): after})[TopicPartition(TOPIC, p)]
        check(ans is None, "offsets_for_times(p%d, after the last message) = %r, want None" % (p, ans))
    consumer.close()
    print("PASS: kafka-python %d records round-tripped byte-exact" % len(got))


if __name__ == "__main__":
    main()
