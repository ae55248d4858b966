#!/usr/bin/python3
"""Consume-transform-produce, exactly once, with confluent-kafka-python 1.7.0
(librdkafka 2.0.2) against a running eddy (EDDY_BOOTSTRAP), while the worker
is SIGKILLed and restarted several times.

An input topic (3 partitions) holds N numbered records. A worker process
(this file run as `test_eos_ctp.py worker CONFIG_JSON`) is a consumer in a
group (isolation.level=read_committed, enable.auto.commit=false) and a
transactional producer with a fixed transactional.id. For each batch it
polls, it begins a transaction, produces one output record per input record
("<partition>:<offset>:<value>", same partition), adds its consumer positions
with send_offsets_to_transaction(consumer.position(assignment),
consumer.consumer_group_metadata()) and commits. It reports each commit as a
JSON line on stdout.

The parent SIGKILLs the worker at random moments (seeded; the seed is
printed), each time shortly after the restarted worker has committed at
least one transaction, so kills land inside transactions whose records
were already sent. A restarted worker's init_transactions fences its dead
predecessor and aborts the open transaction (records and pending offsets),
and its consumer resumes from the last committed offsets. After the kills
the last worker finishes the input and is stopped.

Checks: the output topic read with read_committed holds exactly one record
per input record (none lost, none twice), in input order per partition;
nothing but output records; the group's committed offsets are the input's
end offsets; read_uncommitted shows the aborted duplicates the kills left
(printed, and required to be > 0 so the run proves something).

The broker runs with --group.initial.rebalance.delay.ms 0 and
--group.min.session.timeout.ms 1000 (see the TESTS table in run.py).
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

from confluent_kafka import (Consumer, KafkaError, KafkaException, OFFSET_BEGINNING, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
PREFIX = os.environ.get("EDDY_TEST_NAME", "eos_ctp")
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
PARTITIONS = 3
COUNT = 3000
KILLS = 5
BATCH = 30
SESSION_MS = 2000
T0 = time.monotonic()


def log(*args):
    print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


# ---------------------------------------------------------------- worker side

def worker_main(conf_json):
    spec = json.loads(conf_json)
    rng = random.Random()

    def emit(**ev):
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()

    producer = Producer({"bootstrap.servers": spec["bootstrap"], "transactional.id": spec["txid"],
                         "linger.ms": 2, "transaction.timeout.ms": 20000})
    t = time.monotonic()
    producer.init_transactions(30)
    emit(ev="init", took=time.monotonic() - t, pid=os.getpid())
    consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": spec["group"],
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
                         "heartbeat.interval.ms": 300, "fetch.wait.max.ms": 50,
                         "enable.partition.eof": False})

    def on_assign(_c, parts):
        emit(ev="assign", parts=sorted(p.partition for p in parts))

    def on_revoke(_c, parts):
        emit(ev="revoke", parts=sorted(p.partition for p in parts))

    consumer.subscribe([spec["input"]], on_assign=on_assign, on_revoke=on_revoke)
    txns = 0
    while True:
        # poll(), not consume(): librdkafka 2.0.2's batch consume does not
        # advance the position that position() reports.
        msgs = []
        m = consumer.poll(0.2)
        while m is not None:
            if m.error():
                emit(ev="error", err="consume: %s" % m.error())
            else:
                msgs.append(m)
            m = consumer.poll(0) if len(msgs) < spec["batch"] else None
        if not msgs:
            continue
        try:
            producer.begin_transaction()
            last = {}
            for m in msgs:
                producer.produce(spec["output"], key=m.key(), partition=m.partition(),
                                 value=b"%d:%d:%s" % (m.partition(), m.offset(), m.value()))
                last[m.partition()] = m.offset()
            producer.poll(0)
            # Let the records reach the broker before the commit, so a kill
            # here leaves an open transaction with data in the log.
            time.sleep(rng.uniform(0.005, spec["slow"]))
            positions = consumer.position(consumer.assignment())
            for tp in positions:
                if tp.partition in last and tp.offset != last[tp.partition] + 1:
                    emit(ev="error", err="position %d on partition %d after offset %d" % (
                        tp.offset, tp.partition, last[tp.partition]))
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 20)
            producer.commit_transaction(20)
        except KafkaException as e:
            err = e.args[0]
            emit(ev="error", err="transaction: %s (fatal=%s abortable=%s retriable=%s)" % (
                err, err.fatal(), err.txn_requires_abort(), err.retriable()))
            # A correct broker gives a lone worker no reason for this; the
            # parent reports it and restarts the worker.
            if err.txn_requires_abort():
                try:
                    producer.abort_transaction(20)
                except KafkaException:
                    pass
            os._exit(3)
        txns += 1
        emit(ev="txn", n=len(msgs), txns=txns, last={str(p): o for p, o in last.items()})


# ---------------------------------------------------------------- parent side

class Worker:
    def __init__(self, n, spec):
        self.n = n
        self.proc = subprocess.Popen([PYTHON, os.path.abspath(__file__), "worker", json.dumps(spec)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()
        self.txns = 0
        self.records = 0
        self.errors = []
        self.idle_since = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if ev["ev"] == "txn":
                    self.txns += 1
                    self.records += ev["n"]
                    self.idle_since = time.monotonic()
                elif ev["ev"] == "error":
                    self.errors.append(ev["err"])
                    log("worker %d error: %s" % (self.n, ev["err"]))
                elif ev["ev"] in ("init", "assign", "revoke"):
                    log("worker %d %s %s" % (self.n, ev["ev"], {k: v for k, v in ev.items() if k != "ev"}))

    def committed_txns(self):
        with self.lock:
            return self.txns

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, flush=True)
        for w in Worker_all:
            if w.proc.poll() is None:
                w.proc.kill()
        sys.exit(1)


Worker_all = []


def wait_for(pred, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    check(False, "timed out after %.0f s waiting for %s" % (timeout, what))


def create_topics(names):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for t, fut in admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "create_topics(%s): %s" % (t, e.args[0]))


def produce_input(topic):
    """-> {(partition, offset): value}"""
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "acks": "all"})
    out, errs = {}, []

    def cb(err, msg):
        if err is not None:
            errs.append(str(err))
        else:
            out[(msg.partition(), msg.offset())] = msg.value().decode()
    for i in range(COUNT):
        p.produce(topic, key=b"k%d" % i, value=b"%d" % i, partition=i % PARTITIONS, on_delivery=cb)
        p.poll(0)
    check(p.flush(20) == 0 and not errs and len(out) == COUNT, "input produce: %d delivered, errors %s" % (
        len(out), errs[:3]))
    return out


def read_output(topic, isolation):
    """-> [(partition, offset, value)] up to end-of-partition everywhere."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "-reader",
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "enable.auto.offset.store": False, "auto.offset.reset": "error",
                  "fetch.wait.max.ms": 100, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    recs, eof = [], set()
    deadline = time.monotonic() + 30
    while len(eof) < PARTITIONS and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            check(m.error().code() == KafkaError._PARTITION_EOF, "%s reader: %s" % (isolation, m.error()))
            eof.add(m.partition())
            continue
        eof.discard(m.partition())
        recs.append((m.partition(), m.offset(), m.value().decode()))
    c.close()
    check(len(eof) == PARTITIONS, "%s reader: no end of partition within 30 s" % isolation)
    return recs


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        return worker_main(sys.argv[2])
    if not BOOTSTRAP:
        print("EDDY_BOOTSTRAP not set (run through run.py)")
        return 2
    seed = int(os.environ.get("EOS_CTP_SEED", random.SystemRandom().randrange(1 << 31)))
    rng = random.Random(seed)
    inp, out = PREFIX + "_in", PREFIX + "_out"
    group, txid = PREFIX + "-group", PREFIX + "-worker"
    create_topics([inp, out])
    produced = produce_input(inp)
    ends = {p: sum(1 for (pp, _) in produced if pp == p) for p in range(PARTITIONS)}
    log("seed %d (EOS_CTP_SEED=%d to replay): %d input records on %d partitions, %d kills" % (
        seed, seed, COUNT, PARTITIONS, KILLS))
    spec = {"bootstrap": BOOTSTRAP, "input": inp, "output": out, "group": group, "txid": txid,
            "batch": BATCH, "slow": 0.04}

    kills = 0
    processed_at_kill = []
    for n in range(KILLS + 1):
        w = Worker(n, spec)
        Worker_all.append(w)
        if n == KILLS:
            break
        # Kill once this worker is really working: it has committed at least
        # one transaction (it joined the group and fenced its predecessor).
        wait_for(lambda: w.committed_txns() >= 1 or w.proc.poll() is not None,
                 "worker %d to commit a transaction" % n, 30)
        check(w.proc.poll() is None, "worker %d exited with %s (errors %s)" % (n, w.proc.returncode, w.errors))
        time.sleep(rng.uniform(0.0, 0.4))
        w.kill()
        kills += 1
        processed_at_kill.append(w.records)
        log("worker %d SIGKILLed after %d committed transactions (%d records)" % (n, w.txns, w.records))
    last = Worker_all[-1]

    # The last worker finishes the input: wait until the committed output
    # covers it (a read_committed reader sees the count grow).
    def done():
        return len(read_output(out, "read_committed")) >= COUNT
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and last.proc.poll() is None:
        if done():
            break
        time.sleep(1.0)
    last.kill(signal.SIGTERM)
    errors = [e for w in Worker_all for e in w.errors]
    log("%d kills; workers committed %s transactions; worker errors: %d" % (
        kills, [w.txns for w in Worker_all], len(errors)))

    rc = read_output(out, "read_committed")
    ru = read_output(out, "read_uncommitted")
    failures = []
    seen = {}
    order_bad = []
    last_in = {p: -1 for p in range(PARTITIONS)}
    garbled = []
    for p, o, v in rc:
        parts = v.split(":")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            garbled.append((p, o, v))
            continue
        ip, io, val = int(parts[0]), int(parts[1]), parts[2]
        if ip != p or produced.get((ip, io)) != val:
            garbled.append((p, o, v))
            continue
        seen[(ip, io)] = seen.get((ip, io), 0) + 1
        if io <= last_in[p]:
            order_bad.append((p, o, v))
        last_in[p] = io
    missing = sorted(k for k in produced if k not in seen)
    dups = sorted(k for k, c in seen.items() if c > 1)
    log("output: read_committed %d records (%d distinct inputs, %d missing, %d duplicated, %d garbled, "
        "%d out of order); read_uncommitted %d records (%d from aborted transactions)" % (
            len(rc), len(seen), len(missing), len(dups), len(garbled), len(order_bad), len(ru),
            len(ru) - len(rc)))
    if errors:
        failures.append("workers reported errors: %s" % errors[:5])
    if missing:
        failures.append("%d input records have no committed output, e.g. %s" % (len(missing), missing[:8]))
    if dups:
        failures.append("%d input records have more than one committed output, e.g. %s" % (len(dups), dups[:8]))
    if garbled:
        failures.append("%d output records are not transformed inputs, e.g. %s" % (len(garbled), garbled[:5]))
    if order_bad:
        failures.append("%d output records out of input order, e.g. %s" % (len(order_bad), order_bad[:5]))
    if len(ru) <= len(rc):
        failures.append("read_uncommitted shows no aborted records: no kill hit an open transaction, "
                        "the run proves little")

    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "enable.auto.commit": False})
    com = {tp.partition: tp.offset for tp in c.committed(
        [TopicPartition(inp, p) for p in range(PARTITIONS)], timeout=10)}
    c.close()
    log("group %s committed offsets %s, input end offsets %s" % (group, com, ends))
    if com != ends:
        failures.append("committed offsets %s, want the input end offsets %s" % (com, ends))
    for f in failures:
        print("FAIL: " + f, flush=True)
    if failures:
        return 1
    log("PASS: %d input records, %d worker kills, exactly one committed output each" % (COUNT, kills))
    return 0


if __name__ == "__main__":
    sys.exit(main())
