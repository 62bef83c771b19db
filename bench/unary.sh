#!/usr/bin/env bash
# unary.sh - unary gRPC benchmark: dropshipd against the C++ greeter, same run, same load.
#
# Builds what it needs, starts a private PostgreSQL (scripts/pgcluster, temp dir),
# migrates it, creates a shop + API key (+ one order for GetOrder), then
# measures one server at a time with h2load:
#   greeter    helloworld.Greeter/SayHello        (C++ sync server, bench/greeter_server.cc)
#   dropshipd  grpc.health.v1.Health/Check
#   dropshipd  dropship.v1.OrderService/GetOrder  (a database read, bearer key)
# Each measurement: probe with a real client (must be OK), h2load warm-up,
# a fixed request count sized to last about -d seconds, probe again.
# Prints a Markdown table and the ratio dropshipd/greeter; cleans up on exit.
# See docs/benchmarks.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/unary.sh [options]
  -c N      h2load connections (default 16)
  -m N      h2load max concurrent streams per connection (default 32)
  -t N      h2load threads (default 1)
  -w SECS   warm-up per measurement (default 3)
  -d SECS   measured run length, as a request count from the warm-up rate (default 10)
  -r N      rounds: each round measures every target again, one server at a time (default 1)
  -p MODE   CPU placement, same for every server: none (default) or split
            (h2load on CPU 0, server on CPU 1)
  -n NICE   run servers and h2load at this nice level, e.g. -10 to keep
            other work on a shared machine out of the way (default 0)
  -P        perf record dropshipd during its measured runs (report in the output dir)
  -o DIR    keep raw h2load output, logs and results.md in DIR
  -h        this help
environment: BENCH_BUILD_DIR (project build dir, default <source>/build),
  BENCH_DROPSHIPD (use this binary, do not build), BENCH_DROPSHIPD_ARGS
  (extra serve flags), DS_PG_BIN (default /usr/lib/postgresql/15/bin)
EOF
}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$SRC/build}
PEER_BUILD=$BUILD/bench
PG_BIN=${DS_PG_BIN:-/usr/lib/postgresql/15/bin}
PY=/usr/bin/python3
CONNS=16 STREAMS=32 THREADS=1 WARMUP=3 DURATION=10 ROUNDS=1 PIN=none NICE=0 PERF=0 OUT=""

while getopts "c:m:t:w:d:r:p:n:Po:h" opt; do
    case $opt in
    c) CONNS=$OPTARG ;;
    m) STREAMS=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    d) DURATION=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    p) PIN=$OPTARG ;;
    n) NICE=$OPTARG ;;
    P) PERF=1 ;;
    o) OUT=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$CONNS" "$STREAMS" "$THREADS" "$WARMUP" "$DURATION" "$ROUNDS"; do
    [[ $v =~ ^[1-9][0-9]{0,5}$ ]] || { echo "unary.sh: bad number '$v'" >&2; exit 2; }
done
[[ $NICE =~ ^-?[0-9]{1,2}$ ]] || { echo "unary.sh: bad nice level '$NICE'" >&2; exit 2; }
case $PIN in
none) PIN_LOAD=(nice -n "$NICE") PIN_SRV=(nice -n "$NICE") ;;
split) PIN_LOAD=(nice -n "$NICE" taskset -c 0) PIN_SRV=(nice -n "$NICE" taskset -c 1) ;;
*) echo "unary.sh: -p must be none or split" >&2; exit 2 ;;
esac

log() { echo "unary.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- cleanup --
TMP=$(mktemp -d /tmp/dsbench.XXXXXX)
chmod 755 "$TMP"
PIDS=()      # servers started by this script
PG_UP=0

# shellcheck disable=SC2317 # called by trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $PG_UP == 1 ]]; then
        "$PGC" destroy "$TMP/pg" >/dev/null 2>&1 || true
    fi
    if [[ -n $OUT ]]; then
        mkdir -p "$OUT" && cp -r "$TMP"/run "$TMP"/*.log "$TMP"/results.md "$OUT"/ 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$TMP/run"

# ------------------------------------------------------------------ build --
for tool in h2load cmake taskset; do
    command -v $tool >/dev/null || die "$tool not found (Debian: nghttp2-client, cmake, util-linux)"
done
[[ -x $PY ]] && $PY -c 'import grpc' 2>/dev/null || die "$PY with grpcio (python3-grpcio) is needed"

build_peer() {
    if [[ ! -f $PEER_BUILD/CMakeCache.txt ]]; then
        cmake -S "$SRC/bench" -B "$PEER_BUILD" -DCMAKE_BUILD_TYPE=Release >"$TMP/build-peer.log" 2>&1 ||
            { cat "$TMP/build-peer.log" >&2; die "configuring bench/ failed"; }
    fi
    cmake --build "$PEER_BUILD" -j"$(nproc)" >>"$TMP/build-peer.log" 2>&1 ||
        { tail -30 "$TMP/build-peer.log" >&2; die "building greeter_server failed"; }
    GREETER=$PEER_BUILD/greeter_server
}

# Sets DROPSHIPD (path or empty) and DROPSHIPD_WHY (reason when empty).
build_dropshipd() {
    DROPSHIPD=${BENCH_DROPSHIPD:-} DROPSHIPD_WHY=""
    [[ -n $DROPSHIPD ]] && return 0
    local bin=$BUILD/server/daemon/dropshipd
    # Configure every time: a target added since the last configure is
    # otherwise unknown to the generated makefiles.
    local type=()
    [[ -f $BUILD/CMakeCache.txt ]] || type=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
    cmake -S "$SRC" -B "$BUILD" "${type[@]}" >"$TMP/build-dropshipd.log" 2>&1 || true
    if cmake --build "$BUILD" -j"$(nproc)" --target dropshipd >>"$TMP/build-dropshipd.log" 2>&1; then
        DROPSHIPD=$bin
    elif [[ -x $bin ]]; then
        log "building dropshipd failed; measuring the existing $bin"
        DROPSHIPD=$bin
    else
        DROPSHIPD_WHY="build failed, see build-dropshipd.log"
        log "dropshipd: $DROPSHIPD_WHY"
        return 0
    fi
    if grep -qE '^CMAKE_BUILD_TYPE:STRING=Debug|^DROPSHIP_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
        log "warning: $BUILD is a Debug or sanitizer build; numbers will be low"
    fi
}

# ------------------------------------------------------------- PostgreSQL --
# The cluster comes from scripts/pgcluster (unix socket only, fsync off: it
# only holds the fixture).
pg_start() {
    PGC=$SRC/scripts/pgcluster
    PG_UP=1
    "$PGC" fresh "$TMP/pg" >"$TMP/pg.log" 2>&1 || { cat "$TMP/pg.log" >&2; die "PostgreSQL did not start"; }
    "$PG_BIN/psql" -X -qAt -d "$("$PGC" url "$TMP/pg" postgres)" -c "CREATE DATABASE dropship_bench" \
        >/dev/null || die "CREATE DATABASE failed"
    DB_URL=$("$PGC" url "$TMP/pg" dropship_bench)
}

# Migrates and creates the shop + key. Sets KEY, or DROPSHIPD_WHY.
db_setup() {
    local shop
    export DROPSHIP_DATABASE_URL=$DB_URL # settings go by environment (contracts.md)
    if ! "$DROPSHIPD" migrate >"$TMP/migrate.log" 2>&1; then
        DROPSHIPD_WHY="migrate failed, see migrate.log"
        return 0
    fi
    shop=$("$DROPSHIPD" admin create-shop bench-shop 2>>"$TMP/migrate.log") &&
        KEY=$("$DROPSHIPD" admin create-api-key "$shop" 2>>"$TMP/migrate.log") ||
        { DROPSHIPD_WHY="admin create-shop/create-api-key failed, see migrate.log"; return 0; }
    [[ $KEY == dsk_* ]] || DROPSHIPD_WHY="create-api-key printed no key"
}

# ---------------------------------------------------------------- servers --
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME CMD... : runs CMD (placed per -p) with $PORT set, sets SRV_PID.
start_server() {
    local name=$1; shift
    "${PIN_SRV[@]}" "$@" >>"$TMP/$name.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
}

# stop_server PID : SIGTERM, wait up to 15 s, then SIGKILL. Sets SRV_RC.
stop_server() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    SRV_RC=0
    wait "$pid" 2>/dev/null || SRV_RC=$?
    local keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# ------------------------------------------------------------ measurement --
# Request bodies: 5-byte gRPC prefix (flag 0, big-endian length) + message.
printf '\x00\x00\x00\x00\x07\x0a\x05world' >"$TMP/hello.bin" # HelloRequest{name:"world"}
printf '\x00\x00\x00\x00\x00' >"$TMP/health.bin"               # HealthCheckRequest{service:""}
HELLO_REPLY=0a0b48656c6c6f20776f726c64 # HelloReply{message:"Hello world"}
HEALTH_REPLY=0801                      # HealthCheckResponse{status:SERVING}

RESULTS=$TMP/results.tsv
: >"$RESULTS"

# row ROUND TARGET METHOD FIELDS... : append one result line.
row() { (IFS=$'\t'; echo "$*") >>"$RESULTS"; }

# cpu_ticks [PID] : "<machine busy> <machine total> <PID's user+system>" in
# clock ticks (USER_HZ). Busy includes steal time (the VM's neighbours).
cpu_ticks() {
    local proc=0
    [[ -n ${1:-} && -r /proc/$1/stat ]] && proc=$(awk '{print $14 + $15}' "/proc/$1/stat")
    awk -v p="$proc" '/^cpu /{t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t, p}' /proc/stat
}

# others_pct BEFORE AFTER LOAD_SECS : CPU share of the machine used by
# neither the server nor h2load during the run, in percent.
others_pct() {
    local hz
    hz=$(getconf CLK_TCK)
    awk -v b="$1" -v a="$2" -v l="$3" -v hz="$hz" 'BEGIN {
        split(b, x, " "); split(a, y, " ");
        busy = y[1] - x[1]; total = y[2] - x[2]; srv = y[3] - x[3];
        o = total > 0 ? 100 * (busy - srv - l * hz) / total : 0;
        printf "%.0f", o < 0 ? 0 : o }'
}

h2load_cmd() {
    local url=$1 body=$2; shift 2
    local hdr=(-H "content-type: application/grpc" -H "te: trailers")
    [[ -n ${AUTH:-} ]] && hdr+=(-H "authorization: Bearer $AUTH")
    timeout $((WARMUP + DURATION * 10 + 60)) \
        "${PIN_LOAD[@]}" h2load -c "$CONNS" -m "$STREAMS" -t "$THREADS" -d "$body" "${hdr[@]}" "$@" "$url"
}

# measure ROUND TARGET ADDR METHOD BODY EXPECT_HEX SERVER_PID
# AUTH (global) is the bearer key or empty. -P profiles dropshipd only.
measure() {
    local round=$1 target=$2 addr=$3 method=$4 body=$5 expect=$6 srv_pid=$7
    local tag="r$round-$target-${method##*/}" st n rps stats perf="" before others
    local auth_args=()
    [[ -n ${AUTH:-} ]] && auth_args=(--auth "$AUTH")
    st=$($PY "$SRC/bench/probe.py" "$addr" "$method" "$body" --expect-hex "$expect" "${auth_args[@]}") ||
        { row "$round" "$target" "$method" "not available ($st)"; log "$target $method: $st"; return 0; }
    log "round $round: $target $method: warm-up ${WARMUP}s"
    h2load_cmd "http://$addr$method" "$body" -D "$WARMUP" >"$TMP/run/$tag.warmup.txt" 2>&1 || true
    rps=$(sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p' "$TMP/run/$tag.warmup.txt")
    n=$($PY -c "import sys; print(min(2000000, max(2000, int(float(sys.argv[1] or 0) * $DURATION))))" "${rps:-0}")
    log "round $round: $target $method: $n requests (~${DURATION}s at ${rps:-?} req/s)"
    if [[ $PERF == 1 && $target == dropshipd ]] && command -v perf >/dev/null; then
        perf record -F 999 -g -p "$srv_pid" -o "$TMP/run/$tag.perf.data" >/dev/null 2>&1 &
        perf=$!
    fi
    before=$(cpu_ticks "$srv_pid")
    TIMEFORMAT="%3U %3S"
    { time h2load_cmd "http://$addr$method" "$body" -n "$n" --log-file="$TMP/run/$tag.log.tsv" \
        >"$TMP/run/$tag.txt" 2>&1 || log "$target $method: h2load exited with an error"; } \
        2>"$TMP/run/$tag.time"
    others=$(others_pct "$before" "$(cpu_ticks "$srv_pid")" "$(awk 'NF == 2 && $1 + 0 == $1 {s = $1 + $2} END {print s + 0}' "$TMP/run/$tag.time")")
    if [[ -n $perf ]]; then
        kill -INT "$perf" 2>/dev/null; wait "$perf" 2>/dev/null || true
        perf report -i "$TMP/run/$tag.perf.data" --no-children --percent-limit 0.5 --stdio \
            >"$TMP/run/$tag.perf.txt" 2>/dev/null || true
    fi
    stats=$($PY "$SRC/bench/h2stats.py" "$TMP/run/$tag.txt" "$TMP/run/$tag.log.tsv" $((5 + ${#expect} / 2))) ||
        stats=$'0\t0\t0\t0\tnan\tnan\tnan\th2load output unreadable'
    [[ -z $perf ]] || stats="${stats%	*}	profiled with perf (not comparable)"
    st=$($PY "$SRC/bench/probe.py" "$addr" "$method" "$body" --expect-hex "$expect" "${auth_args[@]}") ||
        stats="${stats%	*}	probe after the run: $st"
    row "$round" "$target" "$method" "$stats" "$others"
}

# seed_getorder ADDR : creates one order through the API and prepares the
# GetOrder body. Sets GETORDER_HEX (the reply to expect) or GETORDER_WHY.
seed_getorder() {
    local addr=$1 out i prev=""
    GETORDER_HEX="" GETORDER_WHY=""
    out=$(PYTHONPATH="$BUILD/gen-py" $PY "$SRC/bench/seed_order.py" "$addr" "$KEY" "$TMP/getorder.bin" \
        "$SRC/proto" "$TMP" 2>&1) ||
        { GETORDER_WHY=$(echo "$out" | tail -1); return 0; }
    # The order's workflow may still move it on: wait until two reads agree.
    for ((i = 0; i < 50; i++)); do
        out=$($PY "$SRC/bench/probe.py" "$addr" "$GETORDER" "$TMP/getorder.bin" --auth "$KEY" \
            --out "$TMP/getorder.reply") || { GETORDER_WHY=$out; return 0; }
        GETORDER_HEX=$(od -An -v -tx1 "$TMP/getorder.reply" | tr -d ' \n')
        [[ $GETORDER_HEX == "$prev" ]] && return 0
        prev=$GETORDER_HEX
        sleep 0.3
    done
    GETORDER_WHY="the order kept changing" GETORDER_HEX=""
}

# round_greeter ROUND
round_greeter() {
    local port st
    port=$(free_port)
    start_server greeter "$GREETER" "$port"
    if st=$($PY "$SRC/bench/probe.py" "127.0.0.1:$port" "$HELLO" "$TMP/hello.bin" --wait 20); then
        AUTH="" measure "$1" greeter "127.0.0.1:$port" "$HELLO" "$TMP/hello.bin" "$HELLO_REPLY" "$SRV_PID"
    else
        row "$1" greeter "$HELLO" "not available ($st)"
    fi
    stop_server "$SRV_PID"
}

# round_dropshipd ROUND
round_dropshipd() {
    local port st
    if [[ -z $DROPSHIPD || -n $DROPSHIPD_WHY ]]; then
        row "$1" dropshipd "$HEALTH" "not available ($DROPSHIPD_WHY)"
        row "$1" dropshipd "$GETORDER" "not available ($DROPSHIPD_WHY)"
        return 0
    fi
    port=$(free_port)
    # shellcheck disable=SC2086 # BENCH_DROPSHIPD_ARGS is a list of flags
    start_server dropshipd env DROPSHIP_LISTEN="127.0.0.1:$port" "$DROPSHIPD" serve ${BENCH_DROPSHIPD_ARGS:-}
    if ! st=$($PY "$SRC/bench/probe.py" "127.0.0.1:$port" "$HEALTH" "$TMP/health.bin" --wait 20); then
        kill -0 "$SRV_PID" 2>/dev/null || st="dropshipd exited: $(tail -1 "$TMP/dropshipd.log")"
        row "$1" dropshipd "$HEALTH" "not available ($st)"
        row "$1" dropshipd "$GETORDER" "not available (server not ready)"
        stop_server "$SRV_PID"
        return 0
    fi
    AUTH="" measure "$1" dropshipd "127.0.0.1:$port" "$HEALTH" "$TMP/health.bin" "$HEALTH_REPLY" "$SRV_PID"
    [[ $1 == 1 ]] && seed_getorder "127.0.0.1:$port"
    if [[ -n $GETORDER_HEX ]]; then
        AUTH=$KEY measure "$1" dropshipd "127.0.0.1:$port" "$GETORDER" "$TMP/getorder.bin" \
            "$GETORDER_HEX" "$SRV_PID"
    else
        row "$1" dropshipd "$GETORDER" "not available ($GETORDER_WHY)"
    fi
    stop_server "$SRV_PID"
    [[ $SRV_RC == 0 ]] || log "dropshipd exited with $SRV_RC after SIGTERM (want 0), see dropshipd.log"
}

# ------------------------------------------------------------------- main --
HELLO=/helloworld.Greeter/SayHello
HEALTH=/grpc.health.v1.Health/Check
GETORDER=/dropship.v1.OrderService/GetOrder
KEY="" GETORDER_HEX="" GETORDER_WHY="not seeded"

log "building the greeter (bench/) and dropshipd ($BUILD)"
build_peer
build_dropshipd
if [[ -n $DROPSHIPD && -z $DROPSHIPD_WHY ]]; then
    pg_start
    db_setup
    [[ -z $DROPSHIPD_WHY ]] || log "dropshipd: $DROPSHIPD_WHY"
fi

# How busy the machine is without us (builds, other tests): the numbers of
# a busy machine are low and noisy.
IDLE_BEFORE=$($PY -c '
import time
def snap():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v), v[3] + v[4]
t0, i0 = snap(); time.sleep(1); t1, i1 = snap()
print(f"{100.0 * (1 - (i1 - i0) / max(1, t1 - t0)):.0f}%")')

for ((r = 1; r <= ROUNDS; r++)); do
    round_greeter "$r"
    round_dropshipd "$r"
done

{
    echo "## Unary benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
        "kernel $(uname -r); load and servers share the cores"
    echo "- CPU busy before the run (other processes, 1 s sample): $IDLE_BEFORE"
    echo "- load: $(h2load --version | head -1), -c $CONNS -m $STREAMS -t $THREADS," \
        "${WARMUP}s warm-up, ~${DURATION}s measured per row, CPU placement: $PIN, nice: $NICE, rounds: $ROUNDS"
    echo "- dropshipd: ${DROPSHIPD:-none} ${BENCH_DROPSHIPD_ARGS:-}"
    echo
    $PY "$SRC/bench/report.py" "$RESULTS"
} | tee "$TMP/results.md"
exit 0
