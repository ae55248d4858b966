"""kwire: a tiny Kafka wire helper for eddy's compat tests (stdlib only).

It owns request framing, request headers v1/v2, response-header stripping,
primitive encoders/decoders, CRC-32C and RecordBatch v2 construction, plus
encoders and decoders for the handful of messages the compat tests send:
ApiVersions v0/v3, Metadata v1, CreateTopics v4 and Produce v7.  It is
deliberately not a client: no version negotiation, no retries, no
connection management beyond one blocking socket.  Decoders read only the
fields the tests assert on and raise WireError on malformed input, so a test
can tell "the broker sent garbage" from "the broker sent a wrong value".
"""

import os
import signal
import socket
import struct
import time
import zlib

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19
API_DELETE_TOPICS = 20
API_INIT_PRODUCER_ID = 22

# First flexible (KIP-482) request version per API key, from Kafka's message
# JSONs (None = never flexible).  A flexible request uses request header v2
# and (except ApiVersions) response header v1.
FLEXIBLE_FROM = {
    0: 9, 1: 12, 2: 6, 3: 9, 4: 4, 5: 2, 6: 6, 7: 3, 8: 8, 9: 6, 10: 3,
    11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3, 17: None, 18: 3, 19: 5,
    20: 4, 21: 2, 22: 2, 23: 4, 24: 3, 25: 3, 26: 3, 27: 1, 28: 3, 29: 2,
    30: 2, 31: 2, 32: 4, 33: 2, 34: 2, 35: 2, 36: 2, 37: 2, 38: 2, 39: 2,
    40: 2, 41: 2, 42: 2, 43: 2, 44: 1, 47: None, 48: 1, 49: 1, 53: 1, 54: 1,
}


class WireError(Exception):
    """A response could not be decoded (truncated, bad length, ...)."""


def is_flexible(api_key, api_version):
    """True when (api_key, api_version) uses header v2 / compact encodings.

    Keys missing from the table (the KRaft-era APIs) are flexible from v0.
    Negative versions never are.
    """
    if api_version < 0:
        return False
    first = FLEXIBLE_FROM.get(api_key, 0)
    return first is not None and api_version >= first


# ---------------------------------------------------------------- encoding

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def uvarint(v):
    if v < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):
    """Zigzag-signed varint (record fields), 64-bit range."""
    return uvarint((v << 1) ^ (v >> 63))


def string(s):
    """INT16-length nullable string (None = -1)."""
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def compact_string(s):
    """uvarint(N+1) string; None encodes as 0 (null)."""
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def nbytes(b):
    """INT32-length nullable bytes (None = -1)."""
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items, enc=None):
    """INT32-count array of already-encoded items (None = null array)."""
    if items is None:
        return i32(-1)
    items = list(items)
    return i32(len(items)) + b"".join(enc(x) if enc else x for x in items)


def compact_array(items, enc=None):
    if items is None:
        return uvarint(0)
    items = list(items)
    return uvarint(len(items) + 1) + b"".join(enc(x) if enc else x for x in items)


EMPTY_TAGS = b"\x00"


def request_header(api_key, api_version, correlation_id,
                   client_id="eddy-compat", flexible=None):
    """Request header v1 (v2 when flexible: + empty tagged-field section).

    flexible=None picks the header version from FLEXIBLE_FROM.
    """
    if flexible is None:
        flexible = is_flexible(api_key, api_version)
    h = i16(api_key) + i16(api_version) + i32(correlation_id) + string(client_id)
    return h + EMPTY_TAGS if flexible else h


def frame(payload):
    """Prefix with the int32 size."""
    return i32(len(payload)) + payload


def request(api_key, api_version, correlation_id, body,
            client_id="eddy-compat", flexible=None):
    """A complete framed request: size, header, body."""
    return frame(request_header(api_key, api_version, correlation_id,
                                client_id, flexible) + body)


# ---------------------------------------------------------------- decoding

class Reader:
    """Bounds-checked cursor over one response body; raises WireError."""

    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise WireError("need %d bytes at offset %d, have %d"
                            % (n, self.pos, len(self.data) - self.pos))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def boolean(self):
        return self.take(1) != b"\x00"

    def uvarint(self):
        v = 0
        for shift in range(0, 35, 7):
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
        raise WireError("uvarint longer than 5 bytes")

    def string(self):
        n = self.i16()
        if n == -1:
            return None
        if n < 0:
            raise WireError("negative string length %d" % n)
        return self.take(n).decode("utf-8", "replace")

    def compact_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        return self.take(n - 1).decode("utf-8", "replace")

    def array_len(self):
        n = self.i32()
        if n < -1:
            raise WireError("negative array length %d" % n)
        # Each element is at least one byte: a cheap sanity bound.
        if n > self.remaining():
            raise WireError("array length %d exceeds the %d bytes left"
                            % (n, self.remaining()))
        return n

    def compact_array_len(self):
        n = self.uvarint()
        if n == 0:
            return -1
        if n - 1 > self.remaining():
            raise WireError("compact array length %d exceeds the %d bytes left"
                            % (n - 1, self.remaining()))
        return n - 1

    def tagged_fields(self):
        """Skip a tagged-field section; returns {tag: raw bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            out[tag] = self.take(self.uvarint())
        return out


def strip_response_header(api_key, api_version, payload):
    """Split a response frame payload into (correlation_id, body bytes).

    Flexible responses carry header v1 (tagged fields) except ApiVersions.
    """
    r = Reader(payload)
    corr = r.i32()
    if api_key != API_API_VERSIONS and is_flexible(api_key, api_version):
        r.tagged_fields()
    return corr, r.data[r.pos:]


# ---------------------------------------------------------------- socket I/O

def connect(bootstrap, timeout=2.0):
    """Blocking TCP connection to "host:port" with a socket timeout."""
    host, _, port = bootstrap.rpartition(":")
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(timeout)
    return s


def recv_exact(sock, n, deadline):
    """n bytes, or None on EOF; raises socket.timeout past the deadline."""
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


MAX_RESPONSE = 64 << 20


def recv_frame(sock, timeout=2.0):
    """One response frame payload; None on EOF.  Raises socket.timeout."""
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 4, deadline)
    if head is None:
        return None
    (n,) = struct.unpack(">i", head)
    if n < 4 or n > MAX_RESPONSE:
        raise WireError("bad response frame size %d" % n)
    return recv_exact(sock, n, deadline)


class Conn:
    """One blocking connection that sends requests and matches answers."""

    def __init__(self, bootstrap, timeout=2.0, client_id="eddy-compat"):
        self.bootstrap = bootstrap
        self.sock = connect(bootstrap, timeout)
        self.timeout = timeout
        self.client_id = client_id
        self.next_corr = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reopen(self):
        """Replace the socket (after the broker closed it); may raise."""
        self.close()
        self.sock = connect(self.bootstrap, self.timeout)

    def call(self, api_key, api_version, body):
        """Send one request, return its response body (header stripped).

        Raises WireError on EOF or on a correlation-id mismatch and
        socket.timeout when no answer arrives in time.
        """
        corr = self.next_corr
        self.next_corr += 1
        self.sock.sendall(request(api_key, api_version, corr, body,
                                  self.client_id))
        payload = recv_frame(self.sock, self.timeout)
        if payload is None:
            raise WireError("connection closed by the broker")
        got, rest = strip_response_header(api_key, api_version, payload)
        if got != corr:
            raise WireError("correlation id %d, expected %d" % (got, corr))
        return rest


# ---------------------------------------------------------------- ApiVersions

def encode_api_versions_v0():
    return b""


def encode_api_versions_v3(software_name, software_version):
    return (compact_string(software_name) + compact_string(software_version)
            + EMPTY_TAGS)


def decode_api_versions(body, version):
    """-> (error_code, {api_key: (min, max)}, throttle_ms or None).

    version is the layout of the body (0 for the UNSUPPORTED_VERSION
    fallback, whatever version was asked).
    """
    r = Reader(body)
    err = r.i16()
    keys = {}
    n = r.compact_array_len() if version >= 3 else r.array_len()
    for _ in range(max(n, 0)):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        if version >= 3:
            r.tagged_fields()
        keys[k] = (lo, hi)
    throttle = r.i32() if version >= 1 else None
    if version >= 3:
        r.tagged_fields()
    return err, keys, throttle


# ---------------------------------------------------------------- Metadata

def encode_metadata_v1(topics=None):
    """topics=None asks for all topics; [] for none."""
    return array(topics, string) if topics is not None else i32(-1)


def encode_metadata_v4(topics=None, allow_auto_topic_creation=False):
    return encode_metadata_v1(topics) + boolean(allow_auto_topic_creation)


def decode_metadata_v1(body):
    """-> dict(brokers={id: (host, port, rack)}, controller_id=int,
    topics={name: (error, is_internal, {partition: (error, leader)})})."""
    r = Reader(body)
    brokers = {}
    for _ in range(max(r.array_len(), 0)):
        node = r.i32()
        host = r.string()
        port = r.i32()
        rack = r.string()
        brokers[node] = (host, port, rack)
    controller = r.i32()
    topics = {}
    for _ in range(max(r.array_len(), 0)):
        terr = r.i16()
        name = r.string()
        internal = r.boolean()
        parts = {}
        for _ in range(max(r.array_len(), 0)):
            perr = r.i16()
            idx = r.i32()
            leader = r.i32()
            for _ in range(max(r.array_len(), 0)):
                r.i32()  # replicas
            for _ in range(max(r.array_len(), 0)):
                r.i32()  # isr
            parts[idx] = (perr, leader)
        topics[name] = (terr, internal, parts)
    if r.remaining():
        raise WireError("%d trailing bytes in Metadata v1" % r.remaining())
    return {"brokers": brokers, "controller_id": controller, "topics": topics}


# ---------------------------------------------------------------- CreateTopics

def encode_create_topics_v4(topics, timeout_ms=5000, validate_only=False):
    """topics: iterable of (name, num_partitions, replication_factor)."""
    def one(t):
        name, parts, rf = t
        return (string(name) + i32(parts) + i16(rf)
                + array([]) + array([]))  # no assignments, no configs
    return array(topics, one) + i32(timeout_ms) + boolean(validate_only)


def decode_create_topics_v4(body):
    """-> (throttle_ms, [(name, error_code, error_message)])."""
    r = Reader(body)
    throttle = r.i32()
    out = []
    for _ in range(max(r.array_len(), 0)):
        out.append((r.string(), r.i16(), r.string()))
    return throttle, out


# ---------------------------------------------------------------- Produce

def encode_produce_v7(acks, timeout_ms, topic_data, transactional_id=None):
    """topic_data: {topic: {partition: records bytes or None}}."""
    def topic(item):
        name, parts = item
        return string(name) + array(
            sorted(parts.items()),
            lambda p: i32(p[0]) + nbytes(p[1]))
    return (string(transactional_id) + i16(acks) + i32(timeout_ms)
            + array(topic_data.items(), topic))


def decode_produce_v7(body):
    """-> (throttle_ms, {(topic, partition): (error, base_offset,
    log_append_time, log_start_offset)})."""
    r = Reader(body)
    out = {}
    for _ in range(max(r.array_len(), 0)):
        name = r.string()
        for _ in range(max(r.array_len(), 0)):
            idx = r.i32()
            out[(name, idx)] = (r.i16(), r.i64(), r.i64(), r.i64())
    throttle = r.i32()
    return throttle, out


# ---------------------------------------------------------------- CRC-32C

def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC32C
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- RecordBatch v2
#
# | offset | field                | type  |
# |--------|----------------------|-------|
# | 0      | base_offset          | int64 |
# | 8      | batch_length         | int32 | bytes after this field
# | 12     | partition_leader_ep. | int32 |
# | 16     | magic (2)            | int8  |
# | 17     | crc (CRC-32C [21,))  | uint32|
# | 21     | attributes           | int16 |
# | 23     | last_offset_delta    | int32 |
# | 27     | base_timestamp       | int64 |
# | 35     | max_timestamp        | int64 |
# | 43     | producer_id          | int64 |
# | 51     | producer_epoch       | int16 |
# | 53     | base_sequence        | int32 |
# | 57     | records_count        | int32 | never compressed
# | 61     | records...           |       | compressed per attributes & 7

BATCH_OVERHEAD = 61
OFF_BATCH_LENGTH = 8
OFF_MAGIC = 16
OFF_CRC = 17
OFF_ATTRIBUTES = 21
OFF_LAST_OFFSET_DELTA = 23
OFF_RECORDS_COUNT = 57

ATTR_GZIP = 1
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20


def record_v2(offset_delta, key, value, timestamp_delta=0, headers=()):
    """One record: varint length, then attributes .. headers."""
    def vbytes(b):
        if b is None:
            return varint(-1)
        b = b.encode() if isinstance(b, str) else b
        return varint(len(b)) + b
    body = (i8(0) + varint(timestamp_delta) + varint(offset_delta)
            + vbytes(key) + vbytes(value) + varint(len(headers))
            + b"".join(vbytes(hk) + vbytes(hv) for hk, hv in headers))
    return varint(len(body)) + body


def gzip_compress(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def record_batch_v2(records, base_timestamp=None, attributes=0,
                    producer_id=-1, producer_epoch=-1, base_sequence=-1,
                    records_payload=None, records_count=None,
                    last_offset_delta=None, magic=2):
    """A RecordBatch v2 with a correct CRC and length.

    records: list of (key, value).  records_payload replaces the encoded
    (and, with ATTR_GZIP, compressed) records section verbatim; the count
    and delta overrides let tests build inconsistent-but-CRC-valid batches.
    """
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    if records_payload is None:
        raw = b"".join(record_v2(i, k, v) for i, (k, v) in enumerate(records))
        records_payload = gzip_compress(raw) if attributes & 7 == ATTR_GZIP else raw
    n = len(records)
    if records_count is None:
        records_count = n
    if last_offset_delta is None:
        last_offset_delta = n - 1
    after_crc = (i16(attributes) + i32(last_offset_delta)
                 + i64(base_timestamp) + i64(base_timestamp)
                 + i64(producer_id) + i16(producer_epoch) + i32(base_sequence)
                 + i32(records_count) + records_payload)
    after_length = i32(0) + i8(magic) + u32(crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


def batch_fix_crc(batch):
    """Recompute the CRC of a (possibly edited) batch in place of the old."""
    b = bytearray(batch)
    b[OFF_CRC:OFF_CRC + 4] = u32(crc32c(bytes(b[OFF_ATTRIBUTES:])))
    return bytes(b)


def batch_patch(batch, offset, packed, fix_crc=True):
    """Overwrite bytes at offset; optionally recompute the CRC."""
    b = bytearray(batch)
    b[offset:offset + len(packed)] = packed
    return batch_fix_crc(bytes(b)) if fix_crc else bytes(b)


# ------------------------------------------------------- the broker process

def broker_pid(port):
    """The pid of the process listening on 127.0.0.1:port (the broker), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) >= 10 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add("socket:[%s]" % cols[9])
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                try:
                    if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes:
                        return int(pid)
                except OSError:
                    pass
        except OSError:
            pass
    return None


def broker_usr1_line(pid, marker, timeout=2.0):
    """Sends the broker SIGUSR1 and returns the first line it then logs that
    contains marker (read from the file its stderr goes to), or None."""
    try:
        path = os.readlink("/proc/%d/fd/2" % pid)
        size = os.path.getsize(path)
    except OSError:
        return None
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "r", errors="replace") as f:
            f.seek(size)
            for line in f.read().splitlines():
                if marker in line:
                    return line
        time.sleep(0.05)
    return None
