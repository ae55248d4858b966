#!/usr/bin/env bash
# bench/storage.sh: storage benchmarks of eddy's log (issue 3). It prints
# markdown tables with a description of the machine:
#
#   1. Append throughput and flush jobs (fsync batches) per second in each
#      flush mode (durable, interval 1000 ms, never), several librdkafka
#      producers (acks=all) writing at once, beside `dd` figures for the same
#      directory in the same run: a durable 1 MiB sequential write and small
#      synchronous 4 KiB writes (a rough ceiling on fsyncs per second).
#      Then the same with kcat producers sharing one partition, where one
#      fsync can cover several producers' batches (group commit).
#   2. Crash-recovery time: about 2 GB is written with no checkpoint, the
#      broker is SIGKILLed and restarted (page cache warm, then cold) and the
#      time from exec to the ready line gives GB/s scanned; a clean restart
#      of the same data is timed for comparison.
#   3. Compaction throughput, when bench_log is built (it needs log/compact.c).
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/storage.sh [BUILD_DIR]      BUILD_DIR defaults to build-bench
#
# Environment:
#   BENCH_STORAGE_MB   MB of values per flush-mode row (default 2048)
#   BENCH_PRODUCERS    concurrent producer processes per row (default 4)
#   BENCH_RECOVERY_MB  MB of values written for the recovery rows (default 2048)
#   BENCH_TMPDIR       where the temporary data directory goes (default $TMPDIR or /tmp)
#   BENCH_EDDY         broker binary to measure (default BUILD_DIR/eddy)
#   BENCH_WARMUP       0 to skip the unreported warm-up row (default 1)
#   BENCH_LOG          bench_log binary (default BUILD_DIR/bench_log)
#   BENCH_COMPACTION   0 to skip the compaction rows (default 1)
#   BENCH_GROUP_COMMIT 0 to skip the shared-partition rows (default 1; they need kcat)
#
# Tables go to stdout; progress and raw RESULT lines go to stderr. Exit
# status is 0 when every step ran to completion, 1 otherwise. Figures are
# reported, never checked.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_rdkafka
bench_log=${BENCH_LOG:-$build/bench_log}
for exe in "$eddy" "$bench"; do
    if [[ ! -x $exe ]]; then
        echo "storage.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_rdkafka bench_log -j2" >&2
        exit 2
    fi
done

size=1024 # bytes per message value
row_mb=${BENCH_STORAGE_MB:-2048}
producers=${BENCH_PRODUCERS:-4}
recovery_mb=${BENCH_RECOVERY_MB:-2048}
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-storage.XXXXXX")
eddy_pid=
status=0
# No checkpoint may be written while the recovery data goes in, or the
# restart would scan only what followed it: an hour is far longer than a run.
no_checkpoint=(--log.flush.offset.checkpoint.interval.ms 3600000)

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

log() { echo "storage.sh: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
# calc EXPR: floating-point arithmetic (awk), six decimals: epoch times
# would lose their fraction in awk's default %.6g.
calc() { awk "BEGIN { printf \"%.6f\\n\", ($1) }"; }
# lt A B: whether A < B, as floating-point numbers.
lt() { awk "BEGIN { exit !(($1) < ($2)) }"; }

# ---- broker ---------------------------------------------------------------
# start_broker NAME DIR [FLAGS...]: starts eddy on DIR, waits for its ready
# line and sets eddy_pid, port and ready_s (seconds from exec to that line).
# Its stdout is a FIFO read here, so the ready line is seen the moment it is
# written, not at the next poll: clean restarts take milliseconds. stderr
# goes to $work/eddy-NAME.log.
start_broker() {
    local name=$1 dir=$2
    shift 2
    local fifo=$work/stdout.fifo line t0
    rm -f "$fifo"
    mkfifo "$fifo"
    t0=$(now)
    "$eddy" --listeners PLAINTEXT://127.0.0.1:0 --log.dirs "$dir" "$@" >"$fifo" 2>"$work/eddy-$name.log" &
    eddy_pid=$!
    # Held open until the broker stops, so a later write to its stdout
    # never meets a closed pipe.
    exec 3<"$fifo"
    if ! read -r -t 600 line <&3; then
        log "eddy ($name) exited or hung before its ready line:"
        tail -20 "$work/eddy-$name.log" >&2
        return 1
    fi
    ready_s=$(calc "$(now) - $t0")
    port=$(sed -n 's/^eddy ready on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' <<<"$line")
    if [[ -z $port ]]; then
        log "eddy ($name): unexpected first line: $line"
        return 1
    fi
    log "eddy ($name) pid $eddy_pid on 127.0.0.1:$port after ${ready_s}s, data in $dir"
}

# stop_broker NAME SIGNAL: stops the broker and waits for it; sets
# flush_jobs from its "storage: N flush jobs ran" line (0 without one), and
# crashed to a description when the broker had died before the signal or
# did not exit as that signal should make it (0 for TERM, 137 for KILL).
stop_broker() {
    local name=$1 sig=$2 rc=0 alive=1 want=0
    [[ $sig == KILL ]] && want=137
    kill -0 "$eddy_pid" 2>/dev/null || alive=0
    kill "-$sig" "$eddy_pid" 2>/dev/null || true
    wait "$eddy_pid" 2>/dev/null || rc=$?
    eddy_pid=
    exec 3<&-
    flush_jobs=$(sed -n 's/.*storage: \([0-9][0-9]*\) flush jobs ran.*/\1/p' "$work/eddy-$name.log" | tail -1)
    flush_jobs=${flush_jobs:-0}
    crashed=
    if ((!alive || rc != want)); then
        crashed="broker died (exit status $rc)"
        ((rc <= 128)) || crashed="broker died (signal $((rc - 128)))"
        log "eddy ($name): $crashed; the end of its log:"
        tail -5 "$work/eddy-$name.log" >&2
        status=1
    fi
}

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# produce TAG COUNT MB: COUNT bench_rdkafka processes at once, each to its
# own topic TAG-i with acks=all, MB megabytes of values in all. Sets span_s
# (first produce call of any producer to the last producer's final flush),
# mb (value MB delivered), worst p50/p99 and failed.
produce() {
    local tag=$1 count=$2 total_mb=$3
    local msgs=$((total_mb * 1000000 / size / count))
    local i pids=()
    for i in $(seq "$count"); do
        (
            rc=0
            "$bench" -b "127.0.0.1:$port" -t "$tag-$i" -n "$msgs" -s "$size" -a all --no-consume \
                >"$work/$tag-$i.out" 2>"$work/$tag-$i.err" || rc=$?
            echo "$rc $EPOCHREALTIME" >"$work/$tag-$i.end"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    # Each producer's phase ends about when it exits (--no-consume) and
    # began secs before that; client start-up and topic creation, which
    # differ between processes, stay out of the span.
    local first='' last='' delivered=0 res rc end secs start
    p50=0 p99=0 failed=0
    for i in $(seq "$count"); do
        read -r rc end <"$work/$tag-$i.end"
        res=$(grep '^RESULT phase=produce' "$work/$tag-$i.out" || true)
        if [[ $rc != 0 || -z $res ]]; then
            log "$tag-$i failed (exit $rc):"; tail -5 "$work/$tag-$i.err" >&2
            status=1
        fi
        [[ -n $res ]] || continue
        echo "$res" >&2
        secs=$(field secs "$res")
        start=$(calc "$end - $secs")
        if [[ -z $first ]] || lt "$start" "$first"; then first=$start; fi
        if [[ -z $last ]] || lt "$last" "$end"; then last=$end; fi
        delivered=$((delivered + $(field messages "$res")))
        failed=$((failed + $(field failed "$res")))
        if lt "$p50" "$(field p50_ms "$res")"; then p50=$(field p50_ms "$res"); fi
        if lt "$p99" "$(field p99_ms "$res")"; then p99=$(field p99_ms "$res"); fi
    done
    mb=$(calc "$delivered * $size / 1e6")
    if [[ -n $first ]]; then
        span_s=$(calc "$last - $first")
    else
        span_s=0
    fi
}

# log_bytes DIR: bytes in the .log segment files under DIR.
log_bytes() { find "$1" -name '*.log' -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}'; }

# fresh_dir NAME: an empty data directory, the previous ones' pages given back.
fresh_dir() {
    rm -rf "$work"/data-*
    sync -f "$work" 2>/dev/null || sync
    echo "$work/data-$1"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. append throughput per flush mode ----------------------------------
# label | producers | broker flags
modes=(
    "durable|1|--log.flush.interval.messages 1"
    "never (page cache)|1|"
    "durable|$producers|--log.flush.interval.messages 1"
    "interval 1000 ms|$producers|--log.flush.interval.ms 1000"
    "never (page cache)|$producers|"
)

if [[ ${BENCH_WARMUP:-1} != 0 ]]; then
    log "warm-up: never, $producers producers, $row_mb MB (not reported)"
    start_broker warmup "$(fresh_dir warmup)"
    produce warmup "$producers" "$row_mb"
    stop_broker warmup TERM
fi

append_rows=()
i=0
for m in "${modes[@]}"; do
    i=$((i + 1))
    IFS='|' read -r label count flags <<<"$m"
    log "row $i: $label, $count producers, $row_mb MB"
    dir=$(fresh_dir "mode$i")
    # shellcheck disable=SC2086 # flags is a word list on purpose
    start_broker "mode$i" "$dir" $flags
    produce "mode$i" "$count" "$row_mb"
    stop_broker "mode$i" TERM
    if [[ -n $crashed ]]; then
        append_rows+=("| $label | \`${flags:-(defaults)}\` | $count | $crashed | | | | | | |")
        continue
    fi
    mb_job=-
    ((flush_jobs == 0)) || mb_job=$(printf '%.2f' "$(calc "$mb / $flush_jobs")")
    # shellcheck disable=SC2016 # the backquotes are markdown
    append_rows+=("$(printf '| %s | `%s` | %d | %.0f | %.2f | %.0f | %d | %.0f | %s | %.0f / %.0f |' \
        "$label" "${flags:-(defaults)}" "$count" "$mb" "$span_s" "$(calc "$span_s > 0 ? $mb / $span_s : 0")" \
        "$flush_jobs" "$(calc "$span_s > 0 ? $flush_jobs / $span_s : 0")" "$mb_job" "$p50" "$p99")")
    ((failed == 0)) || status=1
done

# ---- 1b. group commit: producers sharing one partition ----------------------
# bench_rdkafka creates its own topic and stops when it exists, so it cannot
# put several producers on one partition; kcat (librdkafka's command-line
# client) can. Each kcat sends lines of a file as 1023-byte values. One
# flush job then covers whatever every connection appended while the
# previous fsync ran, which is what "MB per flush job" shows.
group_rows=()
if [[ ${BENCH_GROUP_COMMIT:-1} != 0 ]] && command -v kcat >/dev/null; then
    lines=$work/lines
    per=$((row_mb * 1000000 / size / producers))
    yes "$(printf '%01023d' 0)" | head -n "$per" >"$lines" || true
    # label | kcat processes | broker flags
    group=(
        "durable|1|--log.flush.interval.messages 1"
        "durable|$producers|--log.flush.interval.messages 1"
        "never (page cache)|$producers|"
    )
    i=0
    for g in "${group[@]}"; do
        i=$((i + 1))
        IFS='|' read -r label count flags <<<"$g"
        log "group commit row $i: $label, $count kcat producers on one partition"
        dir=$(fresh_dir "group$i")
        # shellcheck disable=SC2086 # flags is a word list on purpose
        start_broker "group$i" "$dir" $flags
        "$bench" -b "127.0.0.1:$port" -t shared -n 1 --no-consume >"$work/group$i.create" 2>&1 ||
            { log "cannot create topic shared:"; tail -3 "$work/group$i.create" >&2; status=1; }
        t0=$(now)
        kpids=()
        for k in $(seq "$count"); do
            # One producer alone sends what all of them would, in a row.
            for _ in $(seq $((producers / count))); do cat "$lines"; done |
                kcat -P -b "127.0.0.1:$port" -t shared -p 0 -X acks=all -X linger.ms=5 \
                    2>"$work/group$i-$k.err" &
            kpids+=($!)
        done
        for k in "${!kpids[@]}"; do
            if ! wait "${kpids[$k]}" || grep -q ERROR "$work/group$i-$((k + 1)).err"; then
                log "kcat $((k + 1)) of group row $i failed:"; tail -3 "$work/group$i-$((k + 1)).err" >&2
                status=1
            fi
        done
        secs=$(calc "$(now) - $t0")
        stop_broker "group$i" TERM
        # kcat's exit status is not a delivery count: check the bytes arrived.
        if (($(log_bytes "$dir") < per * producers * 1023)); then
            log "group row $i: only $(log_bytes "$dir") bytes of log for $((per * producers * 1023)) bytes of values"
            status=1
        fi
        if [[ -n $crashed ]]; then
            group_rows+=("| $label | \`${flags:-(defaults)}\` | $count | $crashed | | | | | |")
            continue
        fi
        mb=$(calc "$per * $producers * 1023 / 1e6")
        mb_job=-
        ((flush_jobs == 0)) || mb_job=$(printf '%.2f' "$(calc "$mb / $flush_jobs")")
        # shellcheck disable=SC2016 # the backquotes are markdown
        group_rows+=("$(printf '| %s | `%s` | %d | %.0f | %.2f | %.0f | %d | %.0f | %s |' \
            "$label" "${flags:-(defaults)}" "$count" "$mb" "$secs" "$(calc "$mb / $secs")" \
            "$flush_jobs" "$(calc "$flush_jobs / $secs")" "$mb_job")")
    done
    rm -f "$lines"
fi

# ---- raw disk figures for the same directory --------------------------------
rm -rf "$work"/data-*
log "measuring the disk under $work with dd"
dd_seq=$(dd if=/dev/zero of="$work/ddtest" bs=1M count=512 conv=fdatasync 2>&1 | tail -1)
rm -f "$work/ddtest"
dd_sync=$(dd if=/dev/zero of="$work/ddtest" bs=4k count=2000 oflag=dsync 2>&1 | tail -1)
rm -f "$work/ddtest"
# "N bytes (...) copied, S s, R MB/s"
dd_secs() { sed -n 's/.* copied, \([0-9.]*\) s,.*/\1/p' <<<"$1"; }
dd_rate() { echo "${1##*, }"; }
dd_seq_mbs=$(calc "536.870912 / $(dd_secs "$dd_seq")")
dd_sync_ops=$(calc "2000 / $(dd_secs "$dd_sync")")

# ---- 2. recovery time -------------------------------------------------------
log "recovery: writing $recovery_mb MB with no checkpoint"
rdir=$(fresh_dir recovery)
recovery_rows=()
start_broker rec-write "$rdir" "${no_checkpoint[@]}"
produce rec "$producers" "$recovery_mb"
stop_broker rec-write KILL
rbytes=$(log_bytes "$rdir")
rgb=$(calc "$rbytes / 1e9")
[[ ! -e $rdir/recovery-point-offset-checkpoint ]] ||
    log "warning: a recovery-point checkpoint exists; the scan may not cover everything"

# recovery_row LABEL NAME: restarts on rdir, times it, records a row.
recovery_row() {
    local label=$1 name=$2 scanned=$3
    start_broker "$name" "$rdir" "${no_checkpoint[@]}"
    local rate=-
    [[ $scanned == yes ]] && rate=$(printf '%.2f' "$(calc "$rgb / $ready_s")")
    recovery_rows+=("$(printf '| %s | %.3f | %.3f | %s |' "$label" "$rgb" "$ready_s" "$rate")")
    grep -E 'WARN|ERROR|shutdown last time' "$work/eddy-$name.log" | head -5 >&2 || true
}

# The data is in the page cache, as after a crash of the process alone.
recovery_row "unclean (SIGKILL), page cache warm" rec-warm yes
stop_broker rec-warm KILL
# As after a power cut or reboot: every segment read from the disk. The
# files are synced, then dropped from the page cache one by one (GNU dd's
# nocache), which leaves the rest of the machine's cache alone.
sync -f "$rdir" 2>/dev/null || sync
while IFS= read -r -d '' f; do
    dd if="$f" iflag=nocache count=0 status=none
done < <(find "$rdir" -type f -print0)
recovery_row "unclean (SIGKILL), segments not in page cache" rec-cold yes
stop_broker rec-cold TERM
recovery_row "clean (SIGTERM), no scan" rec-clean no
stop_broker rec-clean TERM

# ---- 3. compaction ----------------------------------------------------------
# label | bench_log arguments (--dir is added)
compaction=(
    "none, page cache warm|--codec none"
    "none, segments not in page cache|--codec none --cold"
    "lz4, page cache warm|--codec lz4"
    "zstd, page cache warm|--codec zstd"
)
compaction_rows=()
if [[ ${BENCH_COMPACTION:-1} != 0 && -x $bench_log ]]; then
    for c in "${compaction[@]}"; do
        label=${c%%|*}
        args=${c#*|}
        rm -rf "$work"/data-*
        log "compaction: $label"
        # shellcheck disable=SC2086 # args is a word list on purpose
        if ! out=$("$bench_log" --dir "$work/data-compact" $args 2>"$work/bench_log.err"); then
            log "bench_log failed:"; tail -5 "$work/bench_log.err" >&2
            status=1
            compaction_rows+=("| $label | failed | | | | | | | |")
            continue
        fi
        grep -v '^RESULT' <<<"$out" >&2 || true
        res=$(grep '^RESULT phase=compact' <<<"$out" || true)
        echo "$res" >&2
        compaction_rows+=("$(printf '| %s | %s | %s -> %s | %s | %s | %s | %s | %s | %s |' "$label" \
            "$(field segments "$res")" "$(field mb_before "$res")" "$(field mb_after "$res")" \
            "$(field records_read "$res")" "$(field records_removed "$res")" "$(field total_s "$res")" \
            "$(field mb_per_s "$res")" "$(field records_per_s "$res")" "$(field append_mb_per_s "$res")")")
    done
fi

# ---- report -------------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$work" | awk 'NR == 2 {print $2 " on " $1}')
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
librdkafka=$(sed -n 's/^# bench_rdkafka librdkafka=\([^ ]*\).*/\1/p' "$work"/mode1-1.out 2>/dev/null | head -1)

echo "### eddy storage benchmark ($(date -u +%Y-%m-%d), commit $rev, ${build_type:-unknown} build)"
echo
echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -sr), data dir on $fs;"
echo "broker, producers and disk shared one host, which other work was also using"
echo "(load average $load_start at the start, $load_end at the end); librdkafka ${librdkafka:-unknown}."
if [[ -n ${BENCH_EDDY:-} ]]; then
    echo "Broker binary: \`$eddy\` (BENCH_EDDY), so the commit above may not describe it."
fi
echo
echo "#### Append throughput by flush mode"
echo
echo "Each row: a fresh broker and data directory; N \`bench_rdkafka\` processes at once, each"
echo "producing $row_mb MB / N of ${size}-byte values (acks=all, linger 5 ms, no compression) to its own"
echo "one-partition topic."
echo
echo "| flush mode | broker flags | producers | MB | secs | MB/s appended | flush jobs | flush jobs/s | MB per flush job | worst p50 / p99 delivery ms |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${append_rows[@]}"
echo
echo "#### Group commit: producers sharing one partition"
echo
if ((${#group_rows[@]})); then
    echo "A fresh broker per row; \`kcat -P\` processes (acks=all, linger 5 ms) send $row_mb MB in all of"
    echo "1023-byte values to partition 0 of one topic. Seconds run from starting the first kcat to the"
    echo "last one's exit (client start-up included)."
    echo
    echo "| flush mode | broker flags | producers | MB | secs | MB/s appended | flush jobs | flush jobs/s | MB per flush job |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${group_rows[@]}"
else
    echo "Not measured: kcat is not installed (or BENCH_GROUP_COMMIT=0)."
fi
echo
echo "Same directory, same run:"
echo
echo "| \`dd\` | result |"
echo "| --- | ---: |"
# shellcheck disable=SC2016 # the backquotes are markdown
printf '| `dd if=/dev/zero bs=1M count=512 conv=fdatasync` (durable sequential write) | %.0f MB/s |\n' "$dd_seq_mbs"
# shellcheck disable=SC2016
printf '| `dd if=/dev/zero bs=4k count=2000 oflag=dsync` (synchronous small writes) | %.0f writes/s (%s) |\n' \
    "$dd_sync_ops" "$(dd_rate "$dd_sync")"
echo
echo "#### Crash recovery"
echo
echo "$recovery_mb MB of values written by $producers producers to $producers topics with no checkpoint, then"
echo "the broker was killed; each restart is timed from exec to its ready line."
echo
echo "| restart | GB of segments | secs to ready | GB/s scanned |"
echo "| --- | ---: | ---: | ---: |"
printf '%s\n' "${recovery_rows[@]}"
echo
echo "#### Compaction"
echo
if ((${#compaction_rows[@]})); then
    echo "\`bench_log\` (in-process, no broker): 1,000,000 records of 100-byte values over 100,000 random keys,"
    echo "200 records per batch, 16 MiB segments; one pass (prepare + run + complete) over the sealed segments."
    echo
    echo "| codec, cache | segments | MB before -> after | records read | records removed | secs | MB/s read | records/s | append MB/s (no fsync) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${compaction_rows[@]}"
elif [[ -x $bench_log ]]; then
    echo "Skipped (BENCH_COMPACTION=0)."
else
    echo "Not measured: \`bench_log\` is not built (it needs log/compact.c; see bench/README.md)."
fi
echo
echo "MB = 10^6 bytes of message values; GB = 10^9 bytes. Command: \`bench/storage.sh $(basename "$build")\`."
exit "$status"
