#!/usr/bin/python3
"""Topic and broker configs and CreatePartitions through stock admin clients
against a running eddy (EDDY_BOOTSTRAP, started with
--log.retention.check.interval.ms 200 by run.py), plus a broker of its own
(EDDY_BIN) for the restart check.

Covers:
  confluent-kafka-python 1.7.0 AdminClient: describe_configs (defaults,
    overrides, sources, synonyms), alter_configs (replaces the override set),
    INVALID_CONFIG for bad values and unknown names, create_partitions and a
    producer writing to the new partitions, describe of the BROKER resource;
    max.message.bytes altered small rejects a bigger batch
    (MSG_SIZE_TOO_LARGE) while a smaller one passes.
  kafka-python 2.0.2 KafkaAdminClient: describe_configs with synonyms,
    alter_configs, create_partitions (and INVALID_PARTITIONS when not larger);
    retention.ms altered small on a topic with tiny segments really deletes
    old segments (the log start offset moves).
  IncrementalAlterConfigs v0 on the wire (neither Python client has it in
    these versions): SET, APPEND/SUBTRACT on cleanup.policy, DELETE, and a
    dynamic broker default (log.retention.ms on BROKER "") seen by topics.
  compression.type=zstd: batches sent uncompressed are stored zstd (segment
    file attributes byte 22 & 7 == 4) and read back intact.
  A restart keeps topic overrides, dynamic broker configs and the grown
    partition count.
"""

import glob
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

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka import TopicPartition as CKTopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource,  # noqa: E402
                                   NewPartitions, NewTopic)
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource as KPConfigResource  # noqa: E402
from kafka.admin import ConfigResourceType, KafkaAdminClient  # noqa: E402
from kafka.admin import NewPartitions as KPNewPartitions  # noqa: E402
from kafka.admin import NewTopic as KPNewTopic  # noqa: E402
from kafka.errors import InvalidPartitionsError  # noqa: E402

BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
DATA_DIR = os.environ.get("EDDY_DATA_DIR", "")
PREFIX = os.environ.get("EDDY_TEST_NAME", "admin_configs")
INVALID_CONFIG = 40
INVALID_PARTITIONS = 37


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        sys.exit(1)


def wait_for(pred, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    check(False, "timed out waiting for " + what)


# ------------------------------------------------------------ confluent-kafka

def confluent_part():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    topic = PREFIX + "_ck"
    fs = admin.create_topics([NewTopic(topic, 1, 1, config={"retention.ms": "3600000"})])
    fs[topic].result(10)

    def describe(name=topic, restype=ConfigResource.Type.TOPIC):
        res = ConfigResource(restype, name)
        return admin.describe_configs([res])[res].result(10)

    cfg = describe()
    check(cfg["retention.ms"].value == "3600000", "override retention.ms described (%s)" % cfg["retention.ms"].value)
    check(cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          "override source is DYNAMIC_TOPIC_CONFIG (%r)" % cfg["retention.ms"].source)
    check(cfg["cleanup.policy"].value == "delete" and cfg["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value,
          "default cleanup.policy=delete from DEFAULT_CONFIG")
    check(cfg["max.message.bytes"].value == "1048588", "max.message.bytes defaults to message.max.bytes")
    check(cfg["compression.type"].value == "producer", "compression.type defaults to producer")
    syn = cfg["retention.ms"].synonyms
    names = [s for s in syn]
    check(len(names) >= 2 and names[0] == "retention.ms", "synonyms start with the override (%r)" % names)

    # AlterConfigs replaces the whole set: retention.ms goes back to its default.
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"max.message.bytes": "2048"})
    admin.alter_configs([res])[res].result(10)
    cfg = describe()
    check(cfg["max.message.bytes"].value == "2048", "alter_configs set max.message.bytes=2048")
    check(cfg["retention.ms"].value == "604800000" and cfg["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value,
          "alter_configs replaced the override set (retention.ms back to default %s)" % cfg["retention.ms"].value)

    for bad, what in (({"retention.ms": "soon"}, "bad value"), ({"retention.ms": "-7"}, "out of range"),
                      ({"no.such.config": "1"}, "unknown config"), ({"cleanup.policy": "shred"}, "bad list item")):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config=bad)
        try:
            admin.alter_configs([res])[res].result(10)
            check(False, "alter_configs with %s was accepted" % what)
        except KafkaException as e:
            err = e.args[0]
            check(err.code() == KafkaError.INVALID_CONFIG, "alter_configs %s -> INVALID_CONFIG (%s)" % (what, err.str()))
    check(describe()["max.message.bytes"].value == "2048", "a rejected alter changed nothing")

    # max.message.bytes now rejects bigger batches and lets smaller ones through.
    results = {}

    def dr(err, msg):
        results[msg.value()[:5]] = err

    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0, "compression.type": "none",
                  "message.send.max.retries": 0})
    p.produce(topic, b"small" + b"s" * 1000, callback=dr)
    p.flush(10)
    p.produce(topic, b"large" + b"l" * 4000, callback=dr)
    p.flush(10)
    check(results.get(b"small") is None and b"small" in results, "a 1 KB batch passes max.message.bytes=2048")
    err = results.get(b"large")
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "a 4 KB batch is rejected with MESSAGE_TOO_LARGE (%r)" % (err,))

    # create_partitions: grow to 4, then produce into the new ones.
    fs = admin.create_partitions([NewPartitions(topic, 4)])
    fs[topic].result(10)
    md = admin.list_topics(topic, timeout=10)
    check(len(md.topics[topic].partitions) == 4, "create_partitions grew the topic to 4 partitions")
    fs = admin.create_partitions([NewPartitions(topic, 2)])
    try:
        fs[topic].result(10)
        check(False, "shrinking was accepted")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.INVALID_PARTITIONS, "fewer partitions -> INVALID_PARTITIONS")
    fs = admin.create_partitions([NewPartitions(topic, 6)], validate_only=True)
    fs[topic].result(10)
    check(len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 4, "validate_only changed nothing")
    delivered = []
    p2 = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0})
    for part in range(4):
        p2.produce(topic, b"p%d" % part, partition=part,
                   callback=lambda err, msg: delivered.append((err, msg.partition())))
    p2.flush(10)
    check(sorted(d[1] for d in delivered if d[0] is None) == [0, 1, 2, 3], "producer wrote to every partition, new ones too")

    # The BROKER resource: this node's static property and read-only flags.
    bcfg = describe("1", ConfigResource.Type.BROKER)
    e = bcfg["log.retention.check.interval.ms"]
    check(e.value == "200" and e.source == ConfigSource.STATIC_BROKER_CONFIG.value,
          "broker log.retention.check.interval.ms=200 from STATIC_BROKER_CONFIG (%s, %r)" % (e.value, e.source))
    check(bcfg["listeners"].is_read_only and not bcfg["log.retention.ms"].is_read_only,
          "static-only properties are read-only, topic defaults are not")


# ------------------------------------------------------------ kafka-python

def kafka_python_part():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    topic = PREFIX + "_kp"
    admin.create_topics([KPNewTopic(topic, 1, 1, topic_configs={"segment.bytes": "1024"})])
    r = admin.describe_configs([KPConfigResource(ConfigResourceType.TOPIC, topic)], include_synonyms=True)
    entries = {e[0]: e for e in r[0].resources[0][4]}
    # v1 entries: (name, value, read_only, source, is_sensitive, synonyms)
    check(entries["segment.bytes"][1] == "1024" and entries["segment.bytes"][3] == 1,
          "kafka-python sees segment.bytes=1024 from DYNAMIC_TOPIC_CONFIG")
    seg_syn = entries["segment.bytes"][5]
    check([s[0] for s in seg_syn] == ["segment.bytes", "log.segment.bytes"],
          "segment.bytes synonyms: override then log.segment.bytes (%r)" % (seg_syn,))

    r = admin.alter_configs([KPConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"segment.bytes": "1024", "retention.ms": "abc"})])
    check(r.resources[0][0] == INVALID_CONFIG, "kafka-python alter_configs with a bad value -> INVALID_CONFIG")

    # Retention: tiny segments, then retention.ms small makes old segments go.
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0)
    for i in range(40):
        producer.send(topic, b"x" * 200, partition=0).get(10)
    producer.close()
    segs = glob.glob(os.path.join(DATA_DIR, topic + "-0", "*.log")) if DATA_DIR else []
    check(not DATA_DIR or len(segs) > 3, "tiny segments rolled (%d segment files)" % len(segs))
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
    tp = TopicPartition(topic, 0)
    check(consumer.beginning_offsets([tp])[tp] == 0, "log starts at 0 before retention")
    r = admin.alter_configs([KPConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"segment.bytes": "1024", "retention.ms": "100"})])
    check(r.resources[0][0] == 0, "kafka-python alter_configs retention.ms=100")
    wait_for(lambda: consumer.beginning_offsets([tp])[tp] > 0, "retention to delete old segments")
    check(True, "retention.ms=100 deleted old segments (log start %d)" % consumer.beginning_offsets([tp])[tp])
    consumer.close()

    r = admin.create_partitions({topic: KPNewPartitions(3)})
    check(r.topic_errors[0][1] == 0, "kafka-python create_partitions to 3")
    try:
        admin.create_partitions({topic: KPNewPartitions(3)})
        check(False, "same count again was accepted")
    except InvalidPartitionsError as e:
        check("already has 3" in str(e), "same count again -> INVALID_PARTITIONS")
    admin.close()


# ------------------------------------------------------------ wire: IncrementalAlterConfigs

def incremental(conn, restype, name, ops, validate_only=False):
    body = kw.array([(restype, name, ops)], lambda r: kw.i8(r[0]) + kw.string(r[1]) + kw.array(
        r[2], lambda o: kw.string(o[0]) + kw.i8(o[1]) + kw.string(o[2])))
    body += kw.boolean(validate_only)
    rd = kw.Reader(conn.call(44, 0, body))
    rd.i32()
    out = []
    for _ in range(rd.array_len()):
        out.append((rd.i16(), rd.string(), rd.i8(), rd.string()))
    return out


def describe_wire(conn, restype, name, keys=None):
    """DescribeConfigs v1 with synonyms; {name: (value, source, [(syn, value, source)])}."""
    body = kw.array([(restype, name)], lambda r: kw.i8(r[0]) + kw.string(r[1]) + (
        kw.i32(-1) if keys is None else kw.array(keys, kw.string))) + kw.boolean(True)
    rd = kw.Reader(conn.call(32, 1, body))
    rd.i32()
    res = {}
    for _ in range(rd.array_len()):
        err, _msg, _t, _n = rd.i16(), rd.string(), rd.i8(), rd.string()
        res["__error__"] = err
        for _ in range(rd.array_len()):
            cname, value, _ro, source, _sens = rd.string(), rd.string(), rd.boolean(), rd.i8(), rd.boolean()
            syn = [(rd.string(), rd.string(), rd.i8()) for _ in range(rd.array_len())]
            res[cname] = (value, source, syn)
    return res


def wire_part():
    conn = kw.Conn(BOOTSTRAP, timeout=5.0)
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    topic = PREFIX + "_inc"
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    r = incremental(conn, 2, topic, [("retention.ms", 0, "60000"), ("cleanup.policy", 2, "compact")])
    check(r[0][0] == 0, "incremental SET + APPEND accepted (%r)" % (r[0],))
    d = describe_wire(conn, 2, topic, ["retention.ms", "cleanup.policy"])
    check(d["retention.ms"][0] == "60000" and d["cleanup.policy"][0] == "delete,compact",
          "incremental SET retention.ms and APPEND compact to cleanup.policy (%r)" % (d["cleanup.policy"][0],))
    r = incremental(conn, 2, topic, [("cleanup.policy", 3, "delete")])
    d = describe_wire(conn, 2, topic, ["cleanup.policy", "retention.ms"])
    check(r[0][0] == 0 and d["cleanup.policy"][0] == "compact", "incremental SUBTRACT delete leaves compact")
    check(d["retention.ms"][0] == "60000", "incremental ops keep the other overrides")
    r = incremental(conn, 2, topic, [("retention.ms", 2, "5")])
    check(r[0][0] == INVALID_CONFIG, "APPEND to a non-list config -> INVALID_CONFIG")
    r = incremental(conn, 2, topic, [("retention.ms", 0, "-9")], validate_only=True)
    check(r[0][0] == INVALID_CONFIG and "retention.ms" in (r[0][1] or ""),
          "validate_only still reports a bad value with a message (%r)" % (r[0][1],))
    r = incremental(conn, 2, topic, [("retention.ms", 1, None), ("cleanup.policy", 1, None)])
    d = describe_wire(conn, 2, topic, ["retention.ms", "cleanup.policy"])
    check(r[0][0] == 0 and d["retention.ms"][1] == 5 and d["cleanup.policy"][0] == "delete",
          "incremental DELETE goes back to the defaults")
    r = incremental(conn, 2, PREFIX + "_missing", [("retention.ms", 0, "1")])
    check(r[0][0] == 3, "unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")
    r = incremental(conn, 4, "7", [("log.retention.ms", 0, "1")])
    check(r[0][0] == 42, "BROKER resource of another id -> INVALID_REQUEST")
    check(describe_wire(conn, 4, "99")["__error__"] == 42, "describing another broker id -> INVALID_REQUEST")
    r = incremental(conn, 4, "", [("listeners", 0, "PLAINTEXT://:1")])
    check(r[0][0] == 42, "a property eddy reads only at start cannot be altered (INVALID_REQUEST, as Kafka answers "
                         "for a non-dynamic one: %r)" % (r[0][:2],))

    # Dynamic broker default: topics without an override follow it.
    r = incremental(conn, 4, "", [("log.retention.ms", 0, "7200000")])
    check(r[0][0] == 0, "set the cluster-default log.retention.ms")
    d = describe_wire(conn, 2, topic, ["retention.ms"])
    check(d["retention.ms"][0] == "7200000" and d["retention.ms"][1] == 3,
          "topic retention.ms follows the DYNAMIC_DEFAULT_BROKER_CONFIG (%r)" % (d["retention.ms"],))
    check([s[2] for s in d["retention.ms"][2]][:1] == [3] and d["retention.ms"][2][-1][0] == "log.retention.hours",
          "synonyms: dynamic default first, log.retention.hours default last (%r)" % (d["retention.ms"][2],))
    b = describe_wire(conn, 4, "")
    check(b.get("log.retention.ms", (None,))[0] == "7200000" and len(b) == 2,
          "BROKER '' lists only the dynamic defaults (%r)" % sorted(b))
    r = incremental(conn, 4, "", [("log.retention.ms", 1, None)])
    check(r[0][0] == 0 and describe_wire(conn, 2, topic, ["retention.ms"])["retention.ms"][0] == "604800000",
          "deleting the broker default restores the built-in one")
    conn.close()


# ------------------------------------------------------------ compression.type

def read_batches(path):
    """(attributes, records_count) of every batch in a segment file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 61 <= len(data):
        length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
        out.append((data[pos + 22] & 7, struct.unpack(">i", data[pos + 57:pos + 61])[0]))
        pos += 12 + length
    return out


def compression_part():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    topic = PREFIX + "_zstd"
    admin.create_topics([NewTopic(topic, 1, 1, config={"compression.type": "zstd"})])[topic].result(10)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5)
    values = [("v%d-" % i).encode() * 20 for i in range(50)]  # sent uncompressed (kafka-python's default)
    futs = [producer.send(topic, v, partition=0) for v in values]
    for f in futs:
        f.get(10)
    producer.close()
    # kafka-python has no zstd codec here: read back with librdkafka.
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "_zstd_reader",
                         "enable.auto.commit": False})
    consumer.assign([CKTopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 10
    while len(got) < len(values) and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    consumer.close()
    check(got == values, "records of a recompressed topic read back intact (%d of %d)" % (len(got), len(values)))
    if DATA_DIR:
        batches = read_batches(os.path.join(DATA_DIR, topic + "-0", "%020d.log" % 0))
        check(batches and all(b[0] == 4 for b in batches),
              "every stored batch is zstd though sent uncompressed (%r)" % (batches[:5],))


# ------------------------------------------------------------ restart

def restart_part():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        check(False, "EDDY_BIN is not set")
    data = tempfile.mkdtemp(prefix="eddy-admin-restart-")

    def start():
        p = subprocess.Popen([binary, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log.dirs", data],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline().strip()
        check(line.startswith("eddy ready on "), "own broker started")
        return p, line[len("eddy ready on "):]

    def stop(p):
        p.send_signal(signal.SIGTERM)
        check(p.wait(10) == 0, "own broker stopped cleanly")

    try:
        p, boot = start()
        admin = KafkaAdminClient(bootstrap_servers=boot)
        admin.create_topics([KPNewTopic("kept", 1, 1, topic_configs={"retention.ms": "123456"})])
        admin.alter_configs([KPConfigResource(ConfigResourceType.TOPIC, "kept",
                                              configs={"retention.ms": "654321", "cleanup.policy": "compact"})])
        admin.alter_configs([KPConfigResource(ConfigResourceType.BROKER, "1",
                                              configs={"compression.type": "lz4"})])
        admin.create_partitions({"kept": KPNewPartitions(5)})
        admin.close()
        stop(p)
        p, boot = start()
        conn = kw.Conn(boot, timeout=5.0)
        d = describe_wire(conn, 2, "kept", ["retention.ms", "cleanup.policy", "compression.type"])
        check(d["retention.ms"][0] == "654321" and d["cleanup.policy"][0] == "compact",
              "topic overrides survive a restart")
        check(d["compression.type"][0] == "lz4" and d["compression.type"][1] == 2,
              "the per-broker dynamic config survives a restart (%r)" % (d["compression.type"],))
        md = kw.decode_metadata_v1(conn.call(3, 1, kw.encode_metadata_v1(["kept"])))
        conn.close()
        check(len(md["topics"]["kept"][2]) == 5, "the grown partition count survives a restart")
        stop(p)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main():
    confluent_part()
    kafka_python_part()
    wire_part()
    compression_part()
    restart_part()
    print("all admin config checks passed")


if __name__ == "__main__":
    main()
