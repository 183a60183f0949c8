#!/usr/bin/env bash
# fuzz.sh - run a libFuzzer target from fuzz/ for a while on the stable compiler.
#
# Usage: scripts/fuzz.sh [TARGET] [SECONDS]     (defaults: decoder 60)
#
# fuzz/ has cargo-fuzz's layout (`cargo +nightly fuzz run decoder` where a
# nightly toolchain is installed); this script passes the coverage flags that
# `cargo fuzz run -s none` would, which the stable compiler accepts. The corpus grows in
# fuzz/corpus/TARGET and crashes land in fuzz/artifacts/TARGET (both ignored
# by git).
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${1:-decoder}
SECS=${2:-60}
TRIPLE=$(rustc -vV | awk '/^host:/ { print $2 }')

cd "$ROOT/fuzz"
# an explicit --target keeps these flags away from build scripts and proc macros
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --target "$TRIPLE" --bin "$TARGET"
mkdir -p "corpus/$TARGET" "artifacts/$TARGET"
exec "target/$TRIPLE/release/$TARGET" "corpus/$TARGET" -artifact_prefix="artifacts/$TARGET/" \
    -max_total_time="$SECS" -max_len=8192 -print_final_stats=1
