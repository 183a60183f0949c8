#!/usr/bin/env bash
# aof_load.sh - how fast ferrokey and Valkey load the same AOF directory.
#
# Usage: benches/aof_load.sh            (from anywhere in the repository)
#
# A Valkey server is filled with KEYS `SET key:NNNNNNN <16 bytes>` and asked for
# BGREWRITEAOF with `aof-use-rdb-preamble no`, so its directory holds a BASE of
# plain commands that both servers read. Then, ROUNDS times and taking turns, each
# server is started pinned to SERVER_CPU on a fresh copy of that directory and
# timed until it answers PING with PONG (Valkey answers -LOADING while it loads,
# ferrokey accepts no client before it is done, so both count the whole load).
# The load time each server logs itself is reported beside it, and the CPU time
# (user + system) the server had used by then, which other work on a shared
# machine does not inflate. Medians are printed.
#
# Environment: KEYS (1000000), ROUNDS (5), SERVER_CPU (0), PORT (7652, and the next
# one), AOF_DIR (an existing appendonlydir to load instead of generating one),
# FERROKEY (a binary to use instead of building one).
# Needs valkey-server, valkey-cli, python3 and taskset.

set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEYS=${KEYS:-1000000}
ROUNDS=${ROUNDS:-5}
SERVER_CPU=${SERVER_CPU:-0}
PORT=${PORT:-7652}

die() { echo "aof_load: $*" >&2; exit 2; }
for t in valkey-server valkey-cli python3 taskset awk; do
    command -v $t >/dev/null || die "missing $t"
done

if [ -z "${FERROKEY:-}" ]; then
    echo "aof_load: cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet --bin ferrokey)
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
    FERROKEY=$TARGET_DIR/release/ferrokey
fi
[ -x "$FERROKEY" ] || die "no binary at $FERROKEY"

WORK=$(mktemp -d /tmp/ferrokey-aofload.XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------------ the directory
if [ -n "${AOF_DIR:-}" ]; then
    cp -r "$AOF_DIR" "$WORK/source"
else
    mkdir -p "$WORK/gen"
    valkey-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly yes \
        --aof-use-rdb-preamble no --dir "$WORK/gen" > "$WORK/gen.log" 2>&1 &
    SPID=$!
    for _ in $(seq 100); do
        [ "$(valkey-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    python3 -c "
import sys
w = sys.stdout.buffer
for i in range($KEYS):
    k = b'key:%07d' % i
    v = b'%016d' % i
    w.write(b'*3\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n' % (len(k), k, len(v), v))
" | valkey-cli -p "$PORT" --pipe > "$WORK/pipe.log" 2>&1 || { cat "$WORK/pipe.log" >&2; die "filling Valkey failed"; }
    valkey-cli -p "$PORT" bgrewriteaof > /dev/null
    for _ in $(seq 600); do
        valkey-cli -p "$PORT" info persistence | grep -q '^aof_rewrite_in_progress:0' && break
        sleep 0.1
    done
    valkey-cli -p "$PORT" shutdown nosave > /dev/null 2>&1 || true
    wait "$SPID" 2>/dev/null || true
    SPID=
    cp -r "$WORK/gen/appendonlydir" "$WORK/source"
fi
SIZE=$(du -sb "$WORK/source" | cut -f1)
echo "aof_load: $(ls "$WORK/source" | tr '\n' ' ')($SIZE bytes)"

# ------------------------------------------------------------ loading
# Starts server $1 on a fresh copy of the directory and prints the seconds until
# PONG, the seconds the server logged for the load itself and its CPU seconds.
TICK=$(getconf CLK_TCK)
load_once() {
    local s=$1 dir=$WORK/run-$1 t0 t1 logged keys cpu
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$WORK/source" "$dir/appendonlydir"
    sync
    t0=$(now)
    case $s in
        ferrokey) taskset -c "$SERVER_CPU" "$FERROKEY" --port "$PORT" --bind 127.0.0.1 --save "" \
                      --appendonly yes --dir "$dir" > "$dir.log" 2>&1 & ;;
        valkey) taskset -c "$SERVER_CPU" valkey-server --port "$PORT" --bind 127.0.0.1 --save "" \
                    --appendonly yes --aof-use-rdb-preamble no --dir "$dir" > "$dir.log" 2>&1 & ;;
    esac
    SPID=$!
    for _ in $(seq 6000); do
        [ "$(valkey-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
        kill -0 "$SPID" 2>/dev/null || { cat "$dir.log" >&2; die "$s exited"; }
        sleep 0.005
    done
    t1=$(now)
    cpu=$(awk -v tk="$TICK" '{ printf "%.3f", ($14 + $15) / tk }' "/proc/$SPID/stat")
    keys=$(valkey-cli -p "$PORT" dbsize)
    [ "$keys" -ge "$KEYS" ] || die "$s loaded $keys keys, expected $KEYS"
    valkey-cli -p "$PORT" shutdown nosave > /dev/null 2>&1 || kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=
    case $s in
        # "DB loaded from append only file: 0.734 seconds"
        valkey) logged=$(grep -o 'DB loaded from append only file: [0-9.]*' "$dir.log" | awk '{ print $NF }' | tail -n1) ;;
        # ... secs=0.612 ... DB loaded from append only file
        ferrokey) logged=$(grep 'DB loaded from append only file' "$dir.log" | grep -o 'secs="*[0-9.]*' | tr -d 'secs="' | tail -n1) ;;
    esac
    awk -v a="$t0" -v b="$t1" -v l="${logged:-0}" -v c="$cpu" 'BEGIN { printf "%.3f %.3f %.3f\n", b - a, l, c }'
}

SERVERS=(ferrokey valkey)
for round in $(seq "$ROUNDS"); do
    order=("${SERVERS[@]}")
    [ $((round % 2)) -eq 0 ] && order=(valkey ferrokey)
    for s in "${order[@]}"; do
        read -r pong logged cpu < <(load_once "$s")
        echo "$pong" >> "$WORK/pong.$s"
        echo "$logged" >> "$WORK/logged.$s"
        echo "$cpu" >> "$WORK/cpu.$s"
        printf 'aof_load: round %d  %-8s until PONG %6.3f s, logged load %6.3f s, CPU %6.3f s\n' \
            "$round" "$s" "$pong" "$logged" "$cpu"
    done
done

echo
echo "Medians of $ROUNDS rounds, $KEYS keys, both servers on CPU $SERVER_CPU."
printf '%-22s %10s %10s %7s\n' measure ferrokey valkey ratio
for m in pong logged cpu; do
    f=$(median < "$WORK/$m.ferrokey"); v=$(median < "$WORK/$m.valkey")
    case $m in
        pong) label="start -> PONG (s)" ;;
        logged) label="load, as logged (s)" ;;
        cpu) label="CPU until PONG (s)" ;;
    esac
    awk -v l="$label" -v f="$f" -v v="$v" 'BEGIN { printf "%-22s %10.3f %10.3f %6.2fx\n", l, f, v, (f > 0 ? v / f : 0) }'
done
echo "(ratio = Valkey's time / ferrokey's: above 1 means ferrokey loads faster)"
