#!/usr/bin/env bash
# bench/durable.sh: the durable-mode figures of issue 8. It prints one
# markdown table (figure, measured, reference, ratio, target, met?) with the
# rows behind it and a description of the machine:
#
#   1. 1 MiB batches, durable (--log.flush.interval.messages 1): MB/s of
#      record batches acknowledged (acks=all), against `dd bs=1M count=2048
#      conv=fdatasync` (2 GiB, about what a round writes) on the same
#      directory. One connection (each batch waits for its own fsync), then
#      BENCH_BIG_CONNS (4) connections on one partition (fsyncs shared).
#   2. BENCH_SMALL_CONNS (100) connections, each with one small message
#      (100-byte value) in flight, acks=all, durable, on BENCH_SMALL_PARTS (1)
#      partition(s): acknowledged messages/s against the disk's synchronous
#      write rate (`dd bs=4k count=2000 oflag=dsync`, writes/s).
#   The same loads against a broker that never fsyncs (page cache) show what
#   the CPU alone allows.
#
# The disk under a virtual machine varies by tens of percent from one
# minute to the next, so the dd reference is measured again just before
# every durable round and each round's ratio is taken against it; the table
# gives medians of the rounds (figure, reference, ratio). With
# BENCH_EDDY_BEFORE set, every round also runs that broker binary right
# after the first, so a before/after comparison sees the same disk.
#
# The client is bench_durable (raw Produce v7 requests built with eddy's
# batch builder, one per connection in flight): see its header comment.
# fsyncs/s are the broker's flush jobs (its "storage: N flush jobs ran" line
# at shutdown) per second of the measured span; each job is one round of
# fsyncs that answers the Produce requests it covered (the warm-up requests
# before the span count too, a slight overcount).
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/durable.sh [BUILD_DIR]      BUILD_DIR defaults to build-bench
#
# Environment:
#   BENCH_ROUNDS       rounds per row; medians are reported (default 3)
#   BENCH_SECS         seconds per round (default 4)
#   BENCH_BIG_CONNS    connections of the shared 1 MiB row (default 4)
#   BENCH_SMALL_CONNS  connections of the small-producer rows (default 100)
#   BENCH_SMALL_PARTS  partitions of the small-producer rows (default 1)
#   BENCH_TMPDIR       where the temporary data directory goes (default $TMPDIR or /tmp)
#   BENCH_EDDY         broker binary to measure (default BUILD_DIR/eddy)
#   BENCH_EDDY_BEFORE  a second broker binary measured in the same rounds (optional)
#
# Tables go to stdout; progress and raw RESULT lines go to stderr. Exit
# status is 0 when every step ran to completion, 1 otherwise. Figures are
# reported, never asserted: the "met?" column is information.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
before=${BENCH_EDDY_BEFORE:-}
probe=$build/bench_durable
for exe in "$eddy" "$probe" ${before:+"$before"}; do
    if [[ ! -x $exe ]]; then
        echo "durable.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_durable -j2" >&2
        exit 2
    fi
done

rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECS:-4}
big_conns=${BENCH_BIG_CONNS:-4}
small_conns=${BENCH_SMALL_CONNS:-100}
small_parts=${BENCH_SMALL_PARTS:-1}
# 64 records of 16 KiB: a batch of 1 MiB of values (1,049,341 bytes on disk),
# over Kafka's default message.max.bytes, hence the broker flag.
big_args=(-r 64 -v 16384 -P 1)
small_args=(-r 1 -v 100 -P "$small_parts")
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-durable.XXXXXX")
eddy_pid=
status=0
durable=(--log.flush.interval.messages 1)
common=(--message.max.bytes 4194304 --num.partitions "$small_parts")

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [[ -n $eddy_pid ]] && kill -0 "$eddy_pid" 2>/dev/null; then
        kill -KILL "$eddy_pid" 2>/dev/null || true
        wait "$eddy_pid" 2>/dev/null || true
    fi
    exec 3<&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "durable.sh: $*" >&2; }
calc() { awk "BEGIN { printf \"%.6f\\n\", ($1) }"; }
# median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# ---- the disk --------------------------------------------------------------
dd_secs() { sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p' <<<"$1"; }
# shellcheck disable=SC2317 # called through row's REF argument
# dd_seq: sets ref to MB/s of a 2 GiB durable sequential write.
dd_seq() {
    local out
    out=$(dd if=/dev/zero of="$work/ddtest" bs=1M count=2048 conv=fdatasync 2>&1 | tail -1)
    rm -f "$work/ddtest"
    ref=$(calc "2147.483648 / $(dd_secs "$out")")
}
# shellcheck disable=SC2317 # called through row's REF argument
# dd_sync: sets ref to synchronous 4 KiB appends per second.
dd_sync() {
    local out
    out=$(dd if=/dev/zero of="$work/ddtest" bs=4k count=2000 oflag=dsync 2>&1 | tail -1)
    rm -f "$work/ddtest"
    ref=$(calc "2000 / $(dd_secs "$out")")
}

# ---- broker ----------------------------------------------------------------
# start_broker BIN NAME [FLAGS...]: a fresh data directory and broker; sets eddy_pid and port.
start_broker() {
    local bin=$1 name=$2 fifo=$work/stdout.fifo line
    shift 2
    rm -rf "$work"/data-*
    rm -f "$fifo"
    mkfifo "$fifo"
    "$bin" --listeners PLAINTEXT://127.0.0.1:0 --log.dirs "$work/data-$name" "$@" >"$fifo" 2>"$work/eddy-$name.log" &
    eddy_pid=$!
    exec 3<"$fifo"
    if ! read -r -t 60 line <&3; then
        log "eddy ($name) exited or hung before its ready line:"
        tail -20 "$work/eddy-$name.log" >&2
        return 1
    fi
    port=$(sed -n 's/^eddy ready on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' <<<"$line")
    [[ -n $port ]] || { log "eddy ($name): unexpected first line: $line"; return 1; }
}

# stop_broker NAME: SIGTERM and wait; sets flush_jobs from the broker's shutdown line.
stop_broker() {
    local name=$1 rc=0
    kill -TERM "$eddy_pid" 2>/dev/null || true
    wait "$eddy_pid" 2>/dev/null || rc=$?
    eddy_pid=
    exec 3<&-
    ((rc == 0)) || { log "eddy ($name) exited with status $rc"; tail -5 "$work/eddy-$name.log" >&2; status=1; }
    flush_jobs=$(sed -n 's/.*storage: \([0-9][0-9]*\) flush jobs ran.*/\1/p' "$work/eddy-$name.log" | tail -1)
    flush_jobs=${flush_jobs:-0}
}

# run_round BIN NAME CONNS FIELD BROKER_FLAGS... -- PROBE_ARGS...: one round;
# sets val (FIELD of the RESULT line), p99 and jobs_s (flush jobs per second).
run_round() {
    local bin=$1 name=$2 conns=$3 fld=$4 flags=() res
    shift 4
    while (($#)) && [[ $1 != -- ]]; do flags+=("$1"); shift; done
    shift
    start_broker "$bin" "$name" "${common[@]}" "${flags[@]}"
    res=$("$probe" -p "$port" -t "t-$name" -c "$conns" -s "$secs" "$@" 2>"$work/probe.err") ||
        { log "bench_durable ($name) failed:"; tail -3 "$work/probe.err" >&2; status=1; }
    stop_broker "$name"
    echo "$name: $res" >&2
    val=$(field "$fld" "$res")
    val=${val:-0}
    p99=$(field p99_ms "$res")
    p99=${p99:-0}
    jobs_s=$(calc "$flush_jobs / $secs")
}

# row KEY REF NAME CONNS FIELD BROKER_FLAGS... -- PROBE_ARGS...: BENCH_ROUNDS
# rounds; REF is dd_seq, dd_sync or - (none). Each round measures the
# reference, then this broker, then the BENCH_EDDY_BEFORE one. Sets, for
# KEY, the medians R_KEY (figure), REF_KEY, RATIO_KEY, JOBS_KEY, P99_KEY
# and the same with B prefixed (BR_KEY ...) for the before binary.
declare -A R REF RATIO JOBS P99 BR BRATIO BJOBS BP99
row() {
    local key=$1 refm=$2 name=$3 r
    shift 3
    local vs=() refs=() ratios=() js=() ps=() bvs=() bratios=() bjs=() bps=()
    for r in $(seq "$rounds"); do
        log "$name, round $r of $rounds"
        ref=0
        if [[ $refm != - ]]; then
            $refm
            refs+=("$ref")
        fi
        run_round "$eddy" "$name" "$@"
        vs+=("$val") js+=("$jobs_s") ps+=("$p99")
        [[ $refm == - ]] || ratios+=("$(calc "$val / $ref")")
        if [[ -n $before ]]; then
            run_round "$before" "$name-before" "$@"
            bvs+=("$val") bjs+=("$jobs_s") bps+=("$p99")
            [[ $refm == - ]] || bratios+=("$(calc "$val / $ref")")
        fi
    done
    R[$key]=$(median "${vs[@]}") JOBS[$key]=$(median "${js[@]}") P99[$key]=$(median "${ps[@]}")
    if [[ $refm != - ]]; then
        REF[$key]=$(median "${refs[@]}") RATIO[$key]=$(median "${ratios[@]}")
    fi
    if [[ -n $before ]]; then
        BR[$key]=$(median "${bvs[@]}") BJOBS[$key]=$(median "${bjs[@]}") BP99[$key]=$(median "${bps[@]}")
        [[ $refm == - ]] || BRATIO[$key]=$(median "${bratios[@]}")
    fi
}

# ---- the rows ----------------------------------------------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# storage.sh's shorter dd as well: 512 MiB fit in the page cache before the
# one fdatasync, which a virtual disk with a host-side cache may answer far
# faster than it sustains. Reported beside the 2 GiB figure, not instead.
shorts=()
for r in $(seq "$rounds"); do
    out=$(dd if=/dev/zero of="$work/ddtest" bs=1M count=512 conv=fdatasync 2>&1 | tail -1)
    rm -f "$work/ddtest"
    shorts+=("$(calc "536.870912 / $(dd_secs "$out")")")
done
dd_short=$(median "${shorts[@]}")
row big1 dd_seq big1 1 mb_per_s "${durable[@]}" -- "${big_args[@]}"
row bigN dd_seq bigN "$big_conns" mb_per_s "${durable[@]}" -- "${big_args[@]}"
row bigN_never - bigN-never "$big_conns" mb_per_s -- "${big_args[@]}"
row small dd_sync small "$small_conns" msgs_per_s "${durable[@]}" -- "${small_args[@]}"
row small_never - small-never "$small_conns" msgs_per_s -- "${small_args[@]}"

# ---- report -------------------------------------------------------------------
met() { awk "BEGIN { exit !(($1) >= ($2)) }" && echo yes || echo no; }
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
fs=$(df -PT "$work" | awk 'NR == 2 {print $2 " on " $1}')
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
big=big1
awk "BEGIN { exit !(${RATIO[bigN]} > ${RATIO[big1]}) }" && big=bigN
big_label="1 connection"
[[ $big == bigN ]] && big_label="$big_conns connections"

echo "### eddy durable-mode benchmark ($(date -u +%Y-%m-%d), commit $rev, ${build_type:-unknown} build)"
echo
echo "Machine: $(nproc) CPUs ($cpu), kernel $(uname -sr), data dir on $fs; broker, client and disk on one host"
echo "(load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
if [[ -n ${BENCH_EDDY:-} ]]; then
    echo "Broker binary: \`$eddy\` (BENCH_EDDY), so the commit above may not describe it."
fi
if [[ -n $before ]]; then
    echo "Before: \`$before\` (BENCH_EDDY_BEFORE), run right after it in every round."
fi
echo
echo "Medians of $rounds rounds of ${secs} s, each on a fresh broker and data directory (\`--log.flush.interval.messages 1\`"
echo "for durable rows); the dd reference is measured before each durable round and each ratio is that round's."
echo "The client, \`bench_durable\`, keeps one Produce request (acks=all) in flight per connection."
echo
echo "| figure | measured | reference (same disk, same run) | ratio | target | met? |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
# shellcheck disable=SC2016 # the backquotes are markdown
printf '| durable, 1 MiB batches, one partition (best of 1 and %d connections: %s) | %.0f MB/s | `dd bs=1M count=2048 conv=fdatasync`: %.0f MB/s | %.2f | >= 0.80 | %s |\n' \
    "$big_conns" "$big_label" "${R[$big]}" "${REF[$big]}" "${RATIO[$big]}" "$(met "${RATIO[$big]}" 0.80)"
# shellcheck disable=SC2016
printf '| durable, %d concurrent small producers, %d partition(s) | %.0f msgs/s | `dd bs=4k count=2000 oflag=dsync`: %.0f writes/s | %.1f | >= 20 | %s |\n' \
    "$small_conns" "$small_parts" "${R[small]}" "${REF[small]}" "${RATIO[small]}" "$(met "${RATIO[small]}" 20)"
short_ratio=$(calc "${R[$big]} / $dd_short")
# shellcheck disable=SC2016 # the backquotes are markdown
printf '| the same against a short dd (%s) | %.0f MB/s | `dd bs=1M count=512 conv=fdatasync`: %.0f MB/s | %.2f | >= 0.80 | %s |\n' \
    "see below" "${R[$big]}" "$dd_short" "$short_ratio" "$(met "$short_ratio" 0.80)"
if [[ -n $before ]]; then
    printf '| before: durable, 1 MiB batches (%s) | %.0f MB/s | | %.2f | >= 0.80 | %s |\n' \
        "$big_label" "${BR[$big]}" "${BRATIO[$big]}" "$(met "${BRATIO[$big]}" 0.80)"
    printf '| before: durable, %d small producers | %.0f msgs/s | | %.1f | >= 20 | %s |\n' \
        "$small_conns" "${BR[small]}" "${BRATIO[small]}" "$(met "${BRATIO[small]}" 20)"
fi
echo
echo "The rows behind it:"
echo
if [[ -n $before ]]; then
    echo "| load | flush mode | acknowledged | before | flush jobs/s (fsync rounds) | before | p99 ms per request | before |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
else
    echo "| load | flush mode | acknowledged | flush jobs/s (fsync rounds) | p99 ms per request |"
    echo "| --- | --- | ---: | ---: | ---: |"
fi
# line KEY LABEL MODE UNIT
line() {
    local k=$1 jobs bjobs
    jobs=$(printf '%.0f' "${JOBS[$1]}")
    bjobs=$(printf '%.0f' "${BJOBS[$1]:-0}")
    [[ $3 == durable ]] || { jobs=-; bjobs=-; }
    if [[ -n $before ]]; then
        printf '| %s | %s | %.0f %s | %.0f | %s | %s | %.1f | %.1f |\n' "$2" "$3" "${R[$k]}" "$4" "${BR[$k]}" \
            "$jobs" "$bjobs" "${P99[$k]}" "${BP99[$k]}"
    else
        printf '| %s | %s | %.0f %s | %s | %.1f |\n' "$2" "$3" "${R[$k]}" "$4" "$jobs" "${P99[$k]}"
    fi
}
line big1 "1 connection, 1 MiB batches" durable MB/s
line bigN "$big_conns connections, 1 MiB batches, one partition" durable MB/s
line bigN_never "$big_conns connections, 1 MiB batches, one partition" "never (page cache)" MB/s
line small "$small_conns connections, one 100-byte message each" durable msgs/s
line small_never "$small_conns connections, one 100-byte message each" "never (page cache)" msgs/s
echo
echo "| dd reference (median of the rounds) | 1 MiB, 1 connection | 1 MiB, $big_conns connections | small producers |"
echo "| --- | ---: | ---: | ---: |"
# shellcheck disable=SC2016 # the backquotes are markdown
printf '| `dd` | %.0f MB/s | %.0f MB/s | %.0f writes/s |\n' "${REF[big1]}" "${REF[bigN]}" "${REF[small]}"
echo
echo "The 2 GiB dd is the reference: it writes about what a 1 MiB round does. The 512 MiB one (bench/storage.sh's,"
echo "measured $rounds times at the start, median) mostly times the page cache and the host's cache: it is shown because"
echo "it is the larger figure, so the ratio against it is the harder one."
echo
echo "MB = 10^6 bytes of record batches as written to the log. The page-cache rows are what the CPU allows"
echo "without fsync; where durable is close to them the disk was not the limit. Command: \`bench/durable.sh $(basename "$build")\`."
exit "$status"
