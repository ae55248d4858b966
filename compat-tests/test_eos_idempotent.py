#!/usr/bin/python3
"""Idempotent producer under lost acknowledgements, confluent-kafka-python
1.7.0 (librdkafka 2.0.2) against a running eddy (EDDY_BOOTSTRAP).

The broker runs with --eddy.test.drop.produce.response.rate (see the TESTS
table in run.py): after appending a Produce it closes the connection instead
of answering, for that fraction of requests, as a network failure between
the append and the answer would. The producer (enable.idempotence=true, up to
5 requests in flight) cannot tell and resends every batch that was in flight,
with the same producer id, epoch and sequence numbers. The broker must
recognise each resent batch as a duplicate, not append it again, and answer
with the offset it was first stored at; the batches behind it must not be
refused as out of order.

100,000 numbered messages go to 3 partitions (message i to partition i % 3,
value "<i>"). The test then checks, reading every partition from offset 0
with assign() (no group):

- every message was acknowledged, without error, exactly once;
- the log holds each message exactly once: partition p holds the ids
  p, p+3, p+6, ... in that order at offsets 0, 1, 2, ... with no gap, no
  duplicate and nothing else; the high watermark is the count;
- each message sits at the offset its delivery report gave;
- the drops really happened: librdkafka's statistics show disconnects and
  more messages transmitted than produced, i.e. resent batches (otherwise
  the run proves nothing).
"""

import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
PREFIX = os.environ.get("EDDY_TEST_NAME", "eos_idempotent")
TOPIC = PREFIX + "_numbers"
PARTITIONS = 3
COUNT = int(os.environ.get("EOS_IDEMPOTENT_COUNT", "100000"))
T0 = time.monotonic()


def log(*args):
    print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, flush=True)
        sys.exit(1)


def create_topic():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for t, fut in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "create_topics(%s): %s" % (t, e.args[0]))


def produce():
    """-> (delivered {id: (partition, offset)}, errors, stats summary)."""
    stats = {"disconnects": 0, "txretries": 0, "req_timeouts": 0, "tx": 0, "txmsgs": 0}
    errors = []
    client_errors = []
    delivered = {}
    twice = []

    def on_stats(js):
        d = json.loads(js)
        # Per-broker counters are cumulative; keep the latest (bootstrap
        # entries have their own counters, so sum them).
        tot = {"disconnects": 0, "txretries": 0, "req_timeouts": 0, "tx": 0}
        for b in d.get("brokers", {}).values():
            for k in tot:
                tot[k] += b.get(k, 0)
        # A batch whose request was lost is sent again (re-queued on the
        # partition, not counted in txretries), so txmsgs > COUNT shows resends.
        tot["txmsgs"] = sum(tp.get("txmsgs", 0) for t in d.get("topics", {}).values()
                            for tp in t.get("partitions", {}).values() if tp.get("partition", -1) >= 0)
        for k in tot:
            stats[k] = max(stats[k], tot[k])

    def on_error(err):
        # Disconnects are expected here; a fatal error is not.
        client_errors.append(str(err))

    p = Producer({
        "bootstrap.servers": BOOTSTRAP,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        # Small batches: many Produce requests, so many of them are dropped.
        "batch.num.messages": 250,
        "max.in.flight.requests.per.connection": 5,
        "message.timeout.ms": 90000,
        "reconnect.backoff.ms": 10,
        "reconnect.backoff.max.ms": 200,
        "statistics.interval.ms": 200,
        "stats_cb": on_stats,
        "error_cb": on_error,
    })

    def cb(err, msg):
        i = int(msg.value())
        if err is not None:
            errors.append((i, str(err)))
            return
        if i in delivered:
            twice.append(i)
        delivered[i] = (msg.partition(), msg.offset())

    for i in range(COUNT):
        while True:
            try:
                p.produce(TOPIC, value=b"%d" % i, partition=i % PARTITIONS, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    time.sleep(0.5)  # one more statistics tick
    p.poll(0)
    check(left == 0, "%d messages still unacknowledged 60 s after the last produce" % left)
    fatal = [e for e in client_errors if "FATAL" in e.upper()]
    check(not fatal, "the idempotent producer hit a fatal error: %s" % fatal[:3])
    log("client error callbacks (expected: disconnects): %d, e.g. %s" % (len(client_errors), client_errors[:2]))
    return delivered, errors, twice, stats


def consume(delivered):
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "-unused",
                  "enable.auto.commit": False, "enable.auto.offset.store": False,
                  "auto.offset.reset": "error", "fetch.wait.max.ms": 100,
                  "enable.partition.eof": True})
    highs = {}
    for p in range(PARTITIONS):
        highs[p] = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
    log("watermarks: %s" % highs)
    c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = {p: [] for p in range(PARTITIONS)}  # partition -> [(offset, id)]
    eof = set()
    deadline = time.monotonic() + 40
    while len(eof) < PARTITIONS and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                if msg.offset() >= highs[msg.partition()][1]:
                    eof.add(msg.partition())
                continue
            check(False, "consume: %s" % msg.error())
        got[msg.partition()].append((msg.offset(), int(msg.value())))
    c.close()
    check(len(eof) == PARTITIONS, "did not reach the end of every partition within 40 s (got %s)" % {
        p: len(v) for p, v in got.items()})
    return highs, got


def main():
    if not BOOTSTRAP:
        print("EDDY_BOOTSTRAP not set (run through run.py)")
        return 2
    create_topic()
    log("producing %d numbered messages to %s (%d partitions), idempotent, while the broker drops "
        "produce answers" % (COUNT, TOPIC, PARTITIONS))
    delivered, errors, twice, stats = produce()
    log("acknowledged %d, failed %d, acknowledged twice %d; librdkafka stats: %s" % (
        len(delivered), len(errors), len(twice), stats))
    check(not errors, "%d messages failed, e.g. %s" % (len(errors), errors[:5]))
    check(not twice, "%d messages acknowledged twice, e.g. %s" % (len(twice), twice[:5]))
    check(len(delivered) == COUNT, "%d delivery reports, want %d" % (len(delivered), COUNT))
    check(stats["disconnects"] > 0 and stats["txmsgs"] > COUNT,
          "no disconnect or resent message seen (%s): is --eddy.test.drop.produce.response.rate set?" % stats)

    highs, got = consume(delivered)
    failures = []
    for p in range(PARTITIONS):
        want = list(range(p, COUNT, PARTITIONS))
        recs = got[p]
        ids = [i for _, i in recs]
        offs = [o for o, _ in recs]
        if offs != list(range(len(recs))):
            bad = next(n for n, o in enumerate(offs) if o != n) if len(offs) else 0
            failures.append("partition %d: offsets not contiguous from 0 (first break at index %d: %s)" % (
                p, bad, offs[max(0, bad - 2):bad + 3]))
        if ids != want:
            seen, dups = set(), []
            for i in ids:
                if i in seen:
                    dups.append(i)
                seen.add(i)
            missing = sorted(set(want) - seen)
            first = next((n for n, (a, b) in enumerate(zip(ids, want)) if a != b), min(len(ids), len(want)))
            failures.append("partition %d: %d records, want %d; %d duplicated ids (e.g. %s), %d missing "
                            "(e.g. %s); first divergence at offset %d: log %s, want %s" % (
                                p, len(ids), len(want), len(dups), dups[:5], len(missing), missing[:5],
                                first, ids[first:first + 5], want[first:first + 5]))
        if highs[p] != (0, len(want)):
            failures.append("partition %d: watermarks %s, want (0, %d)" % (p, highs[p], len(want)))
        misplaced = [(i, delivered[i], (p, o)) for o, i in recs if i in delivered and delivered[i] != (p, o)]
        if misplaced:
            failures.append("partition %d: %d messages not at their acknowledged offset, e.g. "
                            "(id, acked, stored) %s" % (p, len(misplaced), misplaced[:5]))
        log("partition %d: %d records, offsets 0..%d" % (p, len(recs), len(recs) - 1))
    for f in failures:
        print("FAIL: " + f, flush=True)
    if failures:
        return 1
    log("PASS: %d messages, each stored exactly once, in order, at its acknowledged offset, "
        "despite %d disconnects and %d messages sent more than once" % (
        COUNT, stats["disconnects"], stats["txmsgs"] - COUNT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
