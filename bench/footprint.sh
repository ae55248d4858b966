#!/usr/bin/env bash
# bench/footprint.sh: how small eddy is. Runs bench_footprint, which starts
# fresh eddy processes itself (fork/exec on a free loopback port) and prints
# a markdown table: start-up time (exec to the first answered Metadata, on an
# empty data directory and on a restart), idle RSS, memory per partition and
# Metadata latency with 10,000 partitions, memory per idle connection with
# 10,000 connections. It builds nothing: configure and build first, e.g.
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON
#   cmake --build build-bench --target eddy bench_footprint -j2
#   bench/footprint.sh [BUILD_DIR]       BUILD_DIR defaults to build-bench
#
# Environment:
#   FOOTPRINT_STARTS       starts per start-up figure (default 7)
#   FOOTPRINT_PARTITIONS   partitions of the big topic (default 10000)
#   FOOTPRINT_CONNECTIONS  idle connections (default 10000; 0 skips)
#   BENCH_TMPDIR           where the data directories go (default $TMPDIR or /tmp)
#   BENCH_EDDY             broker binary to measure (default BUILD_DIR/eddy)
#
# The table goes to stdout, progress to stderr. Figures are reported, never
# checked: the exit status is 0 when every phase ran to completion.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build_dir "${1:-}"
eddy=${BENCH_EDDY:-$build/eddy}
bench=$build/bench_footprint
for exe in "$eddy" "$bench"; do
    if [[ ! -x $exe ]]; then
        echo "footprint.sh: $exe not found; build it first:" >&2
        echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON" >&2
        echo "  cmake --build $build --target eddy bench_footprint -j2" >&2
        exit 2
    fi
done

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/eddy-footprint.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The client holds 10,000 sockets and the broker inherits this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "footprint.sh: $(uname -srm), $(nproc) cpus, eddy $eddy, data in $work" >&2
status=0
"$bench" "$eddy" "$work" \
    --starts "${FOOTPRINT_STARTS:-7}" \
    --partitions "${FOOTPRINT_PARTITIONS:-10000}" \
    --connections "${FOOTPRINT_CONNECTIONS:-10000}" || status=$?
if [[ $status -ne 0 ]]; then
    echo "footprint.sh: bench_footprint failed (status $status); the broker's log:" >&2
    tail -n 30 "$work/eddy.log" >&2 || true
fi
exit "$status"
