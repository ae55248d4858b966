# Helpers the kcat tests share (sourced by test_kcat.sh and test_kcat_legacy.sh).
# The sourcing script sets W (a scratch directory for the .err files) and
# KCAT (the kcat command line with -b).

fail() {
    echo "FAIL: $*"
    for f in "$W"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -n 20 "$f"; }
    done
    exit 1
}

# expect_eq LABEL EXPECTED_FILE ACTUAL_FILE
expect_eq() {
    if ! cmp -s "$2" "$3"; then
        echo "--- expected ($1):"; head -n 20 "$2"
        echo "--- got:"; head -n 20 "$3"
        echo "--- diff:"; diff "$2" "$3" | head -n 20
        fail "$1: consumed content differs from what was produced"
    fi
}

# produce TOPIC [kcat args...] < input ; keyed with ':' unless args say otherwise
produce() {
    local topic="$1"; shift
    "${KCAT[@]}" -P -t "$topic" -p 0 "$@" 2>>"$W/produce.err" ||
        fail "kcat -P to $topic $* exited non-zero"
    if grep -q -E "ERROR|not compressing|Delivery failed" "$W/produce.err"; then
        fail "kcat -P to $topic $* reported an error"
    fi
}

# consume TOPIC [kcat args...] > output ; partition 0, exits at end of partition
consume() {
    local topic="$1"; shift
    timeout 30 "${KCAT[@]}" -C -t "$topic" -p 0 -e -q "$@" 2>>"$W/consume.err" ||
        fail "kcat -C from $topic $* exited non-zero or timed out"
}
