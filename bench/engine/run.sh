#!/usr/bin/env bash
# bench/engine/run.sh - the task engine against graphile-worker on one
# private PostgreSQL cluster, in one run: 100k no-op tasks drained by the
# engine (2 wf_engine_driver processes x 24 workers) and 100k no-op jobs
# drained by graphile-worker 0.17.3 (2 node processes x 24 concurrency,
# localQueue 500, completeJobBatchDelay 0); then the claim statement's cost
# with 10k vs 1M rows (mostly future run_at) in the table. Prints a table.
#
#   bench/engine/run.sh   (BUILD=dir reuses a Release build dir; N=tasks per drain,
#                          ROUNDS=engine/graphile-worker pairs, default 3)
#
# A drain of 100k lasts about 3 s, so one pair of drains moves by +-25% with
# whatever else the machine does in those seconds: the pairs alternate and
# the median ratio is the result.
set -euo pipefail

usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench-engine}
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
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

# --- the drains: ROUNDS pairs, engine then graphile-worker ---
drain_engine() { # drain_engine ROUND -> ms
  local t0 pids=() i p
  "$DRV" --db "$URL" enqueue --kind noop --count "$N" --no-key >/dev/null
  psql "$URL" -c "VACUUM ANALYZE tasks"
  t0=$(now_ms)
  for i in $(seq 1 $PROCS); do
    "$DRV" --db "$URL" run --until-empty --seconds 300 --workers $CONC --slots 500 \
      >"$OUT/engine-$1-$i.json" 2>"$OUT/engine-$1-$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  echo $(( $(now_ms) - t0 ))
}
drain_gw() { # drain_gw ROUND -> ms
  local t0 pids=() i p
  node "$HERE/gw_bench.js" "$URL" add "$N" >"$OUT/gw-add.log" 2>&1
  psql "$URL" -c "VACUUM ANALYZE graphile_worker._private_jobs"
  t0=$(now_ms)
  for i in $(seq 1 $PROCS); do
    node "$HERE/gw_bench.js" "$URL" work $CONC >"$OUT/gw-$1-$i.json" 2>"$OUT/gw-$1-$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  echo $(( $(now_ms) - t0 ))
}
rounds=()
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r of $ROUNDS: engine, then graphile-worker ..." >&2
  e_ms=$(drain_engine "$r")
  e_left=$(psql "$URL" -c "SELECT count(*) FROM tasks")
  g_ms=$(drain_gw "$r")
  g_left=$(psql "$URL" -c "SELECT count(*) FROM graphile_worker._private_jobs")
  [ "$e_left" = 0 ] && [ "$g_left" = 0 ] ||
    { echo "run.sh: round $r left work behind (engine $e_left, graphile-worker $g_left)" >&2; exit 1; }
  rounds+=("$r $e_ms $g_ms")
done

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

printf '\n%-8s %14s %14s %22s %8s\n' "round" "engine tasks/s" "gw jobs/s" "(no-op, $PROCS procs x $CONC)" "ratio"
ratios=()
for row in "${rounds[@]}"; do
  read -r r e_ms g_ms <<<"$row"
  eps=$(( N * 1000 / e_ms ))
  gps=$(( N * 1000 / g_ms ))
  ratio=$(printf '%.2f' "$(bc -l <<<"$eps / $gps")")
  ratios+=("$ratio")
  printf '%-8s %14d %14d %22s %7sx\n' "$r" "$eps" "$gps" "" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "$(( (${#ratios[@]} + 1) / 2 ))p")
printf '%-61s %7sx\n' "median ratio engine / graphile-worker 0.17.3 (target 1.5x)" "$median"
printf '\n%-44s %12s  %s\n' "claim of 500 (EXPLAIN ANALYZE)" "ms" "buffers"
printf '%-44s %12s  %s\n' "10k due rows" "$(ms_of small)" "$(buf_of small)"
printf '%-44s %12s  %s\n' "$rows rows (10k due, rest future)" "$(ms_of large)" "$(buf_of large)"
nproc_=$(nproc)
printf '\nmachine: %s cores, %s; PostgreSQL 15 with fsync off (scripts/pgcluster --fast)\n' \
  "$nproc_" "$(uname -m)"
