#!/usr/bin/python3
"""Consumer groups with kafka-python 2.0.2 against a running eddy
(EDDY_BOOTSTRAP).

kafka-python infers the broker version from ApiVersions and then picks fixed
versions of FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
OffsetCommit and OffsetFetch; no api_version is passed, so that path is the
one exercised.

Two KafkaConsumer(group_id=...) members, each driven by its own thread (a
KafkaConsumer is not thread-safe, so every call on one happens in its
thread), subscribe to a 4-partition topic: their assignments must be
disjoint, cover all partitions and be reported by the rebalance listener;
KafkaAdminClient describe_consumer_groups sees the group Stable with two
members and list_consumer_groups lists it. Messages produced after the split
are consumed by the partition's owner only, all of them. Both commit
(commit() with auto-commit off) and list_consumer_group_offsets (OffsetFetch)
returns the end offsets; both close (LeaveGroup), and a new member of the
group starts at the committed offsets and reads only what was produced after.

The broker is expected to run with --group.initial.rebalance.delay.ms 0 and
--group.min.session.timeout.ms 1000 (see the TESTS table in run.py).
"""

import os
import queue
import sys
import threading
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
PREFIX = os.environ.get("EDDY_TEST_NAME", "groups_kafka_python")
TOPIC = PREFIX + "_data"
GROUP = PREFIX + "-group"
PARTITIONS = 4
T0 = time.monotonic()
LOG_LOCK = threading.Lock()


def log(*args):
    with LOG_LOCK:
        print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, flush=True)
        os._exit(1)  # member threads may be blocked in poll(); do not wait for them


def wait_for(pred, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    check(False, "timed out after %.0f s waiting for %s" % (timeout, what))


class Member(threading.Thread):
    """One group member; its KafkaConsumer is only touched from run()."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.lock = threading.Lock()
        self.assigned = set()
        self.rebalances = 0
        self.seen = []  # (partition, offset, key)
        self.cmds = queue.Queue()
        self.replies = queue.Queue()
        self.failed = None
        self.start()

    def run(self):
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                with member.lock:
                    member.assigned -= {tp.partition for tp in revoked}
                    member.rebalances += 1
                log("%s revoked %s" % (member.name_, sorted(tp.partition for tp in revoked)))

            def on_partitions_assigned(self, assigned):
                with member.lock:
                    member.assigned |= {tp.partition for tp in assigned}
                    member.rebalances += 1
                log("%s assigned %s" % (member.name_, sorted(tp.partition for tp in assigned)))

        try:
            c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=GROUP, client_id=self.name_,
                              auto_offset_reset="earliest", enable_auto_commit=False,
                              session_timeout_ms=6000, heartbeat_interval_ms=300,
                              fetch_max_wait_ms=100, request_timeout_ms=15000,
                              metadata_max_age_ms=5000)
            c.subscribe([TOPIC], listener=Listener())
            while True:
                for tp, recs in c.poll(timeout_ms=100).items():
                    with self.lock:
                        self.seen.extend((r.partition, r.offset, r.key.decode()) for r in recs)
                try:
                    cmd = self.cmds.get_nowait()
                except queue.Empty:
                    continue
                if cmd == "commit":
                    c.commit()
                    mine = [TopicPartition(TOPIC, p) for p in sorted(self.assigned)]
                    self.replies.put({tp.partition: (c.committed(tp), c.position(tp)) for tp in mine})
                elif cmd == "committed":
                    self.replies.put({p: c.committed(TopicPartition(TOPIC, p)) for p in range(PARTITIONS)})
                elif cmd == "close":
                    c.close()
                    self.replies.put("closed")
                    return
        except Exception as e:  # reported to the main thread
            self.failed = "%s: %r" % (self.name_, e)
            log("member failed:", self.failed)
            self.replies.put(None)

    def parts(self):
        with self.lock:
            return set(self.assigned)

    def ask(self, cmd, timeout=20.0):
        self.cmds.put(cmd)
        try:
            r = self.replies.get(timeout=timeout)
        except queue.Empty:
            r = None
        check(r is not None and self.failed is None,
              "%s did not answer %r: %s" % (self.name_, cmd, self.failed or "timeout"))
        return r


def split_ok(members):
    sets = [m.parts() for m in members]
    return all(sets) and set().union(*sets) == set(range(PARTITIONS)) and \
        sum(len(s) for s in sets) == PARTITIONS


def wait_split(members, what, timeout=25.0):
    deadline = time.monotonic() + timeout
    while True:
        wait_for(lambda: split_ok(members), what, max(0.1, deadline - time.monotonic()))
        before = [m.rebalances for m in members]
        time.sleep(1.0)
        if split_ok(members) and before == [m.rebalances for m in members]:
            return [m.parts() for m in members]
        check(time.monotonic() < deadline, "assignment did not settle: " + what)


def produce(first, count):
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5)
    futs = [(i, p.send(TOPIC, key=b"k-%d" % i, value=b"v-%d" % i, partition=i % PARTITIONS))
            for i in range(first, first + count)]
    p.flush(20)
    out = {}
    for i, f in futs:
        md = f.get(timeout=20)
        out[(md.partition, md.offset)] = "k-%d" % i
    p.close()
    return out


def main():
    if not BOOTSTRAP:
        print("EDDY_BOOTSTRAP not set (run through run.py)")
        return 2
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id=PREFIX + "-admin",
                             request_timeout_ms=15000)
    log("admin: inferred broker version", admin.config["api_version"])
    resp = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], timeout_ms=10000)
    check([e[1] for e in resp.topic_errors] == [0], "create_topics: %r" % resp.topic_errors)

    a = Member(PREFIX + "-a")
    wait_split([a], "the first member to own all %d partitions" % PARTITIONS)
    b = Member(PREFIX + "-b")
    sa, sb = wait_split([a, b], "two members to split %d partitions" % PARTITIONS)
    log("split: a=%s b=%s" % (sorted(sa), sorted(sb)))
    check(len(sa) == len(sb) == PARTITIONS // 2, "uneven split %s / %s" % (sa, sb))

    (desc,) = admin.describe_consumer_groups([GROUP])
    log("describe_consumer_groups: state=%s protocol_type=%s protocol=%s members=%s" % (
        desc.state, desc.protocol_type, desc.protocol, [m.client_id for m in desc.members]))
    check(desc.error_code == 0 and desc.state == "Stable", "group state %r (error %r), want Stable" % (
        desc.state, desc.error_code))
    check(desc.protocol_type == "consumer", "protocol_type %r" % desc.protocol_type)
    check(desc.protocol in ("range", "roundrobin"), "protocol %r, want range (kafka-python's first)" % desc.protocol)
    check(sorted(m.client_id for m in desc.members) == [PREFIX + "-a", PREFIX + "-b"],
          "members %r" % [m.client_id for m in desc.members])
    for m in desc.members:
        owned = sa if m.client_id.endswith("-a") else sb
        got = {p for t, ps in m.member_assignment.assignment for p in ps if t == TOPIC}
        check(got == owned, "DescribeGroups assignment of %s is %s, the member reports %s" % (
            m.client_id, sorted(got), sorted(owned)))
    groups = admin.list_consumer_groups()
    log("list_consumer_groups:", groups)
    check((GROUP, "consumer") in groups, "list_consumer_groups %r lacks (%s, consumer)" % (groups, GROUP))

    produced = produce(0, 200)

    def seen():
        return {(p, o) for m in (a, b) for p, o, _ in m.seen}
    wait_for(lambda: set(produced) <= seen(), "the two members to consume all 200 messages")
    for m, owned in ((a, sa), (b, sb)):
        for p, o, k in m.seen:
            check(produced.get((p, o)) == k, "%s got %r at %d/%d, produced %r" % (m.name_, k, p, o, produced.get((p, o))))
            check(p in owned, "%s read partition %d it does not own" % (m.name_, p))
    dups = len(a.seen) + len(b.seen) - len(produced)
    check(dups == 0, "%d messages read twice with a stable group" % dups)

    ends = {p: sum(1 for (pp, _) in produced if pp == p) for p in range(PARTITIONS)}
    for m in (a, b):
        r = m.ask("commit")
        log("%s committed/position: %s" % (m.name_, r))
        check(all(c == pos == ends[p] for p, (c, pos) in r.items()),
              "%s committed/position %r, want the end offsets %r" % (m.name_, r, ends))
    fetched = admin.list_consumer_group_offsets(GROUP)
    got = {tp.partition: om.offset for tp, om in fetched.items() if tp.topic == TOPIC}
    log("list_consumer_group_offsets:", got)
    check(got == ends, "OffsetFetch through the admin client: %r, want %r" % (got, ends))

    check(a.ask("close") == "closed" and b.ask("close") == "closed", "close")
    (desc,) = admin.describe_consumer_groups([GROUP])
    check(desc.state == "Empty" and not desc.members, "after both closed: state %r, %d members" % (
        desc.state, len(desc.members)))

    fresh = produce(200, 40)
    c = Member(PREFIX + "-c")
    wait_split([c], "the reopened member to own all partitions")
    r = c.ask("committed")
    check(r == ends, "reopened member sees committed %r, want %r" % (r, ends))
    wait_for(lambda: len(c.seen) >= len(fresh), "the reopened member to read the 40 new messages", 15)
    time.sleep(0.5)
    got = {(p, o): k for p, o, k in c.seen}
    check(got == fresh and len(c.seen) == len(fresh),
          "reopened member read %d messages (%d old), want exactly the %d new ones" % (
              len(c.seen), sum(1 for po in got if po not in fresh), len(fresh)))
    r = c.ask("commit")
    ends2 = {p: ends[p] + sum(1 for (pp, _) in fresh if pp == p) for p in range(PARTITIONS)}
    check(all(cm == pos == ends2[p] for p, (cm, pos) in r.items()) and set(r) == set(ends2),
          "reopened member committed/position %r, want %r" % (r, ends2))
    c.ask("close")
    admin.close()
    print("PASS: kafka-python group: split %s/%s, 200 messages once each, commit, close and resume at %r" % (
        sorted(sa), sorted(sb), ends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
