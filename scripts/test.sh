#!/usr/bin/env bash
# The whole test run behind `make test`: unit tests (ctest) and the
# compatibility suite against a normal build and an ASan+UBSan build, the
# generated-code freshness check, then one closing line `N passed, M failed`
# counting every test executed.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
passed=0
failed=0
failures=()

# ctest prints "N% tests passed, M tests failed out of T"; count from that line.
run_ctest() {
    local dir=$1 label=$2 out
    out=$(cd "$dir" && ctest --output-on-failure -j "$JOBS" 2>&1)
    local rc=$?
    echo "$out" | tail -n 40
    local line total bad
    line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); failures+=("$label: ctest printed no summary (rc=$rc)")
        return
    fi
    total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
    bad=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
    passed=$((passed + total - bad)); failed=$((failed + bad))
    [ "$bad" -eq 0 ] || failures+=("$label: $bad unit test(s) failed")
}

# run.py ends with "N passed, M failed".
run_compat() {
    local build=$1 label=$2 out
    out=$(/usr/bin/python3 compat-tests/run.py --eddy "$build/eddy" --build-dir "$build" 2>&1)
    local rc=$?
    echo "$out"
    local line
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); failures+=("$label: compat suite printed no summary (rc=$rc)")
        return
    fi
    local p f
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || failures+=("$label: $f compat test(s) failed")
}

step() { echo; echo "==> $*"; }

step "generated code is up to date"
if python3 protocol/gen/gen_messages.py --check; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("generated files stale"); fi
if python3 broker/gen/gen_configs.py --check; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("generated config table stale"); fi

step "unit tests (build)"
run_ctest build "unit"
step "unit tests (build-asan: AddressSanitizer + UndefinedBehaviorSanitizer)"
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_ctest build-asan "unit-asan"
step "compatibility tests (build)"
run_compat build "compat"
step "compatibility tests (build-asan)"
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_compat build-asan "compat-asan"

if command -v clang >/dev/null 2>&1; then
    step "fuzz targets, a few seconds each (clang is present)"
    if make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-5}" 2>&1 | tail -n 8; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failures+=("fuzz: a target crashed (build-fuzz-clang/fuzz-run/)")
    fi
else
    step "fuzz targets skipped: no clang (the corpora were replayed by ctest above)"
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
