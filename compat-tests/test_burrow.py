#!/usr/bin/python3
"""Burrow 1.2.1 (Debian `burrow`, built on sarama 1.22.1) watching eddy.

Burrow learns committed offsets by consuming `__consumer_offsets` from the
oldest offset and decoding Kafka's offset-commit records (key v0/v1, value
v0/v1/v3), and end offsets by sending ListOffsets v0 for every partition
every `offset-refresh` seconds; lag is the difference. The sarama request
versions follow the client profile's kafka-version (the argument; default
"0.10.0" as in Debian's /etc/burrow/burrow.toml: Metadata v1, Fetch v2, which
the broker answers with magic-1 message sets converted from its batches).

Burrow 1.2 cannot run without ZooKeeper for its own coordination (the
zookeeper coordinator panics without servers and creates its root path at
start; the notifier takes a lock there), so this test serves a minimal
ZooKeeper stand-in (go/zk_standin.py) on a port of its own. Burrow's HTTP API
listens on another port of its own on 127.0.0.1.

Steps: kafka-python creates a 3-partition topic and writes 50/30/20 records;
Burrow starts and must report those end offsets for the topic; a group
commits 20/30/5 as a standalone client; Burrow must list the group and report
exactly lag 30/0/15 (total 45) per partition, through both the consumer
detail and the lag (evaluator) endpoints. Then 10 more records land on
partition 1 and the group commits 35 there: lag must become 30/5/15.

usage: test_burrow.py [kafka-version]
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "go"))
import zk_standin  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

BURROW = "/usr/bin/Burrow"
BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
NAME = os.environ.get("EDDY_TEST_NAME", "burrow")
TOPIC = NAME + "_watched"
GROUP = NAME + "_group"
CLUSTER = "eddy"
WRITTEN = [50, 30, 20]
COMMITTED = [20, 30, 5]

failures = []


def fail(check, msg):
    failures.append(check)
    print("FAIL %s: %s" % (check, msg), flush=True)


def fatal(check, msg):
    fail(check, msg)
    raise SystemExit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def burrow_config(work, zk_port, http_port, kafka_version):
    return """
[general]
pidfile="{work}/burrow.pid"

[logging]
filename="{work}/burrow.log"
level="info"

[zookeeper]
servers=["127.0.0.1:{zk}"]
timeout=6
root-path="/burrow"

[client-profile.eddy]
client-id="eddy-compat-burrow"
kafka-version="{kv}"

[cluster.{cl}]
class-name="kafka"
servers=["{bs}"]
client-profile="eddy"
topic-refresh=2
offset-refresh=1

[consumer.{cl}]
class-name="kafka"
cluster="{cl}"
servers=["{bs}"]
client-profile="eddy"
offsets-topic="__consumer_offsets"
start-latest=false

[httpserver.default]
address="127.0.0.1:{http}"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1
""".format(work=work, zk=zk_port, http=http_port, kv=kafka_version, cl=CLUSTER, bs=BOOTSTRAP)


class Api:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path):
        """Returns (HTTP status, decoded JSON or text) or (None, error)."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                body = r.read().decode()
                status = r.status
        except urllib.error.HTTPError as e:
            body, status = e.read().decode(errors="replace"), e.code
        except (urllib.error.URLError, OSError) as e:
            return None, str(e)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def wait(self, check, path, pred, what, timeout=30.0):
        """Polls path until pred(json) holds; returns the last answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            status, body = self.get(path)
            last = (status, body)
            if status == 200 and isinstance(body, dict) and not body.get("error"):
                try:
                    if pred(body):
                        return body
                except (KeyError, IndexError, TypeError):
                    pass
            time.sleep(0.3)
        fatal(check, "timed out after %.0f s waiting for %s from GET %s; last answer: %s"
              % (timeout, what, path, json.dumps(last)[:1500]))


def produce(counts, partition_offsets=None):
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", client_id="eddy-compat-burrow-producer")
    for part, n in enumerate(counts):
        for i in range(n):
            p.send(TOPIC, key=b"k%d" % i, value=b"v%d-%d" % (part, i), partition=part)
    p.flush(timeout=15)
    p.close()


def commit(offsets):
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=GROUP, enable_auto_commit=False,
                      client_id="eddy-compat-burrow-committer")
    tps = {TopicPartition(TOPIC, p): OffsetAndMetadata(o, "") for p, o in offsets.items()}
    c.assign(list(tps))
    c.commit(tps)
    got = {tp.partition: c.committed(tp) for tp in tps}
    c.close()
    if got != offsets:
        fatal("commit", "kafka-python committed %r, reads back %r" % (offsets, got))


def check_lag(api, committed, ends, phase):
    want_lag = [e - c for e, c in zip(ends, committed)]
    check = "burrow/consumer-detail/" + phase

    def detail_ok(body):
        parts = body["topics"][TOPIC]
        if len(parts) != 3:
            return False
        for p, part in enumerate(parts):
            last = [o for o in part["offsets"] if o][-1]
            if last["offset"] != committed[p] or part["current-lag"] != want_lag[p]:
                return False
        return True

    body = api.wait(check, "/v3/kafka/%s/consumer/%s" % (CLUSTER, GROUP), detail_ok,
                    "committed offsets %r with current-lag %r" % (committed, want_lag))
    print("ok   %s: offsets %r, current-lag %r" % (check, committed,
          [p["current-lag"] for p in body["topics"][TOPIC]]), flush=True)

    check = "burrow/lag/" + phase

    def lag_ok(body):
        st = body["status"]
        by_part = {p["partition"]: p for p in st["partitions"] if p["topic"] == TOPIC}
        return (st["group"] == GROUP and st["partition_count"] == 3 and st["totallag"] == sum(want_lag)
                and sorted(by_part) == [0, 1, 2]
                and all(by_part[p]["current_lag"] == want_lag[p] and by_part[p]["end"]["offset"] == committed[p]
                        for p in range(3)))

    body = api.wait(check, "/v3/kafka/%s/consumer/%s/lag" % (CLUSTER, GROUP), lag_ok,
                    "per-partition lag %r (total %d)" % (want_lag, sum(want_lag)))
    print("ok   %s: lag %r, total %d, status %s" % (check, want_lag, body["status"]["totallag"],
                                                   body["status"]["status"]), flush=True)


def main():
    kafka_version = sys.argv[1] if len(sys.argv) > 1 else "0.10.0"
    if not os.access(BURROW, os.X_OK):
        fatal("setup", "%s is missing: install Debian's burrow (scripts/deps.sh test)" % BURROW)
    work = tempfile.mkdtemp(prefix="compat-burrow-")

    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="eddy-compat-burrow-admin")
    admin.create_topics([NewTopic(TOPIC, 3, 1)], timeout_ms=10000)
    admin.close()
    produce(WRITTEN)
    print("wrote %r records to %s" % (WRITTEN, TOPIC), flush=True)

    zk = zk_standin.ZkStandIn()
    http_port = free_port()
    with open(os.path.join(work, "burrow.toml"), "w") as f:
        f.write(burrow_config(work, zk.port, http_port, kafka_version))
    out = open(os.path.join(work, "burrow.out"), "wb")
    proc = subprocess.Popen([BURROW, "-config-dir", work], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=work, start_new_session=True)
    print("Burrow (kafka-version %s) pid %d, HTTP on 127.0.0.1:%d, ZooKeeper stand-in on 127.0.0.1:%d"
          % (kafka_version, proc.pid, http_port, zk.port), flush=True)
    api = Api(http_port)
    code = 0
    try:
        deadline = time.monotonic() + 20
        while api.get("/burrow/admin")[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                fatal("burrow/start", "Burrow did not serve HTTP (exit code %r)" % proc.poll())
            time.sleep(0.2)
        print("ok   Burrow is up", flush=True)

        # End offsets: ListOffsets v0 for every partition.
        body = api.wait("burrow/topic-offsets", "/v3/kafka/%s/topic/%s" % (CLUSTER, TOPIC),
                        lambda b: b["offsets"] == WRITTEN, "end offsets %r" % WRITTEN)
        print("ok   Burrow reports end offsets %r" % body["offsets"], flush=True)

        commit({p: o for p, o in enumerate(COMMITTED)})
        api.wait("burrow/consumer-list", "/v3/kafka/%s/consumer" % CLUSTER,
                 lambda b: GROUP in b["consumers"], "group %s among the consumers" % GROUP)
        print("ok   Burrow lists group %s" % GROUP, flush=True)
        check_lag(api, COMMITTED, WRITTEN, "first")

        produce([0, 10, 0])
        ends = [50, 40, 20]
        api.wait("burrow/topic-offsets-after", "/v3/kafka/%s/topic/%s" % (CLUSTER, TOPIC),
                 lambda b: b["offsets"] == ends, "end offsets %r" % ends)
        committed = [20, 35, 5]
        commit({1: 35})
        check_lag(api, committed, ends, "after")
    except SystemExit as e:
        code = e.code or 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                fail("burrow/stop", "Burrow did not exit within 15 s of SIGTERM")
        out.close()
        zk.close()
        print("ZooKeeper stand-in served ops %r" % sorted(zk.ops.items()))
        if failures:
            for name in ("burrow.out", "burrow.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        lines = f.read().splitlines()
                    print("--- %s, last 25 lines:" % name)
                    print("\n".join(lines[-25:]))
    if failures or code:
        print("burrow: failed: %s" % ", ".join(failures))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("burrow: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
