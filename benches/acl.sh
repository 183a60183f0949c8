#!/usr/bin/env bash
# acl.sh - what ACL checks cost: the same server driven as the default user
# (unrestricted: the check is skipped) and as a user whose keys are limited by
# patterns (every command's keys are matched), side by side in one run.
#
# Usage: benches/acl.sh            (from anywhere in the repository)
#
# The server runs pinned to CPU 0 and valkey-benchmark to CPU 1. For GET and SET
# at pipeline depth 1 and 16, with 50 clients and 100k random keys, the two users
# take turns (the order alternates every round) for ROUNDS rounds; the medians of
# requests per second and of the server's own CPU time per request (utime + stime
# from /proc/<pid>/stat over the run) are printed, with their ratios. On a shared
# machine the CPU per request is the steadier of the two.
#
# The restricted user is `on >pass ~key:* ~__rand* +@all`: valkey-benchmark's
# keys are `key:<12 digits>`, so every command passes its key check, and what is
# measured is the check, not a refusal. VALKEY=1 also measures valkey-server the
# same way, for its own ratio.
#
# Environment: ROUNDS (5), CLIENTS (50), N_P1 (200000), N_P16 (2000000),
# KEYSPACE for -r (100000), SERVER_CPU (0), CLIENT_CPU (1), TESTS ("get set"), DEPTHS ("1 16"),
# VALKEY (unset), FERROKEY (a binary to use instead of building the release one).
# Needs valkey-benchmark and valkey-cli (valkey-tools).

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-50}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-2000000}
KEYSPACE=${KEYSPACE:-100000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TESTS=${TESTS:-get set}
DEPTHS=${DEPTHS:-1 16}
USER_RULES=(on ">pass" "~key:*" "~__rand*" "+@all")

die() { echo "acl-bench: $*" >&2; exit 2; }

for t in valkey-benchmark valkey-cli taskset awk; do
    command -v $t >/dev/null || die "missing $t (valkey-tools, util-linux)"
done
[ "$(nproc)" -ge 2 ] || echo "acl-bench: warning: fewer than 2 CPUs; server and client share one" >&2

if [ -z "${FERROKEY:-}" ]; then
    echo "acl-bench: cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
    FERROKEY=$TARGET_DIR/release/ferrokey
fi
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY"

WORK=$(mktemp -d /tmp/ferrokey-aclbench.XXXXXX)
declare -A PID PORT
# shared helpers: cleanup on exit, free_port, wait_ready, stop, cpu_ticks, rss_kb, median
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
    local name=$1 port
    port=$(free_port "$2")
    mkdir -p "$WORK/$name"
    case $name in
        ferrokey) taskset -c "$SERVER_CPU" "$FERROKEY" --port "$port" --bind 127.0.0.1 \
                      --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
        valkey) taskset -c "$SERVER_CPU" valkey-server --port "$port" --bind 127.0.0.1 \
                    --save "" --appendonly no --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
    esac
    PID[$name]=$!
    PORT[$name]=$port
    for _ in $(seq 100); do
        if [ "$(valkey-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            [ "$(valkey-cli -p "$port" acl setuser bench "${USER_RULES[@]}")" = OK ] \
                || die "ACL SETUSER failed on $name"
            return 0
        fi
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    die "$name did not start"
}

TICK=$(getconf CLK_TCK)

# One run of test $1 at depth $2 with $3 requests against port $4 as user $5.
bench() {
    local t=$1 P=$2 n=$3 port=$4 who=$5 auth=()
    [ "$who" = acl ] && auth=(--user bench -a pass)
    taskset -c "$CLIENT_CPU" valkey-benchmark -p "$port" "${auth[@]}" -c "$CLIENTS" \
        -n "$n" -P "$P" -r "$KEYSPACE" -d 16 -t "$t" --csv 2>/dev/null
}

SERVERS=(ferrokey)
[ -n "${VALKEY:-}" ] && SERVERS+=(valkey)
echo "acl-bench: server on CPU $SERVER_CPU, valkey-benchmark on CPU $CLIENT_CPU, $CLIENTS clients, $ROUNDS rounds"
echo "acl-bench: restricted user: ${USER_RULES[*]}"
port=21900
for s in "${SERVERS[@]}"; do start "$s" $port; port=$((port + 200)); done

for round in $(seq "$ROUNDS"); do
    order=(default acl)
    [ $((round % 2)) -eq 0 ] && order=(acl default)
    for P in $DEPTHS; do
        n=$N_P1; [ "$P" -gt 1 ] && n=$N_P16
        for t in $TESTS; do
            for s in "${SERVERS[@]}"; do
                for who in "${order[@]}"; do
                    before=$(cpu_ticks "${PID[$s]}")
                    out=$(bench "$t" "$P" "$n" "${PORT[$s]}" "$who")
                    after=$(cpu_ticks "${PID[$s]}")
                    rps=$(printf '%s\n' "$out" | tail -n1 | cut -d, -f2 | tr -d '"')
                    [ -n "$rps" ] || die "no result from valkey-benchmark -t $t as $who against $s"
                    us=$(awk -v d=$((after - before)) -v tk="$TICK" -v n="$n" 'BEGIN { printf "%.3f", d / tk * 1e6 / n }')
                    echo "$rps" >> "$WORK/rps.$s.$who.$t.$P"
                    echo "$us" >> "$WORK/cpu.$s.$who.$t.$P"
                    printf 'acl-bench: round %d  %-8s %-7s %-4s P%-2d %12s rps %8s us/req\n' \
                        "$round" "$s" "$who" "$t" "$P" "$rps" "$us"
                done
            done
        done
    done
done

echo
echo "Medians of $ROUNDS interleaved rounds; CPU = server utime+stime per request."
printf '%-8s %-4s %-3s %13s %13s %7s %11s %11s %9s\n' server test P default_rps acl_rps ratio def_us/req acl_us/req cpu_ratio
for s in "${SERVERS[@]}"; do
    for P in $DEPTHS; do
        for t in $TESTS; do
            dr=$(median < "$WORK/rps.$s.default.$t.$P"); ar=$(median < "$WORK/rps.$s.acl.$t.$P")
            dc=$(median < "$WORK/cpu.$s.default.$t.$P"); ac=$(median < "$WORK/cpu.$s.acl.$t.$P")
            awk -v s="$s" -v t="$t" -v P="$P" -v dr="$dr" -v ar="$ar" -v dc="$dc" -v ac="$ac" 'BEGIN {
                printf "%-8s %-4s %-3s %13.0f %13.0f %6.2fx %11.3f %11.3f %8.2fx\n", s, t, P, dr, ar, ar / dr, dc, ac, (ac > 0 ? dc / ac : 0) }'
        done
    done
done
echo "(ratio = rps with the restricted user / rps as default; cpu_ratio = default CPU per request / restricted: 1.00 means the check costs nothing measurable)"
