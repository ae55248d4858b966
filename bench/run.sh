#!/usr/bin/env bash
# bench/run.sh: runs eddy's benchmark matrix against a fresh broker and prints
# a markdown table of the results, with a description of the machine and the
# raw write speed of the disk holding the data directory.
#
# It builds nothing: configure and build first (see bench/README.md), then
#   bench/run.sh [BUILD_DIR]          BUILD_DIR defaults to build-bench
# BUILD_DIR is taken relative to the current directory if it exists there,
# otherwise relative to the repository root.
#
# Environment:
#   BENCH_MESSAGES  messages per row (default 1000000)
#   BENCH_TMPDIR    where the temporary data directory goes (default $TMPDIR or /tmp)
#   BENCH_EDDY      broker binary to measure (default BUILD_DIR/eddy)
#   BENCH_WARMUP    0 to skip the unreported warm-up row (default 1)
#
# The table goes to stdout; progress and the raw RESULT lines go to stderr.
# Exit status is 0 when every row ran to completion, 1 otherwise. Figures
# are reported, never checked: nothing here fails because a number is low.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_rdkafka
for exe in "$eddy" "$bench"; do
    if [[ ! -x $exe ]]; then
        echo "run.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_rdkafka -j2" >&2
        exit 2
    fi
done

messages=${BENCH_MESSAGES:-1000000}
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-bench.XXXXXX")
data=$work/data
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

log() { echo "run.sh: $*" >&2; }

# ---- broker ---------------------------------------------------------------
# Created here: the background job's own redirection may not have run yet
# when the loop below first reads the file.
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

# ---- matrix ---------------------------------------------------------------
# label | bench_rdkafka arguments (message count and bootstrap are added)
rows=(
    "1 KiB, acks=1|-s 1024 -a 1"
    "1 KiB, acks=all|-s 1024 -a all"
    "100 B, acks=1|-s 100 -a 1"
    "1 KiB, acks=1, 4 partitions|-s 1024 -a 1 -p 4"
    "1 KiB, acks=1, lz4|-s 1024 -a 1 -z lz4"
    "1 KiB, acks=1, snappy|-s 1024 -a 1 -z snappy"
    "1 KiB, acks=1, zstd|-s 1024 -a 1 -z zstd"
)

# The first gigabyte through a fresh process and cold memory ran up to 2x
# slower than the same row run later, so one unreported row goes first.
if [[ ${BENCH_WARMUP:-1} != 0 ]]; then
    log "warm-up: 1 KiB, acks=1 ($messages messages, not reported)"
    "$bench" -b "127.0.0.1:$port" -t bench-warmup -n "$messages" -s 1024 >"$work/warmup.out" 2>&1 ||
        log "warm-up failed (continuing): $(tail -1 "$work/warmup.out")"
    "$bench" -b "127.0.0.1:$port" -t bench-warmup --delete-only 2>/dev/null || true
fi

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

table=()
notes=()
status=0
librdkafka=unknown
i=0
for row in "${rows[@]}"; do
    i=$((i + 1))
    label=${row%%|*}
    args=${row#*|}
    topic=bench-$i
    # Write back dirty pages first, so the kernel's flusher (and, past
    # vm.dirty_ratio, throttling of the broker's writes) does not land on
    # whichever row happens to run next.
    sync -f "$data" 2>/dev/null || sync
    log "row $i: $label ($messages messages)"
    out=$work/row$i.out
    # shellcheck disable=SC2086 # args is a word list on purpose
    if ! "$bench" -b "127.0.0.1:$port" -t "$topic" -n "$messages" $args >"$out" 2>"$work/row$i.err"; then
        status=1
        log "row $i failed:"; tail -5 "$work/row$i.err" >&2
    fi
    grep '^RESULT' "$out" >&2 || true
    if ! kill -0 "$eddy_pid" 2>/dev/null; then
        log "eddy died during row $i:"; tail -20 "$work/eddy.log" >&2
        status=1
        table+=("| $label | $messages | broker died | | | | | | |")
        break
    fi
    v=$(sed -n 's/^# bench_rdkafka librdkafka=\([^ ]*\).*/\1/p' "$out")
    [[ -n $v ]] && librdkafka=$v
    prod=$(grep '^RESULT phase=produce' "$out" || true)
    cons=$(grep '^RESULT phase=consume' "$out" || true)
    disk_mb=$(du -sb "$data/$topic"-* 2>/dev/null | awk '{s += $1} END {if (NR) printf "%.0f", s / 1e6; else print "-"}')
    # Each row leaves about 1 GB in the page cache. On some hosts (VMs whose
    # memory is backed lazily) the next gigabytes of fresh pages are much
    # slower than recycled ones, so later rows would measure the hypervisor.
    # Deleting the topic hands its pages back before the next row.
    "$bench" -b "127.0.0.1:$port" -t "$topic" --delete-only 2>>"$work/row$i.err" ||
        log "row $i: could not delete $topic; later rows may run on a fuller page cache"
    if [[ -z $prod ]]; then
        table+=("| $label | $messages | failed | | | | | | |")
        continue
    fi
    codec=$(field compression "$prod")
    used=$(field codec_used "$prod")
    if [[ $codec != "$used" ]]; then
        label="$label (sent uncompressed †)"
        notes+=("† librdkafka disabled $codec for this broker (see bench/README.md), so this row ran uncompressed.")
    fi
    row_out="| $label | $(field messages "$prod") | $(field msgs_per_s "$prod") | $(field mb_per_s "$prod")"
    row_out+=" | $(field p50_ms "$prod") | $(field p99_ms "$prod")"
    if [[ -n $cons ]]; then
        row_out+=" | $(field msgs_per_s "$cons") | $(field mb_per_s "$cons")"
    else
        row_out+=" | failed | "
    fi
    row_out+=" | $disk_mb |"
    table+=("$row_out")
done

# ---- stop the broker, then measure the disk under the same directory ------
kill -TERM "$eddy_pid" 2>/dev/null || true
wait "$eddy_pid" 2>/dev/null || true
eddy_pid=
log "broker stopped; measuring raw disk write speed of $work"
dd_line=$(dd if=/dev/zero of="$work/ddtest" bs=1M count=512 conv=fdatasync 2>&1 | tail -1)
rm -f "$work/ddtest"
dd_speed=${dd_line##*, }

# ---- report ---------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$work" | awk 'NR == 2 {print $2}')
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "### eddy benchmark ($(date -u +%Y-%m-%d), commit $rev, ${build_type:-unknown} build)"
echo
echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, kernel $(uname -sr), data dir on $fs;"
echo "broker, client and disk shared one host; librdkafka $librdkafka; $messages messages per row."
if [[ -n ${BENCH_EDDY:-} ]]; then
    echo "Broker binary: \`$eddy\` (BENCH_EDDY), so the commit above may not describe it."
fi
echo
echo "| workload | messages | produce msg/s | produce MB/s | p50 delivery ms | p99 delivery ms | consume msg/s | consume MB/s | on disk MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${table[@]}"
echo
echo "Raw disk write of the same directory (\`dd if=/dev/zero bs=1M count=512 conv=fdatasync\`): $dd_speed."
printf '%s\n' "${notes[@]}" | sort -u | sed '/^$/d; s/^/\n/'
echo
echo "MB = 10^6 bytes of message values. Command: \`bench/run.sh $(basename "$build")\`."
exit "$status"
