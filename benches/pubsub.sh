#!/usr/bin/env bash
# pubsub.sh - Pub/Sub throughput of ferrokey beside valkey-server, in the same run.
#
# Usage: benches/pubsub.sh            (from anywhere in the repository)
#
# valkey-benchmark cannot subscribe, so benches/pubsub_load.py drives the load:
#   fanout  one publisher, 50 subscribers of one channel
#   spread  50 publishers, each to its own channel with one subscriber
# Both servers run pinned to SERVER_CPU and the load generator to CLIENT_CPU; the
# servers take turns (the order alternates every round) and the medians of ROUNDS
# rounds of messages delivered per second are printed with their ratio.
#
# Environment: ROUNDS (3), SECONDS_PER_RUN (5), PAYLOAD (16 bytes), SERVER_CPU (0),
# CLIENT_CPU (1), BASE_PORT (7311: valkey on it, ferrokey on it + 1).
# Needs valkey-server, valkey-cli, taskset and python3.

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-5}
PAYLOAD=${PAYLOAD:-16}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BASE_PORT=${BASE_PORT:-7311}
LOAD="$ROOT/benches/pubsub_load.py"

die() { echo "pubsub-bench: $*" >&2; exit 2; }
for t in valkey-server valkey-cli taskset python3 awk; do
    command -v $t >/dev/null || die "missing $t"
done

echo "pubsub-bench: cargo build --release"
(cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
FERROKEY=$TARGET_DIR/release/ferrokey
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY"

WORK=$(mktemp -d /tmp/ferrokey-pubsub.XXXXXX)
declare -A PID PORT
PORT[valkey]=$BASE_PORT
PORT[ferrokey]=$((BASE_PORT + 1))
# shared helpers: cleanup on exit, free_port, wait_ready, stop, cpu_ticks, rss_kb, median
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
    local name=$1 port=${PORT[$1]}
    mkdir -p "$WORK/$name"
    case $name in
        ferrokey) taskset -c "$SERVER_CPU" "$FERROKEY" --port "$port" --bind 127.0.0.1 \
                      --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
        valkey) taskset -c "$SERVER_CPU" valkey-server --port "$port" --bind 127.0.0.1 \
                    --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
    esac
    PID[$name]=$!
    wait_ready "$name" "$port"
}


start ferrokey
start valkey
SERVERS=(ferrokey valkey)
for round in $(seq "$ROUNDS"); do
    order=("${SERVERS[@]}")
    [ $((round % 2)) -eq 0 ] && order=(valkey ferrokey)
    for mode in fanout spread; do
        for s in "${order[@]}"; do
            out=$(taskset -c "$CLIENT_CPU" python3 "$LOAD" 127.0.0.1 "${PORT[$s]}" "$mode" "$SECS" "$PAYLOAD")
            rate=$(printf '%s\n' "$out" | tr ' ' '\n' | awk -F= '$1 == "delivered_per_s" { print $2 }')
            [ -n "$rate" ] || die "no result for $mode against $s: $out"
            echo "$rate" >> "$WORK/$s.$mode"
            printf 'pubsub-bench: round %d  %-8s %-6s %s\n' "$round" "$s" "$mode" "$out"
        done
    done
done

echo
echo "Medians of $ROUNDS interleaved rounds, messages delivered to subscribers per second."
printf '%-7s %14s %14s %7s\n' mode ferrokey valkey ratio
for mode in fanout spread; do
    f=$(median < "$WORK/ferrokey.$mode"); v=$(median < "$WORK/valkey.$mode")
    awk -v m="$mode" -v f="$f" -v v="$v" 'BEGIN { printf "%-7s %14.0f %14.0f %6.2fx\n", m, f, v, (v > 0 ? f / v : 0) }'
done
echo "(ratio = ferrokey / valkey; the load generator is one Python process, so at high"
echo " rates it, not the server, may be the limit for both)"
