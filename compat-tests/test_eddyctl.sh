#!/usr/bin/env bash
# eddyctl end to end against a running eddy (started by run.py, EDDY_BOOTSTRAP
# set; eddyctl at $EDDY_BUILD_DIR/eddyctl, or $EDDYCTL). kcat produces and
# consumes in a group (-G, which commits when it stops).
#
# 1. cluster info; topic create (and a duplicate: exit 1, TOPIC_ALREADY_EXISTS),
#    list (internal topics only with --all), describe (3 partitions, leader 1,
#    earliest/latest offsets after a produce), configs when the broker has
#    DescribeConfigs/IncrementalAlterConfigs, add-partitions when it has
#    CreatePartitions.
# 2. A kcat -G consumer reads all 30 messages and commits: `group lag` is 0
#    on every partition; 6 more messages make it 6 (2 per partition).
# 3. reset-offsets: a dry run commits nothing; --to-earliest --execute makes a
#    restarted consumer re-read all 36; --to-timestamp (taken between the two
#    produces) makes it read exactly the 6 later ones; --to-offset on one
#    partition; --execute is refused while a consumer is live.
# 4. group delete, topic delete; every --json output parses; exit codes 2 for
#    usage errors and 3 for an unreachable broker.
set -u -o pipefail

B="${EDDY_BOOTSTRAP:?EDDY_BOOTSTRAP not set (run through run.py)}"
NAME="${EDDY_TEST_NAME:-eddyctl}"
T="${NAME}_orders"
T2="${NAME}_cfg"
G="${NAME}-group"
C="${EDDYCTL:-${EDDY_BUILD_DIR:-.}/eddyctl}"
PY="${PYTHON:-/usr/bin/python3}"
W="$(mktemp -d /tmp/compat-eddyctl-XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT

[ -x "$C" ] || { echo "FAIL: $C is missing: build target eddyctl first"; exit 1; }
export EDDY_BOOTSTRAP="$B"
KCAT=(kcat -b "$B" -X socket.timeout.ms=10000)

fail() {
    echo "FAIL: $*"
    for f in "$W"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -n 20 "$f"; }
    done
    exit 1
}

# run EXPECTED_RC ARGS...: runs eddyctl, output in $W/out and $W/err
run() {
    local want=$1
    shift
    echo "+ eddyctl $*"
    "$C" "$@" >"$W/out" 2>"$W/err"
    local rc=$?
    cat "$W/out"
    [ -s "$W/err" ] && sed 's/^/  stderr: /' "$W/err"
    [ "$rc" -eq "$want" ] || fail "eddyctl $* exited $rc, expected $want"
}

# js EXPR: evaluates a Python expression over the JSON in $W/out (as d)
js() {
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$W/out" "$1" ||
        fail "output is not the JSON expected ($1)"
}

# check LABEL GOT WANT
check() {
    [ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
    echo "ok: $1 = $3"
}

# produce PREFIX COUNT_PER_PARTITION: values PREFIX-p-i to partitions 0..2
produce() {
    local p i
    for p in 0 1 2; do
        for ((i = 0; i < $2; i++)); do echo "$1-$p-$i"; done |
            "${KCAT[@]}" -P -t "$T" -p "$p" 2>>"$W/produce.err" || fail "kcat -P exited non-zero"
    done
}

# consume OUTFILE: a group member that reads to the end of every partition,
# then closes (commit + leave)
consume() {
    timeout 60 "${KCAT[@]}" -G "$G" "$T" -X auto.offset.reset=earliest -X session.timeout.ms=6000 \
        -X fetch.wait.max.ms=100 -e -q -f '%p %o %s\n' >"$1" 2>>"$W/consume.err" ||
        fail "kcat -G -e did not finish"
}

# --- cluster and topics -----------------------------------------------------

run 0 cluster info --json --verbose
check "cluster: one broker" "$(js 'len(d["brokers"])')" 1
check "cluster: broker port" "$(js 'd["brokers"][0]["port"]')" "${B##*:}"
check "cluster: controller" "$(js 'd["controller_id"]')" 1
HAVE_CREATE_PARTITIONS=$(js 'any(a["api_key"] == 37 and a["eddyctl_version"] is not None for a in d["api_versions"])')
HAVE_CONFIGS=$(js 'all(any(a["api_key"] == k and a["eddyctl_version"] is not None for a in d["api_versions"]) for k in (32, 44))')
run 0 cluster info

run 0 topic create "$T" --partitions 3
run 1 topic create "$T" --partitions 3
grep -q TOPIC_ALREADY_EXISTS "$W/err" || fail "a duplicate create must say TOPIC_ALREADY_EXISTS"
run 0 topic list
grep -q "^$T " "$W/out" || fail "topic list must show $T"
run 0 topic list --json
check "list: partitions of $T" "$(js "[t['partitions'] for t in d['topics'] if t['name'] == '$T']")" "[3]"
check "list: no internal topics" "$(js "[t['name'] for t in d['topics'] if t['internal']]")" "[]"

produce a 10
sleep 1
TS_MID=$(($(date +%s%3N)))
sleep 1

run 0 topic describe "$T" --json
check "describe: partitions" "$(js '[p["partition"] for p in d["partitions"]]')" "[0, 1, 2]"
check "describe: leaders" "$(js '[p["leader"] for p in d["partitions"]]')" "[1, 1, 1]"
check "describe: replicas/isr" "$(js '[(p["replicas"], p["isr"]) for p in d["partitions"]]')" \
    "[([1], [1]), ([1], [1]), ([1], [1])]"
check "describe: earliest" "$(js '[p["earliest_offset"] for p in d["partitions"]]')" "[0, 0, 0]"
check "describe: latest" "$(js '[p["latest_offset"] for p in d["partitions"]]')" "[10, 10, 10]"
run 0 topic describe "$T"
run 1 topic describe "${NAME}_missing"
grep -q UNKNOWN_TOPIC_OR_PARTITION "$W/err" || fail "describing a missing topic must say UNKNOWN_TOPIC_OR_PARTITION"

if [ "$HAVE_CONFIGS" == "True" ]; then
    run 0 topic create "$T2" --partitions 1 --config retention.ms=60000
    run 0 config get topic "$T2" retention.ms --json
    check "config: retention.ms set at create" "$(js '[(c["value"], c["source"]) for c in d["configs"]]')" \
        "[('60000', 'DYNAMIC_TOPIC_CONFIG')]"
    run 0 topic alter "$T2" --config retention.ms=120000
    run 0 config set topic "$T2" max.message.bytes=2000000
    run 0 topic describe "$T2"
    grep -q "retention.ms=120000" "$W/out" || fail "describe must show retention.ms=120000"
    grep -q "max.message.bytes=2000000" "$W/out" || fail "describe must show max.message.bytes=2000000"
    run 0 config set topic "$T2" --delete max.message.bytes
    run 0 config get topic "$T2" max.message.bytes --json
    check "config: deleted key back to its default" "$(js 'd["configs"][0]["source"]')" "DEFAULT_CONFIG"
    run 1 config set topic "$T2" no.such.config=1
    grep -q INVALID_CONFIG "$W/err" || fail "an unknown config must say INVALID_CONFIG"
    run 0 config get broker 1 --json
    run 0 topic delete "$T2"
else
    echo "skip: the broker lacks DescribeConfigs/IncrementalAlterConfigs"
fi

# --- group lag --------------------------------------------------------------

consume "$W/c1.out"
check "first consumer read" "$(wc -l <"$W/c1.out")" 30
run 0 group lag "$G" --json
check "lag after commit" "$(js '[(p["partition"], p["committed"], p["end"], p["lag"]) for p in d["partitions"]]')" \
    "[(0, 10, 10, 0), (1, 10, 10, 0), (2, 10, 10, 0)]"
check "total lag" "$(js 'd["total_lag"]')" 0
run 0 group lag "$G"

produce b 2
run 0 group lag "$G" --json
check "lag after 6 more" "$(js '[(p["committed"], p["end"], p["lag"]) for p in d["partitions"]]')" \
    "[(10, 12, 2), (10, 12, 2), (10, 12, 2)]"
check "total lag" "$(js 'd["total_lag"]')" 6

run 0 group list --json
check "group list" "$(js "[(g['protocol_type'], g['state']) for g in d['groups'] if g['group'] == '$G']")" \
    "[('consumer', 'Empty')]"
run 0 group list
run 0 group describe "$G" --json
check "describe group: state" "$(js 'd["state"]')" Empty
run 1 group describe "${NAME}-nosuchgroup"

# --- reset-offsets ----------------------------------------------------------

run 0 group reset-offsets "$G" --topic "$T" --to-earliest --json
check "dry run plan" "$(js '[(p["current"], p["new"]) for p in d["partitions"]]')" "[(10, 0), (10, 0), (10, 0)]"
check "dry run not executed" "$(js 'd["executed"]')" False
run 0 group lag "$G" --json
check "dry run committed nothing" "$(js 'd["total_lag"]')" 6

run 0 group reset-offsets "$G" --topic "$T" --to-earliest --execute
run 0 group lag "$G" --json
check "lag after reset to earliest" "$(js 'd["total_lag"]')" 36
consume "$W/c2.out"
check "re-read after reset to earliest" "$(wc -l <"$W/c2.out")" 36
check "re-read starts at offset 0" "$(grep -c ' 0 a-' "$W/c2.out")" 3

run 0 group reset-offsets "$G" --topic "$T" --to-timestamp "$TS_MID" --execute --json
check "timestamp reset targets" "$(js '[p["new"] for p in d["partitions"]]')" "[10, 10, 10]"
consume "$W/c3.out"
check "read after reset to timestamp" "$(sort "$W/c3.out" | awk '{print $3}' | tr '\n' ' ')" \
    "b-0-0 b-0-1 b-1-0 b-1-1 b-2-0 b-2-1 "

run 0 group reset-offsets "$G" --topic "$T:1" --to-offset 5 --execute
run 0 group lag "$G" --json
check "lag after --to-offset 5 on partition 1" "$(js '[p["lag"] for p in d["partitions"]]')" "[0, 7, 0]"
run 0 group reset-offsets "$G" --topic "$T" --to-latest --execute
run 0 group lag "$G" --json
check "lag after reset to latest" "$(js 'd["total_lag"]')" 0

# A live member: --execute is refused (the consumers must be stopped).
"${KCAT[@]}" -G "$G" "$T" -X session.timeout.ms=6000 -q -f '%p %o %s\n' >"$W/live.out" 2>"$W/live.err" &
LIVE=$!
PIDS+=("$LIVE")
deadline=$((SECONDS + 30))
until "$C" group describe "$G" --json 2>/dev/null | grep -q '"state":"Stable"'; do
    [ $SECONDS -lt $deadline ] || fail "the live consumer never made the group Stable"
    sleep 0.3
done
run 0 group describe "$G" --json
check "live member assignment" "$(js '[a["partitions"] for a in d["members"][0]["assignment"]]')" "[[0, 1, 2]]"
run 1 group reset-offsets "$G" --topic "$T" --to-earliest --execute
grep -q "must be stopped" "$W/err" || fail "a reset of an active group must say the consumers must be stopped"
run 1 group delete "$G"
grep -q NON_EMPTY_GROUP "$W/err" || fail "deleting an active group must say NON_EMPTY_GROUP"
kill -TERM "$LIVE"
wait "$LIVE" 2>/dev/null

# --- deletes, add-partitions ------------------------------------------------

run 0 group delete "$G"
grep -qx "deleted group $G" "$W/out" || fail "group delete must say: deleted group $G"
run 0 group list --json
check "group gone" "$(js "[g['group'] for g in d['groups'] if g['group'] == '$G']")" "[]"
run 1 group delete "$G"

run 0 topic list --all --json
check "internal topics with --all" "$(js "'__consumer_offsets' in [t['name'] for t in d['topics'] if t['internal']]")" True

if [ "$HAVE_CREATE_PARTITIONS" == "True" ]; then
    run 0 topic add-partitions "$T" --total 5
    run 0 topic describe "$T" --json
    check "partitions after add-partitions" "$(js 'len(d["partitions"])')" 5
    run 1 topic add-partitions "$T" --total 2
else
    echo "skip: the broker lacks CreatePartitions"
fi

run 0 topic delete "$T" --json
check "delete result" "$(js '[(t["topic"], t["error_code"]) for t in d["topics"]]')" "[('$T', 0)]"
run 1 topic describe "$T"
run 1 topic delete "$T"
grep -q "cannot delete topic $T: UNKNOWN_TOPIC_OR_PARTITION" "$W/err" || fail "deleting a deleted topic must say why"

# --- exit codes -------------------------------------------------------------

run 2 bogus-command
run 2 topic
run 2 topic create
run 2 group reset-offsets "$G" --topic "$T"
run 2 topic create x --partitions zero
run 3 -b 127.0.0.1:1 topic list
grep -q "is eddy running" "$W/err" || fail "an unreachable broker must ask whether eddy is running"
run 0 --help

grep -q -E "ERROR|Delivery failed" "$W/produce.err" 2>/dev/null && fail "kcat -P reported an error"
echo "PASS: eddyctl end to end"
