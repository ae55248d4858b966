#!/usr/bin/python3
"""librdkafka 2.0.2 (C API) corner cases, each a C program in compat-tests/
that checks what the client saw; this driver creates the topics, runs the
program with a bound on its time and echoes its output.

Cases (argv[1]):
  txn_fence      compat_txn_fence --mode fence: a second producer with the same
                 transactional.id fences the first; the first's next Produce,
                 AddPartitionsToTxn and EndTxn raise librdkafka's fatal fenced
                 error, and only the second's records are committed.
  txn_misuse     compat_txn_fence --mode misuse: librdkafka's own
                 transaction-misuse sequence, five times in a row on one
                 transactional id.
  coop_regex     compat_coop_rebalance --mode regex: two cooperative-sticky
                 consumers subscribed to ^prefix.* while matching topics are
                 created and deleted; both must close in bounded time.
  coop_resub     compat_coop_rebalance --mode resubscribe: one cooperative
                 consumer changes its subscription several times in a row
                 beside a second member; each subscription's records arrive.
  coop_commit_cb compat_coop_rebalance --mode commit-in-cb: consumers that
                 commit from inside their rebalance callback while partitions
                 move; after every rebalance the records produced arrive.
"""

import os
import subprocess
import sys
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

PREFIX = os.environ.get("EDDY_TEST_NAME", "rdkafka_c")
BOOTSTRAP = os.environ.get("EDDY_BOOTSTRAP", "")
BUILD = os.environ.get("EDDY_BUILD_DIR", "")
T0 = time.monotonic()


def log(*args):
    print("[%6.2f]" % (time.monotonic() - T0), *args, flush=True)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def create_topics(specs):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    futs = admin.create_topics([NewTopic(n, p, 1) for n, p in specs], operation_timeout=10)
    for t, fut in futs.items():
        try:
            fut.result(timeout=20)
        except KafkaException as e:
            fail("create_topics(%s): %s" % (t, e.args[0]))


def run(exe_name, args, timeout):
    exe = os.path.join(BUILD, "compat-tests", exe_name)
    if not os.access(exe, os.X_OK):
        fail("%s is missing: build target %s" % (exe, exe_name))
    cmd = [exe, "--bootstrap", BOOTSTRAP] + args
    log("running " + " ".join(cmd))
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        for line in out.splitlines():
            print("  | " + line)
        fail("%s did not finish within %d s" % (exe_name, timeout))
    for line in r.stdout.splitlines():
        print("  | " + line)
    if r.returncode != 0:
        fail("%s exited with %d" % (exe_name, r.returncode))
    log("%s passed" % exe_name)


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else ""
    if case == "txn_fence":
        topic = PREFIX + "_t"
        create_topics([(topic, 2)])
        run("compat_txn_fence", ["--mode", "fence", "--topic", topic], 90)
    elif case == "txn_misuse":
        run("compat_txn_fence", ["--mode", "misuse", "--topic", PREFIX + "_m", "--iterations", "5"], 100)
    elif case == "coop_regex":
        run("compat_coop_rebalance", ["--mode", "regex", "--topic", PREFIX + "_rx", "--iterations", "3"], 110)
    elif case == "coop_resub":
        topics = [PREFIX + "_rs%d" % i for i in range(2)]
        create_topics([(t, 2) for t in topics])
        run("compat_coop_rebalance", ["--mode", "resubscribe", "--topic", PREFIX + "_rs"], 100)
    elif case == "coop_commit_cb":
        topic = PREFIX + "_cc"
        create_topics([(topic, 6)])
        run("compat_coop_rebalance", ["--mode", "commit-in-cb", "--topic", topic, "--iterations", "4"],
            100)
    else:
        fail("unknown case %r" % case)


if __name__ == "__main__":
    main()
