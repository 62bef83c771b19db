/* wf_engine_driver.c - runs the task engine against a database with a few
 * test task kinds, enqueues tasks in bulk, and prints JSON statistics; the
 * integration tests and the engine benchmark drive it.
 *
 *   wf_engine_driver --db URL setup
 *   wf_engine_driver --db URL enqueue --kind K --count N [--arg A] [--start S]
 *                    [--max-attempts M] [--delay-ms D] [--no-key]
 *   wf_engine_driver --db URL schedule --kind K [--key KEY] [--arg A] [--delay-ms D]
 *                    [--max-attempts M]
 *   wf_engine_driver --db URL run-now --kind K --key KEY
 *   wf_engine_driver --db URL gate-schedule --kind K --key KEY --hold-ms H
 *   wf_engine_driver --db URL run [--seconds T] [--until-empty] [--workers N]
 *                    [--slots S] [--lease-ms L] [--heartbeat-ms H] [--poll-ms P]
 *                    [--reclaim-ms R] [--flush-ms F] [--backoff-base-ms B]
 *                    [--backoff-cap-ms C] [--grace-ms G]
 *
 * Kinds (the payload is the decimal text `arg`): noop (done); record
 * (records the run, done); flaky (records, retries while attempt <= arg);
 * snooze (records, snoozes 50 ms until it has run arg+1 times); slow
 * (records, sleeps arg ms on attempt 1 only); sleep (records, sleeps arg ms);
 * sleeptx (records, sleeps arg ms, completes in a transaction of its own);
 * sleepfail (records, sleeps arg ms, fails); gated (records, then
 * completes in a transaction whose first statement locks the engine_gate
 * row, as an order step locks its order); gatedfail (records, fails for
 * good; its on_exhausted locks the gate row first, as the order
 * workflow's locks the order); chain (records, then in one
 * transaction completes and schedules the next link until link arg).
 * gate-schedule locks the gate row, waits hold-ms, then schedules the task
 * in the same transaction (as an API call that locks an order, then
 * schedules one of its steps).
 * Runs go to engine_runs, exhaustions to
 * engine_exhausted. SIGTERM/SIGINT stop `run` gracefully.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_log.h"
#include "store.h"
#include "store_row.h"
#include "wf_engine.h"

#define SHOP "00000000-0000-4000-8000-000000000001"

typedef struct opts {
    const char *db, *cmd, *kind, *arg, *key;
    long count, start, max_attempts, delay_ms, seconds, grace_ms, hold_ms;
    bool until_empty, no_key;
    wf_engine_config ec;
} opts;

static volatile sig_atomic_t g_stop;
static store_pool *g_pool;

static const store_stmt stmt_run = {
    "drv_run", "INSERT INTO engine_runs (kind, key, attempt, owner) VALUES ($1, $2, $3, $4)"};
static const store_stmt stmt_runs_of = {"drv_runs_of",
                                        "SELECT count(*) FROM engine_runs WHERE key = $1"};
static const store_stmt stmt_exhausted = {
    "drv_exhausted",
    "INSERT INTO engine_exhausted (kind, key, attempt, error) VALUES ($1, $2, $3, $4)"};
static const store_stmt stmt_gate = {"drv_gate",
                                     "SELECT 1 FROM engine_gate WHERE id = 1 FOR UPDATE"};
static const store_stmt stmt_left = {"drv_left", "SELECT count(*) FROM tasks"};
static const store_stmt stmt_any = {"drv_any",
                                    "SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1) s"};
static const store_stmt stmt_enqueue = {
    "drv_enqueue",
    "WITH ins AS (INSERT INTO tasks (shop_id, kind, key, payload, max_attempts, run_at)"
    " SELECT $1, $2, CASE WHEN $7::bool THEN NULL ELSE $2 || ':' || g END,"
    " convert_to($3, 'UTF8'), $4, now() + $8::int8 * interval '1 millisecond'"
    " FROM generate_series($5::int8, $5::int8 + $6::int8 - 1) g RETURNING 1)"
    " SELECT count(*), pg_notify('ds_tasks', '') FROM ins"};

static const char setup_sql[] =
    "CREATE TABLE IF NOT EXISTS engine_runs (id bigserial PRIMARY KEY, kind text NOT NULL,"
    " key text, attempt int NOT NULL, owner text NOT NULL,"
    " at timestamptz NOT NULL DEFAULT clock_timestamp());"
    "CREATE TABLE IF NOT EXISTS engine_exhausted (kind text NOT NULL, key text,"
    " attempt int NOT NULL, error text, at timestamptz NOT NULL DEFAULT clock_timestamp());"
    "CREATE TABLE IF NOT EXISTS engine_gate (id int PRIMARY KEY);"
    "INSERT INTO engine_gate VALUES (1) ON CONFLICT DO NOTHING";

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* The payload as a number (0 when none). */
static long task_arg(const wf_task *t)
{
    char buf[24];
    size_t n = t->payload_len < sizeof(buf) - 1 ? t->payload_len : sizeof(buf) - 1;

    if (t->payload == NULL)
        return 0;
    memcpy(buf, t->payload, n);
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* Record one run (autocommit, on the driver's own pool). */
static ds_status record_run(const wf_task *t, const char *owner, ds_error *err)
{
    char att[24];
    const char *params[4] = {t->kind, t->key, store_param_int64(att, t->attempt), owner};
    store_conn *c = NULL;
    ds_status st = store_acquire(g_pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_exec(c, &stmt_run, 4, params, NULL, err);
    store_release(g_pool, c);
    return st;
}

static long runs_of(const char *key)
{
    const char *params[1] = {key};
    store_conn *c = NULL;
    PGresult *res = NULL;
    long n = -1;

    if (store_acquire(g_pool, INT64_MAX, &c, NULL) == DS_OK &&
        store_exec(c, &stmt_runs_of, 1, params, &res, NULL) == DS_OK)
        n = (long)store_row_int64(res, 0, 0, -1);
    PQclear(res);
    store_release(g_pool, c);
    return n;
}

/* A database error in a test handler: try again later. */
static bool recorded(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    ds_error err;

    ds_error_clear(&err);
    if (record_run(t, (const char *)arg, &err) == DS_OK)
        return true;
    res->action = WF_RETRY;
    snprintf(res->error, sizeof(res->error), "recording the run: %s", err.message);
    return false;
}

static void h_noop(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
}

static void h_record(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    recorded(ctx, t, res, arg);
}

static void h_flaky(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (!recorded(ctx, t, res, arg))
        return;
    if (t->attempt <= task_arg(t)) {
        res->action = WF_RETRY;
        snprintf(res->error, sizeof(res->error), "flaky failure %d", t->attempt);
    }
}

static void h_snooze(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    long n;

    if (!recorded(ctx, t, res, arg))
        return;
    n = runs_of(t->key);
    if (n >= 0 && n <= task_arg(t)) {
        res->action = WF_SNOOZE;
        res->delay_ms = 50;
    }
}

/* Sleep ms in small steps, giving up when the engine cancels. */
static void nap(wf_ctx *ctx, long ms)
{
    for (long slept = 0; slept < ms && !wf_ctx_cancelled(ctx); slept += 10)
        sleep_ms(ms - slept < 10 ? ms - slept : 10);
}

static void h_slow(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (recorded(ctx, t, res, arg) && t->attempt == 1)
        nap(ctx, task_arg(t));
}

static void h_sleep(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (recorded(ctx, t, res, arg))
        nap(ctx, task_arg(t));
}

/* Complete the task in a transaction of its own, after the first
 * statements (wf_tx_begin_with); a failure is retried. */
static void complete_in_tx(wf_ctx *ctx, const store_batch_item *first, int n, wf_result *res,
                           const char *what)
{
    wf_tx *tx = NULL;
    ds_error err;

    ds_error_clear(&err);
    if (wf_tx_begin_with(ctx, first, n, &tx, &err) == DS_OK &&
        wf_tx_commit_complete(tx, &err) == DS_OK)
        return;
    res->action = WF_RETRY;
    snprintf(res->error, sizeof(res->error), "%s: %s", what, err.message);
}

static void h_sleeptx(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (!recorded(ctx, t, res, arg))
        return;
    nap(ctx, task_arg(t));
    complete_in_tx(ctx, NULL, 0, res, "sleeptx");
}

static void h_sleepfail(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (!recorded(ctx, t, res, arg))
        return;
    nap(ctx, task_arg(t));
    res->action = WF_RETRY;
    snprintf(res->error, sizeof(res->error), "sleepfail failure %d", t->attempt);
}

static void h_gated(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    store_batch_item first = {.stmt = &stmt_gate};

    if (recorded(ctx, t, res, arg))
        complete_in_tx(ctx, &first, 1, res, "gated");
}

static void h_gatedfail(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    if (!recorded(ctx, t, res, arg))
        return;
    res->action = WF_FAIL;
    snprintf(res->error, sizeof(res->error), "gatedfail");
}

/* chain: link k schedules link k+1 ("<base>/<k+1>") in the transaction
 * that completes it. */
static void h_chain(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    char key[WF_KEY_MAX + 1], payload[24];
    long k = 0;
    const char *slash = strrchr(t->key, '/');
    wf_tx *tx = NULL;
    ds_error err;

    ds_error_clear(&err);
    if (slash != NULL)
        k = strtol(slash + 1, NULL, 10);
    snprintf(key, sizeof(key), "%.*s/%ld", slash ? (int)(slash - t->key) : (int)strlen(t->key),
             t->key, k + 1);
    snprintf(payload, sizeof(payload), "%ld", task_arg(t));
    if (!recorded(ctx, t, res, arg))
        return;
    if (wf_tx_begin(ctx, &tx, &err) == DS_OK && k + 1 <= task_arg(t)) {
        wf_new_task nt = {.shop_id = t->shop_id, .kind = "chain", .key = key,
                          .payload = (const uint8_t *)payload, .payload_len = strlen(payload)};
        if (wf_tx_schedule(tx, &nt, NULL, &err) != DS_OK) {
            wf_tx_rollback(tx);
            tx = NULL;
        }
    }
    if (tx != NULL && wf_tx_commit_complete(tx, &err) == DS_OK)
        return;
    res->action = WF_RETRY;
    snprintf(res->error, sizeof(res->error), "chain: %s", err.message);
}

static ds_status on_exhausted(store_conn *tx, const wf_task *t, const char *error, void *arg)
{
    char att[24];
    const char *params[4] = {t->kind, t->key, store_param_int64(att, t->attempt), error};
    ds_status st = DS_OK;

    if (strcmp(t->kind, "gatedfail") == 0)
        st = store_exec(tx, &stmt_gate, 0, NULL, NULL, NULL);
    return st == DS_OK ? store_exec(tx, &stmt_exhausted, 4, params, NULL, NULL) : st;
}

static long flag_long(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", argv[*i]);
        exit(2);
    }
    return strtol(argv[++*i], NULL, 10);
}

static void parse(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc)
            o->db = argv[++i];
        else if (strcmp(a, "--kind") == 0 && i + 1 < argc)
            o->kind = argv[++i];
        else if (strcmp(a, "--key") == 0 && i + 1 < argc)
            o->key = argv[++i];
        else if (strcmp(a, "--arg") == 0 && i + 1 < argc)
            o->arg = argv[++i];
        else if (strcmp(a, "--count") == 0)
            o->count = flag_long(argc, argv, &i);
        else if (strcmp(a, "--start") == 0)
            o->start = flag_long(argc, argv, &i);
        else if (strcmp(a, "--max-attempts") == 0)
            o->max_attempts = flag_long(argc, argv, &i);
        else if (strcmp(a, "--delay-ms") == 0)
            o->delay_ms = flag_long(argc, argv, &i);
        else if (strcmp(a, "--hold-ms") == 0)
            o->hold_ms = flag_long(argc, argv, &i);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = flag_long(argc, argv, &i);
        else if (strcmp(a, "--grace-ms") == 0)
            o->grace_ms = flag_long(argc, argv, &i);
        else if (strcmp(a, "--until-empty") == 0)
            o->until_empty = true;
        else if (strcmp(a, "--no-key") == 0)
            o->no_key = true;
        else if (strcmp(a, "--workers") == 0)
            o->ec.workers = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--slots") == 0)
            o->ec.slots = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--lease-ms") == 0)
            o->ec.lease_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--heartbeat-ms") == 0)
            o->ec.heartbeat_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--poll-ms") == 0)
            o->ec.poll_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--reclaim-ms") == 0)
            o->ec.reclaim_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--flush-ms") == 0)
            o->ec.flush_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--backoff-base-ms") == 0)
            o->ec.backoff_base_ms = (int)flag_long(argc, argv, &i);
        else if (strcmp(a, "--backoff-cap-ms") == 0)
            o->ec.backoff_cap_ms = (int)flag_long(argc, argv, &i);
        else if (o->cmd == NULL && a[0] != '-')
            o->cmd = a;
        else {
            fprintf(stderr, "wf_engine_driver: unknown argument %s\n", a);
            exit(2);
        }
    }
    if (o->db == NULL || o->cmd == NULL) {
        fprintf(stderr, "usage: wf_engine_driver --db URL setup|enqueue|run [options]\n");
        exit(2);
    }
}

static ds_status cmd_setup(ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(g_pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_exec_sql(c, setup_sql, err);
    store_release(g_pool, c);
    return st;
}

static ds_status cmd_enqueue(const opts *o, ds_error *err)
{
    char ma[24], start[24], count[24], delay[24];
    const char *params[8] = {SHOP, o->kind, o->arg ? o->arg : "0",
                             store_param_int64(ma, o->max_attempts > 0 ? o->max_attempts : 25),
                             store_param_int64(start, o->start),
                             store_param_int64(count, o->count), o->no_key ? "t" : "f",
                             store_param_int64(delay, o->delay_ms)};
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status st = store_acquire(g_pool, INT64_MAX, &c, err);

    if (st == DS_OK && o->kind == NULL)
        st = ds_error_set(err, DS_ERR_INVALID, "enqueue needs --kind");
    if (st == DS_OK)
        st = store_exec(c, &stmt_enqueue, 8, params, &res, err);
    if (st == DS_OK)
        printf("{\"enqueued\": %" PRId64 "}\n", store_row_int64(res, 0, 0, 0));
    PQclear(res);
    store_release(g_pool, c);
    return st;
}

/* One task through wf_schedule_in (or, run_now, wf_run_now_in), in a
 * transaction of our own; prints whether it was created (found). With
 * gate, the transaction first locks the gate row and holds it hold_ms. */
static ds_status cmd_schedule(const opts *o, bool run_now, bool gate, ds_error *err)
{
    const char *arg = o->arg ? o->arg : "0";
    wf_new_task t = {.shop_id = SHOP, .kind = o->kind, .key = o->key,
                     .payload = (const uint8_t *)arg, .payload_len = strlen(arg),
                     .delay_ms = o->delay_ms, .max_attempts = (int)o->max_attempts};
    store_conn *c = NULL;
    bool yes = false;
    ds_status st = store_acquire(g_pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_begin(c, err);
    if (st == DS_OK && gate) {
        st = store_exec(c, &stmt_gate, 0, NULL, NULL, err);
        sleep_ms(o->hold_ms);
    }
    if (st == DS_OK && run_now)
        st = wf_run_now_in(c, SHOP, o->kind, o->key, &yes, err);
    else if (st == DS_OK)
        st = wf_schedule_in(c, &t, &yes, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    if (st == DS_OK)
        printf("{\"%s\": %s}\n", run_now ? "found" : "created", yes ? "true" : "false");
    store_release(g_pool, c);
    return st;
}

static long tasks_count(const store_stmt *st)
{
    store_conn *c = NULL;
    PGresult *res = NULL;
    long n = -1;

    if (store_acquire(g_pool, INT64_MAX, &c, NULL) == DS_OK &&
        store_exec(c, st, 0, NULL, &res, NULL) == DS_OK)
        n = (long)store_row_int64(res, 0, 0, -1);
    PQclear(res);
    store_release(g_pool, c);
    return n;
}

static ds_status register_kinds(wf_engine *e, ds_error *err)
{
    static const struct {
        const char *name;
        wf_handler_fn fn;
    } kinds[] = {{"noop", h_noop},   {"record", h_record}, {"flaky", h_flaky}, {"snooze", h_snooze},
                 {"slow", h_slow},   {"sleep", h_sleep},   {"sleeptx", h_sleeptx},
                 {"sleepfail", h_sleepfail}, {"gated", h_gated},
                 {"gatedfail", h_gatedfail}, {"chain", h_chain}};
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        wf_kind k = {.name = kinds[i].name, .handler = kinds[i].fn,
                     .on_exhausted = on_exhausted, .arg = (void *)wf_engine_owner(e)};
        st = wf_engine_register(e, &k, err);
    }
    return st;
}

static void print_stats(wf_engine *e, int64_t ms)
{
    wf_engine_stats s;

    wf_engine_get_stats(e, &s);
    printf("{\"owner\": \"%s\", \"ms\": %" PRId64 ", \"claimed\": %" PRIu64
           ", \"executed\": %" PRIu64 ", \"done\": %" PRIu64 ", \"retried\": %" PRIu64
           ", \"snoozed\": %" PRIu64 ", \"exhausted\": %" PRIu64 ", \"stale\": %" PRIu64
           ", \"reclaimed\": %" PRIu64 ", \"released\": %" PRIu64 ", \"db_errors\": %" PRIu64
           ", \"left\": %ld}\n",
           wf_engine_owner(e), ms, s.claimed, s.executed, s.done, s.retried, s.snoozed,
           s.exhausted, s.stale, s.reclaimed, s.released, s.db_errors, tasks_count(&stmt_left));
    fflush(stdout);
}

static void on_signal(int sig)
{
    g_stop = 1;
}

static ds_status cmd_run(opts *o, ds_error *err)
{
    wf_engine *e;
    int64_t t0 = mono_ms(), deadline = t0 + (o->seconds > 0 ? o->seconds : 30) * 1000;
    ds_status st;

    o->ec.conninfo = o->db;
    e = wf_engine_new(&o->ec, err);
    if (e == NULL)
        return err->status;
    st = register_kinds(e, err);
    if (st == DS_OK)
        st = wf_engine_start(e, err);
    while (st == DS_OK && !g_stop && mono_ms() < deadline) {
        sleep_ms(o->until_empty ? 20 : 100);
        if (o->until_empty && tasks_count(&stmt_any) == 0)
            break;
    }
    {
        int64_t ms = mono_ms() - t0;
        wf_engine_stop(e, (int)(o->grace_ms > 0 ? o->grace_ms : 5000));
        if (st == DS_OK)
            print_stats(e, ms);
    }
    wf_engine_free(e);
    return st;
}

int main(int argc, char **argv)
{
    opts o = {.count = 1, .start = 1};
    store_config sc = {.pool_size = 40, .statement_timeout_ms = 600000,
                       .application_name = "wf_engine_driver"};
    ds_error err;
    ds_status st;

    parse(argc, argv, &o);
    ds_log_set_level(getenv("DRIVER_DEBUG") ? DS_LOG_DEBUG : DS_LOG_WARN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    ds_error_clear(&err);
    sc.conninfo = o.db;
    g_pool = store_pool_new(&sc, &err);
    if (g_pool == NULL) {
        fprintf(stderr, "wf_engine_driver: %s\n", err.message);
        return 1;
    }
    if (strcmp(o.cmd, "setup") == 0)
        st = cmd_setup(&err);
    else if (strcmp(o.cmd, "enqueue") == 0)
        st = cmd_enqueue(&o, &err);
    else if (strcmp(o.cmd, "schedule") == 0)
        st = cmd_schedule(&o, false, false, &err);
    else if (strcmp(o.cmd, "run-now") == 0)
        st = cmd_schedule(&o, true, false, &err);
    else if (strcmp(o.cmd, "gate-schedule") == 0)
        st = cmd_schedule(&o, false, true, &err);
    else if (strcmp(o.cmd, "run") == 0)
        st = cmd_run(&o, &err);
    else
        st = ds_error_set(&err, DS_ERR_INVALID, "unknown command %s", o.cmd);
    store_pool_free(g_pool);
    if (st != DS_OK)
        fprintf(stderr, "wf_engine_driver: %s\n", err.message);
    return st == DS_OK ? 0 : 1;
}
