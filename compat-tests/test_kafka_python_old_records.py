#!/usr/bin/python3
"""kafka-python 2.0.2 pinned to old broker versions (EDDY_BOOTSTRAP).

With api_version given, kafka-python skips ApiVersions and uses that
version's requests: (0, 8, 2) Produce v0 / Fetch v0 / ListOffsets v0 with
magic 0; (0, 9) Produce v1 / Fetch v1, magic 0; (0, 10, 0) Produce v2 /
Fetch v2, magic 1 with timestamps. For each, keyed messages (plain and gzip,
a null key and a tombstone among them) are produced with kafka-python's own
legacy message-set writer, end/beginning offsets are asked for, and a
consumer by assignment reads everything back; every key, value and offset
(and for magic 1 the explicit CreateTime timestamps) is compared, and so are
the request versions the client really sent.
"""

import os
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
PREFIX = os.environ.get("EDDY_TEST_NAME", "kafka_python_legacy")
N = 30
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def record_sends(client, sent):
    """Wrap KafkaClient.send so the test sees every request class it sends."""
    orig = client.send

    def send(node_id, request, *args, **kwargs):
        sent.add(type(request).__name__)
        return orig(node_id, request, *args, **kwargs)
    client.send = send


# What kafka-python 2.0.2 sends for each pinned version.
WANT = {(0, 8, 2): ("ProduceRequest_v0", "FetchRequest_v0", "OffsetRequest_v0"),
        (0, 9): ("ProduceRequest_v1", "FetchRequest_v1", "OffsetRequest_v0"),
        (0, 10, 0): ("ProduceRequest_v2", "FetchRequest_v2", "OffsetRequest_v0")}


def messages():
    out = []
    for i in range(N):
        key = None if i == 3 else b"key-%02d" % i
        value = None if i == 7 else b"value-%02d the quick brown fox" % i
        out.append((key, value, 1700000000000 + i))
    return out


def run(api_version, compression):
    topic = "%s_%s_%s" % (PREFIX, "_".join(map(str, api_version)), compression or "none")
    tp = TopicPartition(topic, 0)
    magic1 = api_version >= (0, 10)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, api_version=api_version, acks=1,
                             compression_type=compression, linger_ms=50, retries=10,
                             client_id="eddy-compat-kpy-legacy")
    requests = set()
    record_sends(producer._sender._client, requests)
    sent = messages()
    futures = []
    for key, value, ts in sent:
        kwargs = {"timestamp_ms": ts} if magic1 else {}
        futures.append(producer.send(topic, key=key, value=value, partition=0, **kwargs))
    producer.flush(30)
    offsets = []
    for f in futures:
        try:
            offsets.append(f.get(timeout=30).offset)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            check(False, "%s: produce failed: %r" % (topic, e))
            producer.close()
            return
    producer.close()
    check(offsets == list(range(N)), "%s: offsets 0..%d assigned in order" % (topic, N - 1))

    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, api_version=api_version, group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=10000,
                             client_id="eddy-compat-kpy-legacy")
    record_sends(consumer._client, requests)
    end = consumer.end_offsets([tp])[tp]
    begin = consumer.beginning_offsets([tp])[tp]
    check((begin, end) == (0, N), "%s: beginning/end offsets (ListOffsets) %r" % (topic, (begin, end)))
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    deadline = time.monotonic() + 20
    while len(got) < N and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500).values():
            got.extend(recs)
    consumer.close()
    check(len(got) == N, "%s: consumed %d of %d" % (topic, len(got), N))
    ok = True
    for i, r in enumerate(got[:N]):
        key, value, ts = sent[i]
        if (r.offset, r.key, r.value) != (i, key, value):
            ok = False
            print("     %s: record %d is %r" % (topic, i, (r.offset, r.key, r.value)))
        if magic1 and r.timestamp != ts:
            ok = False
            print("     %s: record %d timestamp %r, want %r" % (topic, i, r.timestamp, ts))
        if not magic1 and r.timestamp not in (None, -1):
            ok = False
            print("     %s: magic 0 record %d has timestamp %r" % (topic, i, r.timestamp))
    check(ok, "%s: every offset, key, value%s" % (topic, " and timestamp" if magic1 else ""))
    want = WANT[api_version]
    check(all(w in requests for w in want) and not any(
        r.startswith(("ProduceRequest", "FetchRequest", "OffsetRequest")) and r not in want for r in requests),
          "%s: the client sent %s (all sent: %s)" % (topic, ", ".join(want), ", ".join(sorted(requests))))


def main():
    for api_version in ((0, 8, 2), (0, 9), (0, 10, 0)):
        for compression in (None, "gzip"):
            run(api_version, compression)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
