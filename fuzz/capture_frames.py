#!/usr/bin/python3
"""Capture request frames from stock Kafka clients for the fuzz_request corpus.

Starts an eddy broker, puts a recording TCP proxy in front of it (the broker
advertises the proxy, so every connection a client opens goes through it),
drives kcat, confluent-kafka-python, kafka-python and kafkajs through a
scripted session each, and writes up to --per-key distinct client->broker
frames per (client, api key, api version) as fuzz_request inputs:

    byte 0      0x00 (even: the request direction of fuzz/fuzz_request.c)
    bytes 1..   the frame body, i.e. the frame without its int32 size

named `client_<client>_<api>_v<version>_<n>`. With --replay, each file is run
through fuzz_replay_request before it is kept; a file that makes the replay
fail is moved to --findings instead, since it is a codec bug to report, not a
seed.

Only the standard library is used here; the client drivers run as child
processes (/usr/bin/python3 for the Python clients, node for kafkajs).

    /usr/bin/python3 fuzz/capture_frames.py --broker build/eddy \\
        --out fuzz/corpus/request --replay build/fuzz/fuzz_replay_request \\
        --findings /tmp/cap-findings
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

# Api keys 0..68 in order (Kafka's numbering); later keys are named apiN.
API_NAMES = (
    "produce fetch list_offsets metadata leader_and_isr stop_replica update_metadata "
    "controlled_shutdown offset_commit offset_fetch find_coordinator join_group heartbeat "
    "leave_group sync_group describe_groups list_groups sasl_handshake api_versions "
    "create_topics delete_topics delete_records init_producer_id offset_for_leader_epoch "
    "add_partitions_to_txn add_offsets_to_txn end_txn write_txn_markers txn_offset_commit "
    "describe_acls create_acls delete_acls describe_configs alter_configs "
    "alter_replica_log_dirs describe_log_dirs sasl_authenticate create_partitions "
    "create_delegation_token renew_delegation_token expire_delegation_token "
    "describe_delegation_token delete_groups elect_leaders incremental_alter_configs "
    "alter_partition_reassignments list_partition_reassignments offset_delete "
    "describe_client_quotas alter_client_quotas describe_user_scram_credentials "
    "alter_user_scram_credentials vote begin_quorum_epoch end_quorum_epoch describe_quorum "
    "alter_partition update_features envelope fetch_snapshot describe_cluster "
    "describe_producers broker_registration broker_heartbeat unregister_broker "
    "describe_transactions list_transactions allocate_producer_ids consumer_group_heartbeat"
).split()

# Frames larger than this are not kept: the corpus should stay small, and a
# big Produce adds bytes, not coverage.
MAX_FRAME = 16 * 1024


def api_name(key):
    return API_NAMES[key] if 0 <= key < len(API_NAMES) else "api%d" % key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Frames seen client->broker, tagged with whichever client is driving."""

    def __init__(self):
        self.lock = threading.Lock()
        self.label = "none"
        self.frames = []  # (label, body)

    def add(self, body):
        with self.lock:
            self.frames.append((self.label, body))


def pump(src, dst, on_frame):
    """Copy src to dst until EOF; when on_frame is set, split the stream into
    size-prefixed frames and hand each body to it."""
    pending = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if on_frame is None:
                continue
            pending += data
            while len(pending) >= 4:
                (size,) = struct.unpack(">i", pending[:4])
                if size < 0 or len(pending) < 4 + size:
                    break
                on_frame(pending[4:4 + size])
                pending = pending[4 + size:]
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def run_proxy(listen_port, broker_port, rec, stop):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    ls.settimeout(0.2)
    while not stop.is_set():
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        try:
            b = socket.create_connection(("127.0.0.1", broker_port))
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, b, rec.add), daemon=True).start()
        threading.Thread(target=pump, args=(b, c, None), daemon=True).start()
    ls.close()


# --- client drivers ---------------------------------------------------------
# Each driver is a script run in a child process with BOOTSTRAP set. Payloads
# stay small so Produce frames stay under MAX_FRAME.

KCAT_STEPS = [
    ["-L"],
    *[["-P", "-t", "cap_kcat", "-z", z, "-K", ":"] for z in ("none", "gzip", "snappy", "lz4", "zstd")],
    ["-C", "-t", "cap_kcat", "-o", "beginning", "-e", "-c", "20"],
    ["-C", "-t", "cap_kcat", "-o", "-2", "-e", "-p", "0"],
    ["-G", "cap_kcat_grp", "-o", "beginning", "-e", "-c", "10", "cap_kcat"],
]

CONFLUENT = r'''
import os, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource
B = os.environ["BOOTSTRAP"]
a = AdminClient({"bootstrap.servers": B})
for f in a.create_topics([NewTopic("cap_ck", 2, 1), NewTopic("cap_ck_out", 1, 1)]).values():
    try: f.result(10)
    except Exception as e: print("create", e)
# One call per resource: librdkafka sends a broker resource to that broker only,
# so it must name the broker's real node id (eddy's default is 1).
for res in (ConfigResource("topic", "cap_ck"), ConfigResource("broker", "1")):
    for f in a.describe_configs([res]).values():
        try: f.result(10)
        except Exception as e: print("describe", repr(e))
r = ConfigResource("topic", "cap_ck", set_config={"retention.ms": "86400000"})
for f in a.alter_configs([r]).values():
    try: f.result(10)
    except Exception as e: print("alter", e)
a.list_topics(timeout=10)
a.list_groups(timeout=10)
p = Producer({"bootstrap.servers": B, "enable.idempotence": True, "compression.codec": "lz4", "linger.ms": 5})
for i in range(6):
    p.produce("cap_ck", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
p.flush(10)
c = Consumer({"bootstrap.servers": B, "group.id": "cap_ck_grp", "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "isolation.level": "read_committed"})
c.subscribe(["cap_ck"])
got, t0 = 0, time.time()
while got < 6 and time.time() - t0 < 15:
    m = c.poll(0.5)
    if m is not None and not m.error(): got += 1
c.commit(asynchronous=False)
c.committed([TopicPartition("cap_ck", 0)], timeout=10)
c.get_watermark_offsets(TopicPartition("cap_ck", 0), timeout=10)
c.offsets_for_times([TopicPartition("cap_ck", 0, 0)], timeout=10)
t = Producer({"bootstrap.servers": B, "transactional.id": "cap_ck_txn", "compression.codec": "zstd"})
t.init_transactions(10)
t.begin_transaction()
t.produce("cap_ck_out", b"committed")
t.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 10)
t.commit_transaction(10)
t.begin_transaction()
t.produce("cap_ck_out", b"aborted")
t.flush(10)
t.abort_transaction(10)
c.close()
print("confluent got", got)
'''

KAFKA_PYTHON = r'''
import os
from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient
from kafka.admin import NewTopic, ConfigResource, ConfigResourceType
B = os.environ["BOOTSTRAP"]
a = KafkaAdminClient(bootstrap_servers=B)
try: a.create_topics([NewTopic("cap_kp", 2, 1)])
except Exception as e: print("create", e)
a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "cap_kp")])
a.list_consumer_groups()
p = KafkaProducer(bootstrap_servers=B, compression_type="gzip", acks="all")
for i in range(5):
    p.send("cap_kp", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
p.flush(10)
p.close()
c = KafkaConsumer("cap_kp", bootstrap_servers=B, group_id="cap_kp_grp", auto_offset_reset="earliest",
                  enable_auto_commit=False, consumer_timeout_ms=8000)
n = 0
for m in c:
    n += 1
    if n >= 5: break
c.commit()
c.close()
a.describe_consumer_groups(["cap_kp_grp"])
a.list_consumer_group_offsets("cap_kp_grp")
try: a.delete_topics(["cap_kp"])
except Exception as e: print("delete", e)
a.close()
print("kafka-python got", n)
'''

KAFKAJS = r'''
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
const kafka = new Kafka({ clientId: 'cap-kafkajs', brokers: [process.env.BOOTSTRAP], logLevel: logLevel.WARN })
;(async () => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'cap_kjs', numPartitions: 2 }] })
  await admin.fetchTopicMetadata({ topics: ['cap_kjs'] })
  await admin.describeConfigs({ resources: [{ type: 2, name: 'cap_kjs' }], includeSynonyms: false })
  await admin.fetchTopicOffsets('cap_kjs')
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: 'cap_kjs', messages: [{ key: 'a', value: '1', headers: { h: 'x' } }, { value: '2' }] })
  await producer.send({ topic: 'cap_kjs', compression: CompressionTypes.GZIP, messages: [{ value: '3' }] })
  await producer.disconnect()
  const tx = kafka.producer({ transactionalId: 'cap_kjs_txn', idempotent: true, maxInFlightRequests: 1 })
  await tx.connect()
  const t1 = await tx.transaction()
  await t1.send({ topic: 'cap_kjs', messages: [{ value: 'txn' }] })
  await t1.sendOffsets({ consumerGroupId: 'cap_kjs_grp', topics: [{ topic: 'cap_kjs', partitions: [{ partition: 0, offset: '1' }] }] })
  await t1.commit()
  const t2 = await tx.transaction()
  await t2.send({ topic: 'cap_kjs', messages: [{ value: 'abort' }] })
  await t2.abort()
  await tx.disconnect()
  const consumer = kafka.consumer({ groupId: 'cap_kjs_grp', sessionTimeout: 10000 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'cap_kjs', fromBeginning: true })
  let n = 0
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 10000)
    consumer.run({ autoCommit: true, eachMessage: async () => { if (++n >= 3) { clearTimeout(timer); resolve() } } })
  })
  await consumer.commitOffsets([{ topic: 'cap_kjs', partition: 0, offset: '1' }]).catch(() => {})
  await consumer.disconnect()
  await admin.describeGroups(['cap_kjs_grp'])
  await admin.fetchOffsets({ groupId: 'cap_kjs_grp', topics: ['cap_kjs'] })
  await admin.listGroups()
  await admin.deleteTopics({ topics: ['cap_kjs'] })
  await admin.disconnect()
  console.log('kafkajs got', n)
})().catch((e) => { console.error(e); process.exit(1) })
'''


def run_step(label, cmd, env, stdin=None, timeout=60):
    try:
        r = subprocess.run(cmd, env=env, input=stdin, capture_output=True, timeout=timeout)
        status = "rc=%d" % r.returncode
        tail = (r.stdout + r.stderr).decode(errors="replace").strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", []
    except FileNotFoundError as e:
        status, tail = "missing", [str(e)]
    shown = [a if len(a) < 40 else "<script>" for a in cmd[:6]]
    print("  %-12s %-8s %s" % (label, status, " ".join(shown)))
    for line in tail:
        print("      " + line)


def drive(client, bootstrap, args):
    env = dict(os.environ, BOOTSTRAP=bootstrap)
    if client == "kcat":
        lines = b"".join(b"k%d:value-%d\n" % (i, i) for i in range(5))
        for step in KCAT_STEPS:
            run_step(client, ["kcat", "-b", bootstrap, "-q"] + step, env,
                     stdin=lines if "-P" in step else b"", timeout=30)
    elif client == "confluent":
        run_step(client, [args.python, "-c", CONFLUENT], env, timeout=120)
    elif client == "kafkapython":
        run_step(client, [args.python, "-c", KAFKA_PYTHON], env, timeout=120)
    elif client == "kafkajs":
        env["NODE_PATH"] = args.node_path
        run_step(client, ["node", "-e", KAFKAJS], env, timeout=120)
    elif client == "kpylegacy":
        # kafka-python pinned to the old versions Kafka 3.9 still serves (v0/v1 commits, v0 admin).
        env["EDDY_BOOTSTRAP"] = bootstrap
        test = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat-tests",
                            "test_kafka_python_legacy.py")
        run_step(client, [args.python, test], env, timeout=120)


def replay_ok(replay, path):
    try:
        r = subprocess.run([replay, path], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    return r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace").strip()


def select(frames, per_key):
    """Up to per_key distinct bodies per (client, key, version): the first one
    seen, then preferably ones of a different length (a different shape, not
    just another correlation id)."""
    groups = {}
    for label, body in frames:
        if label == "none" or len(body) < 4 or len(body) > MAX_FRAME:
            continue  # outside any driver's turn, or too big to be worth a seed
        key, ver = struct.unpack(">hh", body[:4])
        groups.setdefault((label, key, ver), []).append(body)
    chosen = {}
    for k, bodies in groups.items():
        picked, seen_len = [], set()
        for b in bodies:
            if len(b) not in seen_len:
                picked.append(b)
                seen_len.add(len(b))
            if len(picked) == per_key:
                break
        for b in bodies:
            if len(picked) == per_key:
                break
            if b not in picked and b[8:] != picked[0][8:]:  # same apart from correlation id
                picked.append(b)
        chosen[k] = picked
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", required=True, help="path to the eddy binary")
    ap.add_argument("--out", required=True, help="corpus directory to write into")
    ap.add_argument("--clients", default="kcat,confluent,kafkapython,kafkajs",
                    help="comma-separated; kpylegacy (kafka-python on old versions) is opt-in")
    ap.add_argument("--per-key", type=int, default=2)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--node-path", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "compat-tests", "js", "node_modules"))
    ap.add_argument("--replay", help="fuzz_replay_request: keep only files it passes")
    ap.add_argument("--findings", default="/tmp/cap-findings", help="where failing frames go")
    args = ap.parse_args()

    bport, pport = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="eddy-capture-")
    log = open(os.path.join(tmp, "broker.log"), "wb")
    broker = subprocess.Popen([
        args.broker, "--listeners", "PLAINTEXT://127.0.0.1:%d" % bport,
        "--log.dirs", os.path.join(tmp, "data"),
        "--advertised.listeners", "PLAINTEXT://127.0.0.1:%d" % pport,
        "--group.initial.rebalance.delay.ms", "0"], stdout=log, stderr=log)
    rec, stop = Recorder(), threading.Event()
    proxy = threading.Thread(target=run_proxy, args=(pport, bport, rec, stop), daemon=True)
    proxy.start()
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", bport), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or broker.poll() is not None:
                    sys.exit("broker did not start, see %s/broker.log" % tmp)
                time.sleep(0.1)
        bootstrap = "127.0.0.1:%d" % pport
        for client in args.clients.split(","):
            print("driving", client)
            with rec.lock:
                rec.label = client
            drive(client, bootstrap, args)
            time.sleep(0.5)  # let trailing frames (LeaveGroup, close) land under this label
        with rec.lock:
            rec.label = "none"
        alive = broker.poll() is None
    finally:
        stop.set()
        broker.terminate()
        try:
            broker.wait(10)
        except subprocess.TimeoutExpired:
            broker.kill()
        log.close()
    if not alive:
        print("WARNING: the broker died during the capture, see %s/broker.log" % tmp)

    os.makedirs(args.out, exist_ok=True)
    kept, failed = {}, []
    for (label, key, ver), bodies in sorted(select(rec.frames, args.per_key).items()):
        for n, body in enumerate(bodies, 1):
            name = "client_%s_%s_v%d_%d" % (label, api_name(key), ver, n)
            path = os.path.join(args.out, name)
            with open(path, "wb") as f:
                f.write(b"\x00" + body)
            if args.replay:
                ok, out = replay_ok(args.replay, path)
                if not ok:
                    os.makedirs(args.findings, exist_ok=True)
                    shutil.move(path, os.path.join(args.findings, name))
                    failed.append((name, out.splitlines()[-1:] if out else []))
                    continue
            kept.setdefault((label, api_name(key)), []).append(ver)
    print("captured %d frames; wrote:" % len(rec.frames))
    for (label, api), vers in sorted(kept.items()):
        print("  %-12s %-24s %d file(s), versions %s" % (label, api, len(vers), sorted(set(vers))))
    print("total kept: %d" % sum(len(v) for v in kept.values()))
    for name, out in failed:
        print("REPLAY FAILED (moved to %s): %s %s" % (args.findings, name, " ".join(out)))
    if alive:  # keep the broker log of a run where it died
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
