#!/usr/bin/env bash
# fuzz.sh - run the libFuzzer targets of fuzz/ for a time budget each, on the
# stable compiler; exits non-zero if any target crashed, hung or ran out of memory.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (defaults: 60 s, every target)
#   decoder   the request decoder and the inline splitter
#   commands  every command of the table with arbitrary arguments, in process
#
# fuzz/ has cargo-fuzz's layout (`cargo +nightly fuzz run commands` works where
# a nightly toolchain is installed); this script passes the coverage flags that
# `cargo fuzz build -s none` would, which the stable compiler accepts, so it
# needs nothing beyond the toolchain and a C++ compiler (libFuzzer itself).
#
# The kept corpus, fuzz/corpus/TARGET, seeds each run and is only read: what a
# run discovers goes to fuzz/target/corpus/TARGET (ignored by git; kept between
# runs on one machine). To fold new finds into the kept corpus, minimized:
#   fuzz/target/$(rustc -vV | awk '/^host:/ {print $2}')/release/TARGET -merge=1 \
#       fuzz/corpus/TARGET fuzz/target/corpus/TARGET
# A failing input lands in fuzz/artifacts/TARGET/; replay it with
#   fuzz/target/TRIPLE/release/TARGET fuzz/artifacts/TARGET/crash-...
# An input counts as hung after 2 s (-timeout=2).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=60
TARGETS=()
# a number is the budget, anything else a target (in any order)
for a in "$@"; do
    if [[ $a =~ ^[0-9]+$ ]]; then SECS=$a; else TARGETS+=("$a"); fi
done
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(decoder commands)

# libFuzzer is C++, built by libfuzzer-sys's build script
if ! command -v c++ >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
    else
        echo "fuzz.sh: a C++ compiler (c++) is needed to build libFuzzer" >&2
        exit 2
    fi
fi

TRIPLE=$(rustc -vV | awk '/^host:/ { print $2 }')
cd "$ROOT/fuzz"
# an explicit --target keeps these flags away from build scripts and proc macros
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --target "$TRIPLE" $(printf -- '--bin %s ' "${TARGETS[@]}")

FAILED=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "target/corpus/$t" "artifacts/$t"
    echo "===== fuzz $t for ${SECS}s ====="
    log="target/fuzz-$t.log"
    rc=0
    "target/$TRIPLE/release/$t" "target/corpus/$t" "corpus/$t" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$SECS" -timeout=2 \
        -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" || true
    if [ "$rc" -ne 0 ]; then
        # the report: what failed, the stack, and the input that did it
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|RELOAD)|^\s+NEW_FUNC' "$log" | tail -60
        echo "fuzz.sh: $t FAILED (exit $rc); inputs in fuzz/artifacts/$t/" >&2
        FAILED+=("$t")
    fi
done
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${FAILED[*]}" >&2
    exit 1
fi
echo "fuzz.sh: no failures (${TARGETS[*]}, ${SECS}s each)"
