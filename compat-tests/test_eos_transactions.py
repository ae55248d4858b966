#!/usr/bin/python3
"""Transactions with confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against
eddy: what read_committed and read_uncommitted consumers see, the last stable
offset, fencing by transactional id, and transactions cut by a broker restart.

The first argument picks a case (run.py has one row per case):

  visibility  One transactional producer commits a transaction, aborts one
              (flushed first, so its records are in the log), and commits
              another, on two partitions, while a plain producer writes
              between them. A read_committed consumer (assign() from the
              beginning) sees exactly the committed and the plain records, at
              the offsets read_uncommitted sees them at; read_uncommitted
              also sees the aborted ones; neither sees the control records
              (each marker takes an offset: the high watermark counts them).
  lso         While a second producer keeps a transaction open, the last
              stable offset stops at its first record: get_watermark_offsets
              of a read_committed consumer (ListOffsets latest, isolation 1)
              answers the LSO, of a read_uncommitted one the high watermark;
              a read_committed consumer reads up to the LSO and then nothing,
              not even the plain records appended after the open transaction;
              when that transaction commits, the waiting consumer receives
              the rest.
  fence       A second producer with the same transactional.id runs
              init_transactions while the first has an open transaction with
              records in the log: the first one's transaction is aborted (its
              records are invisible to read_committed) and its next
              commit_transaction fails with a fatal fencing error; the second
              one's transactions work.
  restart     Its own broker (EDDY_BIN) on a temporary directory and fixed
              port: a committed transaction, then an open one with flushed
              records, then SIGKILL and a restart on the same directory. The
              open transaction is aborted by the restarted broker (invisible
              to read_committed, visible to read_uncommitted, the LSO is not
              stuck) and the old producer's commit_transaction fails with a
              fencing error; a new producer with the same transactional.id
              works. Then the same once more with SIGTERM (clean shutdown).
  c_producer  Runs compat_txn_producer (compat-tests/txn_producer.c, a
              librdkafka transactional producer in C, which checks its own
              output with read_committed and read_uncommitted consumers) and
              checks the topic again from Python.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from confluent_kafka import (Consumer, KafkaError, KafkaException, OFFSET_BEGINNING, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

PREFIX = os.environ.get("EDDY_TEST_NAME", "eos_txn")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "assertion failed")
FENCING_ERRORS = ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
T0 = time.monotonic()
BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
CLEANUPS = []
SOFT_FAILURES = []


def log(*args):
    print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, flush=True)
        for f in CLEANUPS:
            f()
        sys.exit(1)


def expect(cond, msg):
    """A failed check that does not stop the case, so that one broker bug
    does not hide the checks after it; main() fails at the end."""
    if not cond:
        print("FAIL (continuing): " + msg, flush=True)
        SOFT_FAILURES.append(msg)
    return cond


# ---------------------------------------------------------------- helpers

def create_topic(name, parts):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for t, fut in admin.create_topics([NewTopic(name, parts, 1)], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "create_topics(%s): %s" % (t, e.args[0]))


def txn_producer(txid, **extra):
    conf = {"bootstrap.servers": BOOTSTRAP, "transactional.id": txid, "linger.ms": 5,
            "transaction.timeout.ms": 60000, "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200}
    conf.update(extra)
    p = Producer(conf)
    t = time.monotonic()
    try:
        p.init_transactions(30)
    except KafkaException as e:
        check(False, "init_transactions(%s): %s" % (txid, e.args[0]))
    log("producer %s: init_transactions took %.2f s" % (txid, time.monotonic() - t))
    return p


def send(p, topic, values, parts, what):
    """Produces values (value i to partition i % parts) and flushes; the
    delivery reports must carry no error. -> {value: (partition, offset)}."""
    out, errs = {}, []

    def cb(err, msg):
        if err is not None:
            errs.append(str(err))
        else:
            out[msg.value().decode()] = (msg.partition(), msg.offset())
    for n, v in enumerate(values):
        p.produce(topic, value=v.encode(), partition=n % parts, on_delivery=cb)
    left = p.flush(20)
    check(left == 0 and not errs, "%s: %d unflushed, delivery errors %s" % (what, left, errs[:3]))
    check(len(out) == len(values), "%s: %d delivery reports for %d records" % (what, len(out), len(values)))
    return out


def plain_producer():
    return Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "acks": "all"})


def commit(p, what):
    try:
        p.commit_transaction(20)
    except KafkaException as e:
        check(False, "%s: commit_transaction: %s" % (what, e.args[0]))


def consumer(isolation, name):
    return Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "%s-%s" % (PREFIX, name),
                     "isolation.level": isolation, "enable.auto.commit": False,
                     "enable.auto.offset.store": False, "auto.offset.reset": "error",
                     "fetch.wait.max.ms": 100, "enable.partition.eof": True})


def read_all(topic, parts, isolation, timeout=20.0):
    """Every record from offset 0 until end-of-partition on every partition
    (the LSO under read_committed). -> ([(partition, offset, value)], {partition: high})."""
    c = consumer(isolation, "reader-" + isolation)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
    recs, eof = [], set()
    deadline = time.monotonic() + timeout
    while len(eof) < parts and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                continue
            check(False, "%s consumer of %s: %s" % (isolation, topic, m.error()))
        eof.discard(m.partition())
        recs.append((m.partition(), m.offset(), m.value().decode()))
    check(len(eof) == parts, "%s consumer of %s: no end of partition on %s within %.0f s (read %d)" % (
        isolation, topic, sorted(set(range(parts)) - eof), timeout, len(recs)))
    highs = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(parts)}
    c.close()
    return recs, highs


def watermarks(topic, partition, isolation):
    c = consumer(isolation, "wm-" + isolation)
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    c.close()
    return lo, hi


def values(recs):
    return [v for _, _, v in recs]


def by_partition(recs, parts):
    return {p: [v for pp, _, v in recs if pp == p] for p in range(parts)}


def expect_fenced(p, what):
    """commit_transaction on a producer that was fenced must fail fatally."""
    try:
        p.commit_transaction(20)
    except KafkaException as e:
        err = e.args[0]
        log("%s: commit_transaction failed as it should: %s (fatal=%s, abortable=%s)" % (
            what, err, err.fatal(), err.txn_requires_abort()))
        check(err.name() in FENCING_ERRORS or any(f in err.str() for f in FENCING_ERRORS),
              "%s: commit_transaction failed with %s (%s), want one of %s" % (
                  what, err.name(), err.str(), FENCING_ERRORS))
        check(err.fatal(), "%s: fencing error %s should be fatal" % (what, err.name()))
        return
    check(False, "%s: commit_transaction of the fenced producer succeeded" % what)


# ---------------------------------------------------------------- cases

def case_visibility():
    topic, parts = PREFIX + "_vis", 2
    create_topic(topic, parts)
    p = txn_producer(PREFIX + "-vis")
    plain = plain_producer()
    c1 = ["c1-%d" % i for i in range(10)]
    a1 = ["a1-%d" % i for i in range(7)]
    mid = ["plain-%d" % i for i in range(4)]
    c2 = ["c2-%d" % i for i in range(6)]

    p.begin_transaction()
    send(p, topic, c1, parts, "txn 1")
    commit(p, "txn 1")
    p.begin_transaction()
    send(p, topic, a1, parts, "txn 2")
    send(plain, topic, mid, parts, "plain records inside txn 2")
    p.abort_transaction(20)
    p.begin_transaction()
    send(p, topic, c2, parts, "txn 3")
    commit(p, "txn 3")
    log("committed %d, aborted %d (flushed first), plain %d, committed %d, on %d partitions" % (
        len(c1), len(a1), len(mid), len(c2), parts))

    rc, rc_high = read_all(topic, parts, "read_committed")
    ru, ru_high = read_all(topic, parts, "read_uncommitted")
    log("read_committed: %d records, highs %s; read_uncommitted: %d records, highs %s" % (
        len(rc), rc_high, len(ru), ru_high))
    for name, got, groups in (("read_committed", rc, (c1, mid, c2)), ("read_uncommitted", ru, (c1, a1, mid, c2))):
        # a1 was flushed before the plain records were sent, so in each
        # partition the log order is c1, a1, plain, c2.
        for q in range(parts):
            want = [v for g in groups for n, v in enumerate(g) if n % parts == q]
            have = [v for qq, _, v in got if qq == q]
            offs = [o for qq, o, _ in got if qq == q]
            check(have == want, "%s partition %d: got %s, want %s" % (name, q, have, want))
            check(offs == sorted(set(offs)), "%s partition %d: offsets %s not increasing" % (name, q, offs))
    at_ru = {v: (q, o) for q, o, v in ru}
    moved = [(v, (q, o), at_ru.get(v)) for q, o, v in rc if at_ru.get(v) != (q, o)]
    check(not moved, "read_committed saw records at other offsets than read_uncommitted: %s" % moved[:5])
    # Every transaction touched both partitions: 3 markers each.
    for q in range(parts):
        n = len(by_partition(ru, parts)[q])
        check(ru_high[q] == n + 3, "partition %d: high watermark %d, want %d records + 3 markers" % (
            q, ru_high[q], n))
        check(rc_high[q] == ru_high[q], "partition %d: read_committed latest offset %d != high watermark %d "
              "with no transaction open" % (q, rc_high[q], ru_high[q]))
        offs = sorted(o for qq, o, _ in ru if qq == q)
        check(len(set(offs)) == len(offs) and offs[-1] < ru_high[q], "partition %d: offsets %s" % (q, offs))
    log("checked: committed visible, aborted invisible to read_committed and visible to read_uncommitted")


def poll_for(c, seconds):
    """Records (not EOF events) received within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error():
            check(m.error().code() == KafkaError._PARTITION_EOF, "consumer: %s" % m.error())
            continue
        out.append((m.partition(), m.offset(), m.value().decode()))
    return out


def case_lso():
    topic = PREFIX + "_lso"
    create_topic(topic, 1)
    plain = plain_producer()
    holder = txn_producer(PREFIX + "-holder")
    pre = send(plain, topic, ["pre-%d" % i for i in range(5)], 1, "plain before")
    holder.begin_transaction()
    opened = send(holder, topic, ["open-%d" % i for i in range(3)], 1, "open txn")
    post = send(plain, topic, ["post-%d" % i for i in range(4)], 1, "plain after")
    lso = min(o for _, o in opened.values())
    log("plain offsets %s, open transaction at %s, plain after it %s" % (
        sorted(o for _, o in pre.values()), sorted(o for _, o in opened.values()),
        sorted(o for _, o in post.values())))
    check(lso == 5, "the open transaction's first record is at %d, want 5" % lso)

    rc_wm, ru_wm = watermarks(topic, 0, "read_committed"), watermarks(topic, 0, "read_uncommitted")
    log("while open: read_committed watermarks %s, read_uncommitted %s" % (rc_wm, ru_wm))
    check(ru_wm == (0, 12), "read_uncommitted watermarks %s, want (0, 12)" % (ru_wm,))
    expect(rc_wm == (0, 5), "read_committed watermarks %s, want (0, 5): ListOffsets latest under "
          "read_committed must answer the last stable offset" % (rc_wm,))

    waiting = consumer("read_committed", "waiting")
    waiting.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = poll_for(waiting, 3.0)
    log("read_committed consumer while open: %s" % values(got))
    check(values(got) == ["pre-%d" % i for i in range(5)],
          "read_committed read %s while a transaction is open at offset 5, want pre-0..4 only" % values(got))
    ru, _ = read_all(topic, 1, "read_uncommitted")
    check(values(ru) == ["pre-%d" % i for i in range(5)] + ["open-%d" % i for i in range(3)]
          + ["post-%d" % i for i in range(4)], "read_uncommitted read %s" % values(ru))

    commit(holder, "holder")
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 7 and time.monotonic() < deadline:
        got += poll_for(waiting, 0.3)
    got += poll_for(waiting, 0.5)
    waiting.close()
    log("after commit the waiting consumer got: %s" % values(got))
    check(values(got) == ["open-%d" % i for i in range(3)] + ["post-%d" % i for i in range(4)],
          "after the commit the read_committed consumer got %s, want open-0..2 then post-0..3" % values(got))
    check([o for _, o, _ in got] == list(range(5, 12)), "offsets %s, want 5..11" % [o for _, o, _ in got])
    rc_wm, ru_wm = watermarks(topic, 0, "read_committed"), watermarks(topic, 0, "read_uncommitted")
    log("after commit: read_committed watermarks %s, read_uncommitted %s" % (rc_wm, ru_wm))
    expect(rc_wm == ru_wm == (0, 13), "after commit watermarks %s / %s, want (0, 13) for both "
          "(12 records + the commit marker)" % (rc_wm, ru_wm))

    # An aborted transaction with plain records after it: the LSO holds at
    # the aborted records until the abort, then read_committed skips them.
    holder.begin_transaction()
    send(holder, topic, ["ab-%d" % i for i in range(2)], 1, "txn to abort")
    send(plain, topic, ["post2-%d" % i for i in range(2)], 1, "plain after txn to abort")
    expect(watermarks(topic, 0, "read_committed") == (0, 13), "LSO with the second transaction open: %s, "
          "want (0, 13)" % (watermarks(topic, 0, "read_committed"),))
    holder.abort_transaction(20)
    rc, _ = read_all(topic, 1, "read_committed")
    check(values(rc)[-2:] == ["post2-0", "post2-1"] and not any(v.startswith("ab-") for v in values(rc)),
          "read_committed after abort: %s" % values(rc)[-6:])
    expect(watermarks(topic, 0, "read_committed") == (0, 18), "LSO after abort %s, want (0, 18)" % (
        watermarks(topic, 0, "read_committed"),))
    log("checked: the LSO holds read_committed readers and ListOffsets at an open transaction")


def case_fence():
    topic, parts = PREFIX + "_fence", 2
    create_topic(topic, parts)
    txid = PREFIX + "-shared"
    first = txn_producer(txid)
    first.begin_transaction()
    send(first, topic, ["first-%d" % i for i in range(6)], parts, "first producer's open txn")
    t = time.monotonic()
    second = txn_producer(txid)
    took = time.monotonic() - t
    log("second init_transactions with the same transactional.id took %.2f s" % took)
    check(took < 15, "fencing the first producer took %.1f s" % took)
    # The old transaction must already be aborted: nothing is open, so the LSO is the high watermark.
    for q in range(parts):
        rc_wm, ru_wm = watermarks(topic, q, "read_committed"), watermarks(topic, q, "read_uncommitted")
        check(rc_wm == ru_wm == (0, 4), "partition %d after the fence: watermarks %s / %s, want (0, 4) "
              "for both (3 records + abort marker)" % (q, rc_wm, ru_wm))
    expect_fenced(first, "first producer")
    second.begin_transaction()
    send(second, topic, ["second-%d" % i for i in range(4)], parts, "second producer's txn")
    commit(second, "second producer")
    rc, _ = read_all(topic, parts, "read_committed")
    ru, _ = read_all(topic, parts, "read_uncommitted")
    log("read_committed %s; read_uncommitted %d records" % (values(rc), len(ru)))
    check(sorted(values(rc)) == sorted("second-%d" % i for i in range(4)),
          "read_committed sees %s, want only second-0..3" % values(rc))
    check(sorted(values(ru)) == sorted(["first-%d" % i for i in range(6)] + ["second-%d" % i for i in range(4)]),
          "read_uncommitted sees %s" % values(ru))
    log("checked: the second init_transactions fenced the first producer and aborted its transaction")


# ---------------------------------------------------------------- restart

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OwnBroker:
    """Successive eddy runs on one directory and port (clients reconnect)."""

    def __init__(self, binary, data, work, port):
        self.args = [binary, "--listeners", "PLAINTEXT://127.0.0.1:%d" % port, "--log.dirs", data]
        self.work, self.port, self.runs, self.proc = work, port, 0, None

    def start(self):
        self.runs += 1
        self.err_path = os.path.join(self.work, "broker-%d.log" % self.runs)
        out_path = os.path.join(self.work, "broker-%d.out" % self.runs)
        with open(out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        want = "eddy ready on 127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(out_path, errors="replace") as f:
                if want in f.read().splitlines():
                    log("broker run %d ready on port %d" % (self.runs, self.port))
                    return
            if self.proc.poll() is not None:
                self.dump()
                check(False, "broker run %d exited with %d before its ready line" % (self.runs, self.proc.returncode))
            time.sleep(0.02)
        self.proc.kill()
        check(False, "broker run %d printed no ready line within 10 s" % self.runs)

    def stop(self, sig):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            check(False, "broker run %d did not exit within 10 s of signal %d" % (self.runs, sig))
        log("broker run %d stopped by signal %d (exit %d)" % (self.runs, sig, rc))
        if sig == signal.SIGTERM:
            check(rc == 0, "broker run %d exited with %d after SIGTERM" % (self.runs, rc))
        with open(self.err_path, errors="replace") as f:
            text = f.read()
        for m in SANITIZER_MARKERS:
            check(m not in text, "broker run %d logged %r (%s)" % (self.runs, m, self.err_path))

    def dump(self, n=25):
        try:
            with open(self.err_path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        print("--- broker run %d stderr, last %d lines:" % (self.runs, n))
        for line in lines[-n:]:
            print("    " + line)

    def txn_lines(self):
        with open(self.err_path, errors="replace") as f:
            return [l for l in f.read().splitlines() if " txn" in l or "transaction" in l]


def restart_round(broker, topic, txid, sig, tag):
    """One committed and one open transaction, then a restart by `sig`."""
    p = txn_producer(txid)
    p.begin_transaction()
    committed = ["%s-committed-%d" % (tag, i) for i in range(5)]
    send(p, topic, committed, 1, "%s committed txn" % tag)
    commit(p, "%s committed txn" % tag)
    p.begin_transaction()
    opened = ["%s-open-%d" % (tag, i) for i in range(6)]
    send(p, topic, opened, 1, "%s open txn" % tag)
    expect(watermarks(topic, 0, "read_committed")[1] < watermarks(topic, 0, "read_uncommitted")[1],
           "%s: ListOffsets under read_committed: the open transaction does not hold the LSO back" % tag)
    broker.stop(sig)
    broker.start()
    for line in broker.txn_lines():
        log("  broker: " + line)
    rc_wm, ru_wm = watermarks(topic, 0, "read_committed"), watermarks(topic, 0, "read_uncommitted")
    log("%s after restart: read_committed watermarks %s, read_uncommitted %s" % (tag, rc_wm, ru_wm))
    check(rc_wm == ru_wm, "%s: after the restart the LSO %s != high watermark %s: the interrupted "
          "transaction was not finished" % (tag, rc_wm, ru_wm))
    expect_fenced(p, "%s: the producer whose transaction the restart interrupted" % tag)
    return committed, opened


def case_restart():
    global BOOTSTRAP
    binary = os.environ.get("EDDY_BIN")
    check(binary and os.access(binary, os.X_OK), "EDDY_BIN not set or not executable")
    work = tempfile.mkdtemp(prefix="eddy-eos-restart-")
    data = os.path.join(work, "data")
    os.mkdir(data)
    port = free_port()
    broker = OwnBroker(binary, data, work, port)
    CLEANUPS.append(lambda: (broker.dump(), broker.proc and broker.proc.poll() is None and broker.proc.kill(),
                             print("kept %s" % work)))
    BOOTSTRAP = "127.0.0.1:%d" % port
    broker.start()
    topic, txid = PREFIX + "_restart", PREFIX + "-restart"
    create_topic(topic, 1)

    c1, o1 = restart_round(broker, topic, txid, signal.SIGKILL, "kill")
    c2, o2 = restart_round(broker, topic, txid, signal.SIGTERM, "term")

    p = txn_producer(txid)
    p.begin_transaction()
    after = ["after-%d" % i for i in range(3)]
    send(p, topic, after, 1, "new producer's txn")
    commit(p, "new producer's txn")
    rc, _ = read_all(topic, 1, "read_committed")
    ru, _ = read_all(topic, 1, "read_uncommitted")
    log("read_committed: %s" % values(rc))
    check(values(rc) == c1 + c2 + after, "read_committed reads %s, want %s" % (values(rc), c1 + c2 + after))
    check(values(ru) == c1 + o1 + c2 + o2 + after, "read_uncommitted reads %s" % values(ru))
    broker.stop(signal.SIGTERM)
    shutil.rmtree(work, ignore_errors=True)
    log("checked: transactions interrupted by SIGKILL and by SIGTERM were aborted and their producer fenced")


# ---------------------------------------------------------------- C producer

def case_c_producer():
    build = os.environ.get("EDDY_BUILD_DIR", "")
    exe = os.path.join(build, "compat-tests", "compat_txn_producer")
    check(os.access(exe, os.X_OK), "%s is missing: build target compat_txn_producer" % exe)
    topic, parts, txns, per, abort_at = PREFIX + "_c", 3, 6, 50, 2
    create_topic(topic, parts)
    cmd = [exe, "--bootstrap", BOOTSTRAP, "--topic", topic, "--partitions", str(parts),
           "--transactions", str(txns), "--per-txn", str(per), "--abort", str(abort_at),
           "--transactional-id", PREFIX + "-c"]
    log("running " + " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    for line in r.stdout.splitlines():
        print("  | " + line)
    check(r.returncode == 0, "compat_txn_producer exited with %d" % r.returncode)
    rc, _ = read_all(topic, parts, "read_committed")
    ru, _ = read_all(topic, parts, "read_uncommitted")
    want_c = sorted("t%d-m%d" % (t, m) for t in range(txns) if t != abort_at for m in range(per))
    want_u = sorted("t%d-m%d" % (t, m) for t in range(txns) for m in range(per))
    check(sorted(values(rc)) == want_c, "Python read_committed: %d records, want %d (aborted txn %d hidden)" % (
        len(rc), len(want_c), abort_at))
    check(sorted(values(ru)) == want_u, "Python read_uncommitted: %d records, want %d" % (len(ru), len(want_u)))
    log("checked: the C transactional producer's committed transactions are visible, the aborted one is not")


CASES = {"visibility": case_visibility, "lso": case_lso, "fence": case_fence,
         "restart": case_restart, "c_producer": case_c_producer}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: %s {%s}" % (sys.argv[0], "|".join(CASES)))
        return 2
    if sys.argv[1] != "restart" and not BOOTSTRAP:
        print("EDDY_BOOTSTRAP not set (run through run.py)")
        return 2
    CASES[sys.argv[1]]()
    if SOFT_FAILURES:
        print("%d check(s) failed:" % len(SOFT_FAILURES))
        for f in SOFT_FAILURES:
            print("FAIL: " + f)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
