#!/usr/bin/python3
"""Committed offsets survive broker restarts, and a group resumes from them.

Starts its own eddy (EDDY_BIN) on a temporary data directory, three times:

1. A subscribed confluent-kafka consumer (group G) reads 30 messages and
   commits them (10 per partition); a consumer that only assign()s commits
   explicit offsets 3/5/7 for group S (a standalone commit: generation -1, no
   member id). The broker is stopped with SIGTERM and must exit 0.
2. Restarted on the same directory: committed() (OffsetFetch) for G is 10 on
   every partition and for S 3/5/7, and kafka-python's
   KafkaAdminClient.list_consumer_group_offsets agrees; AdminClient.list_groups
   still knows G. 15 messages are produced; a new member of G reads exactly
   those 15 (offsets 10..14), none of the committed ones, and commits; S
   commits 4/6/8. The broker is then SIGKILLed.
3. Restarted again: G is at 15 everywhere and S at 4/6/8 (commits are records
   in __consumer_offsets; with page-cache storage they survive a process
   kill); a member of G reads only a message produced after the restart.

The broker runs with --group.initial.rebalance.delay.ms 0 and
--group.min.session.timeout.ms 1000.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PREFIX = os.environ.get("EDDY_TEST_NAME", "groups_restart")
TOPIC = PREFIX + "_data"
GROUP = PREFIX + "-group"
SIMPLE = PREFIX + "-simple"
PARTITIONS = 3
BROKER_ARGS = ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
T0 = time.monotonic()


def log(*args):
    print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


class Broker:
    def __init__(self, binary, data, logdir):
        self.binary, self.data, self.logdir = binary, data, logdir
        self.proc, self.bootstrap, self.runs = None, None, 0

    def start(self):
        self.runs += 1
        self.err_path = os.path.join(self.logdir, "broker-%d.log" % self.runs)
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log.dirs", self.data] + BROKER_ARGS,
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("eddy ready on "):
            self.proc.kill()
            fail("broker run %d printed no ready line: %r" % (self.runs, line))
        self.bootstrap = line[len("eddy ready on "):]
        log("broker run %d ready on %s" % (self.runs, self.bootstrap))

    def stop(self, sig):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("broker did not exit within 10 s of signal %d" % sig)
        if sig == signal.SIGTERM:
            check(rc == 0, "broker exited with %d after SIGTERM, want 0" % rc)
        self.check_log()
        log("broker run %d stopped by signal %d (exit %d)" % (self.runs, sig, rc))

    def check_log(self):
        with open(self.err_path, errors="replace") as f:
            text = f.read()
        for m in SANITIZER_MARKERS:
            check(m not in text, "broker run %d stderr contains %r" % (self.runs, m))

    def tail(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return "".join(f.readlines()[-25:])
        except (OSError, AttributeError):
            return ""


BROKER = None


def fail(msg):
    print("FAIL: " + msg, flush=True)
    if BROKER is not None:
        print("--- broker stderr (run %d), last lines:\n%s" % (BROKER.runs, BROKER.tail()), flush=True)
        if BROKER.proc is not None and BROKER.proc.poll() is None:
            BROKER.proc.kill()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def conf(**extra):
    c = {"bootstrap.servers": BROKER.bootstrap, "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
         "fetch.wait.max.ms": 100, "enable.auto.commit": False, "auto.offset.reset": "earliest",
         "enable.partition.eof": False}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def produce(first, count):
    """keys k-<i> to partition i % 3; returns {(partition, offset): key}."""
    p = Producer({"bootstrap.servers": BROKER.bootstrap, "acks": "all", "linger.ms": 5})
    out, errs = {}, []

    def cb(err, msg):
        if err is not None:
            errs.append(err)
        else:
            out[(msg.partition(), msg.offset())] = msg.key().decode()
    for i in range(first, first + count):
        p.produce(TOPIC, key=b"k-%d" % i, value=b"v-%d" % i, partition=i % PARTITIONS, on_delivery=cb)
    check(p.flush(20) == 0 and not errs and len(out) == count, "produce: %d delivered, errors %s" % (len(out), errs[:3]))
    del p  # destroys the client now, before the broker it talks to is stopped
    return out


def committed(group):
    c = Consumer(conf(group_id=group))
    try:
        res = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=15)
    except KafkaException as e:
        fail("committed() for %s: %s" % (group, e.args[0]))
    c.close()
    for tp in res:
        check(tp.error is None, "committed() for %s partition %d: %s" % (group, tp.partition, tp.error))
    return {tp.partition: tp.offset for tp in res}


def admin_offsets(group):
    """OffsetFetch through a second client: kafka-python's admin."""
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=BROKER.bootstrap, client_id=PREFIX + "-kpy", request_timeout_ms=15000)
    try:
        res = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in res.items() if tp.topic == TOPIC}


def group_member_reads(n, timeout=20.0):
    """Subscribe a member of GROUP, read n messages (and any surplus within
    0.5 s), commit them, close. Returns [(partition, offset, key)]."""
    c = Consumer(conf(group_id=GROUP, client_id=PREFIX + "-member"))
    c.subscribe([TOPIC])
    got, deadline, extra_until = [], time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if len(got) >= n:
            extra_until = extra_until or time.monotonic() + 0.5
            if time.monotonic() > extra_until:
                break
        m = c.poll(0.1)
        if m is None:
            continue
        check(m.error() is None or m.error().code() == KafkaError._PARTITION_EOF, "consumer error: %s" % m.error())
        if m.error() is None:
            got.append((m.partition(), m.offset(), m.key().decode()))
    check(len(got) >= n, "the group member read %d messages within %.0f s, want %d" % (len(got), timeout, n))
    try:
        c.commit(asynchronous=False)
    except KafkaException as e:
        fail("commit: %s" % e.args[0])
    c.close()
    return got


def simple_commit(offsets):
    """A consumer that never joins: assign() and commit explicit offsets."""
    c = Consumer(conf(group_id=SIMPLE))
    tps = [TopicPartition(TOPIC, p, o) for p, o in offsets.items()]
    c.assign(tps)
    try:
        res = c.commit(offsets=tps, asynchronous=False)
    except KafkaException as e:
        fail("standalone commit for %s: %s" % (SIMPLE, e.args[0]))
    c.close()
    check(all(tp.error is None for tp in res), "standalone commit errors: %s" % [tp.error for tp in res])


def main():
    global BROKER
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        print("EDDY_BIN is not set (run through run.py)")
        return 2
    data = tempfile.mkdtemp(prefix="eddy-groups-restart-")
    logdir = tempfile.mkdtemp(prefix="eddy-groups-restart-logs-")
    BROKER = Broker(binary, data, logdir)
    try:
        run(BROKER)
    finally:
        if BROKER.proc is not None and BROKER.proc.poll() is None:
            BROKER.proc.kill()
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


def run(b):
    # --- run 1: commit, then a clean stop
    b.start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    for t, fut in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            fail("create_topics: %s" % e.args[0])
    first = produce(0, 30)
    got = group_member_reads(30)
    check({(p, o) for p, o, _ in got} == set(first) and len(got) == 30,
          "first member read %d messages, want the 30 produced once each" % len(got))
    ends = {p: 10 for p in range(PARTITIONS)}
    check(committed(GROUP) == ends, "before the restart: committed %r, want %r" % (committed(GROUP), ends))
    simple_commit({0: 3, 1: 5, 2: 7})
    check(committed(SIMPLE) == {0: 3, 1: 5, 2: 7}, "standalone commit read back as %r" % committed(SIMPLE))
    b.stop(signal.SIGTERM)

    # --- run 2: offsets survived a clean restart, the group resumes
    b.start()
    c = committed(GROUP)
    log("after SIGTERM restart: %s committed %s, %s committed %s" % (GROUP, c, SIMPLE, committed(SIMPLE)))
    check(c == ends, "after a clean restart %s has committed %r, want %r" % (GROUP, c, ends))
    check(committed(SIMPLE) == {0: 3, 1: 5, 2: 7}, "after a clean restart %s has %r, want 3/5/7" % (
        SIMPLE, committed(SIMPLE)))
    k = admin_offsets(GROUP)
    check(k == ends, "kafka-python list_consumer_group_offsets(%s) = %r, want %r" % (GROUP, k, ends))
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    groups = {g.id: g for g in admin.list_groups(timeout=10)}
    log("list_groups after restart:", {g: (x.state, x.protocol_type) for g, x in groups.items()})
    check(GROUP in groups and groups[GROUP].state == "Empty",
          "after the restart list_groups should show %s Empty: %r" % (GROUP, {g: x.state for g, x in groups.items()}))

    second = produce(30, 15)
    got = group_member_reads(15)
    old = [x for x in got if (x[0], x[1]) not in second]
    check(not old, "after the restart the group re-read %d committed messages, e.g. %s" % (len(old), old[:3]))
    check(sorted((p, o) for p, o, _ in got) == sorted(second) and all(second[(p, o)] == k for p, o, k in got),
          "after the restart the group read %d messages, want exactly the 15 new ones" % len(got))
    ends = {p: 15 for p in range(PARTITIONS)}
    check(committed(GROUP) == ends, "after reading: committed %r, want %r" % (committed(GROUP), ends))
    simple_commit({0: 4, 1: 6, 2: 8})
    b.stop(signal.SIGKILL)

    # --- run 3: offsets survived SIGKILL too
    b.start()
    c, s = committed(GROUP), committed(SIMPLE)
    log("after SIGKILL restart: %s committed %s, %s committed %s" % (GROUP, c, SIMPLE, s))
    check(c == ends, "after SIGKILL %s has committed %r, want %r" % (GROUP, c, ends))
    check(s == {0: 4, 1: 6, 2: 8}, "after SIGKILL %s has committed %r, want 4/6/8" % (SIMPLE, s))
    third = produce(45, 1)
    got = group_member_reads(1)
    check([(p, o) for p, o, _ in got] == list(third),
          "after SIGKILL the group read %s, want only the new message %s" % (got[:5], third))
    b.stop(signal.SIGTERM)
    print("PASS: committed offsets of a group and of a standalone committer survived SIGTERM and SIGKILL "
          "restarts; the group resumed without re-reading")


if __name__ == "__main__":
    sys.exit(main())
