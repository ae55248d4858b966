"""A minimal in-memory ZooKeeper server for Burrow's own coordination.

Burrow 1.2 will not start without ZooKeeper: its zookeeper coordinator panics
when `zookeeper.servers` is empty, creates its root path at start, and the
notifier coordinator takes a lock under it (an ephemeral sequential node, then
getChildren). Nothing of the Kafka side goes through ZooKeeper (the "kafka"
cluster and consumer modules talk to the broker only), so the compat test
stands this in for a real ensemble.

It speaks the ZooKeeper client protocol (jute encoding, length-prefixed
frames) for what samuel/go-zookeeper sends: connect/session (with pings),
create (persistent, ephemeral, sequential), delete, exists, getData, setData,
getChildren/getChildren2, sync, setWatches and close. Watches fire once, as
in ZooKeeper. Ephemeral nodes go when their session's connection closes.
Anything else is answered UNIMPLEMENTED. One tree, one process, no
persistence: fit for one Burrow in a test, nothing more.
"""

import socket
import struct
import threading

# Op codes (ZooDefs.OpCode).
OP_CREATE, OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA = 1, 2, 3, 4, 5
OP_GET_CHILDREN, OP_SYNC, OP_PING, OP_GET_CHILDREN2 = 8, 9, 11, 12
OP_CREATE2, OP_CLOSE, OP_SET_WATCHES = 15, -11, 101
# Error codes (KeeperException.Code).
OK, UNIMPLEMENTED, NO_NODE, BAD_VERSION, NODE_EXISTS, NOT_EMPTY, BAD_ARGUMENTS = (
    0, -6, -101, -103, -110, -111, -8)
# Create flags and watch event types.
EPHEMERAL, SEQUENTIAL = 1, 2
EV_CREATED, EV_DELETED, EV_DATA_CHANGED, EV_CHILDREN_CHANGED = 1, 2, 3, 4
STATE_SYNC_CONNECTED = 3
XID_WATCH_EVENT, XID_PING = -1, -2


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short frame")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def boolean(self):
        return self.take(1) != b"\x00"

    def buffer(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode()

    def strings(self):
        return [self.string() for _ in range(max(self.i32(), 0))]


def w_i32(v):
    return struct.pack(">i", v)


def w_buffer(b):
    return w_i32(-1) if b is None else w_i32(len(b)) + b


def w_string(s):
    return w_buffer(s.encode())


class Node:
    def __init__(self, data, zxid, owner, now):
        self.data = data or b""
        self.czxid = self.mzxid = self.pzxid = zxid
        self.ctime = self.mtime = now
        self.version = self.cversion = 0
        self.owner = owner  # session id of an ephemeral node, else 0
        self.children = set()
        self.seq = 0

    def stat(self):
        return struct.pack(">qqqqiiiqiiq", self.czxid, self.mzxid, self.ctime, self.mtime,
                           self.version, self.cversion, 0, self.owner, len(self.data),
                           len(self.children), self.pzxid)


class ZkStandIn:
    """Serves on 127.0.0.1 (port 0: chosen by the OS) in daemon threads."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.zxid = 1
        self.next_session = 0x1E0D0000
        self.nodes = {"/": Node(b"", 0, 0, 0)}
        # path -> set of sessions, per kind of watch.
        self.data_watches, self.child_watches = {}, {}
        self.sessions = {}  # id -> Session
        self.ops = {}  # op code -> count, for the test's report
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.sock.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=Session(self, conn).run, daemon=True).start()

    # --- tree operations, called with self.lock held --------------------

    def _bump(self):
        self.zxid += 1
        return self.zxid

    @staticmethod
    def _parent(path):
        p = path.rsplit("/", 1)[0]
        return p or "/"

    def _fire(self, watches, path, ev):
        for s in watches.pop(path, ()):
            s.event(ev, path)

    def create(self, sess, path, data, flags):
        if not path.startswith("/") or path == "/" or path.endswith("/"):
            return BAD_ARGUMENTS, None
        parent = self._parent(path)
        pnode = self.nodes.get(parent)
        if pnode is None:
            return NO_NODE, None
        if pnode.owner:
            return -108, None  # NOCHILDRENFOREPHEMERALS
        if flags & SEQUENTIAL:
            path = "%s%010d" % (path, pnode.seq)
        if path in self.nodes:
            return NODE_EXISTS, None
        pnode.seq += 1
        zxid = self._bump()
        now = _now_ms()
        self.nodes[path] = Node(data, zxid, sess.id if flags & EPHEMERAL else 0, now)
        pnode.children.add(path.rsplit("/", 1)[1])
        pnode.cversion += 1
        pnode.pzxid = zxid
        if flags & EPHEMERAL:
            sess.ephemerals.add(path)
        self._fire(self.data_watches, path, EV_CREATED)
        self._fire(self.child_watches, parent, EV_CHILDREN_CHANGED)
        return OK, path

    def delete(self, path, version):
        node = self.nodes.get(path)
        if node is None or path == "/":
            return NO_NODE if node is None else BAD_ARGUMENTS
        if version != -1 and version != node.version:
            return BAD_VERSION
        if node.children:
            return NOT_EMPTY
        del self.nodes[path]
        parent = self._parent(path)
        pnode = self.nodes[parent]
        pnode.children.discard(path.rsplit("/", 1)[1])
        pnode.cversion += 1
        pnode.pzxid = self._bump()
        for s in self.sessions.values():
            s.ephemerals.discard(path)
        self._fire(self.data_watches, path, EV_DELETED)
        self._fire(self.child_watches, path, EV_DELETED)
        self._fire(self.child_watches, parent, EV_CHILDREN_CHANGED)
        return OK

    def watch(self, kind, path, sess):
        kind.setdefault(path, set()).add(sess)

    def drop_session(self, sess):
        for path in sorted(sess.ephemerals, key=len, reverse=True):
            self.delete(path, -1)
        for kind in (self.data_watches, self.child_watches):
            for watchers in kind.values():
                watchers.discard(sess)
        self.sessions.pop(sess.id, None)


def _now_ms():
    import time
    return int(time.time() * 1000)


class Session:
    def __init__(self, server, conn):
        self.server, self.conn = server, conn
        self.send_lock = threading.Lock()
        self.ephemerals = set()
        self.id = 0

    def send(self, payload):
        with self.send_lock:
            try:
                self.conn.sendall(w_i32(len(payload)) + payload)
            except OSError:
                pass

    def event(self, ev, path):
        """A watch fired (called with the server lock held)."""
        self.send(struct.pack(">iqi", XID_WATCH_EVENT, -1, OK) +
                  w_i32(ev) + w_i32(STATE_SYNC_CONNECTED) + w_string(path))

    def recv_frame(self):
        head = self._recv_exact(4)
        if head is None:
            return None
        n = struct.unpack(">i", head)[0]
        if n < 0 or n > (1 << 20):
            return None
        return self._recv_exact(n)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.conn.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def run(self):
        srv = self.server
        try:
            frame = self.recv_frame()
            if frame is None:
                return
            r = Reader(frame)
            r.i32()  # protocol version
            r.i64()  # last zxid seen
            timeout = r.i32()
            want_session = r.i64()
            r.buffer()  # password
            with srv.lock:
                if want_session and want_session in srv.sessions:
                    self.id = want_session
                    self.ephemerals = srv.sessions[want_session].ephemerals
                else:
                    srv.next_session += 1
                    self.id = srv.next_session
                srv.sessions[self.id] = self
            self.send(w_i32(0) + w_i32(max(timeout, 2000)) + struct.pack(">q", self.id) + w_buffer(b"\0" * 16))
            while True:
                frame = self.recv_frame()
                if frame is None:
                    break
                r = Reader(frame)
                xid, op = r.i32(), r.i32()
                with srv.lock:
                    srv.ops[op] = srv.ops.get(op, 0) + 1
                    err, body = self.handle(op, r)
                    zxid = srv.zxid
                self.send(struct.pack(">iqi", xid, zxid, err) + (body if err == OK else b""))
                if op == OP_CLOSE:
                    break
        except (ValueError, struct.error):
            pass  # a malformed frame: hang up, as ZooKeeper does
        finally:
            with srv.lock:
                if srv.sessions.get(self.id) is self:
                    srv.drop_session(self)
            try:
                self.conn.close()
            except OSError:
                pass

    def handle(self, op, r):
        """Runs one request with the server lock held; returns (error, body)."""
        srv = self.server
        if op == OP_PING or op == OP_CLOSE:
            return OK, b""
        if op in (OP_CREATE, OP_CREATE2):
            path, data = r.string(), r.buffer()
            for _ in range(max(r.i32(), 0)):  # ACLs: perms, scheme, id
                r.i32(), r.string(), r.string()
            flags = r.i32()
            err, made = srv.create(self, path, data, flags)
            if err != OK:
                return err, b""
            body = w_string(made)
            if op == OP_CREATE2:
                body += srv.nodes[made].stat()
            return OK, body
        if op == OP_DELETE:
            path, version = r.string(), r.i32()
            return srv.delete(path, version), b""
        if op in (OP_EXISTS, OP_GET_DATA):
            path, watch = r.string(), r.boolean()
            node = srv.nodes.get(path)
            if watch and (node is not None or op == OP_EXISTS):
                srv.watch(srv.data_watches, path, self)
            if node is None:
                return NO_NODE, b""
            return OK, (node.stat() if op == OP_EXISTS else w_buffer(node.data) + node.stat())
        if op == OP_SET_DATA:
            path, data, version = r.string(), r.buffer(), r.i32()
            node = srv.nodes.get(path)
            if node is None:
                return NO_NODE, b""
            if version != -1 and version != node.version:
                return BAD_VERSION, b""
            node.data, node.version, node.mzxid, node.mtime = data or b"", node.version + 1, srv._bump(), _now_ms()
            srv._fire(srv.data_watches, path, EV_DATA_CHANGED)
            return OK, node.stat()
        if op in (OP_GET_CHILDREN, OP_GET_CHILDREN2):
            path, watch = r.string(), r.boolean()
            node = srv.nodes.get(path)
            if node is None:
                return NO_NODE, b""
            if watch:
                srv.watch(srv.child_watches, path, self)
            kids = sorted(node.children)
            body = w_i32(len(kids)) + b"".join(w_string(k) for k in kids)
            return OK, body + (node.stat() if op == OP_GET_CHILDREN2 else b"")
        if op == OP_SYNC:
            return OK, w_string(r.string())
        if op == OP_SET_WATCHES:
            r.i64()  # relative zxid
            data, exist, child = r.strings(), r.strings(), r.strings()
            for p in data:
                if p in srv.nodes:
                    srv.watch(srv.data_watches, p, self)
                else:
                    self.event(EV_DELETED, p)
            for p in exist:
                if p in srv.nodes:
                    self.event(EV_CREATED, p)
                else:
                    srv.watch(srv.data_watches, p, self)
            for p in child:
                if p in srv.nodes:
                    srv.watch(srv.child_watches, p, self)
                else:
                    self.event(EV_DELETED, p)
            return OK, b""
        return UNIMPLEMENTED, b""
