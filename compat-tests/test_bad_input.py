#!/usr/bin/python3
"""Hostile-input compatibility test for eddy's Kafka listener.

Drives a running broker (EDDY_BOOTSTRAP=host:port) with malformed frames,
headers and bodies and checks, for every case, that the broker either
answers with the right error or closes only the offending connection, and
that a separate connection opened before the attacks (the "probe") still
gets a correct Metadata v1 answer afterwards.  stdlib only; every socket
operation is bounded, and the whole file stops itself after TIME_BUDGET.

Environment:
  EDDY_BOOTSTRAP  host:port of the broker (required)
  EDDY_DATA_DIR   the broker's log.dirs, if known: enables the "no directory
                  created for rejected topics" checks
  EDDY_TEST_SEED  seed for the random bodies (default: random, printed)

Exit status 0 when every check passed, 1 otherwise, 2 on a usage error.

When the broker's pid is visible in /proc (found through the listening
socket), the test also checks that it is alive at the end, that its RSS does
not grow by the size an oversized frame claims, and that its socket count
returns to the baseline once every attack connection is gone (no leaked
connections).  Without /proc access those checks are skipped, with a note.

Documented leniencies (things a correct broker may legitimately do):
  * Random or truncated bodies of Produce (acks=0 needs no answer) and Fetch
    (random max_wait_ms may be long) may get no answer within the timeout.
  * A Produce batch whose batch_length disagrees with its bytes may be
    answered CORRUPT_MESSAGE (2) or INVALID_RECORD (87): Kafka's answer
    depends on whether the CRC or the batch iteration fails first.
"""

import errno
import os
import random
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

TIMEOUT = 2.0          # per socket operation / per attack batch
TIME_BUDGET = 55.0     # the whole file, so that it ends well inside 60 s
MAX_REQUEST = 100 * 1024 * 1024   # socket.request.max.bytes default

# Kafka error codes used below.
E_NONE = 0
E_CORRUPT_MESSAGE = 2
E_UNKNOWN_TOPIC_OR_PARTITION = 3
E_LEADER_NOT_AVAILABLE = 5
E_NOT_LEADER = 6
E_INVALID_TOPIC = 17
E_INVALID_REQUIRED_ACKS = 21
E_UNSUPPORTED_VERSION = 35
E_TOPIC_ALREADY_EXISTS = 36
E_INVALID_PARTITIONS = 37
E_INVALID_REPLICATION_FACTOR = 38
E_INVALID_REQUEST = 42
E_INVALID_RECORD = 87

START = time.monotonic()


class OutOfTime(Exception):
    pass


class BrokerGone(Exception):
    """No new connection can be opened: later cases would only add noise."""


# ---------------------------------------------------------------- reporting

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.infos = []

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            msg = name + (": " + detail if detail else "")
            self.failed.append(msg)
            print("FAIL " + msg, flush=True)
        return ok

    def info(self, msg):
        self.infos.append(msg)
        print("info " + msg, flush=True)


R = Report()


def budget_left():
    return TIME_BUDGET - (time.monotonic() - START)


def require_time(case):
    if budget_left() <= 0:
        raise OutOfTime(case)


# ---------------------------------------------------------------- broker process

def find_broker_pid(bootstrap):
    """The pid owning the listening socket, via /proc (None if not visible).

    Only used for liveness, RSS and fd-leak checks; the test works without.
    """
    host, _, port = bootstrap.rpartition(":")
    port = int(port)
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) < 10 or cols[3] != "0A":
                        continue
                    if int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add("socket:[%s]" % cols[9])
        except OSError:
            pass
    if not inodes:
        return None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fddir = "/proc/%s/fd" % pid
        try:
            for fd in os.listdir(fddir):
                try:
                    if os.readlink(os.path.join(fddir, fd)) in inodes:
                        return int(pid)
                except OSError:
                    continue
        except OSError:
            continue
    return None


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def pid_socket_count(pid):
    try:
        n = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                    n += 1
            except OSError:
                pass
        return n
    except OSError:
        return None


def ensure_reachable(bootstrap, pid):
    """Raise BrokerGone when the broker died or stopped accepting."""
    if pid and not pid_alive(pid):
        raise BrokerGone("process %d exited" % pid)
    try:
        kw.connect(bootstrap, TIMEOUT).close()
    except OSError as e:
        raise BrokerGone(str(e))


# ---------------------------------------------------------------- probe

class Probe:
    """The second connection: opened first, kept open, asked Metadata v1."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.conn = kw.Conn(bootstrap, TIMEOUT, client_id="probe")

    def check(self, after):
        name = "probe Metadata v1 after " + after
        try:
            body = self.conn.call(kw.API_METADATA, 1, kw.encode_metadata_v1([]))
            md = kw.decode_metadata_v1(body)
        except (OSError, kw.WireError) as e:
            R.check(False, name, "%s: %s" % (type(e).__name__, e))
            self.reopen()
            return False
        ok = R.check(1 in md["brokers"], name,
                     "broker node 1 not listed: %r" % (md["brokers"],))
        return ok

    def reopen(self):
        self.conn.close()
        try:
            self.conn = kw.Conn(self.bootstrap, TIMEOUT, client_id="probe")
        except OSError as e:
            R.check(False, "reopen probe connection", str(e))
            raise BrokerGone(str(e))


# ---------------------------------------------------------------- attacks

CLOSE = "close"                 # the broker must close
CLOSE_OR_ANSWER = "close|answer"
ANY = "close|answer|silent"     # silence tolerated (documented above)
ANSWER = "answer"


class Attack:
    """One hostile connection: bytes to send and the acceptable outcomes.

    corr: the correlation id an answer must carry (None: no answer is
    acceptable).  check_answer(payload) -> error string or None.
    """

    def __init__(self, label, data, expect=CLOSE, corr=None,
                 check_answer=None, half_close=False):
        self.label = label
        self.data = data
        self.expect = expect
        self.corr = corr
        self.check_answer = check_answer
        self.half_close = half_close
        self.sock = None
        self.buf = bytearray()
        self.outcome = None     # "closed" | "answer" | "silent"
        self.detail = ""


def _is_reset(e):
    return isinstance(e, (ConnectionResetError, BrokenPipeError,
                          ConnectionAbortedError)) or \
        getattr(e, "errno", None) in (errno.ECONNRESET, errno.EPIPE)


def run_attacks(bootstrap, attacks, timeout=TIMEOUT):
    """Open one connection per attack, send everything, then wait (one
    shared deadline) until each is answered, closed, or timed out, and
    record a check per attack."""
    require_time("attacks")
    sel = selectors.DefaultSelector()
    pending = 0
    for a in attacks:
        try:
            a.sock = kw.connect(bootstrap, TIMEOUT)
        except OSError as e:
            a.outcome, a.detail = "connect-failed", str(e)
            continue
        try:
            if a.data:
                a.sock.sendall(a.data)
            if a.half_close:
                a.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            if _is_reset(e):
                a.outcome = "closed"
                continue
            a.outcome, a.detail = "send-failed", str(e)
            continue
        a.sock.setblocking(False)
        sel.register(a.sock, selectors.EVENT_READ, a)
        pending += 1
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            a = key.data
            try:
                chunk = a.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                chunk = b"" if _is_reset(e) else None
                if chunk is None:
                    a.detail = str(e)
            done = False
            if not chunk:
                a.outcome = "closed"
                if a.buf:
                    a.detail = "after %d unframed bytes" % len(a.buf)
                done = True
            else:
                a.buf += chunk
                if len(a.buf) >= 4:
                    (n,) = struct.unpack(">i", a.buf[:4])
                    if n < 0 or n > kw.MAX_RESPONSE:
                        a.outcome, a.detail = "answer", "bad frame size %d" % n
                        done = True
                    elif len(a.buf) >= 4 + n:
                        a.outcome = "answer"
                        done = True
            if done:
                sel.unregister(a.sock)
                pending -= 1
    for a in attacks:
        if a.sock is not None:
            if a.outcome is None:
                a.outcome = "silent"
            try:
                a.sock.close()
            except OSError:
                pass
    sel.close()
    outcomes = {}
    for a in attacks:
        _judge(a)
        outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    return outcomes


def _judge(a):
    allowed = a.expect.split("|")
    if a.outcome == "closed":
        R.check("close" in allowed, a.label,
                "broker closed the connection, an answer was expected")
        return
    if a.outcome == "silent":
        R.check("silent" in allowed, a.label,
                "no answer and no close within %.0fs" % TIMEOUT)
        return
    if a.outcome != "answer":
        R.check(False, a.label, "%s %s" % (a.outcome, a.detail))
        return
    if "answer" not in allowed or a.corr is None:
        R.check(False, a.label, "broker answered (%d bytes: %s) instead of "
                "closing" % (len(a.buf), bytes(a.buf[:24]).hex()))
        return
    if a.detail:
        R.check(False, a.label, a.detail)
        return
    payload = bytes(a.buf[4:])
    corr = struct.unpack(">i", payload[:4])[0] if len(payload) >= 4 else None
    if not R.check(corr == a.corr, a.label,
                   "answer carries correlation id %r, expected %d"
                   % (corr, a.corr)):
        return
    if a.check_answer:
        err = a.check_answer(payload)
        R.check(err is None, a.label, err or "")


def fire_and_forget(bootstrap, chunks, rst=False):
    """Connect, send chunks, close (with RST when rst); nothing to judge."""
    try:
        s = kw.connect(bootstrap, TIMEOUT)
        for c in chunks:
            s.sendall(c)
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        s.close()
    except OSError as e:
        R.info("fire-and-forget connection: %s" % e)


# ---------------------------------------------------------------- helpers

def header(api_key, version, corr, client_id="eddy-compat"):
    return kw.request_header(api_key, version, corr, client_id)


def raw_frame(api_key, version, corr, body, client_id="eddy-compat"):
    return kw.frame(header(api_key, version, corr, client_id) + body)


class CorrIds:
    def __init__(self):
        self.n = 1000

    def __call__(self):
        self.n += 1
        return self.n


CORR = CorrIds()


def call(conn, api_key, version, body, what):
    """conn.call with the failure turned into a check; None on failure."""
    try:
        return conn.call(api_key, version, body)
    except (OSError, kw.WireError) as e:
        R.check(False, what, "%s: %s" % (type(e).__name__, e))
        # Later checks on this connection should not fail for this one.
        try:
            conn.reopen()
        except OSError:
            pass
        return None


def api_versions_v0(bootstrap):
    c = kw.Conn(bootstrap, TIMEOUT)
    try:
        body = c.call(kw.API_API_VERSIONS, 0, kw.encode_api_versions_v0())
        return kw.decode_api_versions(body, 0)
    finally:
        c.close()


# ---------------------------------------------------------------- case 1

def case_frame_sizes(bootstrap, probe, pid):
    rss_before = pid_rss_kb(pid) if pid else None
    sizes = [-1, -2 ** 31, 0, MAX_REQUEST + 1, 0x7FFFFFFF]
    attacks = [Attack("1 frame size %d closes within %.0fs" % (n, TIMEOUT),
                      kw.i32(n)) for n in sizes]
    # Same sizes followed by a few body bytes: nothing may be waited for.
    attacks += [Attack("1 frame size %d + 100 body bytes closes" % n,
                       kw.i32(n) + b"\x00" * 100) for n in sizes]
    t0 = time.monotonic()
    run_attacks(bootstrap, attacks)
    R.info("case 1: %d oversize/negative frames resolved in %.2fs"
           % (len(attacks), time.monotonic() - t0))
    if pid and rss_before is not None:
        rss_after = pid_rss_kb(pid)
        if rss_after is not None:
            grown = (rss_after - rss_before) // 1024
            R.check(grown < 50, "1 broker RSS does not grow by the claimed "
                    "frame size", "RSS grew by %d MiB" % grown)
    probe.check("case 1 (bad frame sizes)")


# ---------------------------------------------------------------- case 2

def case_cut_headers(bootstrap, probe):
    attacks = []
    corr = CORR()
    full = header(kw.API_METADATA, 1, corr) + kw.encode_metadata_v1([])
    hlen = len(header(kw.API_METADATA, 1, corr))
    for cut in range(1, hlen + 1):
        # Below 8 bytes the correlation id is incomplete: only a close fits.
        expect = CLOSE if cut < 8 else CLOSE_OR_ANSWER
        attacks.append(Attack("2 Metadata v1 header cut at %d/%d bytes"
                              % (cut, hlen), kw.frame(full[:cut]), expect,
                              corr=corr if cut >= 8 else None))
    # client_id length lies (longer than the frame; negative but not -1).
    base = kw.i16(3) + kw.i16(1) + kw.i32(corr)
    for label, cid in (("client_id length 0x7fff, 3 bytes present",
                        kw.i16(0x7FFF) + b"abc"),
                       ("client_id length -2", kw.i16(-2) + b"ab"),
                       ("client_id length 1 byte of 2", b"\x00")):
        attacks.append(Attack("2 " + label, kw.frame(base + cid),
                              CLOSE_OR_ANSWER, corr=corr))
    # Flexible header (Metadata v12) with broken tagged fields.
    fbase = kw.i16(3) + kw.i16(12) + kw.i32(corr) + kw.string("x")
    body12 = kw.uvarint(1) + b"\x00\x00" + b"\x00"   # topics [], 2 bools, tags
    for label, tags in (("tag count uvarint never ends", b"\xff" * 6),
                        ("tag size beyond the frame",
                         kw.uvarint(1) + kw.uvarint(0) + kw.uvarint(1 << 20)),
                        ("tag count 2^28", kw.uvarint(1 << 28))):
        attacks.append(Attack("2 Metadata v12 header: " + label,
                              kw.frame(fbase + tags + body12),
                              CLOSE_OR_ANSWER, corr=corr))
    # A frame claiming more than is sent, then half-closed: the broker sees
    # EOF mid-frame and must drop the connection (not keep it forever).
    attacks.append(Attack("2 frame claims 100 bytes, 21 sent, client "
                          "half-closes: broker closes",
                          kw.i32(100) + full[:21], CLOSE, half_close=True))
    attacks.append(Attack("2 only 2 bytes of the size field, client "
                          "half-closes: broker closes", b"\x00\x00", CLOSE,
                          half_close=True))
    run_attacks(bootstrap, attacks)
    # The same, but the client vanishes (FIN, then RST) without waiting.
    fire_and_forget(bootstrap, [kw.i32(100) + full[:21]])
    fire_and_forget(bootstrap, [kw.i32(100) + full[:21]], rst=True)
    fire_and_forget(bootstrap, [kw.i32(len(full)), full[:5]], rst=True)
    time.sleep(0.1)
    # A valid request and a negative frame in one packet: the first is
    # answered (in order), then the connection is closed.
    c2 = CORR()
    run_attacks(bootstrap, [Attack(
        "2 valid Metadata v1 answered before the bad frame behind it",
        raw_frame(kw.API_METADATA, 1, c2, kw.encode_metadata_v1([]))
        + kw.i32(-1), ANSWER, corr=c2)])
    probe.check("case 2 (cut headers, short frames)")


# ---------------------------------------------------------------- case 3

def case_unknown_keys(bootstrap, probe, advertised):
    attacks = []
    for key in (999, -1, 10000, 32767, -32768):
        attacks.append(Attack("3 unknown api key %d closes" % key,
                              raw_frame(key, 0, CORR(), b"")))
    for key in range(0, 90):
        if key not in advertised:
            attacks.append(Attack("3 unadvertised api key %d closes" % key,
                                  raw_frame(key, 0, CORR(), b"")))
    run_attacks(bootstrap, attacks)
    probe.check("case 3 (unknown api keys)")


# ---------------------------------------------------------------- case 4

def _check_api_versions_fallback(lo, hi):
    def check(payload):
        try:
            err, keys, _ = kw.decode_api_versions(payload[4:], 0)
        except kw.WireError as e:
            return "v0 body does not decode: %s" % e
        if err != E_UNSUPPORTED_VERSION:
            return "error_code %d, expected 35" % err
        if keys != {kw.API_API_VERSIONS: (lo, hi)}:
            return "api_keys %r, expected only {18: (%d, %d)}" % (keys, lo, hi)
        return None
    return check


def case_unsupported_versions(bootstrap, probe, advertised):
    attacks = []
    for key, (lo, hi) in sorted(advertised.items()):
        bad = {hi + 1, -1, 0x7FFF}
        if lo > 0:
            bad.add(lo - 1)
        for v in sorted(bad):
            corr = CORR()
            if key == kw.API_API_VERSIONS:
                body = (kw.encode_api_versions_v3("eddy-compat", "1.0")
                        if kw.is_flexible(key, v) else b"")
                attacks.append(Attack(
                    "4 ApiVersions v%d answered 35 with only key 18 (v0 body)"
                    % v, raw_frame(key, v, corr, body), ANSWER, corr=corr,
                    check_answer=_check_api_versions_fallback(lo, hi)))
            else:
                attacks.append(Attack(
                    "4 api %d unsupported v%d closes (advertised %d-%d)"
                    % (key, v, lo, hi), raw_frame(key, v, corr, b"\x00" * 8)))
    run_attacks(bootstrap, attacks)
    probe.check("case 4 (unsupported versions)")


# ---------------------------------------------------------------- case 5

def _random_body(rng, biased):
    n = rng.choice((rng.randrange(0, 16), rng.randrange(0, 128),
                    rng.randrange(0, 1024), rng.randrange(1024, 8192)))
    if not biased:
        return bytes(rng.getrandbits(8) for _ in range(n))
    # Mostly 0x00/0x01/0xff so that lengths and counts come out small or -1
    # and the parser gets past the first field.
    alphabet = (0, 0, 0, 0, 1, 2, 0xFF, 0x7F, 0x80)
    return bytes(rng.choice(alphabet) if rng.random() < 0.8
                 else rng.getrandbits(8) for _ in range(n))


def _silence_ok(key):
    return key in (kw.API_PRODUCE, kw.API_FETCH)


def case_random_bodies(bootstrap, probe, advertised, rng, per_version=6):
    for key, (lo, hi) in sorted(advertised.items()):
        require_time("case 5")
        attacks = []
        for v in range(max(lo, 0), hi + 1):
            for i in range(per_version):
                corr = CORR()
                body = _random_body(rng, biased=i % 2 == 1)
                attacks.append(Attack(
                    "5 api %d v%d random body #%d (%d bytes)"
                    % (key, v, i, len(body)),
                    raw_frame(key, v, corr, body),
                    ANY if _silence_ok(key) else CLOSE_OR_ANSWER, corr=corr))
        seen = run_attacks(bootstrap, attacks)
        R.info("5 api %d: %d random bodies -> %s" % (key, len(attacks), ", ".join(
            "%s %d" % kv for kv in sorted(seen.items()))))
        probe.check("case 5 random bodies for api %d" % key)


def _valid_bodies(topic):
    """(api_key, version, body) requests that are valid and side-effect
    free enough to truncate at every byte."""
    zero_uuid = b"\x00" * 16
    return [
        (kw.API_API_VERSIONS, 3, kw.encode_api_versions_v3("eddy-compat", "1.0")),
        (kw.API_METADATA, 1, kw.encode_metadata_v1([])),
        (kw.API_METADATA, 4, kw.encode_metadata_v4([topic], False)),
        (kw.API_METADATA, 12,
         kw.compact_array([zero_uuid + kw.compact_string(topic) + kw.EMPTY_TAGS])
         + kw.boolean(False) + kw.boolean(False) + kw.EMPTY_TAGS),
        (kw.API_CREATE_TOPICS, 4,
         kw.encode_create_topics_v4([(topic + "-trunc", 1, 1)])),
        (kw.API_PRODUCE, 7, kw.encode_produce_v7(1, 5000, {topic: {
            0: kw.record_batch_v2([(b"k", b"truncated")])}})),
        (kw.API_INIT_PRODUCER_ID, 0, kw.string(None) + kw.i32(60000)),
        (kw.API_DELETE_TOPICS, 1,
         kw.array([topic + "-never-existed"], kw.string) + kw.i32(1000)),
        (kw.API_LIST_OFFSETS, 1, kw.i32(-1) + kw.array([
            kw.string(topic) + kw.array([kw.i32(0) + kw.i64(-1)])])),
        (kw.API_FETCH, 4, kw.i32(-1) + kw.i32(0) + kw.i32(0) + kw.i32(1 << 20)
         + kw.i8(0) + kw.array([kw.string(topic) + kw.array([
             kw.i32(0) + kw.i64(0) + kw.i32(1 << 20)])])),
    ]


_EXTREMES = (b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00",
             b"\x00\x00\x00\x00", b"\xff\xff", b"\x7f\xff")


def _mutate(rng, body):
    """One structure-preserving-ish mutation of a valid body, so the
    decoder gets past the first fields (pure random bytes rarely do)."""
    b = bytearray(body)
    op = rng.randrange(4)
    if op == 0 or not b:
        for _ in range(rng.randint(1, 3)):
            if b:
                b[rng.randrange(len(b))] = rng.getrandbits(8)
    elif op == 1:
        x = rng.choice(_EXTREMES)
        at = rng.randrange(len(b))
        b[at:at + len(x)] = x
    elif op == 2:
        del b[rng.randrange(len(b)):]
        b += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
    else:
        at = rng.randrange(len(b) + 1)
        b[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
    return bytes(b)


def case_mutated_bodies(bootstrap, probe, advertised, rng, per_body=16):
    """Mutants of valid bodies.  CreateTopics/DeleteTopics are left out: a
    mutated partition count or name would create or delete real topics."""
    topic = "bad-input-mut-%d" % os.getpid()
    attacks = []
    for key, v, body in _valid_bodies(topic):
        lo, hi = advertised.get(key, (1, 0))
        if key in (kw.API_CREATE_TOPICS, kw.API_DELETE_TOPICS) or not lo <= v <= hi:
            continue
        for i in range(per_body):
            corr = CORR()
            m = _mutate(rng, body)
            attacks.append(Attack(
                "5 api %d v%d mutated valid body #%d (%s)"
                % (key, v, i, m.hex() if len(m) <= 48 else "%d bytes" % len(m)),
                raw_frame(key, v, corr, m),
                ANY if _silence_ok(key) else CLOSE_OR_ANSWER, corr=corr))
    seen = run_attacks(bootstrap, attacks)
    R.info("5 %d mutated valid bodies -> %s" % (len(attacks), ", ".join(
        "%s %d" % kv for kv in sorted(seen.items()))))
    probe.check("case 5 mutated bodies")


def case_truncated_bodies(bootstrap, probe, advertised, conn):
    topic = "bad-input-trunc-%d" % os.getpid()
    if not create_topic(conn, topic):
        return
    tested = []
    for key, v, body in _valid_bodies(topic):
        require_time("case 5 truncation")
        lo, hi = advertised.get(key, (1, 0))
        if not lo <= v <= hi:
            R.info("5 truncation: api %d v%d not advertised, skipped" % (key, v))
            continue
        tested.append((key, v))
        attacks = []
        for cut in range(0, len(body)):
            corr = CORR()
            attacks.append(Attack(
                "5 api %d v%d valid body cut at %d/%d" % (key, v, cut, len(body)),
                raw_frame(key, v, corr, body[:cut]),
                ANY if _silence_ok(key) else CLOSE_OR_ANSWER, corr=corr))
        corr = CORR()
        attacks.append(Attack("5 api %d v%d the uncut body is answered"
                              % (key, v), raw_frame(key, v, corr, body),
                              ANSWER, corr=corr))
        run_attacks(bootstrap, attacks)
    probe.check("case 5 truncated bodies")
    # None of the truncated CreateTopics / Produce may have had an effect.
    if (kw.API_CREATE_TOPICS, 4) in tested:
        body = call(conn, kw.API_CREATE_TOPICS, 4, kw.encode_create_topics_v4(
            [(topic + "-trunc", 1, 1)]), "5 CreateTopics after truncations")
        if body is not None:
            _, res = kw.decode_create_topics_v4(body)
            R.check(res and res[0][1] == E_TOPIC_ALREADY_EXISTS,
                    "5 the uncut CreateTopics created the topic exactly once",
                    "second create answered %r" % (res,))
    if (kw.API_PRODUCE, 7) in tested:
        # The uncut produce appended offset 0; truncated ones nothing.
        res = produce(conn, topic, 0, kw.record_batch_v2([(None, b"after")]))
        if res is not None:
            R.check(res[0] == E_NONE and res[1] == 1,
                    "5 truncated Produce requests appended nothing",
                    "next produce got error %d base offset %d, expected 0/1"
                    % (res[0], res[1]))


# ---------------------------------------------------------------- case 6

def case_software_name(bootstrap, probe):
    conn = kw.Conn(bootstrap, TIMEOUT)
    try:
        body = call(conn, kw.API_API_VERSIONS, 3, kw.encode_api_versions_v3(
            "eddy-compat", "1.0.0-rc1"), "6 ApiVersions v3 with a valid name")
        if body is not None:
            err, keys, _ = kw.decode_api_versions(body, 3)
            R.check(err == E_NONE and kw.API_API_VERSIONS in keys,
                    "6 ApiVersions v3 with a valid name", "error %d" % err)
        for v in (3, 4):
            for name, ver in (("bad name!", "1.0"), ("", "1.0"),
                              ("-leading", "1.0"), ("trailing.", "1.0"),
                              ("under_score", "1.0"), ("ok", "1.0 beta"),
                              ("ok", "")):
                what = ("6 ApiVersions v%d software %r/%r -> 42"
                        % (v, name, ver))
                body = call(conn, kw.API_API_VERSIONS, v,
                            kw.encode_api_versions_v3(name, ver), what)
                if body is None:
                    continue
                err = struct.unpack(">h", body[:2])[0] if len(body) >= 2 else None
                R.check(err == E_INVALID_REQUEST, what, "error_code %r" % err)
        # librdkafka falls back to v0 on the same connection.
        body = call(conn, kw.API_API_VERSIONS, 0, b"",
                    "6 ApiVersions v0 on the same connection after 42")
        if body is not None:
            err, keys, _ = kw.decode_api_versions(body, 0)
            R.check(err == E_NONE and keys,
                    "6 ApiVersions v0 on the same connection after 42",
                    "error %d, %d keys" % (err, len(keys)))
    finally:
        conn.close()
    probe.check("case 6 (client software name)")


# ---------------------------------------------------------------- case 7

def create_topic(conn, name, partitions=1, rf=1):
    body = call(conn, kw.API_CREATE_TOPICS, 4, kw.encode_create_topics_v4(
        [(name, partitions, rf)]), "create topic %s" % name)
    if body is None:
        return False
    try:
        _, res = kw.decode_create_topics_v4(body)
    except kw.WireError as e:
        return R.check(False, "create topic %s" % name, str(e))
    return R.check(len(res) == 1 and res[0][1] in (E_NONE, E_TOPIC_ALREADY_EXISTS),
                   "create topic %s" % name, "answer %r" % (res,))


def produce(conn, topic, partition, records, acks=1, retry=True):
    """-> (error, base_offset) for (topic, partition), or None.

    Retries leadership errors for up to 2 s: a just-created topic may not
    have a leader yet.
    """
    deadline = time.monotonic() + TIMEOUT
    while True:
        body = call(conn, kw.API_PRODUCE, 7, kw.encode_produce_v7(
            acks, 5000, {topic: {partition: records}}),
            "Produce v7 to %s-%d" % (topic, partition))
        if body is None:
            return None
        try:
            _, res = kw.decode_produce_v7(body)
        except kw.WireError as e:
            R.check(False, "decode Produce v7 response", str(e))
            return None
        r = res.get((topic, partition))
        if r is None:
            R.check(False, "Produce v7 response names %s-%d" % (topic, partition),
                    "got %r" % (res,))
            return None
        if (retry and r[0] in (E_LEADER_NOT_AVAILABLE, E_NOT_LEADER)
                and time.monotonic() < deadline):
            time.sleep(0.1)
            continue
        return r[0], r[1]


def case_produce(bootstrap, probe, conn, advertised):
    lo, hi = advertised.get(kw.API_PRODUCE, (1, 0))
    if not lo <= 7 <= hi:
        R.check(False, "7 Produce v7 advertised", "Produce range %d-%d" % (lo, hi))
        return
    topic = "bad-input-produce-%d" % os.getpid()
    if not create_topic(conn, topic):
        return
    next_offset = 0

    def good(label, batch):
        nonlocal next_offset
        r = produce(conn, topic, 0, batch)
        if r is None:
            return
        if R.check(r == (E_NONE, next_offset), "7 " + label,
                   "error %d base offset %d, expected 0/%d"
                   % (r[0], r[1], next_offset)):
            next_offset += struct.unpack(">i", batch[
                kw.OFF_LAST_OFFSET_DELTA:kw.OFF_LAST_OFFSET_DELTA + 4])[0] + 1
        elif r[0] == E_NONE:
            next_offset = r[1] + 1

    def bad(label, batch, allowed, partition=0, acks=1):
        r = produce(conn, topic, partition, batch, acks=acks, retry=False)
        if r is None:
            return
        R.check(r[0] in allowed, "7 " + label, "error %d (base offset %d), "
                "expected %s" % (r[0], r[1], "/".join(map(str, allowed))))

    one = kw.record_batch_v2([(b"k0", b"v0")])
    three = kw.record_batch_v2([(None, b"a"), (b"b", None), (b"c", b"c" * 100)])
    good("correct 1-record batch accepted at offset 0", one)
    good("correct 3-record batch accepted at the next offset", three)
    good("correct gzip 2-record batch accepted", kw.record_batch_v2(
        [(b"g1", b"gzip" * 20), (b"g2", b"gzip")], attributes=kw.ATTR_GZIP))

    crc = struct.unpack(">I", one[kw.OFF_CRC:kw.OFF_CRC + 4])[0]
    bad("wrong CRC -> 2", kw.batch_patch(one, kw.OFF_CRC, kw.u32(crc ^ 1),
                                          fix_crc=False), (E_CORRUPT_MESSAGE,))
    blen = struct.unpack(">i", one[8:12])[0]
    bad("batch_length +7 beyond the bytes -> 87 or 2",
        kw.batch_patch(one, kw.OFF_BATCH_LENGTH, kw.i32(blen + 7), False),
        (E_INVALID_RECORD, E_CORRUPT_MESSAGE))
    bad("batch_length -7 (short of the bytes) -> 87 or 2",
        kw.batch_patch(one, kw.OFF_BATCH_LENGTH, kw.i32(blen - 7), False),
        (E_INVALID_RECORD, E_CORRUPT_MESSAGE))
    bad("batch_length -1000 -> 87 or 2",
        kw.batch_patch(one, kw.OFF_BATCH_LENGTH, kw.i32(-1000), False),
        (E_INVALID_RECORD, E_CORRUPT_MESSAGE))
    bad("records_count 3 with last_offset_delta 0 (CRC valid) -> 87",
        kw.batch_patch(one, kw.OFF_RECORDS_COUNT, kw.i32(3)),
        (E_INVALID_RECORD,))
    bad("last_offset_delta 2 with records_count 1 (CRC valid) -> 87",
        kw.batch_patch(one, kw.OFF_LAST_OFFSET_DELTA, kw.i32(2)),
        (E_INVALID_RECORD,))
    bad("gzip attribute over garbage (CRC valid) -> 87", kw.record_batch_v2(
        [(None, b"x")], attributes=kw.ATTR_GZIP,
        records_payload=bytes(random.Random(7).getrandbits(8) for _ in range(64))),
        (E_INVALID_RECORD,))
    bad("gzip attribute over a truncated gzip stream (CRC valid) -> 87",
        kw.record_batch_v2([(None, b"x")], attributes=kw.ATTR_GZIP,
                           records_payload=kw.gzip_compress(
                               kw.record_v2(0, None, b"x" * 50))[:20]),
        (E_INVALID_RECORD,))
    bad("partition 99 of an existing topic -> 3", one,
        (E_UNKNOWN_TOPIC_OR_PARTITION,), partition=99)
    # Extra checks from PROTOCOL.md section 2.3 (Kafka's ProduceRequest and
    # LogValidator rules).
    bad("magic 1 batch in Produce v7 -> 87",
        kw.batch_patch(one, kw.OFF_MAGIC, kw.i8(1)), (E_INVALID_RECORD,))
    bad("two batches in one partition -> 87", one + one, (E_INVALID_RECORD,))
    bad("empty records for a partition -> 87", b"", (E_INVALID_RECORD,))
    bad("client-written control batch -> 87",
        kw.record_batch_v2([(None, b"x")], attributes=kw.ATTR_CONTROL),
        (E_INVALID_RECORD,))
    bad("records_count -1 (CRC valid) -> 87",
        kw.batch_patch(one, kw.OFF_RECORDS_COUNT, kw.i32(-1)),
        (E_INVALID_RECORD,))
    bad("record length varint beyond the batch (CRC valid) -> 87",
        kw.record_batch_v2([(None, b"x")], records_payload=kw.varint(1000) + b"\x00"),
        (E_INVALID_RECORD, E_CORRUPT_MESSAGE))
    bad("acks=2 -> 21", one, (E_INVALID_REQUIRED_ACKS,), acks=2)
    nz = kw.batch_patch(one, 0, kw.i64(5), fix_crc=False)
    r = produce(conn, topic, 0, nz, retry=False)
    if r is not None:
        R.info("7 batch with base_offset 5 answered error %d base offset %d "
               "(Kafka trunk: 87; older Kafka overwrites the offset)" % r)
        if r[0] == E_NONE:
            next_offset = r[1] + 1
    good("a correct batch after the rejected ones gets the next offset "
         "(nothing was appended)", one)
    probe.check("case 7 (Produce batch validation)")


# ---------------------------------------------------------------- case 8

def _decode_metadata_v4_topics(body):
    """Topic errors from a Metadata v4 answer: {name: error}."""
    r = kw.Reader(body)
    r.i32()                                 # throttle
    for _ in range(max(r.array_len(), 0)):  # brokers
        r.i32(), r.string(), r.i32(), r.string()
    r.string()                              # cluster id
    r.i32()                                 # controller
    out = {}
    for _ in range(max(r.array_len(), 0)):
        err, name, _ = r.i16(), r.string(), r.boolean()
        for _ in range(max(r.array_len(), 0)):
            r.i16(), r.i32(), r.i32()
            for _ in range(2):
                for _ in range(max(r.array_len(), 0)):
                    r.i32()
        out[name] = err
    return out


def case_create_topics(bootstrap, probe, conn, advertised):
    lo, hi = advertised.get(kw.API_CREATE_TOPICS, (1, 0))
    if not lo <= 4 <= hi:
        R.check(False, "8 CreateTopics v4 advertised", "range %d-%d" % (lo, hi))
        return
    data_dir = os.environ.get("EDDY_DATA_DIR")
    before = set(os.listdir(data_dir)) if data_dir and os.path.isdir(data_dir) else None
    tag = "%d-%d" % (os.getpid(), int(time.time()) % 100000)
    existing = "bad-input-exists-" + tag
    escape = "eddy-escape-" + tag
    created = []
    if create_topic(conn, existing):
        created.append(existing)
    long_ok = ("L" + tag + "-").ljust(249, "x")
    cases = [
        ("name of 250 characters", "n" * 250, 1, 1, (E_INVALID_TOPIC,)),
        ("name with '/'", "bad/name-" + tag, 1, 1, (E_INVALID_TOPIC,)),
        ("name '../<x>' (path escape)", "../" + escape, 1, 1, (E_INVALID_TOPIC,)),
        ("name '.'", ".", 1, 1, (E_INVALID_TOPIC,)),
        ("name '..'", "..", 1, 1, (E_INVALID_TOPIC,)),
        ("empty name", "", 1, 1, (E_INVALID_TOPIC,)),
        ("name with a space", "bad name " + tag, 1, 1, (E_INVALID_TOPIC,)),
        ("name with a NUL byte", "bad\x00" + tag, 1, 1, (E_INVALID_TOPIC,)),
        ("non-ASCII name", "t\u00e9st-" + tag, 1, 1, (E_INVALID_TOPIC,)),
        ("an existing name", existing, 1, 1, (E_TOPIC_ALREADY_EXISTS,)),
        ("num_partitions 0", "np0-" + tag, 0, 1, (E_INVALID_PARTITIONS,)),
        ("num_partitions -5", "npm5-" + tag, -5, 1, (E_INVALID_PARTITIONS,)),
        ("replication_factor 3", "rf3-" + tag, 1, 3,
         (E_INVALID_REPLICATION_FACTOR,)),
        ("replication_factor 0", "rf0-" + tag, 1, 0,
         (E_INVALID_REPLICATION_FACTOR,)),
        ("name of 249 characters is accepted", long_ok, 1, 1, (E_NONE,)),
    ]
    for label, name, parts, rf, allowed in cases:
        what = "8 CreateTopics v4 %s -> %s" % (label, "/".join(map(str, allowed)))
        body = call(conn, kw.API_CREATE_TOPICS, 4, kw.encode_create_topics_v4(
            [(name, parts, rf)]), what)
        if body is None:
            continue
        try:
            _, res = kw.decode_create_topics_v4(body)
        except kw.WireError as e:
            R.check(False, what, "undecodable answer: %s" % e)
            continue
        ok = R.check(len(res) == 1 and res[0][1] in allowed, what,
                     "answer %r" % (res,))
        if ok and res[0][1] == E_NONE:
            created.append(name)
    # Topics refused for their parameters (valid names) must not exist.
    names = ["np0-" + tag, "npm5-" + tag, "rf3-" + tag, "rf0-" + tag]
    body = call(conn, kw.API_METADATA, 4, kw.encode_metadata_v4(names, False),
                "8 Metadata v4 for the refused topics")
    if body is not None:
        try:
            errs = _decode_metadata_v4_topics(body)
            for n in names:
                R.check(errs.get(n) == E_UNKNOWN_TOPIC_OR_PARTITION,
                        "8 refused topic %s does not exist" % n,
                        "Metadata v4 error %r" % errs.get(n))
        except kw.WireError as e:
            R.check(False, "8 Metadata v4 answer decodes", str(e))
    if before is None:
        R.info("8 EDDY_DATA_DIR not set: directory checks skipped")
    else:
        after = set(os.listdir(data_dir))
        # Only entries a refused name could have produced count: the broker
        # may write unrelated files (checkpoints, ...) at any time.
        prefixes = ("n" * 10, ".-", "..-", "-0", "bad", "t\u00e9st")
        stray = [d for d in sorted(after - before)
                 if (tag in d or d.startswith(prefixes))
                 and not any(d.startswith(c + "-") for c in created)]
        R.check(not stray, "8 no directory created for refused topics",
                "new entries in %s: %r" % (data_dir, stray))
        parent = os.path.dirname(os.path.abspath(data_dir))
        leaked = [d for d in os.listdir(parent) if escape in d]
        R.check(not leaked, "8 no directory created outside the data dir",
                "found %r in %s" % (leaked, parent))
    probe.check("case 8 (CreateTopics validation)")


# ---------------------------------------------------------------- case 9

def case_many_connections(bootstrap, probe, n=200):
    socks = []
    full = raw_frame(kw.API_METADATA, 1, CORR(), kw.encode_metadata_v1([]))
    partials = [b"", full[:2], full[:4], full[:9], full[:-1],
                kw.i32(1 << 20) + full[4:]]
    try:
        for i in range(n):
            try:
                s = kw.connect(bootstrap, TIMEOUT)
                p = partials[i % len(partials)]
                if p:
                    s.sendall(p)
                socks.append(s)
            except OSError as e:
                R.check(False, "9 open connection %d of %d" % (i + 1, n), str(e))
                break
        R.check(len(socks) == n, "9 %d concurrent connections opened" % n,
                "only %d" % len(socks))
        probe.check("case 9 with %d connections stuck mid-frame" % len(socks))
    finally:
        for i, s in enumerate(socks):
            try:
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass
    time.sleep(0.2)
    probe.check("case 9 after dropping %d connections mid-frame" % len(socks))
    # A fresh connection still works, too.
    try:
        c = kw.Conn(bootstrap, TIMEOUT)
        body = c.call(kw.API_METADATA, 1, kw.encode_metadata_v1([]))
        R.check(1 in kw.decode_metadata_v1(body)["brokers"],
                "9 a new connection gets Metadata v1 afterwards")
        c.close()
    except (OSError, kw.WireError) as e:
        R.check(False, "9 a new connection gets Metadata v1 afterwards", str(e))


# ---------------------------------------------------------------- main

def main():
    bootstrap = os.environ.get("EDDY_BOOTSTRAP")
    if not bootstrap:
        print("EDDY_BOOTSTRAP=host:port is required", file=sys.stderr)
        return 2
    seed = int(os.environ.get("EDDY_TEST_SEED") or random.randrange(1 << 32))
    print("test_bad_input: broker %s, seed %d (EDDY_TEST_SEED=%d to repeat)"
          % (bootstrap, seed, seed), flush=True)
    rng = random.Random(seed)

    try:
        probe = Probe(bootstrap)
    except OSError as e:
        print("FAIL cannot connect to %s: %s" % (bootstrap, e))
        return 1
    pid = find_broker_pid(bootstrap)
    if pid is None:
        R.info("broker pid not visible in /proc: liveness/RSS/fd checks skipped")
    try:
        err, advertised, _ = api_versions_v0(bootstrap)
    except (OSError, kw.WireError) as e:
        print("FAIL ApiVersions v0: %s: %s" % (type(e).__name__, e))
        return 1
    R.check(err == E_NONE and kw.API_API_VERSIONS in advertised,
            "ApiVersions v0 answer", "error %d keys %r" % (err, advertised))
    print("advertised: " + ", ".join("%d:%d-%d" % (k, lo, hi) for k, (lo, hi)
                                     in sorted(advertised.items())), flush=True)
    probe.check("startup")
    # Let the probe's and ApiVersions' sockets settle before the baseline.
    time.sleep(0.1)
    sockets_before = pid_socket_count(pid) if pid else None

    conn = kw.Conn(bootstrap, TIMEOUT, client_id="bad-input-admin")
    steps = [
        ("case 1", lambda: case_frame_sizes(bootstrap, probe, pid)),
        ("case 2", lambda: case_cut_headers(bootstrap, probe)),
        ("case 3", lambda: case_unknown_keys(bootstrap, probe, advertised)),
        ("case 4", lambda: case_unsupported_versions(bootstrap, probe, advertised)),
        ("case 6", lambda: case_software_name(bootstrap, probe)),
        ("case 7", lambda: case_produce(bootstrap, probe, conn, advertised)),
        ("case 8", lambda: case_create_topics(bootstrap, probe, conn, advertised)),
        ("case 5 truncated", lambda: case_truncated_bodies(
            bootstrap, probe, advertised, conn)),
        ("case 5 random", lambda: case_random_bodies(
            bootstrap, probe, advertised, rng)),
        ("case 5 mutated", lambda: case_mutated_bodies(
            bootstrap, probe, advertised, rng)),
        ("case 9", lambda: case_many_connections(bootstrap, probe)),
    ]
    gone = False
    for name, step in steps:
        t0 = time.monotonic()
        try:
            require_time(name)
            ensure_reachable(bootstrap, pid)
            step()
        except OutOfTime as e:
            R.check(False, "time budget", "%.0fs used up before %s"
                    % (TIME_BUDGET, e))
            break
        except BrokerGone as e:
            R.check(False, name, "broker unreachable (%s): remaining cases "
                    "skipped" % e)
            gone = True
            break
        except (OSError, kw.WireError) as e:
            R.check(False, name, "aborted: %s: %s" % (type(e).__name__, e))
            try:
                conn.close()
                conn = kw.Conn(bootstrap, TIMEOUT, client_id="bad-input-admin")
            except OSError:
                break
        print("%s done in %.2fs" % (name, time.monotonic() - t0), flush=True)
    conn.close()

    if pid:
        R.check(pid_alive(pid), "broker process %d still alive" % pid)
        # Every attack connection is closed by now; the broker should have
        # closed its ends too (a leak here means a connection the broker
        # never noticed was gone).
        deadline = time.monotonic() + TIMEOUT
        after = pid_socket_count(pid)
        while (after is not None and sockets_before is not None
               and after > sockets_before + 2 and time.monotonic() < deadline):
            time.sleep(0.1)
            after = pid_socket_count(pid)
        if after is not None and sockets_before is not None:
            R.check(after <= sockets_before + 2,
                    "broker closed the sockets of dropped connections",
                    "%d sockets before the attacks, %d after"
                    % (sockets_before, after))
    if not gone:
        try:
            probe.check("all cases")
        except BrokerGone:
            pass
    probe.conn.close()

    print("test_bad_input: %d checks passed, %d failed, %.1fs (seed %d)"
          % (R.passed, len(R.failed), time.monotonic() - START, seed))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
