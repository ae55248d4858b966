#!/usr/bin/python3
"""Durable mode under concurrency: four kcat producers write to one partition
of a broker with log.flush.interval.messages=1 (every acknowledged batch is
fsynced first). Every message arrives once, the broker survives (this once
crashed when finishing one parked produce ran the next request), and group
commit shows: fewer fsync jobs than produce requests. Starts its own eddy.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402
from test_restart import create_topic_v4  # noqa: E402

failures = []
PRODUCERS = 4
PER_PRODUCER = 5000


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def count_batches(part_dir):
    """Record batches in a partition's .log segments (base offset int64, then length int32)."""
    n = 0
    for name in sorted(os.listdir(part_dir)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(part_dir, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos + 8:pos + 12], "big")
            pos += 12 + length
            n += 1
    return n


def main():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        print("EDDY_BIN is not set")
        return 2
    data = tempfile.mkdtemp(prefix="eddy-durable-")
    err_path = os.path.join(data, "broker.err")
    try:
        with open(err_path, "w") as err:
            p = subprocess.Popen([binary, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log.dirs",
                                  os.path.join(data, "d"), "--log.flush.interval.messages", "1"],
                                 stdout=subprocess.PIPE, stderr=err, text=True)
        line = p.stdout.readline().strip()
        boot = line[len("eddy ready on "):]
        c = kw.Conn(boot, timeout=5.0)
        check(create_topic_v4(c, "durable", 1, [])[0][1] == 0, "create topic")
        c.close()
        procs = []
        for n in range(PRODUCERS):
            lines = "".join("p%d-%d\n" % (n, i) for i in range(PER_PRODUCER)).encode()
            q = subprocess.Popen(["kcat", "-b", boot, "-P", "-t", "durable", "-p", "0", "-X", "acks=all",
                                  "-X", "linger.ms=1", "-X", "batch.num.messages=100"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            procs.append((q, lines))
        for q, lines in procs:
            q.stdin.write(lines)
            q.stdin.close()
        for q, _ in procs:
            try:
                q.wait(60)
            except subprocess.TimeoutExpired:
                q.kill()
            errtext = q.stderr.read().decode(errors="replace")
            check(q.returncode == 0 and "ERROR" not in errtext, "kcat producer finished cleanly %s" % errtext[-200:])
        check(p.poll() is None, "broker alive after concurrent durable produces")
        out = subprocess.run(["kcat", "-b", boot, "-C", "-t", "durable", "-o", "beginning", "-e", "-q"],
                             capture_output=True, timeout=60).stdout.decode().split()
        want = sorted("p%d-%d" % (n, i) for n in range(PRODUCERS) for i in range(PER_PRODUCER))
        check(sorted(out) == want, "all %d messages read back once (got %d)" % (len(want), len(out)))
        for n in range(PRODUCERS):
            mine = [m for m in out if m.startswith("p%d-" % n)]
            check(mine == ["p%d-%d" % (n, i) for i in range(PER_PRODUCER)], "producer %d's messages in order" % n)
        p.send_signal(signal.SIGTERM)
        check(p.wait(10) == 0, "clean shutdown")
        log = open(err_path).read()
        m = re.search(r"storage: (\d+) flush jobs ran", log)
        jobs = int(m.group(1)) if m else -1
        # The batches the producers' requests appended, counted in the log
        # itself: kcat's batches vary in size with timing.
        batches = count_batches(os.path.join(data, "d", "durable-0"))
        check(batches >= PRODUCERS, "the log holds %d batches" % batches)
        check(0 < jobs < batches, "group commit: %d fsync jobs for %d appended batches" % (jobs, batches))
        check("runtime error" not in log and "AddressSanitizer" not in log, "no sanitizer report")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
