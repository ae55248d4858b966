#!/usr/bin/python3
"""Crash consistency in durable mode: nothing acknowledged is lost across SIGKILL.

Starts its own eddy (EDDY_BIN) on a temporary data directory with
--log.flush.interval.messages 1, where a Produce with acks=all is answered
only after the fsync that covers its batch. An idempotent librdkafka producer
(EDDY_BUILD_DIR/compat-tests/compat_crash_producer) sends numbered messages,
key "k<id % K>" and value "<id>", and records every acknowledged one. Meanwhile
the broker is SIGKILLed at random moments (seeded; the seed is printed) and
restarted on the same directory and port, at least 20 times. Every restart
must print its ready line within a few seconds and log no crash.

At the end the producer is stopped, the broker is restarted cleanly and every
partition is read from offset 0. The test fails if an acknowledged message is
missing (lost) or not at the offset its acknowledgement gave (misplaced), if
a key's messages are out of order, if offsets have gaps, or if the broker
failed to come back, or if any message is stored twice: a batch that was
stored but whose acknowledgement the kill swallowed is retried by the
idempotent producer, and the broker must recognise it by producer id and
sequence (state it keeps across restarts) and answer with the original
offset instead of storing it again.

SIGKILL leaves the page cache intact, so this checks recovery (checkpoints,
torn-tail scan, index rebuild, offset continuity) and that acknowledgements
match what is stored; it cannot tell durable mode from page-cache mode, which
differ only on power loss.

Options are for running by hand: --seed to replay a schedule, --no-durable to
drop the flush flag, --simulate-loss N to cut N bytes off a partition's log
before the last restart (the checker must then report loss), --keep to keep
the data directory and logs.
"""
import argparse
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

READY_PREFIX = "eddy ready on "
READY_TIMEOUT_S = 10.0
RESTART_MAX_S = 5.0  # a restart slower than this counts as a failure
STOP_TIMEOUT_S = 10.0
CRASH_MARKERS = (
    "assertion failed",
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)


class Abort(Exception):
    """Ends the run early; the reason is already in the failure list."""


def free_port():
    """A port the OS considers free now; every restart reuses it so the
    producer reconnects to the same address."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
    """Successive eddy processes on one data directory and one port."""

    def __init__(self, binary, data, port, work, durable, partitions, segment_bytes):
        # Small segments and a frequent recovery-point checkpoint put kills
        # next to segment rolls and checkpoint writes, and make recovery
        # start from a checkpoint rather than always from offset 0.
        self.args = [binary, "--listeners", "PLAINTEXT://127.0.0.1:%d" % port, "--log.dirs", data,
                     "--num.partitions", str(partitions), "--log.segment.bytes", str(segment_bytes),
                     "--log.index.interval.bytes", "1024",
                     "--log.flush.scheduler.interval.ms", "50",
                     "--log.flush.offset.checkpoint.interval.ms", "100"]
        if durable:
            self.args += ["--log.flush.interval.messages", "1"]
        self.port = port
        self.work = work
        self.proc = None
        self.runs = 0
        self.problems = []   # broker failures: crash, slow or failed restart, bad exit
        self.log_lines = []  # WARN/ERROR lines of every run, for the report

    def start(self):
        """Start one run and wait for its ready line; returns the seconds it took or None."""
        self.runs += 1
        self.out_path = os.path.join(self.work, "broker-%02d.out" % self.runs)
        self.err_path = os.path.join(self.work, "broker-%02d.log" % self.runs)
        t0 = time.monotonic()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        want = "%s127.0.0.1:%d" % (READY_PREFIX, self.port)
        while time.monotonic() - t0 < READY_TIMEOUT_S:
            with open(self.out_path, "r", errors="replace") as f:
                text = f.read()
            if want in text.splitlines():
                took = time.monotonic() - t0
                if took > RESTART_MAX_S:
                    self.problems.append("run %d took %.2f s to print its ready line" % (self.runs, took))
                return took
            if self.proc.poll() is not None:
                self.problems.append("run %d exited with code %d before its ready line; stdout %r" % (
                    self.runs, self.proc.returncode, text))
                self._scan_log()
                return None
            time.sleep(0.005)
        self.problems.append("run %d printed no %r within %.0f s" % (self.runs, want, READY_TIMEOUT_S))
        self.kill()
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL the current run. A run that already died is a broker failure."""
        if self.proc is None:
            return
        rc = self.proc.poll()
        if rc is not None:
            self.problems.append("run %d died on its own with code %d" % (self.runs, rc))
        else:
            self.proc.kill()
            self.proc.wait()
        self._scan_log()
        self.proc = None

    def stop(self):
        """SIGTERM the current run; it must exit 0 within STOP_TIMEOUT_S."""
        if self.proc is None:
            return
        rc = self.proc.poll()
        if rc is not None:
            self.problems.append("run %d died on its own with code %d" % (self.runs, rc))
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(STOP_TIMEOUT_S)
                if rc != 0:
                    self.problems.append("run %d exited with code %d after SIGTERM" % (self.runs, rc))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.problems.append("run %d did not exit within %.0f s of SIGTERM" % (self.runs, STOP_TIMEOUT_S))
        self._scan_log()
        self.proc = None

    def _scan_log(self):
        with open(self.err_path, "r", errors="replace") as f:
            text = f.read()
        for marker in CRASH_MARKERS:
            if marker in text:
                self.problems.append("run %d logged %r (see %s)" % (self.runs, marker, self.err_path))
        for line in text.splitlines():
            if " WARN " in line or " ERROR " in line:
                self.log_lines.append("run %d: %s" % (self.runs, line))


def create_topic(bootstrap, name, partitions):
    c = kw.Conn(bootstrap, timeout=5.0)
    try:
        body = kw.encode_create_topics_v4([(name, partitions, 1)])
        _, res = kw.decode_create_topics_v4(c.call(19, 4, body))
    finally:
        c.close()
    return res[0][1]


def read_acks(path):
    """-> ({id: (partition, offset)}, ids acknowledged twice)."""
    acked, twice = {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or parts[0] != "ack":
                continue  # a line cut short by an early exit
            i, p, o = int(parts[1]), int(parts[2]), int(parts[3])
            if i in acked:
                twice.append(i)
            acked[i] = (p, o)
    return acked, twice


def read_records(path):
    """-> list of (partition, offset, key, value) in the order consumed."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if len(parts) == 5 and parts[0] == "msg":
                out.append((int(parts[1]), int(parts[2]), parts[3], parts[4]))
            else:
                out.append((-1, -1, line.strip(), ""))
    return out


def check(acked, records, keys, partitions):
    """Judges what was read back against what was acknowledged; -> dict of findings."""
    r = {"garbled": [], "gaps": [], "order": [], "key_split": []}
    at = {}           # (partition, offset) -> id
    found = {}        # id -> [(partition, offset)]
    by_part = {p: [] for p in range(partitions)}
    for p, o, k, v in records:
        if p not in by_part or not v.isdigit() or k != "k%d" % (int(v) % keys):
            r["garbled"].append((p, o, k, v))
            continue
        by_part[p].append((o, int(v), k))
    for p, recs in by_part.items():
        recs.sort()
        for n, (o, i, k) in enumerate(recs):
            if o != n:
                r["gaps"].append((p, n, o))
                break
        for o, i, k in recs:
            at[(p, o)] = i
            found.setdefault(i, []).append((p, o))
    # Order per key: the first copy of each id must come after the first
    # copy of every smaller id of that key. Later copies are duplicates.
    last_first = {}   # key -> largest id whose first copy was seen
    key_part = {}
    seen = set()
    for p in range(partitions):
        for o, i, k in by_part[p]:
            if key_part.setdefault(k, p) != p and len(r["key_split"]) < 10:
                r["key_split"].append((k, key_part[k], p))
            if i in seen:
                continue
            seen.add(i)
            if k in last_first and i < last_first[k]:
                r["order"].append((k, last_first[k], i, p, o))
            last_first[k] = max(i, last_first.get(k, -1))
    r["found"] = len(found)
    r["records"] = sum(len(v) for v in by_part.values())
    r["lost"] = sorted(i for i in acked if i not in found)
    r["misplaced"] = sorted(i for i in acked if i in found and acked[i] not in found[i])
    r["dups"] = sorted(i for i, locs in found.items() if len(locs) > 1)
    r["extra_copies"] = sum(len(found[i]) - 1 for i in r["dups"])
    r["unacked_found"] = sum(1 for i in found if i not in acked)
    r["at"] = at
    r["ends"] = {p: (recs[-1][0] + 1 if recs else 0) for p, recs in by_part.items()}
    return r


def simulate_loss(data, topic, nbytes):
    """Cuts the tail of partition 0's newest segment, as a disk that lost
    acknowledged writes would, so the checker's loss detection is exercised."""
    segs = sorted(glob.glob(os.path.join(data, "%s-0" % topic, "*.log")))
    seg = segs[-1]
    size = os.path.getsize(seg)
    os.truncate(seg, max(0, size - nbytes))
    print("simulate-loss: cut %s from %d to %d bytes" % (seg, size, max(0, size - nbytes)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=22)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--min-ms", type=int, default=100)
    ap.add_argument("--max-ms", type=int, default=700)
    ap.add_argument("--rate", type=int, default=2000, help="messages per second")
    ap.add_argument("--keys", type=int, default=50)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--segment-bytes", type=int, default=16384)
    ap.add_argument("--no-durable", action="store_true", help="run without --log.flush.interval.messages 1")
    ap.add_argument("--simulate-loss", type=int, default=0, metavar="BYTES",
                    help="cut BYTES off partition 0's log (after a SIGKILL) before the final restart")
    ap.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = ap.parse_args()

    binary = os.environ.get("EDDY_BIN")
    build = os.environ.get("EDDY_BUILD_DIR")
    if not binary or not build:
        print("EDDY_BIN and EDDY_BUILD_DIR must be set (see compat-tests/README.md)")
        return 2
    client = os.path.join(build, "compat-tests", "compat_crash_producer")
    if not os.access(client, os.X_OK):
        print("%s is missing: build target compat_crash_producer" % client)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    topic = "%s_t" % os.environ.get("EDDY_TEST_NAME", "crash_consistency")
    work = tempfile.mkdtemp(prefix="eddy-crash-")
    data = os.path.join(work, "data")
    os.mkdir(data)
    port = free_port()
    bootstrap = "127.0.0.1:%d" % port
    print("seed %d (replay with --seed %d), %d cycles of %d-%d ms, %s mode, work dir %s" % (
        seed, seed, args.cycles, args.min_ms, args.max_ms,
        "page-cache" if args.no_durable else "durable", work))

    broker = Broker(binary, data, port, work, not args.no_durable, args.partitions, args.segment_bytes)
    producer = None
    acks_path = os.path.join(work, "acks.txt")
    recs_path = os.path.join(work, "records.txt")
    prod_log = os.path.join(work, "producer.log")
    failures = []
    cycles = 0
    t_start = time.monotonic()
    try:
        if broker.start() is None:
            failures.append("the broker did not start")
            raise Abort()
        err = create_topic(bootstrap, topic, args.partitions)
        if err != 0:
            failures.append("CreateTopics(%s) returned error %d" % (topic, err))
            raise Abort()
        with open(prod_log, "wb") as plog:
            producer = subprocess.Popen(
                [client, "--bootstrap", bootstrap, "--topic", topic, "--out", acks_path,
                 "--keys", str(args.keys), "--rate", str(args.rate), "--duration", "100",
                 "--flush-timeout", "30"],
                stdout=subprocess.DEVNULL, stderr=plog, stdin=subprocess.DEVNULL)
        restart_times = []
        for cycles in range(1, args.cycles + 1):
            up = rng.uniform(args.min_ms, args.max_ms) / 1000.0
            time.sleep(up)
            if producer.poll() is not None:
                failures.append("the producer exited early with code %d" % producer.returncode)
                break
            broker.kill()
            took = broker.start()
            if took is None:
                failures.append("restart %d failed" % cycles)
                break
            restart_times.append(took)
            acks_so_far = 0
            if os.path.exists(acks_path):
                with open(acks_path) as f:
                    acks_so_far = sum(1 for _ in f)
            print("cycle %2d: killed after %3.0f ms up, back in %.3f s, %d acks so far" % (
                cycles, up * 1000, took, acks_so_far), flush=True)
        if restart_times:
            print("restarts: %d, slowest %.3f s, mean %.3f s" % (
                len(restart_times), max(restart_times), sum(restart_times) / len(restart_times)))

        # Let the producer catch up on what queued while the broker was down.
        time.sleep(1.5)
        if producer.poll() is None:
            producer.send_signal(signal.SIGTERM)
        try:
            prc = producer.wait(45)
        except subprocess.TimeoutExpired:
            producer.kill()
            prc = producer.wait()
            failures.append("the producer did not finish within 45 s of SIGTERM")
        with open(prod_log, errors="replace") as f:
            plines = f.read().splitlines()
        summary = [l for l in plines if "summary" in l or "FATAL" in l]
        print("\n".join(summary) if summary else "producer printed no summary")
        if prc != 0:
            failures.append("the producer exited with code %d (see %s)" % (prc, prod_log))

        if args.simulate_loss:
            broker.kill()
            simulate_loss(data, topic, args.simulate_loss)
        else:
            broker.stop()
        if broker.start() is None:
            failures.append("the final restart failed")
            raise Abort()
        with open(os.path.join(work, "consumer.log"), "wb") as clog:
            crc = subprocess.run([client, "--consume", "--bootstrap", bootstrap, "--topic", topic,
                                  "--partitions", str(args.partitions), "--out", recs_path],
                                 stdout=subprocess.DEVNULL, stderr=clog, stdin=subprocess.DEVNULL,
                                 timeout=90).returncode
        if crc != 0:
            failures.append("the consumer failed with code %d (see %s/consumer.log)" % (crc, work))
        broker.stop()

        acked, twice = read_acks(acks_path)
        r = check(acked, read_records(recs_path), args.keys, args.partitions)
        print("cycles %d, acknowledged %d, found %d (records %d), lost %d, duplicated %d (%d extra copies), "
              "misplaced %d, found but unacknowledged %d, order violations %d" % (
                  cycles, len(acked), r["found"], r["records"], len(r["lost"]), len(r["dups"]),
                  r["extra_copies"], len(r["misplaced"]), r["unacked_found"], len(r["order"])))
        print("partition ends: %s" % ", ".join("%d:%d" % kv for kv in sorted(r["ends"].items())))
        if len(acked) < args.rate:
            failures.append("only %d messages acknowledged: the run proves little" % len(acked))
        if twice:
            failures.append("%d ids acknowledged twice, e.g. %s" % (len(twice), twice[:5]))
        if r["lost"]:
            failures.append("%d acknowledged messages lost" % len(r["lost"]))
            for i in r["lost"][:10]:
                p, o = acked[i]
                print("  lost id %d: acked at %d/%d; that offset now holds %s (partition end %d)" % (
                    i, p, o, r["at"].get((p, o), "nothing"), r["ends"].get(p, -1)))
        if r["misplaced"]:
            failures.append("%d acknowledged messages not at their acknowledged offset" % len(r["misplaced"]))
            for i in r["misplaced"][:10]:
                p, o = acked[i]
                print("  misplaced id %d: acked at %d/%d, which holds %s" % (i, p, o, r["at"].get((p, o))))
        if r["order"]:
            failures.append("%d per-key order violations" % len(r["order"]))
            for k, prev, i, p, o in r["order"][:10]:
                print("  order: key %s: id %d at %d/%d comes after id %d" % (k, i, p, o, prev))
        if r["gaps"]:
            failures.append("offset gaps: %s" % r["gaps"][:5])
        if r["garbled"]:
            failures.append("%d records that are not k<id%%K>/<id>, e.g. %s" % (len(r["garbled"]), r["garbled"][:3]))
        if r["key_split"]:
            failures.append("keys found in more than one partition: %s" % r["key_split"])
        if r["dups"]:
            failures.append("%d ids stored more than once (idempotent retries must be deduplicated), e.g. %s" %
                            (len(r["dups"]), r["dups"][:10]))
    except Abort:
        pass
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
            producer.wait()
        if broker.alive():
            broker.stop()
    failures = broker.problems + failures
    cut = [l for l in broker.log_lines if "recover" in l or "truncat" in l or "cut" in l]
    print("broker runs %d; %d WARN/ERROR lines, %d about recovery; elapsed %.1f s" % (
        broker.runs, len(broker.log_lines), len(cut), time.monotonic() - t_start))
    for line in broker.log_lines[:8]:
        print("  " + line)
    for f in failures:
        print("FAIL " + f)
    if failures or args.keep:
        print("kept %s (seed %d)" % (work, seed))
    else:
        shutil.rmtree(work, ignore_errors=True)
    if not failures:
        print("PASS: every acknowledged message survived %d SIGKILLs, in order per key" % cycles)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
