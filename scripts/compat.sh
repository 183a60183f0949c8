#!/usr/bin/env bash
# compat.sh - run the Valkey 8.1.1 TCL suite against a fresh release build of
# ferrokey and hold every unit to the minimum in tests/compat/ratchet.txt.
#
# Usage: scripts/compat.sh [--update] [--no-build] [--units "unit/a unit/b"]
#                          [--against HOST:PORT]
#   --update      after the run, raise each unit's minimum to what passed now
#                 (minimums only ever go up; commit the changed ratchet.txt)
#   --no-build    use the existing release binary
#   --units LIST  run only these units (must be listed in the ratchet)
#   --against H:P run against an already running server instead of starting
#                 ferrokey (e.g. valkey-server, to calibrate timings); implies
#                 --no-build
#
# Each unit gets its own freshly started server, so a crash or leftover state
# in one unit cannot lower the counts of the next, and a unit's count does not
# depend on the order of the ratchet file.
#
# run-compat.sh exits 1 whenever any test fails, which is the normal state
# while command families are still landing: only its table is used here. It
# exits 2 on setup errors (no tclsh, suite not obtainable); that fails this
# script too, because a ratchet of zeros would otherwise pass silently.
#
# Environment (all optional):
#   COMPAT_UNIT_TIMEOUT      per-unit wall clock limit, s (default 300)
#   COMPAT_PROGRESS_TIMEOUT  abort a unit after N s without test progress (45: the
#                            longest stress tests run over 20 s on a loaded 2-core box)
#   COMPAT_HANG_RETRIES      re-runs of a unit that hung in a test (2)
#   COMPAT_BUDGET            wall clock for all units, s (default 1500); units
#                            left when it runs out are reported as not run
#   COMPAT_PORT              first port to try for the server (21111)
#   COMPAT_OUT               where logs go (default target/compat-runs/<time>-<pid>)
#   COMPAT_RUNNER            path of run-compat.sh (default ../shared/compat/)
# Other COMPAT_* variables are passed through to run-compat.sh unchanged.
#
# Exit: 0 every unit at or above its minimum, 1 some unit below, 2 setup error.

set -euo pipefail

die() { echo "compat: $*" >&2; exit 2; }

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) \
    || ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATCHET=$ROOT/tests/compat/ratchet.txt
RUNNER=${COMPAT_RUNNER:-$ROOT/../shared/compat/run-compat.sh}

UPDATE=0
BUILD=1
ONLY=""
AGAINST=""
while [ $# -gt 0 ]; do
    case $1 in
        --update) UPDATE=1 ;;
        --no-build) BUILD=0 ;;
        --units) [ $# -ge 2 ] || die "--units needs a list"; ONLY=$2; shift ;;
        --against) [ $# -ge 2 ] || die "--against needs HOST:PORT"; AGAINST=$2; BUILD=0; shift ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

[ -f "$RUNNER" ] || die "run-compat.sh not found at $RUNNER (set COMPAT_RUNNER)"
[ -f "$RATCHET" ] || die "no ratchet file at $RATCHET"

export COMPAT_UNIT_TIMEOUT=${COMPAT_UNIT_TIMEOUT:-300}
export COMPAT_PROGRESS_TIMEOUT=${COMPAT_PROGRESS_TIMEOUT:-45}
export COMPAT_HANG_RETRIES=${COMPAT_HANG_RETRIES:-2}
BUDGET=${COMPAT_BUDGET:-1500}

# ------------------------------------------------------------ the ratchet
declare -A MIN
UNITS=()
while read -r unit min _; do
    case $unit in ''|'#'*) continue ;; esac
    case $min in ''|*[!0-9]*) die "ratchet line for $unit has no numeric minimum" ;; esac
    MIN[$unit]=$min
    UNITS+=("$unit")
done < "$RATCHET"
[ ${#UNITS[@]} -gt 0 ] || die "ratchet file lists no units"
if [ -n "$ONLY" ]; then
    for u in $ONLY; do [ -n "${MIN[$u]+x}" ] || die "$u is not in $RATCHET"; done
    read -r -a UNITS <<< "$ONLY"
fi

# ------------------------------------------------------------ the binary
BIN=""
if [ -z "$AGAINST" ]; then
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4) || true
    [ -n "$TARGET_DIR" ] || TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    BIN=$TARGET_DIR/release/ferrokey
    if [ "$BUILD" = 1 ]; then
        echo "compat: cargo build --release"
        (cd "$ROOT" && cargo build --release --quiet --bin ferrokey) || die "release build failed"
    fi
    [ -x "$BIN" ] || die "no release binary at $BIN (build it or drop --no-build)"
fi

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${COMPAT_OUT:-$ROOT/target/compat-runs/$STAMP-$$}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "compat: logs in $OUT"

# ------------------------------------------------------------ the server
SERVER_PID=""
HOST=127.0.0.1
PORT=${COMPAT_PORT:-21111}

listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT
# so an interrupted run (Ctrl-C, CI timeout) still stops its server
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts ferrokey on the first free port from $PORT; the port stays the same
# across units unless something else grabbed it meanwhile.
start_server() {
    local log=$1 dir=$2 p tries
    mkdir -p "$dir"
    for tries in $(seq 20); do
        p=$((PORT + tries - 1))
        listening "$p" && continue
        "$BIN" --port "$p" --bind "$HOST" --save "" --appendonly no --dir "$dir" \
            > "$log" 2>&1 < /dev/null &
        SERVER_PID=$!
        for _ in $(seq 100); do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
            if listening "$p"; then PORT=$p; return 0; fi
            sleep 0.05
        done
        stop_server
    done
    die "could not start ferrokey (see $log)"
}

# runtest's own choice of its control port (21079-21110) can pick a port that
# another run on this machine holds on 127.0.0.1 (its check binds the IPv6
# wildcard too and succeeds), and the unit then aborts; a free port from a
# wider range, checked per unit, avoids that
harness_port() {
    local p
    for _ in $(seq 100); do
        p=$((22000 + RANDOM % 8000))
        listening "$p" || { echo "$p"; return 0; }
    done
    die "no free port for the test harness"
}

if [ -n "$AGAINST" ]; then
    HOST=${AGAINST%:*}
    PORT=${AGAINST##*:}
    listening "$PORT" || die "nothing listens on $AGAINST"
fi

# ------------------------------------------------------------ run the units
declare -A PASSED FAILED SKIPPED NOTRUN SECS STATUS
START=$(date +%s)
for unit in "${UNITS[@]}"; do
    left=$((BUDGET - ($(date +%s) - START)))
    if [ "$left" -le 10 ]; then
        PASSED[$unit]=0; FAILED[$unit]=0; SKIPPED[$unit]=0; NOTRUN[$unit]=0; SECS[$unit]=0
        STATUS[$unit]="NOT RUN: COMPAT_BUDGET=${BUDGET}s used up"
        continue
    fi
    tag=${unit//\//_}
    if [ -z "$AGAINST" ]; then
        start_server "$OUT/$tag.server.log" "$OUT/$tag.data"
    fi
    # a unit that hangs and is retried could outlast the budget; the outer
    # timeout keeps the promise of COMPAT_BUDGET
    rc=0
    hp=${COMPAT_HARNESS_PORT:-$(harness_port)}
    COMPAT_UNITS=$unit COMPAT_LOG_DIR=$OUT COMPAT_HARNESS_PORT=$hp \
        timeout -k 10 "$left" bash "$RUNNER" "$HOST" "$PORT" > "$OUT/$tag.table" 2>&1 < /dev/null || rc=$?
    crashed=""
    if [ -z "$AGAINST" ]; then
        kill -0 "$SERVER_PID" 2>/dev/null || crashed=" (server died: see $tag.server.log)"
        stop_server
        rm -rf "$OUT/$tag.data"
    fi
    [ "$rc" -eq 2 ] && { cat "$OUT/$tag.table" >&2; die "run-compat.sh setup error on $unit"; }
    row=$(awk -v u="$unit" '$1 == u && NF >= 7 { print; exit }' "$OUT/$tag.table")
    if [ -z "$row" ]; then
        PASSED[$unit]=0; FAILED[$unit]=0; SKIPPED[$unit]=0; NOTRUN[$unit]=0
        SECS[$unit]=$(( $(date +%s) - START ))
        STATUS[$unit]="NO RESULT (rc=$rc, see $tag.table)$crashed"
    else
        read -r _ p f s n secs status <<< "$row"
        PASSED[$unit]=$p; FAILED[$unit]=$f; SKIPPED[$unit]=$s; NOTRUN[$unit]=$n
        SECS[$unit]=$secs; STATUS[$unit]="$status$crashed"
    fi
    printf 'compat: %-22s passed=%-4s failed=%-4s notrun=%-4s %6ss  %s\n' "$unit" \
        "${PASSED[$unit]}" "${FAILED[$unit]}" "${NOTRUN[$unit]}" "${SECS[$unit]}" "${STATUS[$unit]}"
done
TOTAL_SECS=$(( $(date +%s) - START ))

# ------------------------------------------------------------ verdict
below=0; ok=0; tp=0; tf=0; tn=0; raise=0
echo
printf '%-22s %5s %6s %6s %7s %6s %7s  %s\n' unit min passed failed skipped notrun seconds verdict
for unit in "${UNITS[@]}"; do
    p=${PASSED[$unit]}; m=${MIN[$unit]}
    if [ "$p" -lt "$m" ]; then
        verdict="BELOW MINIMUM by $((m - p))"; below=$((below + 1))
    else
        verdict=ok; ok=$((ok + 1))
        [ "$p" -gt "$m" ] && { verdict="ok (+$((p - m)))"; raise=$((raise + 1)); }
    fi
    tp=$((tp + p)); tf=$((tf + ${FAILED[$unit]})); tn=$((tn + ${NOTRUN[$unit]}))
    printf '%-22s %5d %6d %6d %7d %6d %7s  %s  [%s]\n' "$unit" "$m" "$p" "${FAILED[$unit]}" \
        "${SKIPPED[$unit]}" "${NOTRUN[$unit]}" "${SECS[$unit]}" "$verdict" "${STATUS[$unit]:0:60}"
done
printf '%-22s %5s %6d %6d %7s %6d %7d\n' TOTAL "" "$tp" "$tf" "" "$tn" "$TOTAL_SECS"
echo "(failed includes hung tests; notrun = tests never reached because a unit aborted; logs: $OUT)"

if [ "$UPDATE" = 1 ]; then
    tmp=$(mktemp "$RATCHET.XXXXXX")
    changed=0
    while IFS= read -r line; do
        unit=""; min=0
        read -r unit min _ <<< "$line" || true
        if [ -n "$unit" ] && [ "${unit:0:1}" != "#" ] && [ -n "${PASSED[$unit]+x}" ] \
            && [ "${PASSED[$unit]}" -gt "$min" ]; then
            printf '%s %d\n' "$unit" "${PASSED[$unit]}" >> "$tmp"
            echo "compat: ratchet $unit $min -> ${PASSED[$unit]}"
            changed=$((changed + 1))
        else
            printf '%s\n' "$line" >> "$tmp"
        fi
    done < "$RATCHET"
    chmod 644 "$tmp"
    mv "$tmp" "$RATCHET"
    echo "compat: raised $changed minimum(s) in $RATCHET"
elif [ "$raise" -gt 0 ]; then
    echo "compat: $raise unit(s) pass more than their minimum: scripts/compat.sh --update raises the ratchet"
fi
[ "$below" -gt 0 ] && echo "compat: $below unit(s) fell below the ratchet minimum"
echo "ratchet: $ok passed, $below failed"
[ "$below" -eq 0 ]
