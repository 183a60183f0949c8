#!/usr/bin/env bash
# eviction.sh - maxmemory eviction of ferrokey beside valkey-server, measured in the same run.
#
# Usage: benches/eviction.sh            (from anywhere in the repository)
#
# 1. Hit ratio. For each policy in POLICIES, each server is started empty with
#    `--maxmemory $MAXMEMORY --maxmemory-policy <policy>` and driven by
#    benches/eviction_load.py: a cache-aside client (GET key; on a miss SET key to a
#    VALUE-byte value) over KEYS keys drawn from Zipf(THETA) with a fixed SEED, so
#    both servers see the same sequence, pipelined 100 GETs at a time. With the
#    defaults about 110k-140k keys fit in 20mb, so the key space is ~10x what fits.
#    The first WARMUP operations fill the cache and are not counted (with fewer the
#    cache is barely full and hardly anything is evicted); the next OPS are. Reported:
#    hit ratio per server and policy, ferrokey minus valkey in percentage points
#    (bar: ferrokey no more than 3 points below), and keys resident / evicted at the end
#    and RSS at the end (the servers' per-key overhead and the way each counts it
#    differ, so the same limit holds different key counts).
# 2. Memory bound. Each server is started empty with `--maxmemory $BIG_MAXMEMORY
#    --maxmemory-policy allkeys-lru` and sent BIG_KEYS distinct `SET big:N <BIG_VALUE
#    bytes>` (1 GB by default) through `valkey-cli --pipe`, while a sampler reads
#    VmRSS (/proc/<pid>/status) and times a PING every 50 ms. Reported: empty RSS,
#    max RSS, the bar (empty RSS + limit + 10%), PING failures and worst/p99 latency,
#    and whether the server survived and answered throughout.
#
# Both servers run with `--save "" --appendonly no`, one at a time, pinned to
# SERVER_CPU; the load client runs on CLIENT_CPU. Exit status 1 if a bar is missed.
#
# Environment: PORT_FK (7691), PORT_VK (7692), FERROKEY (binary; default the release
# build's), BUILD (0; 1: cargo build --release first), POLICIES ("allkeys-lru allkeys-lfu"),
# MAXMEMORY (20mb), FK_MAXMEMORY (MAXMEMORY: ferrokey's limit in part 1, to compare the
# policies at equal resident key counts rather than equal limits), KEYS (1000000), VALUE (100), WARMUP (1000000), OPS (1000000),
# SEED (1), THETA (0.99), BIG_MAXMEMORY (100mb), BIG_KEYS (1000000), BIG_VALUE (1000),
# SERVER_CPU (0), CLIENT_CPU (1), SKIP_HIT=1 / SKIP_MEMORY=1 skip a part.
# Needs valkey-server, valkey-cli, python3 (standard library only), taskset, awk.

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT_FK=${PORT_FK:-7691}
PORT_VK=${PORT_VK:-7692}
BUILD=${BUILD:-0}
POLICIES=${POLICIES:-allkeys-lru allkeys-lfu}
MAXMEMORY=${MAXMEMORY:-20mb}
FK_MAXMEMORY=${FK_MAXMEMORY:-$MAXMEMORY}
KEYS=${KEYS:-1000000}
VALUE=${VALUE:-100}
WARMUP=${WARMUP:-1000000}
OPS=${OPS:-1000000}
SEED=${SEED:-1}
THETA=${THETA:-0.99}
BIG_MAXMEMORY=${BIG_MAXMEMORY:-100mb}
BIG_KEYS=${BIG_KEYS:-1000000}
BIG_VALUE=${BIG_VALUE:-1000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
LOAD=$ROOT/benches/eviction_load.py

die() { echo "eviction: $*" >&2; exit 2; }
for t in valkey-server valkey-cli python3 taskset awk; do command -v $t >/dev/null || die "missing $t"; done

if [ "$BUILD" = 1 ]; then
    echo "eviction: cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
fi
FERROKEY=${FERROKEY:-$ROOT/target/release/ferrokey}
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY (run with BUILD=1)"

WORK=$(mktemp -d /tmp/ferrokey-eviction.XXXXXX)
declare -A PID PORT=([ferrokey]=$PORT_FK [valkey]=$PORT_VK)
# shared helpers: cleanup on exit, free_port, wait_ready, stop, cpu_ticks, rss_kb, median
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# start NAME ARGS...: an empty server on its port, waits for PONG
start() {
    local name=$1 port=${PORT[$1]}
    shift
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && die "port $port is in use"
    rm -rf "$WORK/$name" && mkdir -p "$WORK/$name"
    local bin=valkey-server
    [ "$name" = ferrokey ] && bin=$FERROKEY
    taskset -c "$SERVER_CPU" "$bin" --port "$port" --bind 127.0.0.1 --save "" \
        --appendonly no --dir "$WORK/$name" "$@" > "$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    wait_ready "$name" "$port"
}

info_field() { valkey-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }
field() { tr ' ' '\n' <<< "$1" | awk -F= -v f="$2" '$1 == f { print $2 }'; }
# 100mb -> bytes (Valkey's units: k/kb/m/mb/g/gb, the b forms being powers of 1024)
to_bytes() {
    awk -v s="$1" 'BEGIN { s = tolower(s); n = s + 0; u = s; sub(/^[0-9]+/, "", u)
        m["k"] = 1000; m["kb"] = 1024; m["m"] = 1e6; m["mb"] = 1048576; m["g"] = 1e9; m["gb"] = 1073741824
        printf "%d\n", (u == "" || u == "b") ? n : n * m[u] }'
}

SERVERS=(ferrokey valkey)
FAILED=0
echo "eviction: $(valkey-server --version | cut -d' ' -f1-3), ferrokey $("$FERROKEY" --version 2>/dev/null | awk '{ print $2 }')"
START_TIME=$(date +%s)

# ------------------------------------------------------------ hit ratio
declare -A HIT FKEYS EVICTED HRSS
if [ -z "${SKIP_HIT:-}" ]; then
    for policy in $POLICIES; do
        for s in "${SERVERS[@]}"; do
            mm=$MAXMEMORY
            [ "$s" = ferrokey ] && mm=$FK_MAXMEMORY
            start "$s" --maxmemory "$mm" --maxmemory-policy "$policy"
            out=$(taskset -c "$CLIENT_CPU" python3 "$LOAD" zipf "${PORT[$s]}" "$KEYS" "$WARMUP" "$OPS" \
                "$SEED" "$VALUE" "$THETA")
            echo "eviction: $policy $s: $out"
            [ "$(field "$out" errors)" = 0 ] || { echo "eviction: $s returned errors" >&2; FAILED=1; }
            HIT[$s.$policy]=$(field "$out" hit_ratio)
            FKEYS[$s.$policy]=$(valkey-cli -p "${PORT[$s]}" dbsize)
            EVICTED[$s.$policy]=$(info_field "${PORT[$s]}" stats evicted_keys)
            HRSS[$s.$policy]=$(rss_kb "${PID[$s]}")
            stop "$s"
        done
    done
fi

# ------------------------------------------------------------ memory bound
declare -A RSS0 RSSMAX WATCH PIPE_S DBSIZE
if [ -z "${SKIP_MEMORY:-}" ]; then
    for s in "${SERVERS[@]}"; do
        start "$s" --maxmemory "$BIG_MAXMEMORY" --maxmemory-policy allkeys-lru
        sleep 0.5
        RSS0[$s]=$(rss_kb "${PID[$s]}")
        rm -f "$WORK/stop"
        taskset -c "$CLIENT_CPU" python3 "$LOAD" watch "${PORT[$s]}" "${PID[$s]}" "$WORK/stop" \
            > "$WORK/$s.watch" &
        watcher=$!
        t0=$(date +%s.%N)
        taskset -c "$CLIENT_CPU" python3 "$LOAD" stream "$BIG_KEYS" "$BIG_VALUE" \
            | taskset -c "$CLIENT_CPU" valkey-cli -p "${PORT[$s]}" --pipe > "$WORK/$s.pipe.log" 2>&1 \
            || { echo "eviction: $s: valkey-cli --pipe failed:" >&2; tail -n 5 "$WORK/$s.pipe.log" >&2; FAILED=1; }
        t1=$(date +%s.%N)
        sleep 0.5 # one more round of samples after the load
        touch "$WORK/stop"
        wait "$watcher" || true
        WATCH[$s]=$(cat "$WORK/$s.watch")
        PIPE_S[$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        echo "eviction: 1 GB into $s: ${WATCH[$s]} load_s=${PIPE_S[$s]} ($(tail -n 1 "$WORK/$s.pipe.log"))"
        if kill -0 "${PID[$s]}" 2>/dev/null && [ "$(valkey-cli -p "${PORT[$s]}" ping 2>/dev/null)" = PONG ]; then
            DBSIZE[$s]=$(valkey-cli -p "${PORT[$s]}" dbsize)
        else
            DBSIZE[$s]=dead
            FAILED=1
        fi
        stop "$s"
    done
fi

# ------------------------------------------------------------ report
echo
if [ -z "${SKIP_HIT:-}" ]; then
    mm=$MAXMEMORY
    [ "$FK_MAXMEMORY" = "$MAXMEMORY" ] || mm="$MAXMEMORY (ferrokey $FK_MAXMEMORY)"
    echo "Hit ratio: Zipf($THETA) cache-aside, $KEYS keys x $VALUE B, maxmemory $mm," \
        "$OPS counted ops after $WARMUP warm-up, seed $SEED"
    printf '%-12s %9s %9s %9s %9s %9s %10s %10s %7s %7s  %s\n' policy ferrokey valkey diff_pts \
        fk_keys vk_keys fk_evicted vk_evicted fk_rss vk_rss bar
    for policy in $POLICIES; do
        f=${HIT[ferrokey.$policy]} v=${HIT[valkey.$policy]}
        verdict=$(awk -v f="$f" -v v="$v" 'BEGIN { print ((f - v) * 100 >= -3 ? "ok" : "MISSED") }')
        [ "$verdict" = ok ] || FAILED=1
        awk -v p="$policy" -v f="$f" -v v="$v" -v fk="${FKEYS[ferrokey.$policy]}" \
            -v vk="${FKEYS[valkey.$policy]}" -v fe="${EVICTED[ferrokey.$policy]}" \
            -v ve="${EVICTED[valkey.$policy]}" -v fr="${HRSS[ferrokey.$policy]}" \
            -v vr="${HRSS[valkey.$policy]}" -v bar="$verdict" 'BEGIN {
            printf "%-12s %8.2f%% %8.2f%% %+9.2f %9d %9d %10d %10d %5.1fMB %5.1fMB  %s\n",
                p, f * 100, v * 100, (f - v) * 100, fk, vk, fe, ve, fr / 1024, vr / 1024, bar }'
    done
    echo "(diff_pts = ferrokey - valkey in percentage points; bar: ferrokey at most 3 points below;"
    echo " keys = DBSIZE and rss = VmRSS at the end of the run)"
fi
if [ -z "${SKIP_MEMORY:-}" ]; then
    [ -z "${SKIP_HIT:-}" ] && echo
    limit_kb=$(( $(to_bytes "$BIG_MAXMEMORY") / 1024 ))
    echo "Memory bound: $BIG_KEYS x $BIG_VALUE B distinct SETs, maxmemory $BIG_MAXMEMORY allkeys-lru"
    printf '%-9s %10s %10s %10s %6s %9s %9s %9s %8s %8s  %s\n' server rss_empty rss_max bar_rss \
        load_s pings ping_fail p99_ms max_ms keys bar
    for s in "${SERVERS[@]}"; do
        w=${WATCH[$s]}
        max=$(field "$w" max_rss_kb)
        bar_kb=$(awk -v b="${RSS0[$s]}" -v l="$limit_kb" 'BEGIN { printf "%d", b + l * 1.1 }')
        verdict=ok
        [ "$max" -le "$bar_kb" ] || verdict="MISSED(rss)"
        [ "$(field "$w" ping_failures)" = 0 ] || verdict="MISSED(ping)"
        [ "${DBSIZE[$s]}" != dead ] || verdict="MISSED(died)"
        [ "$verdict" = ok ] || FAILED=1
        awk -v s="$s" -v a="${RSS0[$s]}" -v m="$max" -v b="$bar_kb" -v t="${PIPE_S[$s]}" \
            -v n="$(field "$w" samples)" -v pf="$(field "$w" ping_failures)" \
            -v p99="$(field "$w" ping_p99_ms)" -v pm="$(field "$w" ping_max_ms)" \
            -v k="${DBSIZE[$s]}" -v bar="$verdict" 'BEGIN {
            printf "%-9s %8.1fMB %8.1fMB %8.1fMB %6.1f %9d %9d %9s %8s %8s  %s\n",
                s, a / 1024, m / 1024, b / 1024, t, n, pf, p99, pm, k, bar }'
    done
    echo "(bar_rss = empty RSS + maxmemory + 10%; pings every 50 ms during the load, 2 s timeout)"
fi
echo
echo "eviction: done in $(( $(date +%s) - START_TIME )) s"
exit "$FAILED"
