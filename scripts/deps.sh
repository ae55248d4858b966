#!/usr/bin/env bash
# Installs what building and testing eddy needs on Debian 12, and only what
# is missing: Debian packages through apt-get (when run as root; otherwise it
# prints the command to run), and kafkajs for the JavaScript client tests
# through npm, pinned by compat-tests/js/package-lock.json, and librdkafka
# 2.15.1 built from the source npm ships (scripts/librdkafka.sh, cached).
#   scripts/deps.sh build   -- what `make build` / `make run` need
#   scripts/deps.sh test    -- that plus the client libraries the tests drive
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}

build_pkgs=(build-essential cmake pkg-config python3 libuv1-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libssl-dev libcurl4-openssl-dev libjansson-dev)
test_pkgs=(libcmocka-dev librdkafka-dev kcat python3-kafka python3-confluent-kafka golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev burrow etcd-server etcd-client)

want=("${build_pkgs[@]}")
[ "$what" = test ] && want+=("${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$what" = test ]; then
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "eddy needs these Debian packages: ${missing[*]}" >&2
        echo "run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$what" = test ] && [ ! -f compat-tests/js/node_modules/kafkajs/package.json ]; then
    (cd compat-tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# The newest librdkafka, which the compat suite runs its librdkafka clients on
# besides Debian's 2.0.2: built once from npm's source into ~/.cache/eddy.
if [ "$what" = test ]; then
    scripts/librdkafka.sh >/dev/null
fi
