#!/usr/bin/env bash
# Installs what the compatibility suite needs on a fresh Debian 12 machine:
# kcat and librdkafka (Debian), kafka-python and confluent-kafka-python
# (Debian, for /usr/bin/python3), and kafkajs (npm, pinned by js/package-lock.json).
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v kcat >/dev/null || need+=(kcat)
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev pkg-config)
/usr/bin/python3 -c 'import kafka' 2>/dev/null || need+=(python3-kafka)
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || need+=(python3-confluent-kafka)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
fi

if [ ! -d js/node_modules/kafkajs ]; then
    (cd js && npm ci --no-audit --no-fund --loglevel=error)
fi
