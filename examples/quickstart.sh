#!/usr/bin/env bash
# A tour with kcat against a running eddy (make run): create a topic by
# producing to it, read it back from several positions, look up an offset by
# time, and send compressed batches with headers.
set -euo pipefail
B=${BOOTSTRAP:-127.0.0.1:9092}
T=${TOPIC:-quickstart}

kcat -b "$B" -L | head -n 5
printf 'user1:signed up\nuser2:signed up\nuser1:bought a book\n' | kcat -b "$B" -P -t "$T" -K:
echo "--- from the beginning"
kcat -b "$B" -C -t "$T" -o beginning -e -q -f '%k: %s (offset %o, %T ms)\n'
echo "--- the last message only"
kcat -b "$B" -C -t "$T" -o -1 -e -q -f '%k: %s\n'
for codec in gzip snappy lz4 zstd; do
    echo "compressed with $codec" | kcat -b "$B" -P -t "$T" -z "$codec" -H codec="$codec"
done
echo "--- with headers"
kcat -b "$B" -C -t "$T" -o -4 -e -q -f '%s [%h]\n'
now=$(($(date +%s) * 1000))
echo "--- offset of the first message at or after $now - 60s"
kcat -b "$B" -Q -t "$T:0:$((now - 60000))"
