#!/usr/bin/env bash
# bench/hostile_load.sh: the good client's throughput with and without hostile
# clients on the same broker (issue 7, "Figures").
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/hostile_load.sh [BUILD_DIR]     BUILD_DIR defaults to build-bench
#
# One broker with default settings runs three rows of bench_rdkafka (1 KiB
# values, acks=1, one partition): alone, under hostile load, and alone again
# after the load stopped. The hostile load is a Python process (stdlib only,
# kwire.py from compat-tests) that holds idle connections, trickles requests,
# pipelines Fetches it never reads, floods Metadata and opens garbage
# connections for as long as the middle row runs.
#
# Environment:
#   BENCH_MESSAGES  messages per row (default 1000000)
#   BENCH_TMPDIR    where the temporary data directory goes (default $TMPDIR or /tmp)
#   BENCH_EDDY      broker binary to measure (default BUILD_DIR/eddy)
#   BENCH_IDLE      idle connections of the hostile load (default 2000)
#
# The table goes to stdout; progress, RESULT lines and the load's counters go
# to stderr. Exit status is 0 when every row ran to completion, 1 otherwise.
# Figures are reported, never checked.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_rdkafka
for exe in "$eddy" "$bench" /usr/bin/python3; do
    if [[ ! -x $exe ]]; then
        echo "hostile_load.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_rdkafka -j2" >&2
        exit 2
    fi
done

messages=${BENCH_MESSAGES:-1000000}
idle=${BENCH_IDLE:-2000}
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-hostile.XXXXXX")
data=$work/data
eddy_pid=
load_pid=

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [[ -n $load_pid ]] && kill -0 "$load_pid" 2>/dev/null; then
        kill -TERM "$load_pid" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
    fi
    if [[ -n $eddy_pid ]] && kill -0 "$eddy_pid" 2>/dev/null; then
        kill -TERM "$eddy_pid" 2>/dev/null || true
        wait "$eddy_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "hostile_load.sh: $*" >&2; }

# The broker needs an fd per idle connection; the load needs as many.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- broker ---------------------------------------------------------------
: >"$work/eddy.out"
"$eddy" --listeners PLAINTEXT://127.0.0.1:0 --log.dirs "$data" >"$work/eddy.out" 2>"$work/eddy.log" &
eddy_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^eddy ready on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/eddy.out")
    [[ -n $port ]] && break
    if ! kill -0 "$eddy_pid" 2>/dev/null; then
        log "eddy exited before it was ready:"; cat "$work/eddy.log" >&2; exit 1
    fi
    sleep 0.1
done
if [[ -z $port ]]; then
    log "eddy did not print its ready line within 10 s"; cat "$work/eddy.log" >&2; exit 1
fi
log "eddy pid $eddy_pid on 127.0.0.1:$port, data in $data"

# hwm_mb: the broker's peak RSS (VmHWM) in MB. reset_hwm: start a new peak
# (writing 5 to clear_refs, Linux >= 4.0); "reset" says whether it worked, so
# the table can say the peak is since start-up otherwise.
hwm_mb() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$eddy_pid/status"; }
hwm_reset=1
reset_hwm() { echo 5 >"/proc/$eddy_pid/clear_refs" 2>/dev/null || hwm_reset=0; }

# ---- the hostile load -----------------------------------------------------
# Runs until SIGTERM or HOSTILE_SECS. Prints "ready" once every long-lived
# connection is open, and its counters on exit.
write_load() {
    cat >"$work/load.py" <<'PY'
import os, random, resource, signal, socket, struct, sys, threading, time
sys.path.insert(0, os.environ["KWIRE_DIR"])
import kwire as kw

BOOT = os.environ["EDDY_BOOTSTRAP"]
HOST, _, PORT = BOOT.rpartition(":")
PORT = int(PORT)
IDLE = int(os.environ.get("HOSTILE_IDLE", "2000"))
SECS = float(os.environ.get("HOSTILE_SECS", "300"))
BIG = "hostile-big"
stop = threading.Event()
count = {"metadata": 0, "fetch_sent": 0, "slowloris_answered": 0, "garbage_conns": 0,
         "idle_open": 0, "errors": 0}
lock = threading.Lock()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def add(k, n=1):
    with lock:
        count[k] += n


def metadata_frame(corr):
    return kw.request(3, 1, corr, kw.encode_metadata_v1([]), "hostile")


def fetch_v4(corr):
    body = (kw.i32(-1) + kw.i32(100) + kw.i32(1) + kw.i32(50 << 20) + kw.i8(0)
            + kw.array([BIG], lambda t: kw.string(t) + kw.array(
                [0], lambda p: kw.i32(p) + kw.i64(0) + kw.i32(8 << 20))))
    return kw.request(1, 4, corr, body, "hostile")


def setup():
    c = kw.Conn(BOOT, timeout=10)
    c.call(19, 4, kw.encode_create_topics_v4([(BIG, 1, 1)]))
    for _ in range(2):  # ~2 MB, so each Fetch answer is ~2 MB
        batch = kw.record_batch_v2([(b"k", os.urandom(900 * 1024))])
        c.call(0, 7, kw.encode_produce_v7(1, 10000, {BIG: {0: batch}}))
    c.close()


def slowloris(conns):
    # 20 connections send a Metadata request at one byte a second, read the
    # answer, and start over.
    frame = metadata_frame(7)
    pos = [0] * len(conns)
    while not stop.wait(1.0):
        for i, s in enumerate(conns):
            if s is None:
                continue
            try:
                s.sendall(frame[pos[i]:pos[i] + 1])
                pos[i] += 1
                if pos[i] == len(frame):
                    if kw.recv_frame(s, 2.0) is not None:
                        add("slowloris_answered")
                    pos[i] = 0
            except (OSError, kw.WireError):
                add("errors")
                conns[i] = None


def non_readers():
    # 10 connections pipeline Fetches of ~2 MB answers and never read.
    conns = []
    for _ in range(10):
        s = kw.connect(BOOT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.setblocking(False)
        conns.append(s)
    corr = 0
    while not stop.is_set():
        progress = False
        for s in conns:
            try:
                s.send(fetch_v4(corr))
                corr += 1
                add("fetch_sent")
                progress = True
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass
        if not progress:
            stop.wait(0.05)


def metadata_flood():
    try:
        s = kw.connect(BOOT, timeout=5)
        corr = 0
        while not stop.is_set():
            s.sendall(b"".join(metadata_frame(corr + i) for i in range(200)))
            for _ in range(200):
                if kw.recv_frame(s, 10.0) is None:
                    add("errors")
                    return
            corr += 200
            add("metadata", 200)
    except (OSError, kw.WireError):
        add("errors")


def garbage():
    rng = random.Random(7)
    open_ = []
    while not stop.wait(0.1):
        try:
            s = socket.create_connection((HOST, PORT), timeout=2)
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))))
            open_.append((time.monotonic(), s))
            add("garbage_conns")
        except OSError:
            add("errors")
        while open_ and open_[0][0] < time.monotonic() - 0.5:
            open_.pop(0)[1].close()
    for _, s in open_:
        s.close()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    setup()
    idle = []
    for _ in range(IDLE):
        try:
            idle.append(socket.create_connection((HOST, PORT), timeout=5))
        except OSError as e:
            print("load: idle connect failed after %d: %s" % (len(idle), e), file=sys.stderr)
            break
    count["idle_open"] = len(idle)
    slow = [kw.connect(BOOT, timeout=5) for _ in range(20)]
    threads = [threading.Thread(target=slowloris, args=(slow,)), threading.Thread(target=non_readers),
               threading.Thread(target=metadata_flood), threading.Thread(target=metadata_flood),
               threading.Thread(target=garbage)]
    for t in threads:
        t.daemon = True
        t.start()
    print("ready", flush=True)
    t0 = time.monotonic()
    stop.wait(SECS)
    stop.set()
    for t in threads:
        t.join(15)
    secs = time.monotonic() - t0
    print("load: %.1f s: %s" % (secs, " ".join("%s=%d" % kv for kv in sorted(count.items()))),
          file=sys.stderr, flush=True)
    print("load: %.0f Metadata/s answered" % (count["metadata"] / max(secs, 0.001)), file=sys.stderr)
    for s in idle + [s for s in slow if s is not None]:
        s.close()


main()
PY
}
write_load

# ---- rows -----------------------------------------------------------------
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
status=0
table=()
librdkafka=unknown

# run_row LABEL TOPIC: one bench_rdkafka run, then its table row.
run_row() {
    local label=$1 topic=$2 out=$work/$2.out prod cons v
    sync -f "$data" 2>/dev/null || sync
    reset_hwm
    log "$label ($messages messages)"
    if ! "$bench" -b "127.0.0.1:$port" -t "$topic" -n "$messages" -s 1024 -a 1 >"$out" 2>"$work/$topic.err"; then
        status=1
        log "$label failed:"; tail -5 "$work/$topic.err" >&2
    fi
    grep '^RESULT' "$out" >&2 || true
    if ! kill -0 "$eddy_pid" 2>/dev/null; then
        log "eddy died during: $label"; tail -20 "$work/eddy.log" >&2
        table+=("| $label | broker died | | |")
        status=1
        return
    fi
    local peak
    peak=$(hwm_mb)
    v=$(sed -n 's/^# bench_rdkafka librdkafka=\([^ ]*\).*/\1/p' "$out")
    [[ -n $v ]] && librdkafka=$v
    prod=$(grep '^RESULT phase=produce' "$out" || true)
    cons=$(grep '^RESULT phase=consume' "$out" || true)
    "$bench" -b "127.0.0.1:$port" -t "$topic" --delete-only 2>>"$work/$topic.err" ||
        log "could not delete $topic"
    local pmb=failed cmb=failed
    [[ -n $prod ]] && pmb=$(field mb_per_s "$prod")
    [[ -n $cons ]] && cmb=$(field mb_per_s "$cons")
    table+=("| $label | $pmb | $cmb | $peak |")
}

# Unreported warm-up: the first run through a fresh process is slower.
log "warm-up (not reported)"
"$bench" -b "127.0.0.1:$port" -t hl-warmup -n "$messages" -s 1024 >"$work/warmup.out" 2>&1 ||
    log "warm-up failed (continuing): $(tail -1 "$work/warmup.out")"
"$bench" -b "127.0.0.1:$port" -t hl-warmup --delete-only 2>/dev/null || true

run_row "alone" hl-alone

log "starting the hostile load ($idle idle connections, 20 slowloris, 10 non-reading fetchers, 2 Metadata floods, garbage every 100 ms)"
: >"$work/load.out"
EDDY_BOOTSTRAP=127.0.0.1:$port KWIRE_DIR=$root/compat-tests HOSTILE_IDLE=$idle HOSTILE_SECS=300 \
    /usr/bin/python3 "$work/load.py" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
for _ in $(seq 600); do
    grep -q '^ready$' "$work/load.out" && break
    if ! kill -0 "$load_pid" 2>/dev/null; then
        log "the hostile load exited early:"; cat "$work/load.err" >&2; exit 1
    fi
    sleep 0.1
done
grep -q '^ready$' "$work/load.out" || { log "the hostile load was not ready within 60 s"; exit 1; }
sleep 5  # let the floods and the non-readers' queues reach a steady state
socks=$(find "/proc/$eddy_pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
log "broker holds $socks sockets under load"
run_row "under hostile load" hl-hostile
kill -TERM "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=
cat "$work/load.err" >&2
load_counts=$(grep '^load: [0-9.]* s:' "$work/load.err" | sed 's/^load: //' || true)
sleep 1
run_row "alone, after the load stopped" hl-after

kill -TERM "$eddy_pid" 2>/dev/null || true
wait "$eddy_pid" 2>/dev/null || true
eddy_pid=

# ---- report ---------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "### eddy under hostile load ($(date -u +%Y-%m-%d), commit $rev, ${build_type:-unknown} build)"
echo
echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -sr);"
echo "broker, bench_rdkafka and the Python load generator shared these CPUs; librdkafka $librdkafka."
echo "Good client: bench_rdkafka, $messages × 1 KiB, acks=1, 1 partition. Broker with default settings."
if [[ -n ${BENCH_EDDY:-} ]]; then
    echo "Broker binary: \`$eddy\` (BENCH_EDDY), so the commit above may not describe it."
fi
echo
echo "| scenario | produce MB/s | consume MB/s | broker peak RSS MB |"
echo "| --- | ---: | ---: | ---: |"
printf '%s\n' "${table[@]}"
echo
echo "Hostile load: $idle idle connections, 20 slowloris (Metadata at 1 byte/s), 10 connections"
echo "pipelining ~2 MB Fetches and never reading, 2 connections flooding pipelined Metadata,"
echo "one garbage connection (1-4096 random bytes) every 100 ms. Its counters: ${load_counts:-none}."
if [[ $hwm_reset == 1 ]]; then
    echo "Peak RSS is VmHWM over each row (reset before it through /proc/PID/clear_refs)."
else
    echo "Peak RSS is VmHWM since the broker started (this kernel could not reset it)."
fi
echo
echo "MB = 10^6 bytes of message values. Command: \`bench/hostile_load.sh $(basename "$build")\`."
exit "$status"
