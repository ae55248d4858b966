#!/usr/bin/env bash
# kcat (librdkafka 2.0.2) against a running eddy: metadata, offsets, codecs,
# headers and timestamp queries. Started by run.py with EDDY_BOOTSTRAP set;
# the first argument picks the case. kcat -C without -G uses the simple
# consumer (ListOffsets + Fetch), so no consumer group is needed.
set -u -o pipefail

B="${EDDY_BOOTSTRAP:?EDDY_BOOTSTRAP not set (run through run.py)}"
NAME="${EDDY_TEST_NAME:-kcat}"
W="$(mktemp -d /tmp/compat-kcat-XXXXXX)"
trap 'rm -rf "$W"' EXIT

KCAT=(kcat -b "$B" -X socket.timeout.ms=10000 -m 10)

. "$(dirname "$0")/kcat_lib.sh"

case_metadata() {
    local host="${B%:*}" port="${B##*:}"
    local t_meta="${NAME}_meta_autocreate" t_prod="${NAME}_produce_autocreate"

    # A metadata request naming an unknown topic creates it (kcat -L runs a
    # producer handle, which asks for auto-creation). A just-created topic may
    # first come back without a leader, so allow a few tries.
    local ok=0
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        "${KCAT[@]}" -L -t "$t_meta" >"$W/meta1.txt" 2>>"$W/meta.err" || true
        if grep -q "topic \"$t_meta\" with 3 partitions" "$W/meta1.txt" &&
           ! grep -q "Broker:" "$W/meta1.txt"; then ok=1; break; fi
        sleep 0.3
    done
    [ $ok = 1 ] || { cat "$W/meta1.txt"; fail "kcat -L -t $t_meta did not show an auto-created topic with 3 partitions (--num.partitions 3)"; }

    # Producing to an unknown topic creates it too.
    printf 'a:1\nb:2\n' | produce "$t_prod" -K:

    "${KCAT[@]}" -L >"$W/meta.txt" 2>>"$W/meta.err" || fail "kcat -L exited non-zero"
    cat "$W/meta.txt"
    grep -q "^ 1 brokers:" "$W/meta.txt" || fail "kcat -L does not list exactly one broker"
    grep -q "broker 1 at $host:$port" "$W/meta.txt" ||
        fail "kcat -L does not list broker 1 at $host:$port (the address eddy is listening on)"
    grep -q "broker 1 at $host:$port (controller)" "$W/meta.txt" ||
        fail "broker 1 is not reported as controller (admin clients send CreateTopics to the controller)"
    for t in "$t_meta" "$t_prod"; do
        grep -q "topic \"$t\" with 3 partitions:" "$W/meta.txt" ||
            fail "kcat -L (all topics) does not list $t with 3 partitions"
    done
    for p in 0 1 2; do
        local n
        n=$(grep -c "partition $p, leader 1, replicas: 1, isrs: 1" "$W/meta.txt")
        [ "$n" -ge 2 ] || fail "partition $p of the new topics is not led by broker 1 with replicas [1] and isrs [1]"
    done
    if grep -q "Broker:" "$W/meta.txt"; then fail "kcat -L reports a topic or partition error"; fi

    # The produced messages are there, on partition 0, at offsets 0 and 1.
    consume "$t_prod" -o beginning -f '%k=%s@%o\n' >"$W/got.txt"
    printf 'a=1@0\nb=2@1\n' >"$W/want.txt"
    expect_eq "messages produced to an auto-created topic" "$W/want.txt" "$W/got.txt"
}

case_metadata_noauto() {
    local t="${NAME}_must_not_exist"
    "${KCAT[@]}" -L -t "$t" >"$W/meta.txt" 2>>"$W/meta.err" || true
    cat "$W/meta.txt"
    grep -q "topic \"$t\" with 0 partitions: Broker: Unknown topic or partition" "$W/meta.txt" ||
        fail "with --auto.create.topics.enable false, Metadata for $t should return UNKNOWN_TOPIC_OR_PARTITION"
    "${KCAT[@]}" -L >"$W/meta2.txt" 2>>"$W/meta.err" || fail "kcat -L exited non-zero"
    if grep -q "\"$t\"" "$W/meta2.txt"; then fail "$t was created although auto-create is off"; fi
}

case_offsets() {
    local t="${NAME}_offsets"
    for i in 0 1 2 3 4 5 6 7 8 9; do echo "k$i:v$i"; done >"$W/in.txt"
    produce "$t" -K: <"$W/in.txt"

    for i in 0 1 2 3 4 5 6 7 8 9; do echo "k$i=v$i@$i"; done >"$W/all.txt"

    consume "$t" -o beginning -f '%k=%s@%o\n' >"$W/got.txt"
    expect_eq "-o beginning" "$W/all.txt" "$W/got.txt"

    consume "$t" -o 5 -f '%k=%s@%o\n' >"$W/got.txt"
    tail -n 5 "$W/all.txt" >"$W/want.txt"
    expect_eq "-o 5 (absolute offset)" "$W/want.txt" "$W/got.txt"

    consume "$t" -o 0 -c 1 -f '%k=%s@%o\n' >"$W/got.txt"
    head -n 1 "$W/all.txt" >"$W/want.txt"
    expect_eq "-o 0 -c 1" "$W/want.txt" "$W/got.txt"

    consume "$t" -o -3 -f '%k=%s@%o\n' >"$W/got.txt"
    tail -n 3 "$W/all.txt" >"$W/want.txt"
    expect_eq "-o -3 (relative from end)" "$W/want.txt" "$W/got.txt"

    consume "$t" -o end -f '%k=%s@%o\n' >"$W/got.txt"
    [ -s "$W/got.txt" ] && { cat "$W/got.txt"; fail "-o end -e returned messages; expected none"; }

    # A consumer parked at the end must see what is produced after it
    # started. We cannot know when it has resolved "end", so keep producing
    # numbered ticks until it has received one; tick j lands at offset 10+j.
    timeout 30 "${KCAT[@]}" -C -t "$t" -p 0 -o end -c 1 -q -f '%k=%s@%o\n' \
        >"$W/tail.txt" 2>>"$W/consume.err" &
    local tailer=$! j=0
    while kill -0 "$tailer" 2>/dev/null && [ $j -lt 40 ]; do
        echo "t$j:tick-$j" | produce "$t" -K:
        j=$((j + 1))
        sleep 0.25
    done
    wait "$tailer" || fail "kcat -C -o end -c 1 did not receive a message produced after it started"
    local line; line=$(cat "$W/tail.txt")
    [[ "$line" =~ ^t([0-9]+)=tick-([0-9]+)@([0-9]+)$ ]] || fail "-o end consumer got '$line', expected 't<j>=tick-<j>@<offset>'"
    local k="${BASH_REMATCH[1]}" v="${BASH_REMATCH[2]}" o="${BASH_REMATCH[3]}"
    [ "$k" = "$v" ] && [ "$o" = $((10 + k)) ] ||
        fail "-o end consumer got '$line': tick $k should be at offset $((10 + k))"

    # Everything, including the ticks, in order with contiguous offsets.
    for ((i = 0; i < j; i++)); do echo "t$i=tick-$i@$((10 + i))"; done >>"$W/all.txt"
    consume "$t" -o beginning -f '%k=%s@%o\n' >"$W/got.txt"
    expect_eq "-o beginning after the ticks" "$W/all.txt" "$W/got.txt"
}

codec_id() {
    case "$1" in gzip) echo 1 ;; snappy) echo 2 ;; lz4) echo 3 ;; zstd) echo 4 ;; *) echo 0 ;; esac
}

case_codecs() {
    # Text lines (one message each, many per batch) and one 64 KiB binary
    # message (random half + repetitive half) per codec, read back byte-exact.
    for ((i = 0; i < 500; i++)); do
        printf 'line-%04d the quick brown fox jumps over the lazy dog %s\n' "$i" "$((i * 7919 % 1000))"
    done >"$W/lines.txt"
    head -c 32768 /dev/urandom >"$W/blob.bin"
    for ((i = 0; i < 1024; i++)); do printf 'pattern-%027d\n' "$i"; done >>"$W/blob.bin"

    for codec in gzip snappy lz4 zstd; do
        local t="${NAME}_${codec}"
        : >"$W/produce.err"
        produce "$t" -z "$codec" -X linger.ms=20 <"$W/lines.txt"
        produce "$t" -z "$codec" "$W/blob.bin"
        consume "$t" -o beginning -c 500 -f '%s\n' >"$W/got.txt"
        expect_eq "$codec: 500 text lines" "$W/lines.txt" "$W/got.txt"
        consume "$t" -o 500 -c 1 -f '%s' >"$W/got.bin"
        cmp -s "$W/blob.bin" "$W/got.bin" ||
            fail "$codec: the 64 KiB binary message came back different ($(stat -c %s "$W/got.bin") bytes, want $(stat -c %s "$W/blob.bin"))"
        consume "$t" -o beginning -f '%o\n' >"$W/offs.txt"
        seq 0 500 >"$W/want.txt"
        expect_eq "$codec: offsets 0..500" "$W/want.txt" "$W/offs.txt"
        # The batches really were compressed: librdkafka silently sends plain
        # batches when the broker's ApiVersions turn a codec off. (A batch of
        # one small message may legitimately go plain: librdkafka skips
        # compression that does not shrink it. So look for any batch.)
        if [ -n "${EDDY_DATA_DIR:-}" ]; then
            local seg="$EDDY_DATA_DIR/$t-0/00000000000000000000.log"
            /usr/bin/python3 - "$seg" "$(codec_id "$codec")" <<'PY' || fail "$codec: no stored batch uses that codec"
import struct, sys
data = open(sys.argv[1], "rb").read()
pos, codecs = 0, set()
while pos + 23 <= len(data):
    length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
    codecs.add(data[pos + 22] & 7)
    pos += 12 + length
print("stored codecs:", sorted(codecs))
sys.exit(0 if int(sys.argv[2]) in codecs else 1)
PY
        fi
        echo "$codec ok"
    done
}

case_headers() {
    local t="${NAME}_headers"
    echo "k1:v1" | produce "$t" -K: -H app=eddy -H trace=abc-123
    echo "k2:v2" | produce "$t" -K: -H single=1
    echo "k3:v3" | produce "$t" -K: -H dup=a -H dup=b
    echo "k4:v4" | produce "$t" -K:
    consume "$t" -o beginning -f '%k=%s@%o [%h]\n' >"$W/got.txt"
    cat >"$W/want.txt" <<'EOF'
k1=v1@0 [app=eddy,trace=abc-123]
k2=v2@1 [single=1]
k3=v3@2 [dup=a,dup=b]
k4=v4@3 []
EOF
    expect_eq "headers" "$W/want.txt" "$W/got.txt"
}

case_query() {
    # Offsets for timestamps (ListOffsets v1+): the first offset whose
    # timestamp is >= the one asked for.
    local t="${NAME}_query"
    for i in 0 1 2 3 4; do echo "a$i:x"; done | produce "$t" -K:
    sleep 0.05
    for i in 5 6 7 8 9; do echo "b$i:y"; done | produce "$t" -K:
    consume "$t" -o beginning -f '%o %T\n' >"$W/ts.txt"
    [ "$(wc -l <"$W/ts.txt")" = 10 ] || { cat "$W/ts.txt"; fail "expected 10 messages with timestamps"; }
    local o ts want_o
    while read -r o ts; do
        [ "$ts" -gt 0 ] || fail "message at offset $o has timestamp $ts"
        # The expected answer is the first offset with a timestamp >= ts.
        want_o=$(awk -v T="$ts" '$2 >= T { print $1; exit }' "$W/ts.txt")
        "${KCAT[@]}" -Q -t "$t:0:$ts" >"$W/q.txt" 2>>"$W/query.err" || fail "kcat -Q exited non-zero"
        grep -q "^$t \[0\] offset $want_o\$" "$W/q.txt" ||
            { cat "$W/q.txt"; fail "kcat -Q for timestamp $ts: want offset $want_o"; }
        # -o s@ts starts consuming there as well.
        consume "$t" -o "s@$ts" -c 1 -f '%o\n' >"$W/s.txt"
        [ "$(cat "$W/s.txt")" = "$want_o" ] || fail "-o s@$ts started at offset '$(cat "$W/s.txt")', want $want_o"
    done <"$W/ts.txt"
    # A timestamp after every message has no offset (Kafka answers -1,
    # kcat prints it as the end offset -1 or the log end).
    local last_ts; last_ts=$(tail -n 1 "$W/ts.txt" | cut -d' ' -f2)
    "${KCAT[@]}" -Q -t "$t:0:$((last_ts + 60000))" >"$W/q.txt" 2>>"$W/query.err" || fail "kcat -Q (future) exited non-zero"
    grep -q -E "^$t \[0\] offset (-1|10)\$" "$W/q.txt" ||
        { cat "$W/q.txt"; fail "kcat -Q for a future timestamp: want offset -1 (no such message)"; }
}

case "${1:-}" in
    metadata) case_metadata ;;
    metadata_noauto) case_metadata_noauto ;;
    offsets) case_offsets ;;
    codecs) case_codecs ;;
    headers) case_headers ;;
    query) case_query ;;
    *) echo "usage: $0 metadata|metadata_noauto|offsets|codecs|headers|query"; exit 2 ;;
esac
echo "PASS: kcat $1"
