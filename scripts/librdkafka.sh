#!/usr/bin/env bash
# Builds the newest librdkafka (2.15.1) for the compat suite, once, into a
# cache outside the work tree, and prints the directory holding its
# librdkafka.so.1. Its source comes from npm: it ships inside
# @confluentinc/kafka-javascript (deps/librdkafka). Debian's kcat, the compat
# C programs and confluent-kafka-python then run on it through
# LD_LIBRARY_PATH (same soname, same ABI), so one suite covers librdkafka
# 2.0.2 (Debian's) and 2.15.1.
#   scripts/librdkafka.sh          -- build if missing; print the lib dir
set -euo pipefail
VERSION=2.15.1
NPM_PKG=@confluentinc/kafka-javascript@1.10.1
cache=${EDDY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eddy}
prefix="$cache/librdkafka-$VERSION"
if [ -f "$prefix/.built" ] && [ -e "$prefix/lib/librdkafka.so.1" ]; then
    echo "$prefix/lib"
    exit 0
fi
work="$cache/librdkafka-$VERSION-src"
rm -rf "$work" "$prefix"
mkdir -p "$work"
(
    cd "$work"
    npm pack "$NPM_PKG" --silent >/dev/null
    tar xzf ./*.tgz package/deps/librdkafka
    cd package/deps/librdkafka
    # The version the npm package ships must be the one we name. (Logs are not
    # named configure.*: mklove would load such a file as a module.)
    grep -q "define RD_KAFKA_VERSION 0x020f01ff" src/rdkafka.h || { echo "librdkafka.sh: not $VERSION" >&2; exit 1; }
    ./configure --prefix="$prefix" --no-download --disable-gssapi --disable-curl >eddy-configure.txt 2>&1 ||
        { tail -n 30 eddy-configure.txt >&2; exit 1; }
    make -j "${JOBS:-$(nproc)}" libs >eddy-make.txt 2>&1 || { tail -n 30 eddy-make.txt >&2; exit 1; }
    make install-subdirs >eddy-install.txt 2>&1 || { tail -n 30 eddy-install.txt >&2; exit 1; }
) >&2
rm -rf "$work"
touch "$prefix/.built"
echo "$prefix/lib"
