#!/usr/bin/python3
"""Compatibility harness: starts the real eddy binary once per test and lets an
unmodified Kafka client (kcat, librdkafka, kafka-python, confluent-kafka-python,
kafkajs) drive it.

Each test gets a fresh data directory and its own broker on 127.0.0.1 with an
OS-chosen port. The test process sees:

    EDDY_BOOTSTRAP   127.0.0.1:PORT of its broker
    EDDY_BIN         absolute path of the eddy binary
    EDDY_BUILD_DIR   CMake build directory (holds compat-tests/compat_rdkafka_roundtrip)
    EDDY_TEST_NAME   the test's name, used as a topic-name prefix
    EDDY_DATA_DIR    the broker's --log.dirs (for tests that inspect it)
    PYTHON           the Debian interpreter that has kafka-python and confluent-kafka

Tests run three at a time (-j / COMPAT_JOBS), except the ALONE ones, which
measure the broker's memory, sockets or fsyncs and run one by one at the end;
each line gives the test's duration. Every test whose client is librdkafka
also runs as NAME@rdkafka-2.15.1, on the newest librdkafka (built once by
scripts/librdkafka.sh and loaded with LD_LIBRARY_PATH; EDDY_RDKAFKA_VERSION
says which version the test must find itself on).

A test fails if its command exits non-zero or times out, if the broker dies
during the test, does not exit 0 within a few seconds of SIGTERM, or writes a
sanitizer report to stderr. The last line printed is `N passed, M failed`; the
exit status is non-zero when anything failed.

Run with /usr/bin/python3 (Debian's interpreter): the client libraries are
Debian packages, not pip packages.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

READY_PREFIX = "eddy ready on "
READY_TIMEOUT_S = 10.0
TEST_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
TAIL_LINES = 40

# Strings that mean the broker hit memory or undefined-behaviour trouble even
# if it went on to exit 0.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)

# name, command (argv, relative paths are under compat-tests/), extra broker arguments.
# Every test talks to a broker of its own, so tests can be run in any order or alone.
TESTS = [
    ("kcat_metadata", ["bash", "test_kcat.sh", "metadata"], ["--num.partitions", "3"]),
    ("kcat_metadata_noauto", ["bash", "test_kcat.sh", "metadata_noauto"],
     ["--auto.create.topics.enable", "false"]),
    ("kcat_offsets", ["bash", "test_kcat.sh", "offsets"], []),
    ("kcat_codecs", ["bash", "test_kcat.sh", "codecs"], []),
    ("kcat_headers", ["bash", "test_kcat.sh", "headers"], []),
    ("kcat_query_timestamp", ["bash", "test_kcat.sh", "query"], []),
    ("kcat_legacy_0_8_2", ["bash", "test_kcat_legacy.sh", "0.8.2.2"], []),
    ("kcat_legacy_0_9_0", ["bash", "test_kcat_legacy.sh", "0.9.0"], []),
    ("kcat_legacy_0_10_0", ["bash", "test_kcat_legacy.sh", "0.10.0"], []),
    ("legacy_wire", ["@PYTHON", "test_legacy_wire.py"], []),
    ("legacy_wire_broker_default", ["@PYTHON", "test_legacy_wire.py", "broker_default"],
     ["--log.message.downconversion.enable", "false"]),
    ("sarama_legacy_0_8_2", ["bash", "test_go_legacy.sh", "0.8.2"], []),
    ("sarama_legacy_0_10_0", ["bash", "test_go_legacy.sh", "0.10.0"], []),
    ("kafkago_legacy", ["bash", "test_go_legacy.sh", "kafka-go"], []),
    ("kafka_python_old_records", ["@PYTHON", "test_kafka_python_old_records.py"], []),
    ("rdkafka_roundtrip", ["@ROUNDTRIP", "--messages", "100000", "--partitions", "4",
                           "--codec", "lz4"], []),
    ("rdkafka_roundtrip_idempotent", ["@ROUNDTRIP", "--messages", "20000", "--partitions", "3",
                                      "--codec", "zstd", "--idempotent"], []),
    ("rdkafka_roundtrip_autocreate", ["@ROUNDTRIP", "--messages", "5000", "--partitions", "2",
                                      "--codec", "none", "--auto-create"],
     ["--num.partitions", "2"]),
    ("kafka_python", ["@PYTHON", "test_kafka_python.py"], []),
    ("kafka_python_legacy", ["@PYTHON", "test_kafka_python_legacy.py"], []),
    ("confluent_kafka", ["@PYTHON", "test_confluent_kafka.py"], []),
    ("kafkajs", ["node", "js/test_kafkajs.js"], []),
    ("eddyctl", ["bash", "test_eddyctl.sh"], ["--group.initial.rebalance.delay.ms", "0"]),
    ("admin_configs", ["@PYTHON", "test_admin_configs.py"], ["--log.retention.check.interval.ms", "200"]),
    ("admin_broker_configs", ["@PYTHON", "test_admin_broker_configs.py"],
     ["--num.network.threads", "5", "--ssl.keystore.password", "hunter2"]),
    ("kafkajs_admin", ["node", "js/test_kafkajs_admin.js"], []),
    ("groups_confluent_share", ["@PYTHON", "test_groups_confluent.py", "share"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("groups_confluent_cooperative", ["@PYTHON", "test_groups_confluent.py", "cooperative"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("groups_confluent_static", ["@PYTHON", "test_groups_confluent.py", "static"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("groups_kafka_python", ["@PYTHON", "test_groups_kafka_python.py"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("groups_kafkajs", ["node", "js/test_kafkajs_groups.js"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("groups_kcat", ["bash", "test_groups_kcat.sh"],
     ["--group.initial.rebalance.delay.ms", "0", "--num.partitions", "3"]),
    ("groups_restart", ["@PYTHON", "test_groups_restart.py"], []),
    ("eos_idempotent", ["@PYTHON", "test_eos_idempotent.py"],
     ["--eddy.test.drop.produce.response.rate", "0.05"]),
    ("eos_txn_visibility", ["@PYTHON", "test_eos_transactions.py", "visibility"], []),
    ("eos_txn_lso", ["@PYTHON", "test_eos_transactions.py", "lso"], []),
    ("eos_txn_fence", ["@PYTHON", "test_eos_transactions.py", "fence"], []),
    ("eos_txn_restart", ["@PYTHON", "test_eos_transactions.py", "restart"], []),
    ("eos_txn_rdkafka_c", ["@PYTHON", "test_eos_transactions.py", "c_producer"], []),
    ("eos_ctp", ["@PYTHON", "test_eos_ctp.py"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("eos_kafkajs_txn", ["node", "js/test_kafkajs_txn.js"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("txn_fence_rdkafka_c", ["@PYTHON", "test_rdkafka_c_cases.py", "txn_fence"], []),
    ("txn_misuse_rdkafka_c", ["@PYTHON", "test_rdkafka_c_cases.py", "txn_misuse"], []),
    ("coop_regex_rdkafka_c", ["@PYTHON", "test_rdkafka_c_cases.py", "coop_regex"], ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("coop_resub_rdkafka_c", ["@PYTHON", "test_rdkafka_c_cases.py", "coop_resub"], ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("coop_commit_cb_rdkafka_c", ["@PYTHON", "test_rdkafka_c_cases.py", "coop_commit_cb"], ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    # The values are repeated as constants at the top of test_hostile.py.
    ("hostile", ["@PYTHON", "test_hostile.py"],
     ["--connections.max.idle.ms", "4000", "--queued.max.request.bytes", str(64 << 20),
      "--eddy.queued.max.response.bytes", str(32 << 20), "--eddy.max.parked.fetches", "4",
      "--max.connections", "20000"]),
    ("metadata_store_wait", ["@PYTHON", "test_metadata_store_wait.py"], ["--eddy.test.metadata.delay.ms", "400"]),
    ("zero_copy", ["@PYTHON", "test_zero_copy.py"], []),
    ("zero_copy_off", ["@PYTHON", "test_zero_copy.py", "copy"], ["--eddy.fetch.zero.copy", "false"]),
    ("hostile_conn_limits", ["@PYTHON", "test_hostile.py", "limits"],
     ["--max.connections.per.ip", "2", "--max.connections.per.ip.overrides", "10.9.9.9:1,127.0.0.1:6"]),
    ("rdkafka_lenient", ["@PYTHON", "test_rdkafka_lenient.py"],
     ["--group.initial.rebalance.delay.ms", "0"]),
    ("legacy_apis_wire", ["@PYTHON", "test_legacy_apis_wire.py"], []),
    ("legacy_apis_wire_kafka40", ["@PYTHON", "test_legacy_apis_wire.py", "kafka-4.0"],
     ["--eddy.min.api.versions", "kafka-4.0"]),
    ("legacy_apis_wire_nodelete", ["@PYTHON", "test_legacy_apis_wire.py", "nodelete"],
     ["--delete.topic.enable", "false"]),
    # Go clients from Debian, built by the tests from compat-tests/go/ (cached
    # in the build directory); Burrow with a ZooKeeper stand-in of its own.
    ("sarama_default", ["@PYTHON", "test_sarama.py", "default"],
     ["--num.partitions", "3", "--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("sarama_max", ["@PYTHON", "test_sarama.py", "max"],
     ["--num.partitions", "3", "--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    ("sarama_timestamps", ["@PYTHON", "test_sarama.py", "timestamps"], ["--num.partitions", "3"]),
    ("kafka_go", ["@PYTHON", "test_kafka_go.py"],
     ["--group.initial.rebalance.delay.ms", "0", "--group.min.session.timeout.ms", "1000"]),
    # Burrow starts one partition consumer of __consumer_offsets after another,
    # each behind the previous one's first long-poll Fetch (250 ms): fewer partitions.
    ("burrow", ["@PYTHON", "test_burrow.py", "0.10.0"], ["--offsets.topic.num.partitions", "4"]),
    ("burrow_kafka_2_0", ["@PYTHON", "test_burrow.py", "2.0.0"], ["--offsets.topic.num.partitions", "4"]),
    # eddy's own client library (client/, built as compat-tests/compat_client_lib):
    # metadata, CreateTopics, Produce of a built batch, Fetch, bytes compared.
    ("client_lib", ["bash", "-c", 'exec "$EDDY_BUILD_DIR/compat-tests/compat_client_lib"'], []),
    # The replica layer on one broker: min.insync.replicas, HW, fetches from replica ids, epoch fencing.
    ("replica_wire", ["@PYTHON", "test_replica_wire.py"], []),
]

# Tests that measure the broker's memory, sockets or fsync counts, or kill it
# on purpose: they run one at a time after the others, with nothing beside them.
ALONE = {"hostile", "hostile_conn_limits", "crash_consistency", "durable_group_commit", "non_reader"}

# Tests whose client is librdkafka (kcat, the C programs, confluent-kafka):
# each runs a second time on the newest librdkafka, loaded through
# LD_LIBRARY_PATH in place of Debian's 2.0.2 (same soname and ABI).
RDKAFKA_NEW_VERSION = "2.15.1"
RDKAFKA_NEW_SUFFIX = "@rdkafka-" + RDKAFKA_NEW_VERSION
RDKAFKA_TESTS = ("kcat_", "rdkafka_", "groups_kcat", "eos_txn_rdkafka_c", "txn_fence_rdkafka_c", "txn_misuse_rdkafka_c",
                 "coop_")


# Interpreters for test files found by name (test_*.py, test_*.sh, js/test_*.js)
# that the table above does not mention; they run with default broker arguments.
DISCOVER = (("", ".py", "@PYTHON"), ("", ".sh", "bash"), ("js", ".js", "node"))


def all_tests():
    tests = list(TESTS)
    mentioned = {arg for _, cmd, _ in TESTS for arg in cmd}
    for subdir, ext, interp in DISCOVER:
        d = os.path.join(HERE, subdir)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            rel = os.path.join(subdir, f) if subdir else f
            if f.startswith("test_") and f.endswith(ext) and rel not in mentioned:
                tests.append((f[len("test_"):-len(ext)], [interp, rel], []))
    tests += [(name + RDKAFKA_NEW_SUFFIX, cmd, args) for name, cmd, args in list(tests)
              if name.startswith(RDKAFKA_TESTS)]
    return tests


def rdkafka_new_libdir(cache={}):
    """Directory of the newest librdkafka.so.1 (built once by scripts/librdkafka.sh), or an error."""
    if "dir" not in cache:
        script = os.path.join(HERE, "..", "scripts", "librdkafka.sh")
        p = subprocess.run(["bash", script], capture_output=True, text=True)
        libdir = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        if p.returncode != 0 or not os.path.exists(os.path.join(libdir, "librdkafka.so.1")):
            cache["dir"], cache["err"] = None, "scripts/librdkafka.sh failed: %s" % p.stderr[-2000:]
        else:
            cache["dir"], cache["err"] = libdir, None
    return cache["dir"], cache["err"]


class Broker:
    """One eddy process with its own data directory and log files."""

    def __init__(self, eddy, name, extra_args, log_dir):
        self.eddy = eddy
        self.data_dir = tempfile.mkdtemp(prefix="compat-data-%s-" % name, dir="/tmp")
        self.stdout_path = os.path.join(log_dir, name + ".broker.stdout")
        self.stderr_path = os.path.join(log_dir, name + ".broker.log")
        self.args = [eddy, "--listeners", "PLAINTEXT://127.0.0.1:0",
                     "--log.dirs", self.data_dir] + list(extra_args)
        self.proc = None
        self.bootstrap = None

    def start(self):
        """Start the broker and wait for its ready line; returns an error string or None."""
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(self.stdout_path, "r", errors="replace") as f:
                text = f.read()
            for line in text.splitlines():
                if line.startswith(READY_PREFIX):
                    self.bootstrap = line[len(READY_PREFIX):].strip()
                    lines = [l for l in text.splitlines() if l.strip()]
                    if len(lines) != 1:
                        return "broker printed %d lines on stdout, expected exactly one: %r" % (
                            len(lines), text)
                    return None
            if self.proc.poll() is not None:
                return "broker exited with code %d before printing its ready line" % self.proc.returncode
            time.sleep(0.02)
        return "no '%s...' line on stdout within %.0f s" % (READY_PREFIX, READY_TIMEOUT_S)

    def stop(self):
        """SIGTERM the broker and check its exit; returns a list of error strings."""
        errors = []
        if self.proc is None:
            return errors
        rc = self.proc.poll()
        if rc is not None:
            errors.append("broker died during the test (exit code %d)" % rc)
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                errors.append("broker did not exit within %.0f s of SIGTERM (killed)" % STOP_TIMEOUT_S)
            else:
                if rc != 0:
                    errors.append("broker exited with code %d after SIGTERM, expected 0" % rc)
        with open(self.stderr_path, "r", errors="replace") as f:
            log = f.read()
        for marker in SANITIZER_MARKERS:
            if marker in log:
                errors.append("broker stderr contains %r" % marker)
        return errors

    def cleanup(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)


def tail(path, n=TAIL_LINES):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return "(no %s)" % path
    return "\n".join(lines[-n:])


def resolve_command(cmd, build_dir):
    roundtrip = os.path.join(build_dir, "compat-tests", "compat_rdkafka_roundtrip")
    out = []
    for arg in cmd:
        if arg == "@PYTHON":
            out.append(PYTHON)
        elif arg == "@ROUNDTRIP":
            out.append(roundtrip)
        else:
            out.append(arg)
    return out


def precheck(cmd):
    """Say plainly what is missing instead of letting the test fail obscurely."""
    exe = cmd[0]
    if os.path.isabs(exe):
        if not os.access(exe, os.X_OK):
            return "%s is missing: build target compat_rdkafka_roundtrip first" % exe
    elif shutil.which(exe) is None:
        return "%s is not installed (see compat-tests/README.md)" % exe
    if exe == "node" and not os.path.isdir(os.path.join(HERE, "js", "node_modules", "kafkajs")):
        return "kafkajs is not installed: run `npm ci` in compat-tests/js"
    return None


def run_test(name, cmd, broker_args, args):
    test_log = os.path.join(args.log_dir, name + ".out")
    cmd = resolve_command(cmd, args.build_dir)
    missing = precheck(cmd)
    if missing:
        return [missing], None, test_log
    extra_env = {}
    if name.endswith(RDKAFKA_NEW_SUFFIX):
        libdir, err = rdkafka_new_libdir()
        if err:
            return [err], None, test_log
        extra_env = {"LD_LIBRARY_PATH": libdir, "EDDY_RDKAFKA_VERSION": RDKAFKA_NEW_VERSION}

    broker = Broker(args.eddy, name, broker_args, args.log_dir)
    errors = []
    err = broker.start()
    if err:
        errors.append(err)
        errors += [e for e in broker.stop() if not e.startswith("broker died")]
        return errors, broker, test_log

    env = dict(os.environ)
    env.update({
        "EDDY_BOOTSTRAP": broker.bootstrap,
        "EDDY_BIN": args.eddy,
        "EDDY_BUILD_DIR": args.build_dir,
        "EDDY_TEST_NAME": re.sub(r"[^A-Za-z0-9_-]", "_", name),  # a prefix of topic names
        "EDDY_DATA_DIR": broker.data_dir,
        "PYTHON": PYTHON,
    })
    env.update(extra_env)
    with open(test_log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
            if rc != 0:
                errors.append("test exited with code %d" % rc)
        except subprocess.TimeoutExpired:
            # The test runs in its own session, so its whole process group
            # (kcat pipelines, background consumers) goes with it.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            errors.append("test timed out after %.0f s" % args.timeout)
    errors += broker.stop()
    return errors, broker, test_log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eddy", required=True, help="path to the eddy binary")
    ap.add_argument("--build-dir", help="CMake build dir (default: the eddy binary's directory)")
    ap.add_argument("-k", dest="filters", action="append", default=[],
                    help="run only tests whose name contains this (repeatable)")
    ap.add_argument("--log-dir", help="where broker and test logs go (default: a new /tmp/compat-logs-*)")
    ap.add_argument("--timeout", type=float, default=TEST_TIMEOUT_S, help="per-test timeout, seconds")
    ap.add_argument("--list", action="store_true", help="list test names and exit")
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("COMPAT_JOBS", "3")),
                    help="tests run side by side (default 3, or $COMPAT_JOBS)")
    args = ap.parse_args()

    selected = [t for t in all_tests() if not args.filters or any(f in t[0] for f in args.filters)]
    if args.list:
        for t in selected:
            print(t[0])
        return 0
    args.eddy = os.path.abspath(args.eddy)
    if not os.access(args.eddy, os.X_OK):
        print("eddy binary not found or not executable: %s" % args.eddy)
        print("0 passed, %d failed" % len(selected))
        return 1
    args.build_dir = os.path.abspath(args.build_dir or os.path.dirname(args.eddy))
    args.log_dir = args.log_dir or tempfile.mkdtemp(prefix="compat-logs-", dir="/tmp")
    os.makedirs(args.log_dir, exist_ok=True)
    print("eddy: %s\nlogs: %s" % (args.eddy, args.log_dir), flush=True)

    # Every test has a broker of its own, so most run side by side; the
    # ALONE ones run afterwards, one at a time.
    together = [t for t in selected if t[0] not in ALONE]
    alone = [t for t in selected if t[0] in ALONE]
    results = {}
    lock = threading.Lock()
    counts = {"passed": 0, "failed": 0}

    def one(test):
        name, cmd, broker_args = test
        start = time.monotonic()
        errors, broker, test_log = run_test(name, cmd, broker_args, args)
        took = time.monotonic() - start
        with lock:
            report(name, took, errors, broker, test_log)
            counts["failed" if errors else "passed"] += 1
        if not errors and broker:
            broker.cleanup()

    suite_start = time.monotonic()
    if together:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for f in [pool.submit(one, t) for t in together]:
                f.result()
    for t in alone:
        one(t)
    print("suite took %.1fs (%d at a time)" % (time.monotonic() - suite_start, args.jobs))
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


def report(name, took, errors, broker, test_log):
    """Prints one test's outcome (with its logs' tails when it failed)."""
    if not errors:
        print("PASS %-40s %6.2fs" % (name, took), flush=True)
        return
    print("FAIL %-40s %6.2fs" % (name, took))
    for e in errors:
        print("  - " + e)
    print("  --- test output (%s), last %d lines:" % (test_log, TAIL_LINES))
    print("    " + tail(test_log).replace("\n", "\n    "))
    if broker:
        print("  --- broker stderr (%s), last %d lines:" % (broker.stderr_path, TAIL_LINES))
        print("    " + tail(broker.stderr_path).replace("\n", "\n    "))
        print("  --- broker data dir kept: %s" % broker.data_dir)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
