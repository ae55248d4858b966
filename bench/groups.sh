#!/usr/bin/env bash
# bench/groups.sh: consumer-group benchmarks of eddy. It prints markdown
# tables for rebalance time (1, 10 and 100 librdkafka consumers), commit
# rate and latency (page-cache and durable flush modes), and the group
# coordinator's own cost in-process.
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/groups.sh [BUILD_DIR]       BUILD_DIR defaults to build-bench
#
# Environment:
#   BENCH_GROUP_REPS     repetitions of each main rebalance row (default 3)
#   BENCH_COMMIT_SECS    measured seconds per commit row (default 5)
#   BENCH_COORD_MEMBERS  members of the in-process join storm (default 1000)
#   BENCH_TMPDIR         where the temporary data directories go
#   BENCH_EDDY           broker binary to measure (default BUILD_DIR/eddy)
#
# The tables go to stdout; progress and the raw RESULT lines go to stderr.
# Exit status 0 when every row reached its end condition, 1 otherwise.
# Figures are reported, never checked.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_groups
for exe in "$eddy" "$bench"; do
    if [[ ! -x $exe ]]; then
        echo "groups.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_groups -j2" >&2
        exit 2
    fi
done

reps=${BENCH_GROUP_REPS:-3}
commit_secs=${BENCH_COMMIT_SECS:-5}
coord_members=${BENCH_COORD_MEMBERS:-1000}
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-groups.XXXXXX")
eddy_pid=

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [[ -n $eddy_pid ]] && kill -0 "$eddy_pid" 2>/dev/null; then
        kill -TERM "$eddy_pid" 2>/dev/null || true
        wait "$eddy_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "groups.sh: $*" >&2; }

# The value of key $2 in the RESULT line $1.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# Median, min and max of the numbers on stdin, as "median (min-max)"; "-" for none.
spread() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (NR == 1) printf "%.3f\n", m
        else printf "%.3f (%.3f–%.3f)\n", m, v[1], v[NR]
    }'
}

# start_broker NAME ARGS...: a fresh broker on a fresh data directory; sets port.
start_broker() {
    local name=$1
    shift
    : >"$work/$name.out"
    "$eddy" --listeners PLAINTEXT://127.0.0.1:0 --log.dirs "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.log" &
    eddy_pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^eddy ready on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/$name.out")
        [[ -n $port ]] && break
        if ! kill -0 "$eddy_pid" 2>/dev/null; then
            log "eddy exited before it was ready:"; cat "$work/$name.log" >&2; exit 1
        fi
        sleep 0.1
    done
    if [[ -z $port ]]; then
        log "eddy did not print its ready line within 10 s"; cat "$work/$name.log" >&2; exit 1
    fi
    log "broker $name: pid $eddy_pid on 127.0.0.1:$port ($*)"
}

stop_broker() {
    kill -TERM "$eddy_pid" 2>/dev/null || true
    wait "$eddy_pid" 2>/dev/null || true
    eddy_pid=
}

# run_bench ARGS...: runs bench_groups, echoes its RESULT lines to stderr,
# returns them on stdout; a failed run makes the script exit 1 at the end.
run_bench() {
    local out rc=0
    out=$("$bench" "$@") || rc=$? # its stderr (client warnings) goes to ours
    grep '^RESULT' <<<"$out" >&2 || true
    if ((rc != 0)); then
        log "bench_groups $* exited with $rc"
        : >"$work/failed" # run_bench runs in a subshell: a variable would not survive
    fi
    grep '^RESULT' <<<"$out" || true
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)

# ---- 1. rebalance -----------------------------------------------------------
# group.initial.rebalance.delay.ms | members | assignor | heartbeat column |
# bench_groups arguments | repetitions. Rows with the same delay share a broker.
rows=(
    "0|1|range|3000 (default)|-m 1|$reps"
    "0|10|range|3000 (default)|-m 10|$reps"
    "0|100|range|3000 (default)|-m 100|$reps"
    "0|10|range|100|-m 10 --heartbeat-ms 100|$reps"
    "0|100|range|100|-m 100 --heartbeat-ms 100|$reps"
    "0|10|cooperative-sticky|3000 (default)|-m 10 --assignor cooperative-sticky|1"
    "0|100|cooperative-sticky|3000 (default)|-m 100 --assignor cooperative-sticky|1"
    "3000|100|range|100|-m 100 --heartbeat-ms 100|1"
)
reb_table=()
broker_delay=
for row in "${rows[@]}"; do
    IFS='|' read -r delay members assignor hb args n <<<"$row"
    if [[ $delay != "$broker_delay" ]]; then
        [[ -n $broker_delay ]] && stop_broker
        start_broker "rebalance-$delay" --group.initial.rebalance.delay.ms "$delay"
        broker_delay=$delay
    fi
    joins=() leaves=() gens=() states=()
    for ((r = 1; r <= n; r++)); do
        log "rebalance: delay $delay, $members members, $assignor, heartbeat $hb, run $r/$n"
        # shellcheck disable=SC2086 # args is a word list
        res=$(run_bench --rebalance -b "127.0.0.1:$port" -p 100 --timeout 60 $args)
        j=$(grep '^RESULT phase=join' <<<"$res" || true)
        l=$(grep '^RESULT phase=leave' <<<"$res" || true)
        [[ -n $j && $(kv "$j" secs) != -1.000 ]] && joins+=("$(kv "$j" secs)")
        [[ -n $l && $(kv "$l" secs) != -1.000 ]] && leaves+=("$(kv "$l" secs)")
        [[ -n $j ]] && states+=("$(kv "$j" state)/$(kv "$j" described_members)")
        # The broker's log names the generation in which all members first
        # became Stable: how many generations the join took.
        if [[ -n $j ]]; then
            g=$(grep -m1 "group $(kv "$j" group): CompletingRebalance -> Stable (generation [0-9]*, $members members)" \
                "$work/rebalance-$delay.log" | sed -n 's/.*(generation \([0-9]*\),.*/\1/p' || true)
            [[ -n $g ]] && gens+=("$g")
        fi
    done
    join_s=$(printf '%s\n' "${joins[@]}" | awk NF | spread)
    leave_s=$(printf '%s\n' "${leaves[@]}" | awk NF | spread)
    ((members == 1)) && leave_s="–"
    generations=$(printf '%s\n' "${gens[@]}" | awk NF | sort -n | uniq | paste -sd, -)
    described=$(printf '%s\n' "${states[@]}" | awk NF | sort | uniq | paste -sd, -)
    reb_table+=("| $delay | $members | $assignor | $hb | $n | $join_s | ${generations:--} | $leave_s | ${described:--} |")
done
stop_broker

# ---- 2. commits ---------------------------------------------------------------
commit_table=()
for mode in never durable; do
    if [[ $mode == durable ]]; then
        start_broker "commits-$mode" --log.flush.interval.messages 1
    else
        start_broker "commits-$mode"
    fi
    for window in 0 16; do
        log "commits: flush $mode, window $window, ${commit_secs} s"
        res=$(run_bench --commits -b "127.0.0.1:$port" -d "$commit_secs" --window "$window")
        c=$(grep '^RESULT phase=commits' <<<"$res" || true)
        if [[ -n $c ]]; then
            how="sync, one at a time"
            ((window > 0)) && how="async, $window in flight"
            commit_table+=("| $mode | $how | $(kv "$c" commits_per_s) | $(kv "$c" p50_ms) | $(kv "$c" p99_ms) | $(kv "$c" max_ms) | $(kv "$c" failed) |")
        fi
    done
    stop_broker
    jobs_line=$(sed -n 's/.*storage: \([0-9]*\) flush jobs ran.*/\1/p' "$work/commits-$mode.log" | tail -1)
    commit_table+=("|  | flush jobs over both rows: ${jobs_line:-?} | | | | | |")
done
dsync_out=$(dd if=/dev/zero of="$work/ddtest" bs=4k count=2000 oflag=dsync 2>&1 | tail -1)
rm -f "$work/ddtest"
dsync_s=$(sed -n 's/.* copied, \([0-9.]*\) s,.*/\1/p' <<<"$dsync_out")
dsync_rate=$(awk -v s="${dsync_s:-0}" 'BEGIN { if (s > 0) printf "%.0f", 2000 / s; else print "?" }')

# ---- 3. coordinator in-process --------------------------------------------------
coord_table=()
for m in 10 100 "$coord_members"; do
    log "coordinator: $m members"
    c=$(run_bench --coordinator -m "$m" -p 100 --rounds 5 | grep '^RESULT phase=coordinator' || true)
    [[ -n $c ]] && coord_table+=("| $m | $(kv "$c" join_ms) | $(kv "$c" leave_ms) | $(kv "$c" heartbeat_us) | $(kv "$c" commits_per_s) |")
done

# ---- report ---------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
binary=$(basename "$eddy")
[[ -n ${BENCH_EDDY:-} ]] && binary="$binary ($eddy)"
cat <<EOF
## eddy consumer-group benchmarks

$(date -u +%Y-%m-%d) · $(nproc) CPUs (${cpu:-unknown}) · load average $load_start at the start, $(load) at the end · $binary · librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?')

Broker, clients and everything else on the machine share these CPUs; the
figures compare eddy with itself, they are not a capacity claim.

### Rebalance, end to end (librdkafka consumers, topic of 100 partitions)

Join: from the first \`rd_kafka_subscribe\` to every member holding its
assignment, all together covering the 100 partitions once. Leave: from
\`rd_kafka_consumer_close\` on one member to the same over the rest.
Seconds, median (min–max) of the runs. Generations: the generation in
which all members first became Stable (from the broker's log).

| initial delay ms | members | assignor | heartbeat.interval.ms | runs | join s | generations | leave s | DescribeGroups after join |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${reb_table[@]}")

### Offset commits, one consumer, one partition, ${commit_secs} s per row

| flush | commits | commits/s | p50 ms | p99 ms | max ms | failed |
| --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${commit_table[@]}")

Disk: 4 KiB \`oflag=dsync\` writes: $dsync_rate/s on the data directory's disk.

### Coordinator alone, in-process (no sockets, no log), median of 5

| members | join storm ms | leave + rejoin ms | heartbeat µs | commits/s |
| --- | --- | --- | --- | --- |
$(printf '%s\n' "${coord_table[@]}")
EOF
[[ -e $work/failed ]] && exit 1
exit 0
