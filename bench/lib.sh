# shellcheck shell=bash
# bench/lib.sh: what every bench script starts with. Sourced, not run.

# bench_build_dir [DIR]: sets root (the repository) and build (DIR, default
# build-bench, taken relative to the current directory if it exists there,
# otherwise relative to the repository root), both absolute; exits 2 when
# there is no such directory.
bench_build_dir() {
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local want=${1:-build-bench}
    build=$want
    if [[ ! -d $build && -d $root/$build ]]; then
        build=$root/$build
    fi
    build=$(cd "$build" 2>/dev/null && pwd) || { echo "$(basename "$0"): no build directory '$want'" >&2; exit 2; }
}
