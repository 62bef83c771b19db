#!/usr/bin/env bash
# bench/workflow/run.sh - the order workflow end to end against the commit
# ceiling of the same PostgreSQL: N orders created over gRPC and driven to
# COMPLETED by dropshipd (workflow on, dropship-sim as supplier and courier),
# then pgbench -N on the same private cluster, then the floor (a transition's
# bookkeeping alone, as pgbench scripts: floor_*.sql), then the claim
# statement's cost with 10k vs 1M not-due rows. Prints one Markdown table;
# raw output goes to bench/workflow/results/.
#
#   bench/workflow/run.sh [-n ORDERS] [-w WORKERS] [-W WARMUP] [-h]
#     -n ORDERS   orders to create and complete (default 2000)
#     -w WORKERS  --workflow-workers of dropshipd (default 8 x nproc)
#     -W WARMUP   orders completed before the measurement, then ANALYZE
#                 (default 200; 0 measures a database without statistics)
#   BUILD=dir reuses another Release build dir (default build-bench-workflow)
#   SETUP_SQL=file runs that SQL on the workflow's database after the
#     migrations, for what-if runs (bench/workflow/drop_checks.sql: every
#     CHECK constraint dropped); the table says which file ran
#   PROFILE=1 also loads pg_stat_statements (planning tracked) and writes
#     the run's statements with calls per order to results/statements.txt
#     (most called first, then most execution time first), then the indexes
#     by entries read, then the PL/pgSQL functions (the triggers) by time
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$SRC/build-bench-workflow}
PROFILE=${PROFILE:-0}
SETUP_SQL=${SETUP_SQL:-}
N=2000
CORES=$(nproc)
WORKERS=$((8 * CORES))
WARMUP=200
SCALE=100000000
PGBENCH_S=20
WAIT_LIMIT_S=240 # give up when orders stop completing for this long
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=/var/tmp/dropship-bench-workflow
OUT=$HERE/results
TOKEN=bench-sim-token

usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
while getopts "n:w:W:h" opt; do
  case $opt in
    n) N=$OPTARG ;;
    w) WORKERS=$OPTARG ;;
    W) WARMUP=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -n needs a positive number" >&2; exit 2; }
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -w needs a positive number" >&2; exit 2; }
[[ $WARMUP =~ ^(0|[1-9][0-9]*)$ ]] || { echo "run.sh: -W needs a number" >&2; exit 2; }
[ -z "$SETUP_SQL" ] || [ -r "$SETUP_SQL" ] || { echo "run.sh: SETUP_SQL=$SETUP_SQL: cannot read it" >&2; exit 2; }

say() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.txt "$OUT"/*.json "$OUT"/*.md "$OUT"/*.port

SIM_PID=""
DS_PID=""
POLL_PID=""
stop_pid() { # stop_pid PID: TERM, wait up to 15 s, then KILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$POLL_PID"
  stop_pid "$DS_PID"
  stop_pid "$SIM_PID"
  bash "$SRC/scripts/pgcluster" destroy "$PG_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -----------------------------------------------------------------------
say "building (Release) dropshipd, dropshipctl, dropship-sim and the Python stubs in ${BUILD#"$SRC"/}"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$OUT/cmake.log" 2>&1 ||
  die "cmake failed, see $OUT/cmake.log"
cmake --build "$BUILD" -j"$CORES" --target dropshipd dropshipctl dropship-sim integration_py \
  >>"$OUT/cmake.log" 2>&1 || die "build failed, see $OUT/cmake.log"
DSD=$BUILD/server/daemon/dropshipd
CTL=$BUILD/clients/dropshipctl/dropshipctl
SIM=$BUILD/tests/sim/dropship-sim

# --- PostgreSQL: durable settings (no --fast: fsync, synchronous_commit and
# full_page_writes stay on, as in production) ---------------------------------------
say "starting a private PostgreSQL 15 in $PG_DIR (durable: fsync on, synchronous_commit on)"
bash "$SRC/scripts/pgcluster" destroy "$PG_DIR"
bash "$SRC/scripts/pgcluster" init "$PG_DIR"
if [ "$PROFILE" = 1 ]; then
  printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track_planning = on\ntrack_functions = 'pl'\n" |
    runuser -u postgres -- tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
fi
bash "$SRC/scripts/pgcluster" start "$PG_DIR"
ADMIN=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" postgres)
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
for db in dropship pgb scratch floor floorbare; do sql "$ADMIN" -c "CREATE DATABASE $db"; done
URL=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" dropship)
SCRATCH=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" scratch)
"$DSD" migrate --database-url "$URL" >"$OUT/migrate.log" 2>&1 || die "migrate failed"
"$DSD" migrate --database-url "$SCRATCH" >>"$OUT/migrate.log" 2>&1 || die "migrate failed"
for db in floor floorbare; do
  "$DSD" migrate --database-url "$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" $db)" \
    >>"$OUT/migrate.log" 2>&1 || die "migrate failed"
done
if [ -n "$SETUP_SQL" ]; then
  say "running $SETUP_SQL on the workflow's database (a what-if run)"
  sql "$URL" -f "$SETUP_SQL" >"$OUT/setup-sql.log" 2>&1 || die "SETUP_SQL failed, see $OUT/setup-sql.log"
fi
sql "$ADMIN" -c "SELECT name, setting FROM pg_settings WHERE name IN
  ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers',
   'max_wal_size','commit_delay') ORDER BY name" >"$OUT/pg-settings.txt"

# --- pgbench: the commit ceiling, sampled before and after the orders -------------------
# The durable commit rate of a virtual disk drifts by 2x from minute to minute;
# two samples around the workflow run show the spread, their mean is the peer.
PGH=(-h "$PG_DIR/sock" -U postgres)
PGBENCH_ARGS=(-N -c $((2 * CORES)) -j "$CORES" -T "$PGBENCH_S")
pgbench_tps() { # pgbench_tps LABEL -> TPS without connection time
  "$PG_BIN/pgbench" "${PGH[@]}" "${PGBENCH_ARGS[@]}" pgb >"$OUT/pgbench-$1.log" 2>&1 ||
    die "pgbench failed: $(tail -3 "$OUT/pgbench-$1.log")"
  sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)/\1/p' "$OUT/pgbench-$1.log" |
    grep . || die "no tps in $OUT/pgbench-$1.log"
}
say "pgbench -i, then pgbench ${PGBENCH_ARGS[*]} (first sample)"
"$PG_BIN/pgbench" "${PGH[@]}" -i -q pgb >"$OUT/pgbench-init.log" 2>&1 || die "pgbench -i failed"
sql "$ADMIN" -c "CHECKPOINT"
TPS1=$(pgbench_tps before)
sql "$ADMIN" -c "CHECKPOINT"

# --- dropship-sim and dropshipd ------------------------------------------------------
say "starting dropship-sim (ship after 1 poll, deliver after 1 tracking poll)"
"$SIM" --listen 127.0.0.1:0 --port-file "$OUT/sim.port" --token "$TOKEN" \
  --ship-polls 1 --deliver-polls 1 >"$OUT/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$OUT/sim.port" ] && break; sleep 0.1; done
[ -s "$OUT/sim.port" ] || die "dropship-sim did not start"
SIM_BASE="http://127.0.0.1:$(cat "$OUT/sim.port")"

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
say "starting dropshipd on $ADDR (workflow workers $WORKERS, time scale $SCALE)"
"$DSD" serve --database-url "$URL" --listen "$ADDR" --log-level warn \
  --workflow-workers "$WORKERS" --workflow-time-scale "$SCALE" \
  --db-pool-size $((2 * WORKERS + 8)) >"$OUT/dropshipd.log" 2>&1 &
DS_PID=$!
for _ in $(seq 300); do
  kill -0 "$DS_PID" 2>/dev/null || die "dropshipd exited: $(tail -5 "$OUT/dropshipd.log")"
  "$CTL" -a "$ADDR" -t 1s health check >/dev/null 2>&1 && break
  sleep 0.1
done
"$CTL" -a "$ADDR" -t 1s health check >/dev/null 2>&1 || die "dropshipd did not answer"

SHOP=$(DROPSHIP_DATABASE_URL=$URL "$DSD" admin create-shop "Bench shop")
KEY=$(DROPSHIP_DATABASE_URL=$URL "$DSD" admin create-api-key "$SHOP")
ctl() { "$CTL" -a "$ADDR" -k "$KEY" "$@"; }
SUP=$(ctl suppliers create -d @- <<JSON | jq -er .supplier.id
{"supplier": {"displayName": "Bench supplier", "defaultCurrencyCode": "USD",
              "paymentMode": "PAYMENT_MODE_AUTO",
              "adapter": {"kind": "SUPPLIER_ADAPTER_KIND_CONTRACT",
                          "baseUrl": "$SIM_BASE/suppliers/bench", "credential": "$TOKEN"},
              "tracking": {"kind": "TRACKING_PROVIDER_KIND_CONTRACT",
                           "baseUrl": "$SIM_BASE/tracking", "credential": "$TOKEN"}}}
JSON
) || die "could not create the supplier"
ctl catalog create -d @- >/dev/null <<JSON || die "could not create the binding"
{"binding": {"shopSku": "MUG", "supplierId": "$SUP", "supplierSku": "MUG-01",
             "maxCost": {"currencyCode": "USD", "units": "100"}}}
JSON

# --- counters ----------------------------------------------------------------------
# commits: pg_stat_database.xact_commit of the dropship database (every committed
#   transaction, read-only ones included); wal syncs: pg_stat_wal.wal_sync;
#   xids: transaction ids assigned (transactions that wrote), whole cluster.
# transitions: order_events rows of type CREATED (1) or STATE_CHANGED (2).
# task steps: rows deleted from tasks (a step leaves the table when it completes,
#   so retries and snoozes of one step count once); task updates: claims +
#   reschedules (each claim is one UPDATE).
counters() { # counters LABEL -> OUT/counters-LABEL.txt, one "name value" a line
  sql "$URL" -F ' ' >"$OUT/counters-$1.txt" <<'SQL'
SELECT pg_stat_force_next_flush();
SELECT 'commits', xact_commit FROM pg_stat_database WHERE datname = current_database();
SELECT 'wal_syncs', wal_sync FROM pg_stat_wal;
SELECT 'xids', txid_snapshot_xmax(txid_current_snapshot());
SELECT 'events', count(*) FROM order_events;
SELECT 'transitions', count(*) FROM order_events WHERE type IN (1, 2);
SELECT 'task_steps', n_tup_del FROM pg_stat_user_tables WHERE relname = 'tasks';
SELECT 'task_updates', n_tup_upd FROM pg_stat_user_tables WHERE relname = 'tasks';
SELECT 'tasks_scheduled', n_tup_ins FROM pg_stat_user_tables WHERE relname = 'tasks';
SQL
  sed -i '/^$/d' "$OUT/counters-$1.txt"
}
get() { awk -v k="$2" '$1 == k { print $2 }' "$OUT/counters-$1.txt"; }
delta() { echo $(($(get after "$1") - $(get before "$1"))); }

COMPLETED=8 # ORDER_STATE_COMPLETED, proto/dropship/v1/common.proto
ON_HOLD=9   # ORDER_STATE_ON_HOLD
now_ms() { date +%s%3N; }
# One psql session answers every poll: a psql process per poll cost about as
# much CPU as a tenth of the workflow's PostgreSQL time and muddied the
# counters. A poll is one statement, one line back.
coproc POLL { psql -X -q -At -F $'\t' "$URL"; }
poll() { # poll SQL: its one row into POLL_ROW
  echo "$1;" >&"${POLL[1]}"
  IFS= read -r -t 60 POLL_ROW <&"${POLL[0]}" || die "the polling psql session did not answer"
}
create_orders() { # create_orders COUNT PREFIX LABEL -> OUT/LABEL.json, OUT/LABEL.log
  PYTHONPATH=$BUILD/gen-py /usr/bin/python3 "$HERE/create_orders.py" "$ADDR" "$KEY" "$1" \
    $((2 * WORKERS)) MUG "$2" >"$OUT/$3.json" 2>"$OUT/$3.log" ||
    die "order creation failed: $(cat "$OUT/$3.json" "$OUT/$3.log")"
}
# PROFILE=1: what the database's busy backends wait for, sampled at every
# poll of the measured run (SAMPLE_WAITS=1) through the same session: one line per backend, "type:event | statement"
# ("CPU:-" when not waiting), counted into waits.txt at the end.
sample_waits() {
  poll "SELECT coalesce(string_agg(coalesce(wait_event_type, 'CPU') || ':' ||
        coalesce(wait_event, '-') || ' | ' || left(regexp_replace(query, '\s+', ' ', 'g'), 50),
        E'\\x1f'), '') FROM pg_stat_activity WHERE state = 'active' AND datname = 'dropship'
        AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
  [ -z "$POLL_ROW" ] || printf '%s\n' "${POLL_ROW//$'\x1f'/$'\n'}" >>"$OUT/wait-samples.txt"
}
polls=0
SAMPLE_WAITS=0
wait_completed() { # wait_completed TOTAL: until TOTAL orders are COMPLETED; counts polls
  local done_n held last=-1 last_change
  last_change=$(now_ms)
  while :; do
    # one statement per poll: the completed count, and the first hold if any
    poll "SELECT count(*) FILTER (WHERE state = $COMPLETED),
        coalesce(max(hold_detail) FILTER (WHERE state = $ON_HOLD), '') FROM orders"
    done_n=${POLL_ROW%%$'\t'*}
    held=${POLL_ROW#*$'\t'}
    polls=$((polls + 1))
    [ "$SAMPLE_WAITS" != 1 ] || sample_waits
    [ -z "$held" ] || die "an order went ON_HOLD, the run is void: $held"
    [ "$done_n" -ge "$1" ] && return 0
    if [ "$done_n" != "$last" ]; then
      last=$done_n
      last_change=$(now_ms)
      say "  $done_n / $1 completed"
    elif [ $(( $(now_ms) - last_change )) -gt $((WAIT_LIMIT_S * 1000)) ]; then
      sql "$URL" -c "SELECT state, count(*) FROM orders GROUP BY state ORDER BY state" \
        >"$OUT/stuck-states.txt"
      die "orders stopped completing at $done_n / $1 (states: $(tr '\n' ' ' <"$OUT/stuck-states.txt"))"
    fi
    sleep 0.2
  done
}

# --- warm-up: the steady state of a production database ------------------------------
# A fresh database has no column statistics, and the plans PostgreSQL caches
# while the tables hold a handful of rows find orders by primary key through
# the shop's list indexes, walking all of the shop's entries (see
# docs/benchmarks.md). Autovacuum's first ANALYZE ends that within a minute of
# production traffic, and pgbench -i analyzes its own tables, so by default
# WARMUP orders run to COMPLETED first and the database is analyzed; -W 0
# measures the cold database.
if [ "$WARMUP" -gt 0 ]; then
  say "warm-up: $WARMUP orders to COMPLETED, then ANALYZE"
  create_orders "$WARMUP" "warmup-$(now_ms)" warmup
  wait_completed "$WARMUP"
  sql "$URL" -c "ANALYZE"
fi
polls=0

# Backends report their statistics when idle at most every 10 s: wait that
# long after the warm-up so none of its commits land in the measured run.
if [ "$WARMUP" -gt 0 ]; then sleep 11; else sleep 2; fi
counters idle
if [ "$PROFILE" = 1 ]; then
  # the warm-up's index and function use out of the profile too
  sql "$URL" -c "CREATE EXTENSION pg_stat_statements" -c "SELECT pg_stat_statements_reset()" \
    -c "SELECT pg_stat_reset_single_table_counters(relid) FROM pg_stat_user_tables" \
    -c "SELECT pg_stat_reset_single_function_counters(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'" >/dev/null
fi
sleep 5 # idle baseline: what dropshipd commits with no orders (engine polling)
counters before
idle_commits=$(( $(get before commits) - $(get idle commits) ))

# --- CPU time, in clock ticks ---------------------------------------------------------
# A process's own time is utime + stime of /proc/PID/stat; PostgreSQL's is the
# postmaster's own and reaped children's time plus its live children's, so
# backends that exit during the run still count. Machine (/proc/stat): busy =
# user + nice + system + irq + softirq; steal (time the hypervisor gave to other
# guests) is shown apart: it makes the same run slower without using our CPU.
HZ=$(getconf CLK_TCK)
PM_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local t c
  t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$PM_PID/stat")
  for c in $(ps -o pid= --ppid "$PM_PID"); do t=$((t + $(proc_ticks "$c"))); done
  echo "$t"
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

say "creating $N orders ($((2 * WORKERS)) client threads) and waiting until all are COMPLETED"
cpu0_busy=$(busy_ticks) cpu0_steal=$(steal_ticks) cpu0_pg=$(pg_ticks) cpu0_ds=$(proc_ticks "$DS_PID")
cpu0_sim=$(proc_ticks "$SIM_PID")
t0=$(now_ms)
create_orders "$N" "bench-$t0" create
create_ms=$(( $(now_ms) - t0 ))
SAMPLE_WAITS=$PROFILE
wait_completed $((WARMUP + N))
SAMPLE_WAITS=0
total_ms=$(( $(now_ms) - t0 ))
cpu_busy=$(( $(busy_ticks) - cpu0_busy ))
cpu_steal=$(( $(steal_ticks) - cpu0_steal ))
cpu_ds=$(( $(proc_ticks "$DS_PID") - cpu0_ds ))
cpu_sim=$(( $(proc_ticks "$SIM_PID") - cpu0_sim ))
cpu_pg=$(( $(pg_ticks) - cpu0_pg ))
say "all $N orders COMPLETED in $total_ms ms ($polls harness polls)"
stop_pid "$DS_PID" # its backends report their statistics as they exit
DS_PID=""
stop_pid "$SIM_PID"
SIM_PID=""
counters after
if [ "$PROFILE" = 1 ]; then
  for order in calls total_exec_time; do
    echo "-- calls | per order | rows | execution ms | plans | planning ms | statement; by $order"
    sql "$URL" -F ' | ' -P footer=off <<SQL
SELECT calls, round(calls::numeric / $N, 2) AS per_order, rows,
       round(total_exec_time::numeric, 1) AS ms, plans, round(total_plan_time::numeric, 1),
       left(regexp_replace(query, '\s+', ' ', 'g'), 160)
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'dropship')
ORDER BY $order DESC LIMIT 40
SQL
  done >"$OUT/statements.txt"
  {
    echo "-- index | scans | entries read per scan | rows fetched; by entries read"
    sql "$URL" -F ' | ' -P footer=off <<SQL
SELECT relname || '.' || indexrelname, idx_scan, round(idx_tup_read::numeric / GREATEST(idx_scan, 1), 1),
       idx_tup_fetch
FROM pg_stat_user_indexes ORDER BY idx_tup_read DESC LIMIT 25
SQL
    echo "-- function | calls | per order | total ms | self ms; by total time"
    sql "$URL" -F ' | ' -P footer=off <<SQL
SELECT funcname, calls, round(calls::numeric / $N, 2), round(total_time::numeric, 1),
       round(self_time::numeric, 1)
FROM pg_stat_user_functions ORDER BY total_time DESC
SQL
  } >>"$OUT/statements.txt"
  say "statement profile in ${OUT#"$SRC"/}/statements.txt"
  {
    echo "-- samples | wait (CPU:- = running) | statement; $polls polls of the busy backends"
    if [ -s "$OUT/wait-samples.txt" ]; then sort "$OUT/wait-samples.txt" | uniq -c | sort -rn | sed -n 1,30p; fi
  } >"$OUT/waits.txt"
  say "wait events in ${OUT#"$SRC"/}/waits.txt"
fi

# --- pgbench again, dropshipd stopped ----------------------------------------------
say "pgbench ${PGBENCH_ARGS[*]} (second sample)"
sql "$ADMIN" -c "CHECKPOINT"
TPS2=$(pgbench_tps after)
TPS=$(bc -l <<<"($TPS1 + $TPS2) / 2")

# --- the floor: a transition's bookkeeping alone, as pgbench scripts ----------------
# Each run: FLOOR_ORDERS orders with one due task each, then pgbench with the
# peer's clients and length; a script transaction does one transition (order
# state + history event + next task, the task taken), or up to `batch` of
# them; transitions are counted from order_events. See floor_step.sql and
# floor_claim_step.sql.
FLOOR_ORDERS=1000
floor_run() { # floor_run LABEL DB SCRIPT [pgbench args] -> transitions/s
  local label=$1 db=$2 script=$3 url events processed tps busy0
  shift 3
  url=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" "$db")
  sql "$ADMIN" -c "CHECKPOINT"
  busy0=$(busy_ticks)
  "$PG_BIN/pgbench" "${PGH[@]}" -M prepared -n -f "$HERE/$script" "$@" \
    -c $((2 * CORES)) -j "$CORES" -T "$PGBENCH_S" "$db" >"$OUT/floor-$label.log" 2>&1 ||
    die "pgbench (floor $label) failed: $(tail -3 "$OUT/floor-$label.log")"
  # the machine's busy CPU ticks during the run, per transition (the CPU budget rows)
  echo "$(( $(busy_ticks) - busy0 ))" >"$OUT/floor-$label.ticks"
  events=$(sql "$url" -c "SELECT count(*) FROM order_events")
  echo "$events" >>"$OUT/floor-$label.ticks"
  processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' \
    "$OUT/floor-$label.log")
  tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)/\1/p' \
    "$OUT/floor-$label.log")
  if [ -z "$processed" ] || [ "$processed" -eq 0 ] || [ -z "$tps" ]; then
    die "no result in $OUT/floor-$label.log"
  fi
  # transitions done / pgbench's own run time (transactions / TPS)
  bc -l <<<"$events * $tps / $processed"
}
floor_setup() { # floor_setup DB: the orders and tasks, from scratch
  local url
  url=$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" "$1")
  sql "$url" -c "SET client_min_messages = warning" \
    -c "TRUNCATE order_events, orders, tasks, shops CASCADE" >/dev/null
  sql "$url" -v norders=$FLOOR_ORDERS -f "$HERE/floor_setup.sql" >>"$OUT/floor-setup.log" 2>&1 ||
    die "floor setup failed, see $OUT/floor-setup.log"
}
say "floor: one statement per transition, product schema (pgbench, $PGBENCH_S s)"
floor_setup floor
FLOOR_ONE=$(floor_run one floor floor_step.sql -D batch=1)
say "floor: batched claim + one statement per transition, product schema"
floor_setup floor
FLOOR_CLAIM=$(floor_run claim floor floor_claim_step.sql -D held=0 -D batch="$WORKERS")
say "floor: one statement per $WORKERS transitions, product schema"
floor_setup floor
FLOOR_BATCH=$(floor_run batch floor floor_step.sql -D batch="$WORKERS")
say "floor: one statement per transition, bare schema (primary keys + claim index)"
sql "$(bash "$SRC/scripts/pgcluster" url "$PG_DIR" floorbare)" -f "$HERE/floor_bare.sql" \
  >"$OUT/floor-bare.log" 2>&1 || die "floor_bare.sql failed, see $OUT/floor-bare.log"
floor_setup floorbare
FLOOR_BARE=$(floor_run bare floorbare floor_step.sql -D batch=1)
say "pgbench ${PGBENCH_ARGS[*]} (third sample, after the floors)"
sql "$ADMIN" -c "CHECKPOINT"
TPS3=$(pgbench_tps floors)
# The floors' peer: the two samples around them, as before/after are the
# workflow's (the disk's commit rate can double between them).
FLOOR_TPS=$(bc -l <<<"($TPS2 + $TPS3) / 2")

# --- claim cost: 10k vs 1M not-due rows, 50 due -------------------------------------
fill() { # fill FROM TO: not-due rows (run_at a day ahead)
  sql "$SCRATCH" -c "INSERT INTO tasks (shop_id, kind, key, run_at)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g % 64), 12, '0'))::uuid,
           'order.tracking', 'future:' || g, now() + interval '1 day' + g * interval '1 ms'
    FROM generate_series($1, $2) g"
}
explain5() { # explain5 LABEL: 5 runs of claim_cost.sql
  local i
  sql "$SCRATCH" -c "VACUUM ANALYZE tasks"
  for i in 1 2 3 4 5; do
    sql "$SCRATCH" -v lim="$WORKERS" -f "$HERE/claim_cost.sql" >"$OUT/explain-$1-$i.txt"
  done
}
median_ms() {
  sed -nE 's/.*Execution Time: ([0-9.]+) ms.*/\1/p' "$OUT"/explain-"$1"-*.txt | sort -g | sed -n 3p
}
median_hit() { # median_hit LABEL [scan]: shared hit of the top node, or of the claim index scan
  local f
  for f in "$OUT"/explain-"$1"-*.txt; do
    if [ "${2:-}" = scan ]; then
      grep -A3 'Index Scan using tasks_claim' "$f" | grep -m1 -oE 'shared hit=[0-9]+'
    else
      grep -m1 -oE 'Buffers: shared hit=[0-9]+' "$f"
    fi | grep -oE '[0-9]+$' || echo 0
  done | sort -g | sed -n 3p
}
say "claim cost: 10k not-due + 50 due rows, then 1M not-due + 50 due rows"
sql "$SCRATCH" -c "INSERT INTO tasks (shop_id, kind, key, run_at)
  SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g % 64), 12, '0'))::uuid,
         'order.verify', 'due:' || g, now() - interval '1 minute'
  FROM generate_series(1, 50) g"
fill 1 10000
explain5 10k
fill 10001 1000000
explain5 1M
rows_large=$(sql "$SCRATCH" -c "SELECT count(*) FROM tasks")

# --- report ------------------------------------------------------------------------
ms_small=$(median_ms 10k)
ms_large=$(median_ms 1M)
hit_small=$(median_hit 10k)
hit_large=$(median_hit 1M)
scan_small=$(median_hit 10k scan)
scan_large=$(median_hit 1M scan)
secs=$(bc -l <<<"$total_ms / 1000")
trans=$(delta transitions)
steps=$(delta task_steps)
commits=$(delta commits)
f2() { printf '%.2f' "$1"; }
tps_trans=$(bc -l <<<"$trans / $secs")
{
  echo "| measure | value |"
  echo "|---|---|"
  echo "| orders created and COMPLETED | $N / $N ($(jq -r .failed "$OUT/create.json") create failures, $(jq -r .retries "$OUT/create.json") retried calls) |"
  echo "| wall time, first CreateOrder to last COMPLETED | $(f2 "$secs") s (creation alone $(f2 "$(bc -l <<<"$create_ms / 1000")") s) |"
  echo "| orders/s | $(f2 "$(bc -l <<<"$N / $secs")") |"
  echo "| transitions (order_events CREATED + STATE_CHANGED) | $trans ($(f2 "$(bc -l <<<"$trans / $N")")/order; all events $(delta events)) |"
  echo "| transitions/s | $(f2 "$tps_trans") |"
  echo "| task steps (tasks rows completed) | $steps ($(f2 "$(bc -l <<<"$steps / $N")")/order; claims+reschedules $(delta task_updates)) |"
  echo "| task steps/s | $(f2 "$(bc -l <<<"$steps / $secs")") |"
  echo "| commits (pg_stat_database.xact_commit) | $commits ($(f2 "$(bc -l <<<"$commits / $N")")/order, includes $polls harness polls; idle dropshipd: $(f2 "$(bc -l <<<"$idle_commits / 5")")/s) |"
  echo "| writing transactions (xids assigned) | $(delta xids) ($(f2 "$(bc -l <<<"$(delta xids) / $N")")/order) |"
  echo "| WAL syncs (pg_stat_wal.wal_sync) | $(delta wal_syncs) ($(f2 "$(bc -l <<<"$(delta wal_syncs) / $N")")/order) |"
  cpu_ms() { f2 "$(bc -l <<<"$1 * 1000 / $HZ / $N")"; }
  pct() { printf '%.0f' "$(bc -l <<<"100 * $1 / ($cpu_busy + 0.000001)")"; }
  echo "| CPU busy, all processes (core-seconds of $(f2 "$(bc -l <<<"$CORES * $secs")") available) | $(f2 "$(bc -l <<<"$cpu_busy / $HZ")") s, $(cpu_ms "$cpu_busy") ms/order; stolen by the hypervisor $(f2 "$(bc -l <<<"$cpu_steal / $HZ")") s |"
  echo "| CPU: PostgreSQL / dropshipd / dropship-sim / rest (client, harness, kernel) | $(cpu_ms "$cpu_pg") / $(cpu_ms "$cpu_ds") / $(cpu_ms "$cpu_sim") / $(cpu_ms $((cpu_busy - cpu_pg - cpu_ds - cpu_sim))) ms/order ($(pct "$cpu_pg")% / $(pct "$cpu_ds")% / $(pct "$cpu_sim")% / $(pct $((cpu_busy - cpu_pg - cpu_ds - cpu_sim)))%) |"
  echo "| pgbench ${PGBENCH_ARGS[*]}, same cluster: before / after the orders | $(f2 "$TPS1") / $(f2 "$TPS2") TPS (mean $(f2 "$TPS")) |"
  echo "| **transitions/s ÷ pgbench TPS** (target ≥ 0.5) | **$(f2 "$(bc -l <<<"$tps_trans / $TPS")")** (task steps/s ÷ pgbench TPS: $(f2 "$(bc -l <<<"$steps / $secs / $TPS")")) |"
  floor_row() { # floor_row TEXT TRANSITIONS/S
    echo "| floor: $1 | $(f2 "$2") transitions/s, **$(f2 "$(bc -l <<<"$2 / $FLOOR_TPS")")** × pgbench TPS; the workflow does $(f2 "$(bc -l <<<"$tps_trans / $2")") of it |"
  }
  echo "| pgbench around the floors: the second sample / a third after them | $(f2 "$TPS2") / $(f2 "$TPS3") TPS (mean $(f2 "$FLOOR_TPS"), the floors' peer) |"
  floor_row "one statement per transition, claim inside (floor_step.sql, batch 1)" "$FLOOR_ONE"
  floor_row "batched claim (LIMIT $WORKERS) + one statement per transition (floor_claim_step.sql)" "$FLOOR_CLAIM"
  floor_row "floor_step.sql, batch 1, on a bare schema (floor_bare.sql: primary keys + claim index)" "$FLOOR_BARE"
  floor_row "one statement per $WORKERS transitions of as many orders (floor_step.sql, batch $WORKERS)" "$FLOOR_BATCH"
  # The CPU budget: at the target, every order's work (dropshipd, PostgreSQL,
  # dropship-sim, the client, the kernel) shares the cores' time with the
  # others'. Two ceilings from this run's own CPU figures: PostgreSQL free,
  # and PostgreSQL doing no more than the batched floor per transition.
  per_order=$(bc -l <<<"$trans / $N")
  budget_ms=$(bc -l <<<"$CORES * 1000 * $per_order / (0.5 * $TPS)")
  outside_ms=$(bc -l <<<"($cpu_busy - $cpu_pg) * 1000 / $HZ / $N")
  { read -r fb_ticks; read -r fb_events; } <"$OUT/floor-batch.ticks"
  floor_ms=$(bc -l <<<"$fb_ticks * 1000 / $HZ / $fb_events * $per_order")
  ceiling() { f2 "$(bc -l <<<"$CORES * 1000 / ($1) * $per_order / $TPS")"; }
  echo "| CPU budget at the target (0.5 × pgbench TPS on $CORES cores) | $(f2 "$budget_ms") ms of CPU per order, for all processes |"
  echo "| CPU used per order outside PostgreSQL (dropshipd + dropship-sim + rest) | $(f2 "$outside_ms") ms: with PostgreSQL free, at most **$(ceiling "$outside_ms")** × pgbench TPS |"
  echo "| the same plus the batched floor's CPU per transition (machine busy CPU / transitions of floor_step.sql, batch $WORKERS) | $(f2 "$outside_ms") + $(f2 "$floor_ms") ms: at most **$(ceiling "$outside_ms + $floor_ms")** × pgbench TPS |"
  echo "| claim (LIMIT $WORKERS), 10k not-due + 50 due: median of 5 | $ms_small ms, shared hit $hit_small (claim index scan $scan_small) |"
  echo "| claim (LIMIT $WORKERS), $((rows_large - 50)) not-due + 50 due: median of 5 | $ms_large ms, shared hit $hit_large (claim index scan $scan_large) |"
  echo "| claim ratio 1M / 10k | time $(f2 "$(bc -l <<<"$ms_large / $ms_small")")x, buffers $(f2 "$(bc -l <<<"$hit_large / $hit_small")")x |"
  echo
  echo "machine: $CORES cores, $(uname -m); dropshipd Release, $WORKERS workflow workers," \
    "time scale $SCALE; PostgreSQL 15 durable ($(tr '\n' ' ' <"$OUT/pg-settings.txt" | sed 's/|/=/g; s/ $//'))"
  if [ -n "$SETUP_SQL" ]; then
    echo
    echo "**what-if run:** $SETUP_SQL ran on the workflow's database after the migrations"
  fi
} | tee "$OUT/results.md"
