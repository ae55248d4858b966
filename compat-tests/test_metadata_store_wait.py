#!/usr/bin/python3
"""Admin requests that wait for the metadata store.

The broker runs with eddy.test.metadata.delay.ms=400, so every topic and
config change finishes 400 ms after it was asked for, as changes will on
etcd; the admin handlers must then park the request and answer from the
store's callback (broker/store_wait.c):

  - confluent-kafka-python's AdminClient: create_topics (two at once, and a
    duplicate), create_partitions, alter_configs, delete_topics, each
    answered after the delay with the change applied;
  - requests pipelined behind a waiting CreateTopics on one connection are
    answered after it, in order, and see the new topic;
  - a connection closed while its CreateTopics waits: the topic is still
    created and the broker carries on (other connections are served
    meanwhile, without waiting).
Uses EDDY_BOOTSTRAP.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
PREFIX = os.environ.get("EDDY_TEST_NAME", "metadata_store_wait")
DELAY = 0.4
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def topics_now(c):
    """-> {name: (error, is_internal, {partition: (error, leader)})}"""
    return kw.decode_metadata_v1(c.call(3, 1, kw.encode_metadata_v1(None)))["topics"]


def timed(futures):
    """Waits for a dict of futures -> ({key: exception or None}, seconds)."""
    t0 = time.monotonic()
    out = {}
    for k, f in futures.items():
        try:
            f.result(timeout=10)
            out[k] = None
        except Exception as e:  # noqa: BLE001 - the admin client raises KafkaException
            out[k] = e
    return out, time.monotonic() - t0


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    admin = AdminClient({"bootstrap.servers": BOOT})
    a, b = PREFIX + "_a", PREFIX + "_b"

    res, took = timed(admin.create_topics([NewTopic(a, 2, 1), NewTopic(b, 1, 1)], operation_timeout=10))
    check(res[a] is None and res[b] is None, "create_topics: both created (%s)" % res)
    check(took >= DELAY * 0.9, "create_topics answered after the store's delay (%.3f s)" % took)
    c = kw.Conn(BOOT, timeout=5.0)
    now = topics_now(c)
    check(a in now and b in now, "metadata lists both topics right after the answer")

    res, _ = timed(admin.create_topics([NewTopic(a, 2, 1)]))
    check(res[a] is not None and "TOPIC_ALREADY_EXISTS" in str(res[a]), "duplicate: TOPIC_ALREADY_EXISTS (%s)" % res[a])

    res, took = timed(admin.create_partitions([NewPartitions(a, 4)]))
    check(res[a] is None and took >= DELAY * 0.9, "create_partitions waited and succeeded (%.3f s)" % took)
    now = topics_now(c)
    check(a in now and len(now[a][2]) == 4, "topic a has 4 partitions")

    res, took = timed(admin.alter_configs([ConfigResource("topic", a, set_config={"retention.ms": "123456"})]))
    check(all(v is None for v in res.values()) and took >= DELAY * 0.9,
          "alter_configs waited and succeeded (%.3f s)" % took)
    f = admin.describe_configs([ConfigResource("topic", a)])[ConfigResource("topic", a)]
    entries = f.result(timeout=10)
    check(entries["retention.ms"].value == "123456", "retention.ms applied: %s" % entries["retention.ms"].value)

    # Pipelined: CreateTopics then Metadata on one connection, sent together.
    p = PREFIX + "_pipelined"
    sock = kw.connect(BOOT, 5.0)
    sock.sendall(kw.request(19, 4, 1, kw.encode_create_topics_v4([(p, 1, 1)]), "pipe") +
                 kw.request(3, 1, 2, kw.encode_metadata_v1([p]), "pipe"))
    first = kw.recv_frame(sock, 5.0)
    second = kw.recv_frame(sock, 5.0)
    corr1, body1 = kw.strip_response_header(19, 4, first)
    corr2, body2 = kw.strip_response_header(3, 1, second)
    check((corr1, corr2) == (1, 2), "answers leave in request order (%d, %d)" % (corr1, corr2))
    _, created = kw.decode_create_topics_v4(body1)
    mt = kw.decode_metadata_v1(body2)["topics"]
    check(created[0][1] == 0, "pipelined create succeeded")
    check(p in mt and mt[p][0] == 0, "the Metadata behind it sees the topic: %s" % (mt,))
    sock.close()

    # Closed while waiting: the change still happens, the broker carries on.
    g = PREFIX + "_gone"
    sock = kw.connect(BOOT, 5.0)
    sock.sendall(kw.request(19, 4, 1, kw.encode_create_topics_v4([(g, 1, 1)]), "gone"))
    time.sleep(0.05)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    t0 = time.monotonic()
    topics_now(c)
    check(time.monotonic() - t0 < DELAY / 2, "another connection is served while a change waits")
    time.sleep(DELAY + 0.3)
    check(g in topics_now(c), "the abandoned CreateTopics still created its topic")

    res, took = timed(admin.delete_topics([a, b, p, g], operation_timeout=10))
    check(all(v is None for v in res.values()) and took >= DELAY * 0.9,
          "delete_topics waited and succeeded (%.3f s): %s" % (took, res))
    now = topics_now(c)
    check(not any(t in now for t in (a, b, p, g)), "no deleted topic is listed")
    c.close()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
