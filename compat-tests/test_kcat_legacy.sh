#!/usr/bin/env bash
# kcat (librdkafka 2.0.2) speaking the old protocol: api.version.request=false
# with broker.version.fallback=$1 (0.8.2.2: Produce/Fetch v0, magic 0;
# 0.9.0: Produce/Fetch v1, magic 0; 0.10.0: Produce/Fetch v2, magic 1, with
# timestamps), ListOffsets v0 for -o beginning. Keyed messages, plain and
# gzip/snappy/lz4, are produced as legacy message sets, read back
# down-converted, and every key, value and offset is checked (and for magic
# 1 the CreateTime timestamps). Also checks that the stored batches kept the
# codec, and that a v2 producer's data (with headers) reads back through the
# old protocol. Started by run.py with EDDY_BOOTSTRAP (and EDDY_DATA_DIR).
set -u -o pipefail

B="${EDDY_BOOTSTRAP:?EDDY_BOOTSTRAP not set (run through run.py)}"
FB="${1:?usage: $0 BROKER_VERSION_FALLBACK}"
NAME="${EDDY_TEST_NAME:-kcat_legacy}"
W="$(mktemp -d /tmp/compat-kcat-legacy-XXXXXX)"
trap 'rm -rf "$W"' EXIT

KCAT=(kcat -b "$B" -X socket.timeout.ms=10000 -m 10)
OLD=(-X api.version.request=false -X broker.version.fallback="$FB")

. "$(dirname "$0")/kcat_lib.sh"

codec_id() {
    case "$1" in gzip) echo 1 ;; snappy) echo 2 ;; lz4) echo 3 ;; *) echo 0 ;; esac
}

# Keyed, compressible lines; 200 of them so librdkafka batches (and compresses) them.
for ((i = 0; i < 200; i++)); do
    printf 'key-%03d:value-%03d the quick brown fox jumps over the lazy dog %s\n' "$i" "$i" "$((i * 7919 % 1000))"
done >"$W/in.txt"
awk -F: '{ printf "%s=%s@%d\n", $1, $2, NR - 1 }' "$W/in.txt" >"$W/want.txt"

magic1=0
[ "$FB" = "0.10.0" ] && magic1=1

for codec in none gzip snappy lz4; do
    t="${NAME}_${codec}"
    : >"$W/produce.err"
    before=$(date +%s%3N)
    produce "$t" "${OLD[@]}" -K: -z "$codec" -X linger.ms=50 <"$W/in.txt"
    after=$(date +%s%3N)
    consume "$t" "${OLD[@]}" -o beginning -f '%k=%s@%o\n' >"$W/got.txt"
    expect_eq "$FB $codec: keys, values, offsets" "$W/want.txt" "$W/got.txt"
    # Timestamps: magic 1 carries the producer's CreateTime; magic 0 has none.
    consume "$t" "${OLD[@]}" -o beginning -f '%T\n' >"$W/ts.txt"
    [ "$(wc -l <"$W/ts.txt")" -eq 200 ] || fail "$FB $codec: expected 200 timestamps"
    if [ "$magic1" = 1 ]; then
        awk -v lo="$((before - 1000))" -v hi="$((after + 1000))" '$1 < lo || $1 > hi { bad++ } END { exit bad > 0 }' \
            "$W/ts.txt" || fail "$FB $codec: a timestamp is outside the produce window: $(head -n 3 "$W/ts.txt")"
    else
        # librdkafka reports "not available" for magic 0 messages, shown as 0 or -1.
        awk '$1 != 0 && $1 != -1 { bad++ } END { exit bad > 0 }' "$W/ts.txt" ||
            fail "$FB $codec: a magic 0 message has a timestamp: $(head -n 3 "$W/ts.txt")"
    fi
    # The same data read with the current protocol (Fetch v4+, no conversion).
    consume "$t" -o beginning -f '%k=%s@%o\n' >"$W/got_new.txt"
    expect_eq "$FB $codec: read back with the current protocol" "$W/want.txt" "$W/got_new.txt"
    if [ -n "${EDDY_DATA_DIR:-}" ]; then
        seg="$EDDY_DATA_DIR/$t-0/00000000000000000000.log"
        /usr/bin/python3 - "$seg" "$(codec_id "$codec")" <<'PY' || fail "$FB $codec: the stored batches are not v2 with that codec"
import struct, sys
data = open(sys.argv[1], "rb").read()
pos, codecs, magics = 0, set(), set()
while pos + 23 <= len(data):
    length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
    magics.add(data[pos + 16])
    codecs.add(data[pos + 22] & 7)
    pos += 12 + length
print("stored magics:", sorted(magics), "codecs:", sorted(codecs))
sys.exit(0 if magics == {2} and int(sys.argv[2]) in codecs else 1)
PY
    fi
    echo "$FB $codec ok"
done

# Written by a current producer (record batch v2 with headers), read through the old protocol.
t="${NAME}_v2"
: >"$W/produce.err"
produce "$t" -K: -H h=1 -z gzip -X linger.ms=50 <"$W/in.txt"
consume "$t" "${OLD[@]}" -o beginning -f '%k=%s@%o\n' >"$W/got.txt"
expect_eq "$FB: v2 batches down-converted" "$W/want.txt" "$W/got.txt"
# From the middle: the first message returned is the one asked for.
consume "$t" "${OLD[@]}" -o 150 -f '%k=%s@%o\n' >"$W/got.txt"
tail -n 50 "$W/want.txt" >"$W/want_tail.txt"
expect_eq "$FB: from offset 150" "$W/want_tail.txt" "$W/got.txt"
# ListOffsets v0: -o end gives nothing more, -o -5 the last five.
consume "$t" "${OLD[@]}" -o -5 -f '%k=%s@%o\n' >"$W/got.txt"
tail -n 5 "$W/want.txt" >"$W/want_tail.txt"
expect_eq "$FB: the last five (ListOffsets v0 latest)" "$W/want_tail.txt" "$W/got.txt"
echo "PASS: kcat legacy $FB"
