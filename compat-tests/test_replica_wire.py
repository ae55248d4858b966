#!/usr/bin/python3
"""The replica layer on one broker, as a one-broker Kafka 3.9 answers.

- min.insync.replicas is a topic config eddy honours, and Kafka 3.7+ caps
  it at the replication factor (KAFKA-15583): a one-replica topic with
  min.insync.replicas=2 takes acks=all (and acks=1) writes, with
  confluent-kafka and on the wire; DescribeConfigs reports the override.
- Metadata: leader, replicas and ISR are this node; leader epoch -1.
- Fetch: high_watermark is the log end after every append; a replica id
  (>= 0) that is not a follower of the partition gets NOT_LEADER_OR_FOLLOWER,
  or UNKNOWN_LEADER_EPOCH when it names an epoch; a consumer naming epoch 0
  (librdkafka 2.x does, for the -1 it is told) is served.
- ListOffsets: latest is the HW (= the log end), for any named epoch too;
  the debugging replica id gets the log end.
Uses EDDY_BOOTSTRAP.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
NAME = os.environ.get("EDDY_TEST_NAME", "replica_wire")
TOPIC = NAME + "_isr2"
NODE = 1  # node.id's default

NOT_LEADER_OR_FOLLOWER = 6
UNKNOWN_LEADER_EPOCH = 75
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def encode_create_topics_v4(name, partitions, configs):
    cfgs = kw.array(sorted(configs.items()), lambda kv: kw.string(kv[0]) + kw.string(kv[1]))
    topic = kw.string(name) + kw.i32(partitions) + kw.i16(1) + kw.array([]) + cfgs
    return kw.array([topic], lambda t: t) + kw.i32(5000) + kw.boolean(False)


def decode_metadata_v1_partitions(body, topic):
    """-> {partition: (error, leader, replicas, isr)} of topic."""
    r = kw.Reader(body)
    for _ in range(max(r.array_len(), 0)):
        r.i32()
        r.string()
        r.i32()
        r.string()
    r.i32()
    out = {}
    for _ in range(max(r.array_len(), 0)):
        r.i16()
        name = r.string()
        r.boolean()
        for _ in range(max(r.array_len(), 0)):
            perr, idx, leader = r.i16(), r.i32(), r.i32()
            replicas = [r.i32() for _ in range(max(r.array_len(), 0))]
            isr = [r.i32() for _ in range(max(r.array_len(), 0))]
            if name == topic:
                out[idx] = (perr, leader, replicas, isr)
    return out


def encode_fetch_v11(replica_id, topic, offset, leader_epoch=-1):
    return (kw.i32(replica_id) + kw.i32(0) + kw.i32(1) + kw.i32(1 << 20) + kw.i8(0)
            + kw.i32(0) + kw.i32(-1)
            + kw.array([topic], lambda t: kw.string(t) + kw.array(
                [0], lambda p: kw.i32(p) + kw.i32(leader_epoch) + kw.i64(offset) + kw.i64(-1) + kw.i32(1 << 20)))
            + kw.array([]) + kw.string(""))


def decode_fetch_v11(body):
    """-> (error, hw, records) of the one partition."""
    r = kw.Reader(body)
    r.i32()
    r.i16()
    r.i32()
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    perr, hw = r.i16(), r.i64()
    r.i64()
    r.i64()
    for _ in range(max(r.array_len(), 0)):
        r.i64()
        r.i64()
    r.i32()
    n = r.i32()
    return perr, hw, (r.take(n) if n > 0 else b"")


def encode_list_offsets_v4(topic, timestamp, leader_epoch=-1, replica_id=-1):
    return (kw.i32(replica_id) + kw.i8(0)
            + kw.array([topic], lambda t: kw.string(t) + kw.array(
                [0], lambda p: kw.i32(p) + kw.i32(leader_epoch) + kw.i64(timestamp))))


def decode_list_offsets_v4(body):
    """-> (error, offset, leader_epoch) of the one partition."""
    r = kw.Reader(body)
    r.i32()
    r.array_len()
    r.string()
    r.array_len()
    r.i32()
    err = r.i16()
    r.i64()
    off = r.i64()
    return err, off, r.i32()


def produce(conn, acks, count):
    recs = [(b"k", b"v%d" % i) for i in range(count)]
    body = kw.encode_produce_v7(acks, 5000, {TOPIC: {0: kw.record_batch_v2(recs)}})
    _, res = kw.decode_produce_v7(conn.call(0, 7, body))
    return res[(TOPIC, 0)]


def confluent_part():
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": BOOT})
    res = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, TOPIC)])
    cfg = list(res.values())[0].result(timeout=10)
    entry = cfg.get("min.insync.replicas")
    check(entry is not None and entry.value == "2", "DescribeConfigs: min.insync.replicas=2 on %s" % TOPIC)

    for acks in ("all", "1"):
        delivered = []
        p = Producer({"bootstrap.servers": BOOT, "acks": acks, "linger.ms": 0})
        for i in range(5):
            p.produce(TOPIC, value=b"%s-%d" % (acks.encode(), i), partition=0,
                      on_delivery=lambda err, msg: delivered.append(err))
        left = p.flush(15)
        check(left == 0 and len(delivered) == 5 and all(e is None for e in delivered),
              "confluent-kafka acks=%s to a one-replica topic with min.insync.replicas=2: %r" % (acks, delivered))

    c = Consumer({"bootstrap.servers": BOOT, "group.id": NAME + "_g", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    for _ in range(50):
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
        if len(got) >= 16:
            break
    lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
    c.close()
    check(len(got) == 16, "a consumer reads every acknowledged record up to the HW: %d" % len(got))
    check(hi == 16, "the high watermark is the log end: %d" % hi)


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    conn = kw.Conn(BOOT, timeout=5.0)
    _, res = kw.decode_create_topics_v4(conn.call(19, 4, encode_create_topics_v4(TOPIC, 1, {"min.insync.replicas": "2"})))
    check(res[0][1] == 0, "create %s with min.insync.replicas=2: %r" % (TOPIC, res))

    parts = decode_metadata_v1_partitions(conn.call(3, 1, kw.encode_metadata_v1([TOPIC])), TOPIC)
    check(parts.get(0) == (0, NODE, [NODE], [NODE]), "metadata: leader, replicas and ISR are this node: %r" % parts)

    # Kafka 3.9: the effective min ISR is min(min.insync.replicas, replicas) = 1.
    err, base = produce(conn, -1, 3)[:2]
    check(err == 0 and base == 0, "acks=-1 with min.insync.replicas=2 on one replica: err %d base %d" % (err, base))
    err, base = produce(conn, 1, 3)[:2]
    check(err == 0 and base == 3, "acks=1: err %d base %d" % (err, base))
    err, hw, recs = decode_fetch_v11(conn.call(1, 11, encode_fetch_v11(-1, TOPIC, 0)))
    check(err == 0 and hw == 6 and len(recs) > 0, "consumer fetch: hw 6 (the log end), records: err %d hw %d" % (err, hw))

    # Fetches from replica ids: this node has no followers.
    for rid in (5, NODE):
        err, hw, recs = decode_fetch_v11(conn.call(1, 11, encode_fetch_v11(rid, TOPIC, 0)))
        check(err == NOT_LEADER_OR_FOLLOWER and hw == -1 and recs == b"",
              "fetch from replica %d outside the followers: NOT_LEADER_OR_FOLLOWER (%d, hw %d)" % (rid, err, hw))
    # Kafka: a replica outside the assignment that names an epoch is told to retry with it.
    err, _, _ = decode_fetch_v11(conn.call(1, 11, encode_fetch_v11(5, TOPIC, 0, leader_epoch=0)))
    check(err == UNKNOWN_LEADER_EPOCH, "fetch from replica 5 naming epoch 0: UNKNOWN_LEADER_EPOCH (%d)" % err)
    # Clients are told epoch -1 and the partition has none: librdkafka 2.x sends 0 for it, and is served.
    for epoch in (0, 3):
        err, hw, recs = decode_fetch_v11(conn.call(1, 11, encode_fetch_v11(-1, TOPIC, 0, leader_epoch=epoch)))
        check(err == 0 and hw == 6 and len(recs) > 0, "consumer fetch naming epoch %d is served (%d)" % (epoch, err))

    err, off, epoch = decode_list_offsets_v4(conn.call(2, 4, encode_list_offsets_v4(TOPIC, -1)))
    check((err, off, epoch) == (0, 6, -1), "ListOffsets latest: the HW 6, epoch -1: %r" % ((err, off, epoch),))
    err, off, _ = decode_list_offsets_v4(conn.call(2, 4, encode_list_offsets_v4(TOPIC, -1, leader_epoch=0)))
    check((err, off) == (0, 6), "ListOffsets naming epoch 0 is served: %r" % ((err, off),))
    err, off, _ = decode_list_offsets_v4(conn.call(2, 4, encode_list_offsets_v4(TOPIC, -1, replica_id=-2)))
    check((err, off) == (0, 6), "ListOffsets for the debugging replica: the log end: %r" % ((err, off),))
    conn.close()

    confluent_part()

    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
