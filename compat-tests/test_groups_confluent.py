#!/usr/bin/python3
"""Consumer groups with confluent-kafka-python 1.7.0 (librdkafka 2.0.2)
against a running eddy (EDDY_BOOTSTRAP).

Every group member is a separate process: this file run as
`test_groups_confluent.py worker CONFIG_JSON` is one subscribed Consumer that
reports its rebalance callbacks and the messages it receives as JSON lines on
stdout and takes commands ("commit", "state", "close") on stdin. The parent
drives the members and checks what they report. A member can be SIGKILLed
like a crashed application.

Cases (the first argument picks one; run.py has a row per case):

  share        three eager members split a 6-partition topic (disjoint,
               covering); AdminClient.list_groups sees the group Stable with
               three members; one member is SIGKILLed and the other two take
               its partitions within the session timeout and together consume
               every message (duplicates are counted and printed); both commit
               and close; a new member in the same group starts at the
               committed offsets (committed() = end offsets) and reads only
               messages produced after that.
  cooperative  partition.assignment.strategy=cooperative-sticky: when a second
               member joins, the first revokes only the partitions that move
               and keeps the rest; when the second closes, the first is given
               its partitions back without revoking any of its own.
  static       group.instance.id: a member SIGKILLed and restarted within the
               session timeout gets the same partitions back, and the other
               member sees no rebalance (no on_assign/on_revoke).

The broker is expected to run with --group.initial.rebalance.delay.ms 0 and
--group.min.session.timeout.ms 1000 (see the TESTS table in run.py).
"""

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
PREFIX = os.environ.get("EDDY_TEST_NAME", "groups_confluent")
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
PARTITIONS = 6


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, flush=True)
        Member.kill_all()
        sys.exit(1)


LOG_LOCK = threading.Lock()


def log(*args):
    with LOG_LOCK:
        print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


T0 = time.monotonic()


# ---------------------------------------------------------------- worker side

def worker_main(conf_json):
    """One group member: subscribe, report callbacks and messages, obey stdin."""
    spec = json.loads(conf_json)
    lock = threading.Lock()

    def emit(**ev):
        with lock:
            sys.stdout.write(json.dumps(ev) + "\n")
            sys.stdout.flush()

    c = Consumer(spec["conf"])
    topic = spec["topic"]

    def on_assign(_c, parts):
        emit(ev="assign", parts=sorted(p.partition for p in parts), t=time.time())

    def on_revoke(_c, parts):
        emit(ev="revoke", parts=sorted(p.partition for p in parts), t=time.time())

    def on_lost(_c, parts):
        emit(ev="lost", parts=sorted(p.partition for p in parts), t=time.time())

    try:
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    except TypeError:  # a client without on_lost
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    emit(ev="started", pid=os.getpid())

    def state():
        asg = c.assignment()
        pos = {tp.partition: tp.offset for tp in c.position(asg)} if asg else {}
        com = {tp.partition: tp.offset for tp in c.committed(asg, timeout=10)} if asg else {}
        return {"assignment": sorted(tp.partition for tp in asg), "positions": pos, "committed": com}

    while True:
        # poll(), not consume(): librdkafka 2.0.2's batch consume does not
        # advance the position that position() reports.
        batch = []
        msg = c.poll(0.1)
        while msg is not None:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    emit(ev="error", err=str(err))
            else:
                batch.append([msg.partition(), msg.offset(), (msg.key() or b"").decode()])
            msg = c.poll(0) if len(batch) < 500 else None
        if batch:
            emit(ev="msgs", m=batch)
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if not r:
            continue
        cmd = sys.stdin.readline().strip()
        try:
            if cmd == "commit":
                try:
                    res = c.commit(asynchronous=False)
                    emit(ev="committed", offsets={tp.partition: tp.offset for tp in res or []})
                except KafkaException as e:
                    emit(ev="committed", offsets={}, err=str(e.args[0]))
            elif cmd == "state":
                emit(ev="state", **state())
            elif cmd in ("close", ""):
                c.close()
                emit(ev="closed")
                return 0
        except KafkaException as e:
            emit(ev="error", err="%s: %s" % (cmd, e.args[0]))


# ---------------------------------------------------------------- parent side

class Member:
    """A worker process and what it has reported so far."""

    all = []

    def __init__(self, name, topic, group, **extra):
        conf = {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "auto.commit.interval.ms": 500,
            "session.timeout.ms": 4000,
            "heartbeat.interval.ms": 300,
            "fetch.wait.max.ms": 100,
            "enable.partition.eof": False,
            "topic.metadata.refresh.interval.ms": 2000,
        }
        conf.update({k.replace("_", "."): v for k, v in extra.items()})
        self.name = name
        self.session_ms = conf["session.timeout.ms"]
        self.proc = subprocess.Popen([PYTHON, os.path.abspath(__file__), "worker",
                                      json.dumps({"conf": conf, "topic": topic})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     start_new_session=False)
        self.lock = threading.Lock()
        self.events = []          # every event, in order
        self.assigned = set()     # current assignment (assign adds, revoke/lost remove)
        self.seen = []            # (partition, offset, key) in arrival order
        self.replies = queue.Queue()
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()
        Member.all.append(self)

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)
                kind = ev["ev"]
                if kind == "assign":
                    self.assigned |= set(ev["parts"])
                    log("%s assigned %s -> now %s" % (self.name, ev["parts"], sorted(self.assigned)))
                elif kind in ("revoke", "lost"):
                    self.assigned -= set(ev["parts"])
                    log("%s %s %s -> now %s" % (self.name, kind, ev["parts"], sorted(self.assigned)))
                elif kind == "msgs":
                    self.seen.extend(tuple(m) for m in ev["m"])
                elif kind == "error":
                    self.errors.append(ev["err"])
                    log("%s error: %s" % (self.name, ev["err"]))
                elif kind in ("state", "committed", "closed"):
                    self.replies.put(ev)

    def rebalance_events(self):
        with self.lock:
            return [e for e in self.events if e["ev"] in ("assign", "revoke", "lost")]

    def parts(self):
        with self.lock:
            return set(self.assigned)

    def ask(self, cmd, want, timeout=15.0):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        try:
            ev = self.replies.get(timeout=timeout)
        except queue.Empty:
            check(False, "%s did not answer %r within %.0f s" % (self.name, cmd, timeout))
        check(ev["ev"] == want, "%s answered %r with %r" % (self.name, cmd, ev))
        return ev

    def close(self):
        self.ask("close", "closed", timeout=20)
        self.proc.wait(10)

    def sigkill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    @classmethod
    def kill_all(cls):
        for m in cls.all:
            if m.proc.poll() is None:
                m.proc.kill()


def wait_for(pred, what, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    check(False, "timed out after %.0f s waiting for %s" % (timeout, what))


def split_ok(members, n=PARTITIONS):
    sets = [m.parts() for m in members]
    if any(not s for s in sets):
        return False
    union = set().union(*sets)
    return union == set(range(n)) and sum(len(s) for s in sets) == n


def wait_split(members, what, timeout=25.0, settle=1.0):
    """Wait for a disjoint, covering assignment that holds for `settle` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        wait_for(lambda: split_ok(members), what, max(0.1, deadline - time.monotonic()))
        before = [len(m.rebalance_events()) for m in members]
        time.sleep(settle)
        if split_ok(members) and before == [len(m.rebalance_events()) for m in members]:
            return [m.parts() for m in members]
        check(time.monotonic() < deadline, "assignment did not settle: %s" % what)


def create_topic(name, parts=PARTITIONS):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for t, fut in admin.create_topics([NewTopic(name, parts, 1)], operation_timeout=10).items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            check(False, "create_topics(%s): %s" % (t, e.args[0]))
    wait_for(lambda: name in admin.list_topics(timeout=10).topics, "topic %s in metadata" % name)
    return admin


def produce(topic, first, count, parts=PARTITIONS):
    """Keys k-<i>, partition i % parts; returns {(partition, offset): key}."""
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "acks": "all"})
    out, errs = {}, []

    def cb(err, msg):
        if err is not None:
            errs.append(err)
        else:
            out[(msg.partition(), msg.offset())] = msg.key().decode()
    for i in range(first, first + count):
        p.produce(topic, key=b"k-%d" % i, value=b"v-%d" % i, partition=i % parts, on_delivery=cb)
        p.poll(0)
    check(p.flush(20) == 0, "produce to %s: messages left unflushed" % topic)
    check(not errs, "produce to %s: %s" % (topic, errs[:3]))
    check(len(out) == count, "produce to %s: %d delivery reports, want %d" % (topic, len(out), count))
    return out


def end_offsets(topic, parts=PARTITIONS):
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": PREFIX + "-watermarks"})
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(parts)}
    c.close()
    return ends


def group_info(admin, group):
    groups = admin.list_groups(group=group, timeout=10)
    check(len(groups) == 1, "list_groups(%s) returned %d groups" % (group, len(groups)))
    g = groups[0]
    check(g.error is None, "list_groups(%s): error %s" % (group, g.error))
    return g


# ---------------------------------------------------------------- cases

def case_share():
    topic, group = PREFIX + "_share", PREFIX + "-share"
    admin = create_topic(topic)
    ms = [Member("%s-m%d" % (PREFIX, i), topic, group) for i in range(3)]
    split = wait_split(ms, "three members to split %d partitions" % PARTITIONS)
    log("split:", [sorted(s) for s in split])
    check(all(len(s) == 2 for s in split), "range over 3 members should give 2 partitions each: %s" % split)

    g = group_info(admin, group)
    log("list_groups: state=%s protocol_type=%s protocol=%s members=%s" % (
        g.state, g.protocol_type, g.protocol, [m.client_id for m in g.members]))
    check(g.state == "Stable", "group state %r, want Stable" % g.state)
    check(g.protocol_type == "consumer", "protocol_type %r, want consumer" % g.protocol_type)
    check(g.protocol == "range", "protocol %r, want range (librdkafka's first preference)" % g.protocol)
    check(sorted(m.client_id for m in g.members) == sorted(m.name for m in ms),
          "members %r" % [m.client_id for m in g.members])

    produced = produce(topic, 0, 600)
    victim, survivors = ms[2], ms[:2]
    victim_parts = victim.parts()
    # Let the victim read (and maybe auto-commit) part of its share first.
    wait_for(lambda: len(victim.seen) > 0, "the victim to receive messages", 15)
    t_kill = time.monotonic()
    victim.sigkill()
    log("SIGKILLed %s holding %s" % (victim.name, sorted(victim_parts)))
    produced.update(produce(topic, 600, 300))

    # Broker notices after session.timeout.ms (4 s), then the survivors rejoin.
    wait_for(lambda: split_ok(survivors), "the survivors to take over %s" % sorted(victim_parts),
             timeout=victim.session_ms / 1000.0 + 10)
    took = time.monotonic() - t_kill
    wait_split(survivors, "the survivors' assignment to settle", timeout=10, settle=0.5)
    log("survivors hold %s, %.1f s after the kill" % ([sorted(m.parts()) for m in survivors], took))
    check(took < victim.session_ms / 1000.0 + 5,
          "takeover took %.1f s, session timeout is %.1f s" % (took, victim.session_ms / 1000.0))

    def seen_all():
        got = set()
        for m in ms:
            got |= {(p, o) for p, o, _ in m.seen}
        return set(produced) <= got
    wait_for(seen_all, "every produced message to be consumed by some member", 20)
    counts = {}
    for m in ms:
        for p, o, k in m.seen:
            check(produced.get((p, o)) == k, "%s got key %r at %d/%d, produced %r" % (
                m.name, k, p, o, produced.get((p, o))))
            counts[(p, o)] = counts.get((p, o), 0) + 1
    dups = sum(c - 1 for c in counts.values())
    log("%d messages consumed, %d duplicates (re-read after the kill, allowed)" % (len(counts), dups))
    for p in victim_parts:
        # Messages produced after the kill on the victim's partitions came from the survivors.
        mine = {(pp, o) for m in survivors for pp, o, _ in m.seen if pp == p}
        want = {(pp, o) for (pp, o), k in produced.items() if pp == p and int(k[2:]) >= 600}
        check(want <= mine, "partition %d: survivors missed %d post-kill messages" % (p, len(want - mine)))

    # Commit, close, reopen: the new member starts at the committed offsets.
    ends = end_offsets(topic)
    for m in survivors:
        r = m.ask("commit", "committed")
        log("%s commit -> %s %s" % (m.name, r.get("offsets"), r.get("err", "")))
        st = m.ask("state", "state")
        pos = {int(k): v for k, v in st["positions"].items()}
        com = {int(k): v for k, v in st["committed"].items()}
        # A partition with nothing delivered since its assignment has no
        # position yet (-1001); its committed offset must still be the end.
        check(all(com[p] == ends[p] and pos[p] in (ends[p], -1001) for p in pos),
              "%s after commit: committed %r positions %r, end offsets %r" % (m.name, com, pos, ends))
    for m in survivors:
        m.close()
    g = group_info(admin, group)
    check(g.state == "Empty" and not g.members, "after both closed: state %r with %d members, want Empty" % (
        g.state, len(g.members)))

    # Auto-commit off, so the explicit commit below is the one that counts.
    again = Member(PREFIX + "-reopened", topic, group, **{"enable.auto.commit": False})
    wait_split([again], "the reopened member to get all partitions")
    st = again.ask("state", "state")
    com = {int(k): v for k, v in st["committed"].items()}
    log("reopened member: committed %s, ends %s" % (com, ends))
    check(com == ends, "reopened member sees committed %r, want the end offsets %r" % (com, ends))
    fresh = produce(topic, 900, 60)
    wait_for(lambda: len(again.seen) >= len(fresh), "the reopened member to read the 60 new messages", 15)
    time.sleep(0.5)
    got = {(p, o): k for p, o, k in again.seen}
    check(got == fresh and len(again.seen) == len(fresh),
          "reopened member read %d messages (%d old ones), want exactly the %d new ones" % (
              len(again.seen), sum(1 for po in got if po not in fresh), len(fresh)))
    ends = end_offsets(topic)
    r = again.ask("commit", "committed")
    sent = {int(k): v for k, v in r["offsets"].items()}
    check("err" not in r and sent == ends, "explicit commit: %r %s, want offsets %r" % (
        sent, r.get("err", ""), ends))
    st = again.ask("state", "state")
    pos = {int(k): v for k, v in st["positions"].items()}
    com = {int(k): v for k, v in st["committed"].items()}
    check(pos == com == ends, "after reading: positions %r committed %r ends %r" % (pos, com, ends))
    again.close()
    errs = [e for m in ms + [again] for e in m.errors]
    check(not errs, "consumer errors: %s" % errs[:5])
    print("PASS: 3 members shared %d partitions, SIGKILL takeover in %.1f s, %d messages (%d duplicates), "
          "commit/close/reopen resumed at the committed offsets" % (PARTITIONS, took, len(counts), dups))


def case_cooperative():
    topic, group = PREFIX + "_coop", PREFIX + "-coop"
    admin = create_topic(topic)
    coop = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member(PREFIX + "-a", topic, group, **coop)
    wait_split([a], "the first member to own all partitions")
    n_a = len(a.rebalance_events())
    b = Member(PREFIX + "-b", topic, group, **coop)
    sa, sb = wait_split([a, b], "the two cooperative members to split the partitions")
    log("split: a=%s b=%s" % (sorted(sa), sorted(sb)))
    check(len(sa) == 3 and len(sb) == 3, "cooperative-sticky split %s / %s, want 3 / 3" % (sa, sb))
    evs = a.rebalance_events()[n_a:]
    revoked = set().union(*[set(e["parts"]) for e in evs if e["ev"] in ("revoke", "lost")])
    log("first member's events while the second joined:", [(e["ev"], e["parts"]) for e in evs])
    check(not any(e["ev"] == "lost" for e in evs), "the first member lost partitions: %s" % evs)
    check(revoked == sb, "the first member revoked %s, want only the moved ones %s" % (sorted(revoked), sorted(sb)))
    check(not any(set(e["parts"]) & sa for e in evs if e["ev"] == "revoke"),
          "the first member revoked partitions it kept: %s" % evs)

    g = group_info(admin, group)
    check(g.state == "Stable" and g.protocol == "cooperative-sticky" and len(g.members) == 2,
          "list_groups: state %r protocol %r members %d, want Stable cooperative-sticky 2" % (
              g.state, g.protocol, len(g.members)))

    produced = produce(topic, 0, 120)

    def all_seen():
        return set(produced) <= {(p, o) for m in (a, b) for p, o, _ in m.seen}
    wait_for(all_seen, "both members together to consume all 120 messages", 15)
    for m in (a, b):
        check({p for p, _, _ in m.seen} <= m.parts(), "%s read partitions it does not own" % m.name)

    n_a = len(a.rebalance_events())
    b.close()
    wait_split([a], "the first member to get the second's partitions back")
    evs = a.rebalance_events()[n_a:]
    log("first member's events while the second left:", [(e["ev"], e["parts"]) for e in evs])
    check(not any(e["ev"] in ("revoke", "lost") and e["parts"] for e in evs),
          "the first member revoked partitions when the second left: %s" % evs)
    got = set().union(*[set(e["parts"]) for e in evs if e["ev"] == "assign"])
    check(got == sb, "the first member was given %s, want the second's %s" % (sorted(got), sorted(sb)))
    a.close()
    errs = a.errors + b.errors
    check(not errs, "consumer errors: %s" % errs[:5])
    print("PASS: cooperative-sticky rebalanced incrementally (kept %s, moved %s)" % (sorted(sa), sorted(sb)))


def case_static():
    topic, group = PREFIX + "_static", PREFIX + "-static"
    admin = create_topic(topic)
    session = 6000
    static = lambda inst: {"group.instance.id": inst, "session.timeout.ms": session}  # noqa: E731
    # b joins first, so it leads; a is the follower that restarts.
    b = Member(PREFIX + "-b", topic, group, **static(PREFIX + "-inst-b"))
    wait_split([b], "the first static member to own all partitions")
    a = Member(PREFIX + "-a", topic, group, **static(PREFIX + "-inst-a"))
    sb, sa = wait_split([b, a], "two static members to split the partitions")
    log("split: a=%s b=%s" % (sorted(sa), sorted(sb)))
    g = group_info(admin, group)
    check(g.state == "Stable" and len(g.members) == 2, "list_groups: state %r, %d members" % (g.state, len(g.members)))
    old_ids = {m.client_id: m.id for m in g.members}

    n_b = len(b.rebalance_events())
    t_kill = time.monotonic()
    a.sigkill()
    a2 = Member(PREFIX + "-a", topic, group, **static(PREFIX + "-inst-a"))
    wait_for(lambda: a2.parts(), "the restarted static member to get an assignment", session / 1000.0 + 10)
    took = time.monotonic() - t_kill
    log("restarted member got %s %.1f s after the kill" % (sorted(a2.parts()), took))
    check(took < session / 1000.0, "rejoin took %.1f s, longer than the session timeout %d ms; "
          "the test cannot tell a static rejoin from an expiry" % (took, session))
    check(a2.parts() == sa, "restarted static member got %s, had %s" % (sorted(a2.parts()), sorted(sa)))
    # Wait past the old member's session timeout: it must not expire either.
    time.sleep(max(0.0, session / 1000.0 - took) + 1.5)
    evs = b.rebalance_events()[n_b:]
    check(not evs, "the other static member saw a rebalance: %s" % evs)
    check(b.parts() == sb and a2.parts() == sa, "assignment changed: a=%s b=%s" % (
        sorted(a2.parts()), sorted(b.parts())))
    g = group_info(admin, group)
    new_ids = {m.client_id: m.id for m in g.members}
    log("member ids before %s, after %s" % (old_ids, new_ids))
    check(g.state == "Stable" and len(g.members) == 2, "after the restart: state %r, %d members" % (
        g.state, len(g.members)))
    check(new_ids.get(b.name) == old_ids.get(b.name), "the other member's id changed: %r -> %r" % (
        old_ids.get(b.name), new_ids.get(b.name)))
    check(new_ids.get(a2.name) not in (None, old_ids.get(a2.name)),
          "the restarted member should hold a new member id for the same instance: %r -> %r" % (
              old_ids.get(a2.name), new_ids.get(a2.name)))

    produced = produce(topic, 0, 60)

    def all_seen():
        return set(produced) <= {(p, o) for m in (a2, b) for p, o, _ in m.seen}
    wait_for(all_seen, "both members to consume the 60 messages", 15)
    check({p for p, _, _ in a2.seen} <= sa, "the restarted member read partitions it does not own")
    a2.close()
    b.close()
    errs = a2.errors + b.errors
    check(not errs, "consumer errors: %s" % errs[:5])
    print("PASS: static member restarted in %.1f s with the same partitions %s, no rebalance of the other" % (
        took, sorted(sa)))


CASES = {"share": case_share, "cooperative": case_cooperative, "static": case_static}


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "worker":
        return worker_main(sys.argv[2])
    if not BOOTSTRAP:
        print("EDDY_BOOTSTRAP not set (run through run.py)")
        return 2
    names = sys.argv[1:] or list(CASES)
    for n in names:
        if n not in CASES:
            print("usage: %s [%s]" % (sys.argv[0], "|".join(CASES)))
            return 2
    try:
        for n in names:
            CASES[n]()
    finally:
        Member.kill_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
