#!/usr/bin/env bash
# bench/perf.sh: eddy's throughput and latency next to two reference points,
# measured in the same run on the same machine with the same client
# (bench_rdkafka, librdkafka):
#   peer     librdkafka's mock cluster (bench_peer), an in-memory broker
#   ceiling  bench_ceiling, a responder that stores nothing, so the client
#            and the loopback network are all that is left
# Every figure is the median of BENCH_ROUNDS rounds. In each round all
# three brokers are started fresh and every row runs once per broker, the
# brokers taking turns row by row; the order of the three rotates from round
# to round. See bench/README.md ("perf.sh") for what each row measures.
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/perf.sh [BUILD_DIR]          BUILD_DIR defaults to build-bench
#
# Environment:
#   BENCH_ROUNDS        rounds (default 3; 5 gives steadier medians on a busy machine)
#   BENCH_SCALE         multiplies the message counts (default 1: 1,000,000 x
#                       100 B and 200,000 x 1 KiB per row); 0.1 for a quick run
#   BENCH_LATENCY_SECS  seconds of timed sending in the latency row (default 10)
#   BENCH_LATENCY_RATE  messages per second in the latency row (default 1000)
#   BENCH_PART_MB       MB of values per partition in the consume rows
#                       (default 4: under the peer's ~5 MiB per partition)
#   BENCH_TMPDIR        where the temporary directory goes (default $TMPDIR or /tmp)
#   BENCH_EDDY          broker binary to measure (default BUILD_DIR/eddy)
#
# The markdown table goes to stdout; progress and the raw RESULT lines go to
# stderr. Exit status 0 when every run completed, 1 otherwise. Figures are
# reported, never checked.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_rdkafka
peer=$build/bench_peer
ceiling=$build/bench_ceiling
for exe in "$eddy" "$bench" "$peer" "$ceiling"; do
    if [[ ! -x $exe ]]; then
        echo "perf.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_rdkafka bench_peer bench_ceiling -j2" >&2
        exit 2
    fi
done

rounds=${BENCH_ROUNDS:-3}
scale=${BENCH_SCALE:-1}
lat_secs=${BENCH_LATENCY_SECS:-10}
lat_rate=${BENCH_LATENCY_RATE:-1000}
part_mb=${BENCH_PART_MB:-4}
scaled() { awk -v n="$1" -v s="$scale" 'BEGIN {v = int(n * s + 0.5); print (v < 1 ? 1 : v)}'; }
n100=$(scaled 1000000)
n1k=$(scaled 200000)
# Consume rows: enough partitions that each holds at most part_mb MB of
# values, so the peer (which keeps ~5 MiB of batches per partition) still has
# every message when the consumer starts.
parts_for() { awk -v n="$1" -v s="$2" -v mb="$part_mb" 'BEGIN {p = n * s / (mb * 1e6); q = int(p); if (q < p) q++; print (q < 1 ? 1 : q)}'; }
p100=$(parts_for "$n100" 100)
p1k=$(parts_for "$n1k" 1024)
warm_n=$(( n1k / 4 > 1000 ? n1k / 4 : 1000 ))
warm_p=$(parts_for "$warm_n" 1024)

# librdkafka stops fetching a partition while its consumer queue holds more
# than queued.min.messages (100,000) messages in all, and looks again only
# about a second later: with 25 partitions of 100 B values one Fetch answer
# passes that, and the consume rows took 1, 2 or 3 s at random. Lifting both
# queue limits leaves the broker and the client's per-message cost.
consumer_queue="--consumer-set queued.min.messages=10000000 --consumer-set queued.max.messages.kbytes=2097151"

targets=(eddy peer ceiling)
# id | label | unit | metric source | bench_rdkafka arguments (bootstrap and topic are added)
# metric source: produce, consume, or latency:<key>. The three latency
# rows share one run (the one with id lat).
rows=(
    "p1|produce 100 B, acks=1|MB/s|produce|-n $n100 -s 100 -a 1 --no-consume"
    "p2|produce 100 B, acks=all|MB/s|produce|-n $n100 -s 100 -a all --no-consume"
    "p3|produce 100 B, acks=1, lz4|MB/s|produce|-n $n100 -s 100 -a 1 -z lz4 --no-consume"
    "p4|produce 100 B, acks=all, lz4|MB/s|produce|-n $n100 -s 100 -a all -z lz4 --no-consume"
    "p5|produce 1 KiB, acks=1|MB/s|produce|-n $n1k -s 1024 -a 1 --no-consume"
    "p6|produce 1 KiB, acks=all|MB/s|produce|-n $n1k -s 1024 -a all --no-consume"
    "p7|produce 1 KiB, acks=1, lz4|MB/s|produce|-n $n1k -s 1024 -a 1 -z lz4 --no-consume"
    "p8|produce 1 KiB, acks=all, lz4|MB/s|produce|-n $n1k -s 1024 -a all -z lz4 --no-consume"
    "c1|consume 100 B from the beginning ($p100 partitions)|MB/s|consume|-n $n100 -s 100 -a 1 -p $p100 --fill $consumer_queue"
    "c2|consume 1 KiB from the beginning ($p1k partitions)|MB/s|consume|-n $n1k -s 1024 -a 1 -p $p1k --fill $consumer_queue"
    "lat|end-to-end latency p50, 100 B at $lat_rate msg/s|µs|latency:p50_us|--latency --rate $lat_rate --duration $lat_secs -s 100 -a 1 -l 0"
)
# Extra table rows read from the latency run.
lat_rows=("p99|end-to-end latency p99|µs|latency:p99_us" "p999|end-to-end latency p99.9|µs|latency:p999_us")

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-perf.XXXXXX")
declare -A pid addr

# shellcheck disable=SC2317 # called from the EXIT trap
stop_all() {
    for t in "${targets[@]}"; do
        if [[ -n ${pid[$t]:-} ]] && kill -0 "${pid[$t]}" 2>/dev/null; then
            kill -TERM "${pid[$t]}" 2>/dev/null || true
            wait "${pid[$t]}" 2>/dev/null || true
        fi
        pid[$t]=
    done
}
# shellcheck disable=SC2317
cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "perf.sh: $*" >&2; }
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# start TARGET ROUND: starts a fresh broker and sets pid[TARGET], addr[TARGET].
start() {
    local t=$1 r=$2 out=$work/$1-r$2.out err=$work/$1-r$2.err
    : >"$out"
    case $t in
    eddy)
        "$eddy" --listeners PLAINTEXT://127.0.0.1:0 --log.dirs "$work/data-r$r" >"$out" 2>"$err" &
        ;;
    peer)
        # librdkafka 2.0's mock cluster has no CreateTopics: make this
        # round's topics up front (bench_rdkafka runs with --no-create).
        local specs=("r$r-warm-peer:$warm_p")
        for row in "${rows[@]}"; do
            IFS='|' read -r id _ _ _ args <<<"$row"
            local p=1
            [[ $args =~ -p\ ([0-9]+) ]] && p=${BASH_REMATCH[1]}
            specs+=("r$r-$id-peer:$p")
        done
        "$peer" "${specs[@]}" >"$out" 2>"$err" &
        ;;
    ceiling)
        "$ceiling" >"$out" 2>"$err" &
        ;;
    esac
    pid[$t]=$!
    local a=
    for _ in $(seq 300); do
        a=$(sed -n 's/^[a-z]* ready on \(.*\)$/\1/p' "$out")
        [[ -n $a ]] && break
        if ! kill -0 "${pid[$t]}" 2>/dev/null; then
            log "$t exited before it was ready:"; tail -20 "$err" >&2; exit 1
        fi
        sleep 0.1
    done
    [[ -n $a ]] || { log "$t did not print its ready line within 30 s"; tail -20 "$err" >&2; exit 1; }
    addr[$t]=$a
    log "round $r: $t pid ${pid[$t]} on $a"
}

# run TARGET ROUND ID ARGS...: one bench_rdkafka run; its output in $work/TARGET-rROUND-ID.out
run() {
    local t=$1 r=$2 id=$3
    shift 3
    local topic=r$r-$id-$t extra=()
    [[ $t == peer ]] && extra=(--no-create)
    local out=$work/$t-r$r-$id.out
    sync -f "$work" 2>/dev/null || sync
    local rc=0
    timeout 120 "$bench" -b "${addr[$t]}" -t "$topic" "${extra[@]}" "$@" >"$out" 2>"$out.err" || rc=$?
    if [[ $t != peer ]]; then
        # Hands the topic's disk and page cache back before the next run
        # (see bench/README.md, run.sh); the peer cannot delete.
        "$bench" -b "${addr[$t]}" -t "$topic" --delete-only 2>>"$out.err" || true
    fi
    if ! kill -0 "${pid[$t]}" 2>/dev/null; then
        log "$t died during $id (round $r):"; tail -20 "$work/$t-r$r.err" >&2
        return 1
    fi
    if [[ $rc != 0 ]]; then
        log "$t $id (round $r) exited $rc:"; grep -v '^#' "$out.err" | tail -5 >&2 || true
    fi
    sed "s/^/[$t r$r] /" <(grep '^RESULT' "$out" || true) >&2
    return "$rc"
}

declare -A val   # val[id,target] = space-separated values, one per round
declare -A flag  # flag[id,target] = note marks
status=0
librdkafka=unknown
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)

for ((r = 1; r <= rounds; r++)); do
    # Rotate who goes first, so no broker always runs right after another.
    order=()
    for ((k = 0; k < 3; k++)); do order+=("${targets[$(((r - 1 + k) % 3))]}"); done
    for t in "${order[@]}"; do start "$t" "$r"; done
    for t in "${order[@]}"; do
        log "round $r: $t warm-up ($warm_n x 1 KiB, not reported)"
        wid=warm
        run "$t" "$r" "$wid" -n "$warm_n" -s 1024 -p "$warm_p" --fill >/dev/null 2>&1 || log "$t warm-up failed (continuing)"
    done
    for row in "${rows[@]}"; do
        IFS='|' read -r id label unit src args <<<"$row"
        for t in "${order[@]}"; do
            log "round $r/$rounds: $label on $t"
            # shellcheck disable=SC2086 # args is a word list on purpose
            if ! run "$t" "$r" "$id" $args; then
                status=1
                flag[$id,$t]+="!"
            fi
            out=$work/$t-r$r-$id.out
            v=$(sed -n 's/^# bench_rdkafka librdkafka=\([^ ]*\).*/\1/p' "$out")
            [[ -n $v ]] && librdkafka=$v
            case $src in
            produce)
                line=$(grep '^RESULT phase=produce' "$out" || true)
                [[ -n $line ]] || continue
                if [[ $(field compression "$line") != "$(field codec_used "$line")" ]]; then
                    flag[$id,$t]+="†"
                fi
                val[$id,$t]+=" $(field mb_per_s "$line")"
                ;;
            consume)
                line=$(grep '^RESULT phase=consume' "$out" || true)
                [[ -n $line ]] || continue
                [[ $(field missing "$line") == 0 ]] || flag[$id,$t]+="‡"
                val[$id,$t]+=" $(field mb_per_s "$line")"
                ;;
            latency:*)
                line=$(grep '^RESULT phase=latency' "$out" || true)
                [[ -n $line ]] || continue
                [[ $(field lost "$line") == 0 ]] || flag[$id,$t]+="‡"
                val[$id,$t]+=" $(field p50_us "$line")"
                for lr in "${lat_rows[@]}"; do
                    IFS='|' read -r lid _ _ lsrc <<<"$lr"
                    val[$lid,$t]+=" $(field "${lsrc#latency:}" "$line")"
                done
                ;;
            esac
        done
    done
    stop_all
    rm -rf "$work/data-r$r"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - t_start))

# ---- report ---------------------------------------------------------------
median() { printf '%s\n' "$@" | sed '/^$/d' | sort -g | awk '{a[NR] = $1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
fmt() { [[ $1 == - ]] && { echo -; return; }; if [[ $2 == µs ]]; then printf '%.0f' "$1"; else printf '%.1f' "$1"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b + 0 == 0) print "-"; else if (a / b < 0.1) printf "%.2g", a / b; else printf "%.2f", a / b}'; }

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$work" | awk 'NR == 2 {print $2}')
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "### eddy vs peer vs ceiling ($(date -u +%Y-%m-%d), commit $rev, ${build_type:-unknown} build)"
echo
echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -sr), eddy's data dir on $fs;"
echo "brokers and client shared one host over loopback; librdkafka $librdkafka (client, and the peer's mock cluster)."
echo "Load average $load_start at the start, $load_end at the end; $elapsed s in all."
echo "Median of $rounds rounds; $n100 x 100 B and $n1k x 1 KiB per throughput row; latency over $lat_secs s at $lat_rate msg/s."
if [[ -n ${BENCH_EDDY:-} ]]; then
    echo "Broker binary: \`$eddy\` (BENCH_EDDY), so the commit above may not describe it."
fi
echo
echo "| row | unit | eddy | peer | ceiling | eddy/peer | eddy/ceiling |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
all_rows=()
for row in "${rows[@]}"; do all_rows+=("${row%|*}"); done
all_rows+=("${lat_rows[@]}")
notes=()
for row in "${all_rows[@]}"; do
    IFS='|' read -r id label unit _ <<<"$row"
    declare -A med=()
    line="| $label | $unit"
    for t in "${targets[@]}"; do
        # shellcheck disable=SC2086 # one word per round
        med[$t]=$(median ${val[$id,$t]:-})
        line+=" | $(fmt "${med[$t]}" "$unit")${flag[$id,$t]:-}"
    done
    line+=" | $(ratio "${med[eddy]}" "${med[peer]}") | $(ratio "${med[eddy]}" "${med[ceiling]}") |"
    echo "$line"
    for t in "${targets[@]}"; do
        case ${flag[$id,$t]:-} in *†*) notes+=("† librdkafka sent this row uncompressed: the broker did not enable the codec.") ;; esac
        case ${flag[$id,$t]:-} in *‡*) notes+=("‡ at least one round did not read back every message (peer: retention; see bench/README.md).") ;; esac
        case ${flag[$id,$t]:-} in *!*) notes+=("! at least one round failed; the median is over the rounds that reported.") ;; esac
    done
    unset med
done
echo
echo "MB = 10^6 bytes of message values. Latency rows: lower is better, so a ratio below 1 means eddy is faster."
echo "The peer answers an empty Fetch only after the consumer's full fetch.wait.max.ms (500 ms), which sets its latency."
printf '%s\n' "${notes[@]}" | sort -u | sed '/^$/d; s/^/\n/'
echo
echo "Command: \`bench/perf.sh $(basename "$build")\`; per-run RESULT lines are on stderr."
exit "$status"
