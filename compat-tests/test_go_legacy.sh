#!/usr/bin/env bash
# Go clients (Debian's packages, GOPATH mode against /usr/share/gocode)
# speaking the old protocol. $1 picks the program and its setting:
#   0.8.2 / 0.10.0  sarama 1.22 configured for that Kafka version (0.8.2 is
#                   its default: Produce/Fetch/ListOffsets v0, magic 0;
#                   0.10.0: Produce/Fetch v2, magic 1)
#   kafka-go        segmentio/kafka-go 0.2.1 (Produce/Fetch v2, magic 1)
# Builds compat-tests/go/<program> and runs it. Started by run.py with EDDY_BOOTSTRAP.
set -u -o pipefail
B="${EDDY_BOOTSTRAP:?EDDY_BOOTSTRAP not set (run through run.py)}"
NAME="${EDDY_TEST_NAME:-sarama_legacy}"
HERE="$(cd "$(dirname "$0")" && pwd)"
W="$(mktemp -d /tmp/compat-sarama-XXXXXX)"
trap 'rm -rf "$W"' EXIT
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="${GOCACHE:-$W/gocache}"
case "${1:?usage: $0 0.8.2|0.10.0|kafka-go}" in
    kafka-go) prog=kafkago_legacy; args=("$B" "$NAME") ;;
    *) prog=sarama_legacy; args=("$B" "$1" "$NAME") ;;
esac
if ! go build -o "$W/$prog" "$HERE/go/$prog/main.go" 2>"$W/build.err"; then
    grep -v -i "deprecated\|zstd.h\|^ *|\|In file included\|^ *[0-9]* |" "$W/build.err" | tail -n 20
    echo "FAIL: building $prog"
    exit 1
fi
"$W/$prog" "${args[@]}" || { echo "FAIL: $prog $1"; exit 1; }
echo "PASS: $prog $1"
