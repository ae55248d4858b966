#!/usr/bin/env bash
# kcat -G (librdkafka's balanced consumer, 2.0.2) against a running eddy:
# FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch, OffsetCommit
# and LeaveGroup as kcat uses them. Started by run.py with EDDY_BOOTSTRAP set
# and --num.partitions 3, so the topic auto-created by the first produce has
# three partitions.
#
# 1. Nine messages are produced, then `kcat -G GROUP TOPIC` starts: it must
#    read them (auto.offset.reset=earliest for a group with no offsets), and
#    nine more produced while it runs. SIGTERM makes kcat close the consumer,
#    which commits its offsets and leaves the group.
# 2. Six more are produced and a second `kcat -G` in the same group must read
#    exactly those six, at offsets 6 and 7 of each partition: it resumed at
#    the committed offsets instead of re-reading.
# 3. Two `kcat -G` processes in one group split the three partitions: each
#    reports a disjoint assignment on stderr and together they read a batch
#    produced after both joined, each message once.
set -u -o pipefail

B="${EDDY_BOOTSTRAP:?EDDY_BOOTSTRAP not set (run through run.py)}"
NAME="${EDDY_TEST_NAME:-groups_kcat}"
T="${NAME}_data"
G="${NAME}-group"
W="$(mktemp -d /tmp/compat-kcat-groups-XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT

KCAT=(kcat -b "$B" -X socket.timeout.ms=10000)
GROUP_OPTS=(-X auto.offset.reset=earliest -X session.timeout.ms=6000 -X heartbeat.interval.ms=300
            -X fetch.wait.max.ms=100 -X auto.commit.interval.ms=500 -u -f '%p %o %k=%s\n')

fail() {
    echo "FAIL: $*"
    for f in "$W"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -n 20 "$f"; }
    done
    exit 1
}

# produce PREFIX FIRST COUNT: key PREFIXi, value v-PREFIXi, partition i % 3
produce() {
    local i
    for ((i = $2; i < $2 + $3; i++)); do
        echo "$1$i:v-$1$i" | "${KCAT[@]}" -P -t "$T" -p $((i % 3)) -K: 2>>"$W/produce.err" ||
            fail "kcat -P $1$i exited non-zero"
    done
    grep -q -E "ERROR|Delivery failed" "$W/produce.err" && fail "kcat -P reported an error"
    return 0
}

# wait_lines FILE N SECONDS
wait_lines() {
    local deadline=$((SECONDS + $3))
    while [ "$(wc -l <"$1")" -lt "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# expect LABEL FILE then lines on stdin: compares sorted
expect() {
    sort >"$W/want.txt"
    sort "$2" >"$W/got.txt"
    if ! cmp -s "$W/want.txt" "$W/got.txt"; then
        echo "--- want ($1):"; cat "$W/want.txt"
        echo "--- got:"; cat "$W/got.txt"
        fail "$1"
    fi
}

# stop_kcat PID: SIGTERM and wait; kcat closes the consumer (commit + leave)
stop_kcat() {
    kill -TERM "$1"
    local i
    for i in $(seq 1 150); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; return 0; }
        sleep 0.1
    done
    fail "kcat -G did not exit within 15 s of SIGTERM"
}

# --- 1. messages from before and after the join
produce b 0 9
: >"$W/run1.txt"
"${KCAT[@]}" -G "$G" "$T" "${GROUP_OPTS[@]}" -X client.id="$NAME-1" >"$W/run1.txt" 2>"$W/run1.err" &
K1=$!; PIDS+=("$K1")
wait_lines "$W/run1.txt" 9 20 || fail "kcat -G read $(wc -l <"$W/run1.txt") of the 9 messages produced before it joined"
produce a 9 9
wait_lines "$W/run1.txt" 18 20 || fail "kcat -G read $(wc -l <"$W/run1.txt") of 18 messages (9 produced after it joined)"
sleep 0.5
stop_kcat "$K1"
for ((i = 0; i < 18; i++)); do
    p=$((i % 3)); [ $i -lt 9 ] && k=b$i || k=a$i
    echo "$p $((i / 3)) $k=v-$k"
done | expect "first kcat -G: 9 messages from before and 9 from after the join, each once" "$W/run1.txt"
grep -q "assigned: " "$W/run1.err" || fail "kcat -G did not report an assignment (rebalance callback)"
echo "run 1: 18 messages, partitions $(grep -o 'assigned: .*' "$W/run1.err" | head -n 1)"

# --- 2. the same group resumes at the committed offsets
produce c 18 6
timeout 30 "${KCAT[@]}" -G "$G" "$T" "${GROUP_OPTS[@]}" -X client.id="$NAME-2" -c 6 \
    >"$W/run2.txt" 2>"$W/run2.err" || fail "second kcat -G -c 6 exited non-zero or timed out ($(wc -l <"$W/run2.txt") lines)"
for ((i = 18; i < 24; i++)); do
    echo "$((i % 3)) $((i / 3)) c$i=v-c$i"
done | expect "second kcat -G in the same group: exactly the 6 new messages at offsets 6..7" "$W/run2.txt"
echo "run 2: resumed at offset 6 of each partition"
# -c 6 closes the consumer too, so the group is now at offset 8 everywhere.

# --- 3. two members split the partitions
: >"$W/m1.txt"; : >"$W/m2.txt"
"${KCAT[@]}" -G "$G" "$T" "${GROUP_OPTS[@]}" -X client.id="$NAME-m1" >"$W/m1.txt" 2>"$W/m1.err" &
M1=$!; PIDS+=("$M1")
"${KCAT[@]}" -G "$G" "$T" "${GROUP_OPTS[@]}" -X client.id="$NAME-m2" >"$W/m2.txt" 2>"$W/m2.err" &
M2=$!; PIDS+=("$M2")
# kcat prints "% Group G rebalanced (memberid M): assigned: T [0], T [2]" on
# every assignment; wait until the latest ones of the two are disjoint and
# cover the three partitions.
parts_of() { grep -o 'assigned: .*' "$1" | tail -n 1 | grep -o '\[[0-9]*\]' | tr -d '[]' | sort -n | tr '\n' ' '; }
deadline=$((SECONDS + 25))
while :; do
    a="$(parts_of "$W/m1.err")"; b="$(parts_of "$W/m2.err")"
    if [ -n "$a" ] && [ -n "$b" ] && [ "$(echo $a $b | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 " ]; then
        n1=$(grep -c 'rebalanced' "$W/m1.err"); n2=$(grep -c 'rebalanced' "$W/m2.err")
        sleep 1
        [ "$n1" = "$(grep -c 'rebalanced' "$W/m1.err")" ] && [ "$n2" = "$(grep -c 'rebalanced' "$W/m2.err")" ] && break
    fi
    [ $SECONDS -lt $deadline ] || fail "two kcat -G members did not settle on a disjoint split (m1: '$a', m2: '$b')"
    sleep 0.2
done
echo "run 3: m1 holds [$a], m2 holds [$b]"
[ -s "$W/m1.txt" ] || [ -s "$W/m2.txt" ] && fail "members read messages before any were produced: $(cat "$W/m1.txt" "$W/m2.txt")"
produce d 24 12
cat "$W/m1.txt" "$W/m2.txt" >"$W/both.txt"
deadline=$((SECONDS + 20))
while [ "$(cat "$W/m1.txt" "$W/m2.txt" | wc -l)" -lt 12 ]; do
    [ $SECONDS -lt $deadline ] || fail "the two members read $(cat "$W/m1.txt" "$W/m2.txt" | wc -l) of 12 messages"
    sleep 0.1
done
sleep 0.5
stop_kcat "$M1"
stop_kcat "$M2"
for f in m1:"$a" m2:"$b"; do
    name="${f%%:*}"; own=" ${f#*:}"
    while read -r p _; do
        [[ "$own" == *" $p "* ]] || fail "$name read partition $p, it holds [${f#*:}]"
    done <"$W/$name.txt"
done
cat "$W/m1.txt" "$W/m2.txt" >"$W/both.txt"
for ((i = 24; i < 36; i++)); do
    echo "$((i % 3)) $((i / 3)) d$i=v-d$i"
done | expect "two kcat -G members together: the 12 new messages, each once" "$W/both.txt"
echo "PASS: kcat -G read before/after joining, resumed at committed offsets, two members split the partitions"
