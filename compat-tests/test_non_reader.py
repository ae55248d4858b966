#!/usr/bin/python3
"""One connection that pipelines small Metadata requests and never reads its
answers must cost the broker a few MB at most.

Kafka mutes a channel while its response is unsent, so a client that does not
read holds one answer. eddy pipelines, and stops taking a connection's
requests once its unsent answers hold CONN_MAX_HELD (1 MiB) of memory. The
test fills one connection for a few seconds (its receive buffer shrunk so the
kernel holds little), then checks the broker's own count of what unsent
answers hold (SIGUSR1) and the growth of its RSS, and that the broker still
answers others. Uses EDDY_BOOTSTRAP.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

BOOT = os.environ["EDDY_BOOTSTRAP"]
PORT = int(BOOT.rsplit(":", 1)[1])
NAME = os.environ.get("EDDY_TEST_NAME", "non_reader")
HELD_BOUND = (1 << 20) + (64 << 10)  # the per-connection bound plus one answer
RSS_GROWTH_MB = 8                     # x4 under AddressSanitizer
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def uses_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def main():
    pid = kw.broker_pid(PORT)
    check(pid is not None, "found the broker process")
    if pid is None:
        return 1
    c = kw.Conn(BOOT, timeout=5.0)
    topics = ["%s_%02d" % (NAME, i) for i in range(8)]
    _, res = kw.decode_create_topics_v4(c.call(19, 4, kw.encode_create_topics_v4([(t, 2, 1) for t in topics])))
    check(all(r[1] == 0 for r in res), "created %d topics" % len(topics))
    # Warm up the broker's pools with a reading client, then take the baseline.
    for _ in range(200):
        kw.decode_metadata_v1(c.call(3, 1, kw.encode_metadata_v1(None)))
    before = rss_kb(pid)

    s = kw.connect(BOOT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    chunk = b"".join(kw.request(3, 1, 100000 + i, kw.encode_metadata_v1(None), "non-reader") for i in range(200))
    sent = 0
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        try:
            sent += s.send(chunk)
        except (BlockingIOError, InterruptedError):
            time.sleep(0.01)
    one = len(chunk) // 200
    print("sent %d bytes (~%d Metadata requests), read nothing" % (sent, sent // one))
    check(sent // one > 5000, "the broker took several thousand requests before pushing back (%d)" % (sent // one))

    line = kw.broker_usr1_line(pid, "unsent answers hold")
    m = re.search(r"hold (\d+) bytes of memory, at most (\d+) on one connection", line or "")
    check(m is not None, "SIGUSR1 reports what unsent answers hold: %s" % line)
    if m:
        check(int(m.group(2)) <= HELD_BOUND,
              "the non-reading connection's answers hold %s bytes (bound %d)" % (m.group(2), HELD_BOUND))
    after = rss_kb(pid)
    bound = RSS_GROWTH_MB * 1024 * (4 if uses_asan(pid) else 1)
    check(after - before <= bound, "broker RSS grew %d KB (bound %d KB): %d -> %d KB"
          % (after - before, bound, before, after))

    # Others carry on meanwhile.
    got = kw.decode_metadata_v1(c.call(3, 1, kw.encode_metadata_v1(topics[:1])))
    check(got is not None, "another connection is answered while the non-reader is paused")
    s.close()
    c.close()
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
