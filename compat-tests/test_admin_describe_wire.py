#!/usr/bin/python3
"""DescribeCluster, DescribeLogDirs, DescribeProducers, DescribeTransactions
and ListTransactions on the wire, after an idempotent producer and a
transaction ran (confluent-kafka-python). Uses EDDY_BOOTSTRAP.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
NAME = os.environ.get("EDDY_TEST_NAME", "admin_describe")
T = kw.EMPTY_TAGS
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    topic, tid = NAME + "_t", NAME + "_tid"
    p = Producer({"bootstrap.servers": BOOT, "enable.idempotence": True})
    for i in range(10):
        p.produce(topic, key=b"k", value=b"v%d" % i)
    p.flush(10)
    tp = Producer({"bootstrap.servers": BOOT, "transactional.id": tid})
    tp.init_transactions(10)
    tp.begin_transaction()
    tp.produce(topic, value=b"in-txn")
    tp.flush(10)  # the transaction stays open while we look
    c = kw.Conn(BOOT, timeout=5.0)

    # DescribeCluster v0 (flexible)
    r = kw.Reader(c.call(60, 0, kw.boolean(False) + T))
    r.i32()
    err = r.i16()
    r.compact_string()
    cluster = r.compact_string()
    controller = r.i32()
    nb = r.compact_array_len()
    brokers = []
    for _ in range(nb):
        brokers.append((r.i32(), r.compact_string(), r.i32()))
        r.compact_string()
        r.tagged_fields()
    check(err == 0 and cluster and controller == 1 and [b[0] for b in brokers] == [1],
          "DescribeCluster: cluster %r, controller %d, brokers %r" % (cluster, controller, brokers))

    # DescribeLogDirs v1: all topics
    r = kw.Reader(c.call(35, 1, kw.i32(-1)))
    r.i32()
    sizes = {}
    for _ in range(r.array_len()):
        r.i16()
        r.string()
        for _ in range(r.array_len()):
            name = r.string()
            for _ in range(r.array_len()):
                idx, size, _, _ = r.i32(), r.i64(), r.i64(), r.boolean()
                sizes[(name, idx)] = size
    check(sizes.get((topic, 0), 0) > 0, "DescribeLogDirs reports %s-0 with %s bytes" % (topic, sizes.get((topic, 0))))

    # DescribeProducers v0: the idempotent producer and the open transaction
    body = kw.compact_array([topic], lambda t: kw.compact_string(t) + kw.compact_array([0], kw.i32) + T) + T
    r = kw.Reader(c.call(61, 0, body))
    r.i32()
    producers = []
    for _ in range(r.compact_array_len()):
        r.compact_string()
        for _ in range(r.compact_array_len()):
            r.i32()
            perr = r.i16()
            r.compact_string()
            for _ in range(r.compact_array_len()):
                producers.append((r.i64(), r.i32(), r.i32(), r.i64(), r.i32(), r.i64()))
                r.tagged_fields()
            r.tagged_fields()
        r.tagged_fields()
    open_txns = [pr for pr in producers if pr[5] >= 0]
    check(perr == 0 and len(producers) == 2 and len(open_txns) == 1,
          "DescribeProducers: two producers, one with an open transaction: %r" % producers)

    # ListTransactions v0 and DescribeTransactions v0
    r = kw.Reader(c.call(66, 0, kw.compact_array([]) + kw.compact_array([]) + T))
    r.i32()
    lerr = r.i16()
    for _ in range(r.compact_array_len()):
        r.compact_string()
    listed = []
    for _ in range(r.compact_array_len()):
        listed.append((r.compact_string(), r.i64(), r.compact_string()))
        r.tagged_fields()
    check(lerr == 0 and (tid, open_txns[0][0] if open_txns else -1, "Ongoing") in listed,
          "ListTransactions shows %s Ongoing: %r" % (tid, listed))
    r = kw.Reader(c.call(65, 0, kw.compact_array([tid, NAME + "_nope"], kw.compact_string) + T))
    r.i32()
    states = []
    for _ in range(r.compact_array_len()):
        e, i, st, to, start, pid, ep = (r.i16(), r.compact_string(), r.compact_string(), r.i32(), r.i64(), r.i64(),
                                        r.i16())
        tps = []
        for _ in range(r.compact_array_len()):
            tn = r.compact_string()
            tps += [(tn, x) for x in [r.i32() for _ in range(r.compact_array_len())]]
            r.tagged_fields()
        r.tagged_fields()
        states.append((e, i, st, tps))
    check(states[0][0] == 0 and states[0][2] == "Ongoing" and (topic, 0) in states[0][3],
          "DescribeTransactions: %r" % (states[0],))
    check(states[1][0] == 105, "unknown transactional id -> TRANSACTIONAL_ID_NOT_FOUND (%d)" % states[1][0])
    tp.abort_transaction(10)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
