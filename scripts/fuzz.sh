#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (see SECURITY.md, "Fuzzing") under cargo-fuzz on stable Rust: no
# sanitizer (`-s none`, which needs no nightly flags), release mode with debug assertions and overflow
# checks (`-O -a`). Installs cargo-fuzz if it is missing.
#
# usage: scripts/fuzz.sh [RUNS] [TARGET...]
#   RUNS     executions per target (default 20000: a smoke run of a few seconds per target)
#   TARGET   targets to run (default: all of them)
# The long run that SECURITY.md reports is `scripts/fuzz.sh 10000000`. New inputs that reach new coverage
# go into a scratch folder and are merged into fuzz/corpus/<target> (-merge=1 keeps only inputs that add
# coverage); a crash stops the script and leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
RUNS=${1:-20000}
shift || true
cd "$(dirname "$0")/.."
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(frames control hello dealer preprocessing psi net_config train_config csv)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
max_len() {
    case "$1" in
        preprocessing) echo 16384 ;;
        dealer) echo 1024 ;;
        control | hello) echo 512 ;;
        *) echo 4096 ;;
    esac
}
FLAGS=(-s none -O -a)
cargo fuzz build "${FLAGS[@]}"
for t in "${TARGETS[@]}"; do
    scratch=$(mktemp -d)
    echo "== $t: $RUNS runs"
    cargo fuzz run "${FLAGS[@]}" "$t" "$scratch" "fuzz/corpus/$t" -- \
        -runs="$RUNS" -max_len="$(max_len "$t")" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
    # Keep only what adds coverage to the kept corpus.
    cargo fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus/$t" "$scratch" -- -merge=1 -max_len="$(max_len "$t")" \
        2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
    rm -rf "$scratch"
done
