#!/usr/bin/env bash
# compare.sh - ferrokey beside valkey-server, measured in the same run.
#
# Usage: benches/compare.sh            (from anywhere in the repository)
#
# Both servers run pinned to CPU 0 and valkey-benchmark to CPU 1, so the
# client never steals the server's core. For every test (SET, GET, INCR,
# MSET) at pipeline depth 1 and 16, with 50 clients, the servers take turns
# (the order alternates every round) for ROUNDS rounds; the medians are
# printed. Besides requests per second, the server's own CPU time per request
# is reported (utime + stime from /proc/<pid>/stat over the benchmark): at
# depth 1 throughput is bound by the client and the loopback, CPU per request
# is what tells the servers apart.
# Finally both are restarted empty, loaded with 1M `SET key:NNNNNNN <16 bytes>`
# through one pipelined connection, and their RSS is compared.
#
# Environment: ROUNDS (3), CLIENTS (50), N_P1 (200000), N_P16 (2000000),
# KEYSPACE for -r (100000), SERVER_CPU (0), CLIENT_CPU (1), TESTS ("set get incr mset").
# APPENDFSYNC (unset: no AOF) runs both servers with `--appendonly yes --appendfsync
# $APPENDFSYNC` (always, everysec or no); SKIP_MEMORY=1 skips the RSS comparison.
# TESTS takes any valkey-benchmark -t name (lpush rpop sadd spop hset zadd zpopmin
# lrange_100 ...) plus two of its own: `evalsha` (the demo's rate-limit script, run with
# EVALSHA on random keys) and `multi` (MULTI + 5 SET + EXEC, driven by
# benches/txn_load.py because valkey-benchmark cannot send transactions; that client
# is slower than the servers, so compare its CPU per transaction, not its rps).
# Needs valkey-server and valkey-tools (installed from bookworm-backports when
# missing and running as root).

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-2000000}
KEYSPACE=${KEYSPACE:-100000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TESTS=${TESTS:-set get incr mset}

die() { echo "compare: $*" >&2; exit 2; }

if ! command -v valkey-server >/dev/null || ! command -v valkey-benchmark >/dev/null; then
    [ "$(id -u)" = 0 ] || die "valkey-server/valkey-tools missing (apt-get install -t bookworm-backports valkey-server valkey-tools)"
    bash "$ROOT/scripts/backports.sh"
    DEBIAN_FRONTEND=noninteractive apt-get -q update
    DEBIAN_FRONTEND=noninteractive apt-get -q -y install -t bookworm-backports valkey-server valkey-tools
fi
for t in taskset valkey-cli awk; do command -v $t >/dev/null || die "missing $t"; done
[ "$(nproc)" -ge 2 ] || echo "compare: warning: fewer than 2 CPUs; server and client share one" >&2

echo "compare: cargo build --release"
(cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
FERROKEY=$TARGET_DIR/release/ferrokey
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY"

WORK=$(mktemp -d /tmp/ferrokey-compare.XXXXXX)
AOF_ARGS=(--appendonly no)
if [ -n "${APPENDFSYNC:-}" ]; then
    AOF_ARGS=(--appendonly yes --appendfsync "$APPENDFSYNC" --aof-use-rdb-preamble no)
fi
declare -A PID PORT
# shared helpers: cleanup on exit, free_port, wait_ready, stop, cpu_ticks, rss_kb, median
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
    local name=$1 port
    port=$(free_port "$2")
    mkdir -p "$WORK/$name"
    case $name in
        ferrokey) taskset -c "$SERVER_CPU" "$FERROKEY" --port "$port" --bind 127.0.0.1 \
                      --save "" "${AOF_ARGS[@]}" --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
        valkey) taskset -c "$SERVER_CPU" valkey-server --port "$port" --bind 127.0.0.1 \
                    --save "" "${AOF_ARGS[@]}" --dir "$WORK/$name" > "$WORK/$name.log" 2>&1 & ;;
    esac
    PID[$name]=$!
    PORT[$name]=$port
    wait_ready "$name" "$port"
}


TICK=$(getconf CLK_TCK)
# the rate limiter of demo/app/rate_limiter.py: INCR, EXPIRE on the first hit, TTL
RATE_SCRIPT="local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end local ttl = redis.call('TTL', KEYS[1]) if c > tonumber(ARGV[1]) then return {0, ttl} end return {1, ttl}"

# One benchmark run of test $1 at depth $2 with $3 requests against port $4.
bench() {
    local t=$1 P=$2 n=$3 port=$4
    case $t in
        evalsha)
            local sha
            sha=$(valkey-cli -p "$port" script load "$RATE_SCRIPT")
            taskset -c "$CLIENT_CPU" valkey-benchmark -p "$port" -c "$CLIENTS" -n "$n" -P "$P" \
                -r "$KEYSPACE" --csv EVALSHA "$sha" 1 "rl:__rand_int__" 100 60 2>/dev/null ;;
        multi)
            taskset -c "$CLIENT_CPU" python3 "$ROOT/benches/txn_load.py" "$port" "$CLIENTS" "$P" "$n" ;;
        *)
            taskset -c "$CLIENT_CPU" valkey-benchmark -p "$port" -c "$CLIENTS" \
                -n "$n" -P "$P" -r "$KEYSPACE" -d 16 -t "$t" --csv 2>/dev/null ;;
    esac
}
SERVERS=(ferrokey valkey)
echo "compare: $(valkey-server --version | cut -d' ' -f1-3), ferrokey $("$FERROKEY" --version 2>/dev/null | awk '{ print $2 }')"
echo "compare: servers on CPU $SERVER_CPU, valkey-benchmark on CPU $CLIENT_CPU, $CLIENTS clients, $ROUNDS rounds"

# ------------------------------------------------------------ throughput
start ferrokey 21400
start valkey 21600
for round in $(seq "$ROUNDS"); do
    order=("${SERVERS[@]}")
    [ $((round % 2)) -eq 0 ] && order=(valkey ferrokey)
    for P in 1 16; do
        n=$N_P1; [ "$P" -gt 1 ] && n=$N_P16
        for t in $TESTS; do
            # MSET writes 10 keys per request, a transaction 5: fewer requests keep
            # their runs as long
            nt=$n; [ "$t" = mset ] && nt=$((n / 4))
            [ "$t" = multi ] && nt=$((n / 10))
            for s in "${order[@]}"; do
                before=$(cpu_ticks "${PID[$s]}")
                out=$(bench "$t" "$P" "$nt" "${PORT[$s]}")
                after=$(cpu_ticks "${PID[$s]}")
                rps=$(printf '%s\n' "$out" | tail -n1 | cut -d, -f2 | tr -d '"')
                [ -n "$rps" ] || die "no result from valkey-benchmark -t $t against $s"
                us=$(awk -v d=$((after - before)) -v tk="$TICK" -v n="$nt" 'BEGIN { printf "%.3f", d / tk * 1e6 / n }')
                echo "$rps" >> "$WORK/rps.$s.$t.$P"
                echo "$us" >> "$WORK/cpu.$s.$t.$P"
                printf 'compare: round %d  %-8s %-5s P%-2d %12s rps %8s us/req\n' "$round" "$s" "$t" "$P" "$rps" "$us"
            done
        done
    done
done
stop ferrokey
stop valkey

# ------------------------------------------------------------ memory
if [ -z "${SKIP_MEMORY:-}" ]; then
# key:0000000 .. key:0999999, each with a 16-byte value, as one RESP stream
awk 'BEGIN { for (i = 0; i < 1000000; i++) { k = sprintf("key:%07d", i);
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%016d\r\n", length(k), k, i } }' > "$WORK/load.resp"
declare -A RSS0 RSS1 KEYS
for s in "${SERVERS[@]}"; do
    start "$s" 21800
    RSS0[$s]=$(rss_kb "${PID[$s]}")
    valkey-cli -p "${PORT[$s]}" --pipe < "$WORK/load.resp" > "$WORK/$s.pipe.log" 2>&1 \
        || { cat "$WORK/$s.pipe.log" >&2; die "loading $s failed"; }
    sleep 1
    KEYS[$s]=$(valkey-cli -p "${PORT[$s]}" dbsize)
    RSS1[$s]=$(rss_kb "${PID[$s]}")
    stop "$s"
done

fi

# ------------------------------------------------------------ report
echo
echo "Medians of $ROUNDS interleaved rounds; CPU = server utime+stime per request."
printf '%-6s %-3s %13s %13s %7s %12s %12s %9s\n' test P ferrokey_rps valkey_rps ratio fk_us/req vk_us/req cpu_ratio
for P in 1 16; do
    for t in $TESTS; do
        fr=$(median < "$WORK/rps.ferrokey.$t.$P"); vr=$(median < "$WORK/rps.valkey.$t.$P")
        fc=$(median < "$WORK/cpu.ferrokey.$t.$P"); vc=$(median < "$WORK/cpu.valkey.$t.$P")
        awk -v t="$t" -v P="$P" -v fr="$fr" -v vr="$vr" -v fc="$fc" -v vc="$vc" 'BEGIN {
            printf "%-6s %-3s %13.0f %13.0f %6.2fx %12.3f %12.3f %8.2fx\n", t, P, fr, vr, fr / vr, fc, vc, (fc > 0 ? vc / fc : 0) }'
    done
done
echo "(ratio = ferrokey rps / valkey rps; cpu_ratio = valkey CPU per request / ferrokey's: above 1 means ferrokey spends less)"
[ -n "${SKIP_MEMORY:-}" ] && exit 0
echo
printf '%-9s %9s %11s %11s %10s\n' server keys rss_empty rss_loaded bytes/key
for s in "${SERVERS[@]}"; do
    awk -v s="$s" -v k="${KEYS[$s]}" -v a="${RSS0[$s]}" -v b="${RSS1[$s]}" 'BEGIN {
        printf "%-9s %9d %9.1fMB %9.1fMB %10.1f\n", s, k, a / 1024, b / 1024, (b - a) * 1024 / k }'
done
