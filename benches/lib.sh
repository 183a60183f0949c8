# lib.sh - what the benchmark scripts beside Valkey share: sourced, not run.
#
# The caller defines `die` (its own message prefix), `WORK` (a scratch directory)
# and the associative array `PID` (server name -> pid); everything started is
# recorded there so that `cleanup` stops it on any exit.

cleanup() {
    for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The first port from $1 on that nobody listens on.
free_port() {
    local p
    for p in $(seq "$1" $(($1 + 200))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    die "no free port near $1"
}

# Waits until the server `name` answers PING on `port`; shows its log and dies if not.
wait_ready() {
    local name=$1 port=$2
    for _ in $(seq 100); do
        [ "$(valkey-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    die "$name did not start"
}

stop() {
    kill "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" 2>/dev/null || true
    unset "PID[$1]"
}

# A process's CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
