#!/usr/bin/python3
"""The old API versions Kafka 3.9 still serves, on the wire, field by field,
and the eddy.min.api.versions=kafka-4.0 floor that closes them again.

Default broker (kafka-3.9): ApiVersions lists OffsetCommit/OffsetFetch
0-9, CreateTopics 0-7, DeleteTopics 0-6, DescribeConfigs 0-4,
AddOffsetsToTxn/TxnOffsetCommit 0-4, AddPartitionsToTxn 0-5; CreateTopics
v0/v1, OffsetCommit v0/v1, OffsetFetch v0/v1, DescribeConfigs v0,
DeleteTopics v0, AddOffsetsToTxn v4, TxnOffsetCommit v3/v4 and
AddPartitionsToTxn v3-v5 (the batch form, verify_only) answer as Kafka 3.9
(KRaft) does, with no byte left over.

`test_legacy_apis_wire.py kafka-4.0` (broker started with
--eddy.min.api.versions kafka-4.0): ApiVersions lists Kafka 4.0's minimums
(Produce still from 0), every version below them closes the connection,
the lowest kept version still works, and ApiVersions at an unknown version
still gets the UNSUPPORTED_VERSION fallback.

`test_legacy_apis_wire.py nodelete` (--delete.topic.enable false):
DeleteTopics fails every topic, known or not, with INVALID_REQUEST before v3
and TOPIC_DELETION_DISABLED from v3. Uses EDDY_BOOTSTRAP.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ.get("EDDY_BOOTSTRAP")
NAME = os.environ.get("EDDY_TEST_NAME", "legacy_apis_wire")
T = kw.EMPTY_TAGS
failures = []

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP = 8, 9, 10, 11
CREATE_TOPICS, DELETE_TOPICS, INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN = 19, 20, 22, 24
ADD_OFFSETS_TO_TXN, TXN_OFFSET_COMMIT = 25, 28
DESCRIBE_CONFIGS, DESCRIBE_LOG_DIRS, DELETE_GROUPS = 32, 35, 42

NONE, UNKNOWN_TOPIC, ILLEGAL_GENERATION, UNSUPPORTED_VERSION = 0, 3, 22, 35
TOPIC_AUTHORIZATION_FAILED, TOPIC_EXISTS, INVALID_PARTITIONS, INVALID_TXN_STATE = 29, 36, 37, 48
OPERATION_NOT_ATTEMPTED = 55
TRANSACTION_ABORTABLE = 120


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def done(r, what):
    """The decoder consumed the whole body: the layout is exactly the version's."""
    check(r.remaining() == 0, "%s: no trailing bytes (%d left)" % (what, r.remaining()))


def api_versions(c, version=0):
    body = kw.encode_api_versions_v0() if version < 3 else kw.encode_api_versions_v3("eddy-compat", "1.0")
    return kw.decode_api_versions(c.call(18, version, body), version)


def metadata_partitions(c, topic):
    """Only for topics that exist: Metadata v1 would create a missing one."""
    md = kw.decode_metadata_v1(c.call(3, 1, kw.encode_metadata_v1([topic])))
    err, _, parts = md["topics"].get(topic, (-1, False, {}))
    return err, len(parts)


def exists(c, topic):
    """CreateTopics v2 validate_only: TOPIC_ALREADY_EXISTS for an existing topic, creating nothing."""
    r = kw.Reader(c.call(CREATE_TOPICS, 2, create_topics_v0([(topic, 1, 1, {})]) + kw.boolean(True)))
    r.i32(), r.array_len(), r.string()
    return r.i16() == TOPIC_EXISTS


# ---------------------------------------------------------------- encoders of the old layouts

def create_topics_v0(topics, timeout_ms=5000):
    """topics: (name, partitions, rf, {config: value}). v0 has no validate_only."""
    def one(t):
        name, parts, rf, configs = t
        return (kw.string(name) + kw.i32(parts) + kw.i16(rf) + kw.array([])
                + kw.array(sorted(configs.items()), lambda kv: kw.string(kv[0]) + kw.string(kv[1])))
    return kw.array(topics, one) + kw.i32(timeout_ms)


def decode_create_topics(body, version):
    """v0: [name, error]; v1: + error_message; v2+ (non-flexible): throttle first."""
    r = kw.Reader(body)
    throttle = r.i32() if version >= 2 else None
    out = []
    for _ in range(r.array_len()):
        name, err = r.string(), r.i16()
        msg = r.string() if version >= 1 else "<absent>"
        out.append((name, err, msg))
    done(r, "CreateTopics v%d" % version)
    return throttle, out


def offset_commit(version, group, topics, generation=-1, member=""):
    """topics: {name: [(partition, offset, commit_timestamp, metadata)]}; v0 drops the
    generation, member and timestamp."""
    def part(p):
        idx, off, ts, meta = p
        return kw.i32(idx) + kw.i64(off) + (kw.i64(ts) if version == 1 else b"") + kw.string(meta)
    head = kw.string(group)
    if version >= 1:
        head += kw.i32(generation) + kw.string(member)
    return head + kw.array(sorted(topics.items()), lambda t: kw.string(t[0]) + kw.array(t[1], part))


def decode_offset_commit(body, version):
    r = kw.Reader(body)
    if version >= 3:
        r.i32()
    out = {}
    for _ in range(r.array_len()):
        name = r.string()
        for _ in range(r.array_len()):
            idx, err = r.i32(), r.i16()
            out[(name, idx)] = err
    done(r, "OffsetCommit v%d" % version)
    return out


def offset_fetch_v01(group, topics):
    return kw.string(group) + kw.array(sorted(topics.items()),
                                       lambda t: kw.string(t[0]) + kw.array(t[1], kw.i32))


def decode_offset_fetch_v01(body, version):
    """v0 and v1: [name, [partition, offset, metadata, error]], nothing else."""
    r = kw.Reader(body)
    out = {}
    for _ in range(r.array_len()):
        name = r.string()
        for _ in range(r.array_len()):
            idx, off, meta, err = r.i32(), r.i64(), r.string(), r.i16()
            out[(name, idx)] = (off, meta, err)
    done(r, "OffsetFetch v%d" % version)
    return out


def describe_configs_v0(resources):
    """resources: (type, name, keys or None). v0 has no include_synonyms."""
    return kw.array(resources, lambda r: kw.i8(r[0]) + kw.string(r[1])
                    + (kw.array(r[2], kw.string) if r[2] is not None else kw.i32(-1)))


def decode_describe_configs_v0(body):
    """-> (throttle, [(error, message, type, name, {config: (value, read_only, is_default, sensitive)})])."""
    r = kw.Reader(body)
    throttle = r.i32()
    out = []
    for _ in range(r.array_len()):
        err, msg, rtype, rname = r.i16(), r.string(), r.i8(), r.string()
        configs = {}
        for _ in range(r.array_len()):
            name, value, ro, dflt, sens = r.string(), r.string(), r.boolean(), r.boolean(), r.boolean()
            configs[name] = (value, ro, dflt, sens)
        out.append((err, msg, rtype, rname, configs))
    done(r, "DescribeConfigs v0")
    return throttle, out


def decode_delete_topics_v0(body):
    r = kw.Reader(body)
    out = {}
    for _ in range(r.array_len()):
        name, err = r.string(), r.i16()
        out[name] = err
    done(r, "DeleteTopics v0")
    return out


def txn_offset_commit_flex(txn_id, group, pid, epoch, topic, partition, offset):
    part = kw.i32(partition) + kw.i64(offset) + kw.i32(-1) + kw.compact_string("") + T
    return (kw.compact_string(txn_id) + kw.compact_string(group) + kw.i64(pid) + kw.i16(epoch)
            + kw.i32(-1) + kw.compact_string("") + kw.compact_string(None)
            + kw.compact_array([kw.compact_string(topic) + kw.compact_array([part]) + T]) + T)


def decode_txn_offset_commit_flex(body, version):
    r = kw.Reader(body)
    r.i32()
    out = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        for _ in range(r.compact_array_len()):
            idx, err = r.i32(), r.i16()
            r.tagged_fields()
            out[(name, idx)] = err
        r.tagged_fields()
    r.tagged_fields()
    done(r, "TxnOffsetCommit v%d" % version)
    return out


def add_partitions_batch(transactions):
    """AddPartitionsToTxn v4/v5: [(txn_id, pid, epoch, verify_only, {topic: [partitions]})]."""
    def topic(item):
        return kw.compact_string(item[0]) + kw.compact_array(item[1], kw.i32) + T

    def txn(x):
        tid, pid, epoch, verify, topics = x
        return (kw.compact_string(tid) + kw.i64(pid) + kw.i16(epoch) + kw.boolean(verify)
                + kw.compact_array(sorted(topics.items()), topic) + T)
    return kw.compact_array(transactions, txn) + T


def decode_add_partitions_batch(body, version):
    """-> (top-level error, {txn_id: {(topic, partition): error}})."""
    r = kw.Reader(body)
    r.i32()
    err = r.i16()
    out = {}
    for _ in range(r.compact_array_len()):
        tid = r.compact_string()
        res = out.setdefault(tid, {})
        for _ in range(r.compact_array_len()):
            name = r.compact_string()
            for _ in range(r.compact_array_len()):
                idx, perr = r.i32(), r.i16()
                r.tagged_fields()
                res[(name, idx)] = perr
            r.tagged_fields()
        r.tagged_fields()
    r.tagged_fields()
    done(r, "AddPartitionsToTxn v%d" % version)
    return err, out


def expect_closed(c, api_key, version, body=b""):
    """Kafka closes the connection on a version it does not serve; reopen afterwards."""
    try:
        c.call(api_key, version, body)
        closed = False
    except (kw.WireError, OSError):
        closed = True
    check(closed, "api %d v%d closes the connection" % (api_key, version))
    c.reopen()


# ---------------------------------------------------------------- kafka-3.9 (default)

def run_kafka_3_9():
    c = kw.Conn(BOOT, timeout=5.0)
    want = {OFFSET_COMMIT: (0, 9), OFFSET_FETCH: (0, 9), CREATE_TOPICS: (0, 7), DELETE_TOPICS: (0, 6),
            DESCRIBE_CONFIGS: (0, 4), ADD_OFFSETS_TO_TXN: (0, 4), TXN_OFFSET_COMMIT: (0, 4),
            ADD_PARTITIONS_TO_TXN: (0, 5),
            FIND_COORDINATOR: (0, 6), JOIN_GROUP: (0, 9), 3: (0, 12), DELETE_GROUPS: (0, 2)}
    for v in (0, 3):
        err, keys, _ = api_versions(c, v)
        check(err == NONE, "ApiVersions v%d answers" % v)
        for k, rng in sorted(want.items()):
            check(keys.get(k) == rng, "ApiVersions v%d: api %d is %r (Kafka 3.9: %r)" % (v, k, keys.get(k), rng))

    topic, other = NAME + "_t", NAME + "_v1"
    # CreateTopics v0: no validate_only in the request, no message or throttle in the answer.
    _, res = decode_create_topics(c.call(CREATE_TOPICS, 0, create_topics_v0(
        [(topic, 2, 1, {"cleanup.policy": "compact"}), (NAME + "_zero", 0, 1, {})])), 0)
    check(res == [(topic, NONE, "<absent>"), (NAME + "_zero", INVALID_PARTITIONS, "<absent>")],
          "CreateTopics v0: %r" % res)
    check(metadata_partitions(c, topic) == (NONE, 2), "CreateTopics v0 made %s with 2 partitions" % topic)
    # v1: validate_only is honoured and errors carry a message.
    body = create_topics_v0([(other, 1, 1, {})]) + kw.boolean(True)
    _, res = decode_create_topics(c.call(CREATE_TOPICS, 1, body), 1)
    check(res == [(other, NONE, None)], "CreateTopics v1 validate_only: %r" % res)
    check(exists(c, topic) and not exists(c, other), "validate_only created nothing")
    _, res = decode_create_topics(c.call(CREATE_TOPICS, 1, create_topics_v0([(topic, 1, 1, {})]) + kw.boolean(False)), 1)
    check(len(res) == 1 and res[0][1] == TOPIC_EXISTS and res[0][2],
          "CreateTopics v1 on an existing topic: TOPIC_ALREADY_EXISTS with a message (%r)" % res)

    # OffsetCommit v1: a simple commit; commit_timestamp rides per partition.
    old = int(time.time() * 1000) - 3600 * 1000
    got = decode_offset_commit(c.call(OFFSET_COMMIT, 1, offset_commit(1, "g1", {
        topic: [(0, 42, -1, "m0"), (1, 43, old, None)], "nosuch": [(0, 1, -1, "")]})), 1)
    check(got == {(topic, 0): NONE, (topic, 1): NONE, ("nosuch", 0): UNKNOWN_TOPIC},
          "OffsetCommit v1 simple commit: %r" % got)
    got = decode_offset_commit(c.call(OFFSET_COMMIT, 1, offset_commit(1, "nogroup", {
        topic: [(0, 1, -1, "")]}, generation=3, member="m-1")), 1)
    check(got == {(topic, 0): ILLEGAL_GENERATION}, "OffsetCommit v1 with a generation to an unknown group: %r" % got)
    # OffsetFetch v1 reads them back (metadata null was stored as "").
    got = decode_offset_fetch_v01(c.call(OFFSET_FETCH, 1, offset_fetch_v01("g1", {topic: [0, 1, 7]})), 1)
    check(got == {(topic, 0): (42, "m0", NONE), (topic, 1): (43, "", NONE), (topic, 7): (-1, "", NONE)},
          "OffsetFetch v1: %r" % got)
    # v2 sees the same offsets (one store for v1+).
    r = kw.Reader(c.call(OFFSET_FETCH, 2, offset_fetch_v01("g1", {topic: [0]})))
    r.array_len(), r.string(), r.array_len()
    check((r.i32(), r.i64()) == (0, 42), "OffsetFetch v2 sees the v1 commit")

    # v0 went to ZooKeeper in Kafka 3.9; without it (KRaft) the whole request fails UNSUPPORTED_VERSION.
    got = decode_offset_commit(c.call(OFFSET_COMMIT, 0, offset_commit(0, "g1", {
        topic: [(0, 7, -1, "x")], "nosuch": [(0, 1, -1, "")]})), 0)
    check(got == {(topic, 0): UNSUPPORTED_VERSION, ("nosuch", 0): UNSUPPORTED_VERSION},
          "OffsetCommit v0: every partition UNSUPPORTED_VERSION: %r" % got)
    got = decode_offset_commit(c.call(OFFSET_COMMIT, 0, offset_commit(0, "g1", {"nosuch": [(0, 1, -1, "")]})), 0)
    check(got == {("nosuch", 0): UNKNOWN_TOPIC}, "OffsetCommit v0 naming only unknown topics: %r" % got)
    got = decode_offset_fetch_v01(c.call(OFFSET_FETCH, 0, offset_fetch_v01("g1", {topic: [0, 1]})), 0)
    check(got == {(topic, 0): (-1, "", UNSUPPORTED_VERSION), (topic, 1): (-1, "", UNSUPPORTED_VERSION)},
          "OffsetFetch v0: offset -1, UNSUPPORTED_VERSION: %r" % got)
    got = decode_offset_fetch_v01(c.call(OFFSET_FETCH, 1, offset_fetch_v01("g1", {topic: [0]})), 1)
    check(got == {(topic, 0): (42, "m0", NONE)}, "the v0 commit changed nothing: %r" % got)

    # DescribeConfigs v0: is_default instead of config_source, no synonyms.
    throttle, res = decode_describe_configs_v0(c.call(DESCRIBE_CONFIGS, 0, describe_configs_v0(
        [(2, topic, ["cleanup.policy", "retention.ms"]), (4, "1", ["num.partitions"]), (2, "nosuch", None)])))
    check(throttle == 0 and len(res) == 3, "DescribeConfigs v0: three results")
    if len(res) == 3:
        err, msg, rtype, rname, cfgs = res[0]
        check((err, rtype, rname) == (NONE, 2, topic), "DescribeConfigs v0 topic result header %r" % (res[0][:4],))
        check(cfgs.get("cleanup.policy") == ("compact", False, False, False),
              "cleanup.policy set at creation: not default (%r)" % (cfgs.get("cleanup.policy"),))
        check(cfgs.get("retention.ms") == ("604800000", False, True, False),
              "retention.ms: the default (%r)" % (cfgs.get("retention.ms"),))
        err, _, rtype, rname, cfgs = res[1]
        check(err == NONE and rtype == 4 and cfgs == {"num.partitions": ("1", cfgs.get("num.partitions", ("", 0))[1],
                                                                           True, False)},
              "DescribeConfigs v0 broker: num.partitions 1, the default (%r)" % (cfgs,))
        check(res[2][0] == UNKNOWN_TOPIC and res[2][4] == {}, "DescribeConfigs v0 unknown topic: %r" % (res[2],))
    # An empty key list asks for every key, like null (Kafka's ConfigHelper), not for none.
    _, every = decode_describe_configs_v0(c.call(DESCRIBE_CONFIGS, 0, describe_configs_v0([(2, topic, None)])))
    _, empty = decode_describe_configs_v0(c.call(DESCRIBE_CONFIGS, 0, describe_configs_v0([(2, topic, [])])))
    check(len(every[0][4]) > 10 and empty[0][4] == every[0][4],
          "DescribeConfigs v0 with [] keys: %d configs, with null: %d" % (len(empty[0][4]), len(every[0][4])))

    # AddOffsetsToTxn v4 / TxnOffsetCommit v4 (TRANSACTION_ABORTABLE) against v3 (INVALID_TXN_STATE).
    txn_id = NAME + "_txn"
    r = kw.Reader(c.call(INIT_PRODUCER_ID, 1, kw.string(txn_id) + kw.i32(60000)))
    r.i32()
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    done(r, "InitProducerId v1")
    check(err == NONE and pid >= 0, "InitProducerId for %s: pid %d epoch %d" % (txn_id, pid, epoch))
    for v, want_err in ((3, INVALID_TXN_STATE), (4, TRANSACTION_ABORTABLE)):
        got = decode_txn_offset_commit_flex(c.call(TXN_OFFSET_COMMIT, v, txn_offset_commit_flex(
            txn_id, "gt", pid, epoch, topic, 0, 5)), v)
        check(got == {(topic, 0): want_err}, "TxnOffsetCommit v%d before AddOffsetsToTxn: %r" % (v, got))
    r = kw.Reader(c.call(ADD_OFFSETS_TO_TXN, 4, kw.compact_string(txn_id) + kw.i64(pid) + kw.i16(epoch)
                         + kw.compact_string("gt") + T))
    r.i32()
    err = r.i16()
    r.tagged_fields()
    done(r, "AddOffsetsToTxn v4")
    check(err == NONE, "AddOffsetsToTxn v4: %d" % err)
    got = decode_txn_offset_commit_flex(c.call(TXN_OFFSET_COMMIT, 4, txn_offset_commit_flex(
        txn_id, "gt", pid, epoch, topic, 0, 5)), 4)
    check(got == {(topic, 0): NONE}, "TxnOffsetCommit v4 in the transaction: %r" % got)

    # AddPartitionsToTxn v4/v5, the broker-to-broker batch: verify_only checks, the others add.
    err, got = decode_add_partitions_batch(c.call(ADD_PARTITIONS_TO_TXN, 4, add_partitions_batch(
        [(txn_id, pid, epoch, True, {topic: [0]}), (NAME + "_none", 5, 0, True, {topic: [1]})])), 4)
    check(err == NONE and got == {txn_id: {(topic, 0): TRANSACTION_ABORTABLE},
                                  NAME + "_none": {(topic, 1): 49}},
          "AddPartitionsToTxn v4 verify_only before adding: %r" % got)
    err, got = decode_add_partitions_batch(c.call(ADD_PARTITIONS_TO_TXN, 4, add_partitions_batch(
        [(txn_id, pid, epoch, False, {topic: [0], "nosuch": [0]})])), 4)
    check(got == {txn_id: {(topic, 0): OPERATION_NOT_ATTEMPTED, ("nosuch", 0): UNKNOWN_TOPIC}},
          "AddPartitionsToTxn v4 with an unknown topic adds nothing: %r" % got)
    err, got = decode_add_partitions_batch(c.call(ADD_PARTITIONS_TO_TXN, 5, add_partitions_batch(
        [(txn_id, pid, epoch, False, {topic: [0], "__consumer_offsets": [0]})])), 5)
    check(got == {txn_id: {(topic, 0): NONE, ("__consumer_offsets", 0): NONE}},
          "AddPartitionsToTxn v5 adds (internal topics allowed broker-to-broker): %r" % got)
    err, got = decode_add_partitions_batch(c.call(ADD_PARTITIONS_TO_TXN, 5, add_partitions_batch(
        [(txn_id, pid, epoch, True, {topic: [0, 1]})])), 5)
    check(got == {txn_id: {(topic, 0): NONE, (topic, 1): TRANSACTION_ABORTABLE}},
          "AddPartitionsToTxn v5 verify_only after adding: %r" % got)
    # v3, a client's: internal topics are not the client's to add.
    body = (kw.compact_string(txn_id) + kw.i64(pid) + kw.i16(epoch) + kw.compact_array(
        [("__consumer_offsets", [1]), (topic, [1])],
        lambda x: kw.compact_string(x[0]) + kw.compact_array(x[1], kw.i32) + T) + T)
    r = kw.Reader(c.call(ADD_PARTITIONS_TO_TXN, 3, body))
    r.i32()
    got = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        for _ in range(r.compact_array_len()):
            idx, perr = r.i32(), r.i16()
            r.tagged_fields()
            got[(name, idx)] = perr
        r.tagged_fields()
    r.tagged_fields()
    done(r, "AddPartitionsToTxn v3")
    check(got == {("__consumer_offsets", 1): TOPIC_AUTHORIZATION_FAILED, (topic, 1): OPERATION_NOT_ATTEMPTED},
          "AddPartitionsToTxn v3 naming an internal topic: %r" % got)

    # DeleteTopics v0: no throttle_time_ms.
    got = decode_delete_topics_v0(c.call(DELETE_TOPICS, 0, kw.array([topic, "nosuch"], kw.string) + kw.i32(5000)))
    check(got == {topic: NONE, "nosuch": UNKNOWN_TOPIC}, "DeleteTopics v0: %r" % got)
    check(not exists(c, topic), "DeleteTopics v0 removed %s" % topic)
    c.close()


# ---------------------------------------------------------------- kafka-4.0

def run_kafka_4_0():
    c = kw.Conn(BOOT, timeout=5.0)
    # Kafka 4.0's minimums (KIP-896); Produce stays listed from 0 (KAFKA-18659).
    want_min = {0: 0, 1: 4, 2: 1, 3: 0, OFFSET_COMMIT: 2, OFFSET_FETCH: 1, FIND_COORDINATOR: 0, JOIN_GROUP: 0,
                CREATE_TOPICS: 2, DELETE_TOPICS: 1, DESCRIBE_CONFIGS: 1, DESCRIBE_LOG_DIRS: 1, DELETE_GROUPS: 0,
                18: 0, ADD_OFFSETS_TO_TXN: 0, TXN_OFFSET_COMMIT: 0, 23: 2}
    for v in (0, 3):
        err, keys, _ = api_versions(c, v)
        check(err == NONE, "ApiVersions v%d answers" % v)
        for k, lo in sorted(want_min.items()):
            check(k in keys and keys[k][0] == lo, "ApiVersions v%d: api %d min %r (Kafka 4.0: %d)" % (
                v, k, keys.get(k), lo))
    # An unknown ApiVersions version still gets the v0-layout fallback.
    c.sock.sendall(kw.request(18, 99, 77, b"", flexible=False))
    payload = kw.recv_frame(c.sock, 5.0)
    check(payload is not None, "ApiVersions v99 is answered")
    if payload is not None:
        r = kw.Reader(payload)
        corr = r.i32()
        err, keys, _ = kw.decode_api_versions(payload[4:], 0)
        check(corr == 77 and err == UNSUPPORTED_VERSION and keys == {18: (0, 4)},
              "ApiVersions v99 fallback: error %d keys %r" % (err, keys))

    topic = NAME + "_t"
    # Below the floor: the connection closes, as Kafka 4.0 closes it.
    for api, v in ((OFFSET_COMMIT, 1), (OFFSET_COMMIT, 0), (OFFSET_FETCH, 0), (CREATE_TOPICS, 1),
                   (CREATE_TOPICS, 0), (DELETE_TOPICS, 0), (DESCRIBE_CONFIGS, 0), (DESCRIBE_LOG_DIRS, 0),
                   (0, 2), (1, 3), (2, 0), (23, 1), (23, 0)):
        expect_closed(c, api, v)
    # The lowest kept versions work.
    _, res = decode_create_topics(c.call(CREATE_TOPICS, 2, create_topics_v0([(topic, 1, 1, {})]) + kw.boolean(False)), 2)
    check(res == [(topic, NONE, None)], "CreateTopics v2: %r" % res)
    r = kw.Reader(c.call(OFFSET_COMMIT, 2, kw.string("g4") + kw.i32(-1) + kw.string("") + kw.i64(-1)
                         + kw.array([kw.string(topic) + kw.array([kw.i32(0) + kw.i64(9) + kw.string("")])])))
    r.array_len(), r.string(), r.array_len()
    check((r.i32(), r.i16()) == (0, NONE), "OffsetCommit v2 simple commit")
    got = decode_offset_fetch_v01(c.call(OFFSET_FETCH, 1, offset_fetch_v01("g4", {topic: [0]})), 1)
    check(got == {(topic, 0): (9, "", NONE)}, "OffsetFetch v1: %r" % got)
    r = kw.Reader(c.call(DELETE_TOPICS, 1, kw.array([topic], kw.string) + kw.i32(5000)))
    r.i32()
    r.array_len()
    check((r.string(), r.i16()) == (topic, NONE), "DeleteTopics v1")
    c.close()


# ---------------------------------------------------------------- delete.topic.enable=false

def run_nodelete():
    c = kw.Conn(BOOT, timeout=5.0)
    topic = NAME + "_t"
    _, res = decode_create_topics(c.call(CREATE_TOPICS, 0, create_topics_v0([(topic, 1, 1, {})])), 0)
    check(res == [(topic, NONE, "<absent>")], "CreateTopics v0: %r" % res)
    for v in (0, 1, 2):
        body = kw.array([topic, "nosuch"], kw.string) + kw.i32(5000)
        r = kw.Reader(c.call(DELETE_TOPICS, v, body))
        if v >= 1:
            r.i32()
        got = {}
        for _ in range(r.array_len()):
            name, err = r.string(), r.i16()
            got[name] = err
        done(r, "DeleteTopics v%d" % v)
        check(got == {topic: 42, "nosuch": 42}, "DeleteTopics v%d with deletion disabled: INVALID_REQUEST (%r)" % (v, got))
    r = kw.Reader(c.call(DELETE_TOPICS, 3, kw.array([topic, "nosuch"], kw.string) + kw.i32(5000)))
    r.i32()
    got = {}
    for _ in range(r.array_len()):
        name, err = r.string(), r.i16()
        got[name] = err
    check(got == {topic: 73, "nosuch": 73}, "DeleteTopics v3 with deletion disabled: TOPIC_DELETION_DISABLED (%r)" % got)
    check(exists(c, topic), "the topic is still there")
    c.close()


def main():
    if not BOOT:
        print("EDDY_BOOTSTRAP is not set")
        return 2
    mode = sys.argv[1] if len(sys.argv) > 1 else "kafka-3.9"
    {"kafka-4.0": run_kafka_4_0, "nodelete": run_nodelete}.get(mode, run_kafka_3_9)()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
