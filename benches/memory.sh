#!/usr/bin/env bash
# memory.sh - memory footprint of ferrokey beside valkey-server, loaded identically.
#
# Usage: benches/memory.sh [strings] [hashes] [zset] [bighash] [bigset]
#        (default: the first three)
#
# Each data set is loaded into a fresh pair of servers (ferrokey, then valkey) as one
# RESP stream through `valkey-cli --pipe`:
#   strings  1M `SET key:NNNNNNN <16-byte value>`
#   hashes   100k `HSET h:NNNNNN f0 v0 .. f9 v9`, values of 8 bytes (compact encoding)
#   zset     one sorted set of 1M members: `ZADD z <score> member:NNNNNNN`, 1000 per command
#   bighash  one hash of 1M fields (table encoding): `HSET big field:NNNNNNN <8 bytes>`
#   bigset   one set of 1M members (table encoding): `SADD bigs element:NNNNNNNNNNNN`,
#            1000 per command (valkey-benchmark's member form)
# and then reports VmRSS (/proc/<pid>/status) and INFO's used_memory for both, with the
# ratio ferrokey / valkey (below 1 means ferrokey uses less), and the load time
# (wall clock of the pipe, a rough figure on a shared machine).
#
# Environment: PORT_FK (7351), PORT_VK (7352), BUILD (1: cargo build --release first),
# FERROKEY (a binary to measure instead of the build's; implies BUILD=0),
# SETTLE (1: seconds to wait after loading before sampling).

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT_FK=${PORT_FK:-7351}
PORT_VK=${PORT_VK:-7352}
BUILD=${BUILD:-1}
SETTLE=${SETTLE:-1}
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(strings hashes zset)

die() { echo "memory: $*" >&2; exit 2; }
for t in valkey-server valkey-cli awk; do command -v $t >/dev/null || die "missing $t"; done

if [ -n "${FERROKEY:-}" ]; then
    BUILD=0
fi
if [ "$BUILD" = 1 ]; then
    echo "memory: cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
fi
if [ -z "${FERROKEY:-}" ]; then
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
    FERROKEY=$TARGET_DIR/release/ferrokey
fi
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY"

WORK=$(mktemp -d /tmp/ferrokey-memory.XXXXXX)
declare -A PID
# shared helpers: cleanup on exit, free_port, wait_ready, stop, cpu_ticks, rss_kb, median
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap cleanup EXIT

port_of() { if [ "$1" = ferrokey ]; then echo "$PORT_FK"; else echo "$PORT_VK"; fi; }

start() {
    local name=$1 port
    port=$(port_of "$1")
    if valkey-cli -p "$port" ping >/dev/null 2>&1; then die "port $port is already in use"; fi
    mkdir -p "$WORK/$name"
    case $name in
        ferrokey) "$FERROKEY" --port "$port" --bind 127.0.0.1 \
                      --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
        valkey) valkey-server --port "$port" --bind 127.0.0.1 \
                    --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
    esac
    PID[$name]=$!
    for _ in $(seq 200); do
        [ "$(valkey-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    die "$name did not start"
}

used_memory() {
    valkey-cli -p "$(port_of "$1")" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

# The RESP streams, generated once per data set.
gen() {
    case $1 in
        strings) awk 'BEGIN { for (i = 0; i < 1000000; i++) { k = sprintf("key:%07d", i);
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%016d\r\n", length(k), k, i } }' ;;
        hashes) awk 'BEGIN { for (i = 0; i < 100000; i++) { k = sprintf("h:%06d", i);
            printf "*22\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k;
            for (f = 0; f < 10; f++) { v = sprintf("v%07d", i + f);
                printf "$%d\r\nf%d\r\n$%d\r\n%s\r\n", length(f) + 1, f, length(v), v } } }' ;;
        zset) awk 'BEGIN { srand(42); per = 1000;
            for (c = 0; c < 1000000 / per; c++) {
                printf "*%d\r\n$4\r\nZADD\r\n$1\r\nz\r\n", 2 + 2 * per;
                for (j = 0; j < per; j++) { i = c * per + j;
                    s = sprintf("%.6f", rand() * 1000000); m = sprintf("member:%07d", i);
                    printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(m), m } } }' ;;
        bighash) awk 'BEGIN { per = 1000;
            for (c = 0; c < 1000000 / per; c++) {
                printf "*%d\r\n$4\r\nHSET\r\n$3\r\nbig\r\n", 2 + 2 * per;
                for (j = 0; j < per; j++) { i = c * per + j;
                    f = sprintf("field:%07d", i); v = sprintf("v%07d", i);
                    printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(f), f, length(v), v } } }' ;;
        bigset) awk 'BEGIN { per = 1000;
            for (c = 0; c < 1000000 / per; c++) {
                printf "*%d\r\n$4\r\nSADD\r\n$4\r\nbigs\r\n", 2 + per;
                for (j = 0; j < per; j++) { m = sprintf("element:%012d", c * per + j);
                    printf "$%d\r\n%s\r\n", length(m), m } } }' ;;
        *) die "unknown data set $1 (strings, hashes, zset, bighash, bigset)" ;;
    esac
}

echo "memory: $(valkey-server --version | cut -d' ' -f1-3), ferrokey at $FERROKEY"
printf '%-8s %-9s %9s %12s %12s %14s %8s\n' set server keys rss_empty rss_loaded used_memory load_s
declare -A RES
for set in "${SETS[@]}"; do
    gen "$set" > "$WORK/$set.resp"
    for s in ferrokey valkey; do
        start "$s"
        r0=$(rss_kb "${PID[$s]}")
        port=$(port_of "$s")
        t0=$(date +%s.%N)
        valkey-cli -p "$port" --pipe < "$WORK/$set.resp" > "$WORK/$s.pipe.log" 2>&1 \
            || { cat "$WORK/$s.pipe.log" >&2; die "loading $set into $s failed"; }
        grep -q 'errors: 0,' "$WORK/$s.pipe.log" || { cat "$WORK/$s.pipe.log" >&2; die "errors loading $set into $s"; }
        t1=$(date +%s.%N)
        sleep "$SETTLE"
        keys=$(valkey-cli -p "$port" dbsize)
        r1=$(rss_kb "${PID[$s]}")
        um=$(used_memory "$s")
        RES[$set.$s.rss]=$r1
        RES[$set.$s.um]=${um:-0}
        awk -v set="$set" -v s="$s" -v k="$keys" -v a="$r0" -v b="$r1" -v u="${um:-0}" \
            -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN {
            printf "%-8s %-9s %9d %10.1fMB %10.1fMB %12.1fMB %8.2f\n", set, s, k, a / 1024, b / 1024, u / 1048576, t }'
        stop "$s"
    done
done
echo
printf '%-8s %16s %22s\n' set "rss fk/vk" "used_memory fk/vk"
for set in "${SETS[@]}"; do
    awk -v set="$set" -v fr="${RES[$set.ferrokey.rss]}" -v vr="${RES[$set.valkey.rss]}" \
        -v fu="${RES[$set.ferrokey.um]}" -v vu="${RES[$set.valkey.um]}" 'BEGIN {
        printf "%-8s %15.2fx %21.2fx\n", set, fr / vr, (vu > 0 ? fu / vu : 0) }'
done
