#!/usr/bin/env bash
# bench/engine/run.sh - the task engine against graphile-worker on one
# private PostgreSQL cluster, in one run: 100k no-op tasks drained by the
# engine (2 wf_engine_driver processes x 24 workers) and 100k no-op jobs
# drained by graphile-worker 0.17.3 (2 node processes x 24 concurrency,
# localQueue 500, completeJobBatchDelay 0); then the claim statement's cost
# with 10k vs 1M rows (mostly future run_at) in the table. Prints a table.
#
#   bench/engine/run.sh            (BUILD=dir to reuse a Release build dir; N=tasks)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench-engine}
N=${N:-100000}
PROCS=2
CONC=24
PG_DIR=/var/tmp/dropship-bench-engine
OUT=$HERE/results
mkdir -p "$OUT"

cleanup() { bash "$SRC/scripts/pgcluster" destroy "$PG_DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "building (Release) in $BUILD ..." >&2
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$OUT/cmake.log" 2>&1
cmake --build "$BUILD" -j2 --target wf_engine_driver dropshipd >>"$OUT/cmake.log" 2>&1
DRV=$BUILD/tests/engine/wf_engine_driver
DSD=$BUILD/server/daemon/dropshipd

if [ ! -d "$HERE/node_modules/graphile-worker" ]; then
  echo "installing graphile-worker into $HERE/node_modules ..." >&2
  (cd "$HERE" && npm install --no-audit --no-fund >"$OUT/npm.log" 2>&1)
fi

bash "$SRC/scripts/pgcluster" fresh "$PG_DIR" >/dev/null
BASE=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" postgres)
psql -X -q "$BASE" -c "CREATE DATABASE bench"
URL=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" bench)
psql() { command psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

"$DSD" migrate --database-url "$URL" >"$OUT/migrate.log" 2>&1
"$DRV" --db "$URL" setup
node "$HERE/gw_bench.js" "$URL" migrate >"$OUT/gw-migrate.log" 2>&1

now_ms() { date +%s%3N; }

# --- the engine ---
"$DRV" --db "$URL" enqueue --kind noop --count "$N" --no-key >/dev/null
psql "$URL" -c "VACUUM ANALYZE tasks"
t0=$(now_ms)
pids=()
for i in $(seq 1 $PROCS); do
  "$DRV" --db "$URL" run --until-empty --seconds 300 --workers $CONC --slots 500 \
    >"$OUT/engine-$i.json" 2>"$OUT/engine-$i.log" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
engine_ms=$(( $(now_ms) - t0 ))
engine_left=$(psql "$URL" -c "SELECT count(*) FROM tasks")

# --- graphile-worker ---
node "$HERE/gw_bench.js" "$URL" add "$N" >"$OUT/gw-add.log" 2>&1
psql "$URL" -c "VACUUM ANALYZE graphile_worker._private_jobs"
t0=$(now_ms)
pids=()
for i in $(seq 1 $PROCS); do
  node "$HERE/gw_bench.js" "$URL" work $CONC >"$OUT/gw-$i.json" 2>"$OUT/gw-$i.log" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
gw_ms=$(( $(now_ms) - t0 ))
gw_left=$(psql "$URL" -c "SELECT count(*) FROM graphile_worker._private_jobs")

# --- claim cost, 10k vs 1M rows ---
explain() { psql "$URL" -f "$HERE/claim_explain.sql" >"$OUT/explain-$1.txt"; }
ms_of() { sed -nE 's/.*Execution Time: ([0-9.]+) ms.*/\1/p' "$OUT/explain-$1.txt"; }
buf_of() { grep -m1 -oE 'Buffers: .*' "$OUT/explain-$1.txt" | sed 's/^Buffers: //'; }
psql "$URL" -c "DELETE FROM tasks"
"$DRV" --db "$URL" enqueue --kind noop --count 10000 --no-key >/dev/null
psql "$URL" -c "VACUUM ANALYZE tasks"
explain small
"$DRV" --db "$URL" enqueue --kind noop --count 990000 --no-key --delay-ms 86400000 >/dev/null
psql "$URL" -c "VACUUM ANALYZE tasks"
explain large
rows=$(psql "$URL" -c "SELECT count(*) FROM tasks")

eps=$(( N * 1000 / engine_ms ))
gps=$(( N * 1000 / gw_ms ))
printf '\n%-44s %12s %12s\n' "no-op tasks, $PROCS procs x $CONC" "seconds" "tasks/s"
printf '%-44s %12.2f %12d\n' "dropship task engine (left: $engine_left)" "$(bc -l <<<"$engine_ms/1000")" "$eps"
printf '%-44s %12.2f %12d\n' "graphile-worker 0.17.3 (left: $gw_left)" "$(bc -l <<<"$gw_ms/1000")" "$gps"
printf '%-44s %25.2fx\n' "ratio engine / graphile-worker" "$(bc -l <<<"$eps/$gps")"
printf '\n%-44s %12s  %s\n' "claim of 500 (EXPLAIN ANALYZE)" "ms" "buffers"
printf '%-44s %12s  %s\n' "10k due rows" "$(ms_of small)" "$(buf_of small)"
printf '%-44s %12s  %s\n' "$rows rows (10k due, rest future)" "$(ms_of large)" "$(buf_of large)"
nproc_=$(nproc)
printf '\nmachine: %s cores, %s; PostgreSQL 15 with fsync off (scripts/pgcluster --fast)\n' \
  "$nproc_" "$(uname -m)"
