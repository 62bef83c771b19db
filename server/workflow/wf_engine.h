/* wf_engine.h - the durable task engine: named task kinds, worker threads
 * that claim due tasks from PostgreSQL under a lease, and the transactional
 * outbox for handlers (see docs/task-engine.md).
 *
 * A task is a row of the `tasks` table (migrations/0004_tasks.sql): shop,
 * kind, optional dedupe key, payload bytes, run_at, attempt. The engine
 * knows nothing of orders: a kind is a name plus a handler. A handler gets a
 * claimed task and returns what should happen to it (wf_result). Handlers
 * run outside any transaction; a handler that must commit business state
 * together with the completion of its task and the scheduling of the next
 * ones uses wf_tx_begin / wf_tx_schedule / wf_tx_commit_complete.
 *
 * Delivery is at least once: a task whose lease lapses (process killed,
 * stalled, database unreachable) runs again, and the completion of the
 * earlier run is rejected by the fence (task id + attempt + owner). Side
 * effects must therefore be idempotent (keys derived from stable ids).
 *
 * Threads: wf_engine_new/register/start/stop/free from one controlling
 * thread; handlers run on the engine's worker threads; wf_schedule_in from
 * any thread that owns the connection.
 */
#ifndef WF_ENGINE_H
#define WF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"
#include "store.h"

enum {
    WF_KIND_MAX = 64,          /* bytes of a kind name, NUL excluded */
    WF_KEY_MAX = 200,          /* bytes of a dedupe key */
    WF_PAYLOAD_MAX = 65536,    /* bytes of a payload */
    WF_ERROR_TEXT_MAX = 1000,  /* last_error is cut to this many bytes */
    WF_KINDS_MAX = 64,         /* kinds one engine can register */
    WF_DEFAULT_MAX_ATTEMPTS = 25
};

typedef struct wf_engine wf_engine;
typedef struct wf_ctx wf_ctx; /* one claimed task being handled */
typedef struct wf_tx wf_tx;   /* a handler's transaction */

/* A claimed task as a handler sees it. Strings and payload belong to the
 * engine and stay valid until the handler returns. */
typedef struct wf_task {
    char shop_id[37];       /* uuid text */
    int64_t task_id;
    const char *kind;
    const char *key;        /* NULL when the task has no dedupe key */
    const uint8_t *payload; /* NULL when none */
    size_t payload_len;
    int attempt;            /* 1 on the first run */
    int max_attempts;
    const char *last_error; /* error of the previous attempt, NULL if none */
} wf_task;

/* What a handler decided. */
typedef enum wf_action {
    WF_DONE = 0, /* finished: the task leaves the table */
    WF_RETRY,    /* failed, try again after a capped, jittered backoff
                    (spends the attempt; the last one exhausts the task) */
    WF_SNOOZE,   /* nothing to do yet: run again after delay_ms without
                    spending an attempt (polls) */
    WF_FAIL      /* failed for good: exhaust now, whatever attempts remain */
} wf_action;

typedef struct wf_result {
    wf_action action;
    int64_t delay_ms;                  /* WF_SNOOZE: delay; WF_RETRY: 0 = backoff */
    char error[WF_ERROR_TEXT_MAX + 1]; /* WF_RETRY / WF_FAIL: why (stored as last_error) */
} wf_result;

/* From inside a running handler, on its worker thread: the handler's last
 * outside call was not made at all, because the endpoint's limits (a
 * Retry-After pause, a rate or concurrency cap) kept it waiting past its
 * bound, and that endpoint can take it in about `delay_ms`. If the handler
 * then returns WF_RETRY, the engine snoozes the task for delay_ms plus up to
 * a quarter more (jitter, so a crowd does not come back at once) instead:
 * the attempt is given back, because a call that never left is no failure.
 * delay_ms <= 0 clears the note (a later call went out). The note belongs
 * to the calling thread and is cleared before every handler run. */
void wf_defer_note(int64_t delay_ms);

/* Handle one task. Fill *res (it starts as WF_DONE with an empty error).
 * Called on a worker thread with no transaction open; may block (HTTP),
 * should check wf_ctx_cancelled() in long waits. */
typedef void (*wf_handler_fn)(wf_ctx *ctx, const wf_task *task, wf_result *res, void *arg);

/* The task used its last attempt (or its handler returned WF_FAIL). Called
 * inside the engine's transaction `tx` that then deletes the task and
 * records it in task_history; whatever the callback writes with tx commits
 * atomically with that, and is rolled back if the task's lease turns out
 * lost. It runs before the task row is touched, so the row it locks (an
 * order) is locked before the task row (see wf_tx_begin_with). Return
 * DS_OK to go on; anything else rolls back and the task is exhausted again
 * later (after its lease lapses). Commits once per exhaustion. */
typedef ds_status (*wf_exhausted_fn)(store_conn *tx, const wf_task *task, const char *error,
                                     void *arg);

typedef struct wf_kind {
    const char *name;             /* copied; 1..WF_KIND_MAX bytes */
    wf_handler_fn handler;        /* required */
    wf_exhausted_fn on_exhausted; /* NULL = only logged (as ERROR) and kept in task_history */
    void *arg;                    /* passed to both callbacks */
    int max_concurrency;          /* tasks of this kind running at once in this engine; 0 = no cap */
} wf_kind;

/* Settings; zero means the default shown. */
typedef struct wf_engine_config {
    const char *conninfo;     /* required; the engine opens its own connections */
    int workers;              /* handler threads; 0 = 4 */
    int slots;                /* tasks leased at once (claim batch = free slots); 0 = workers */
    int lease_ms;             /* lease length; 0 = 30000 */
    int heartbeat_ms;         /* lease extension period; 0 = lease/3, < 0 = never (tests) */
    int poll_ms;              /* polling period, jittered 0.5x..1.5x; 0 = 500 */
    int reclaim_ms;           /* lapsed-lease sweep period, jittered; 0 = 1000 */
    int flush_ms;             /* completion batching delay; 0 = 2, < 0 = flush at once */
    int backoff_base_ms;      /* first retry delay; 0 = 1000 */
    int backoff_cap_ms;       /* longest retry delay; 0 = 3600000 */
    int statement_timeout_ms; /* 0 = 5000 */
    const char *owner;        /* lease owner name; NULL = "host:pid:random" */
} wf_engine_config;

/* Counters since start (approximate while running). */
typedef struct wf_engine_stats {
    uint64_t claimed;    /* tasks claimed */
    uint64_t executed;   /* handler calls */
    uint64_t done;       /* completions that held their fence */
    uint64_t retried;    /* retries scheduled */
    uint64_t snoozed;    /* snoozes scheduled */
    uint64_t deferred;   /* retries turned into snoozes by wf_defer_note (among snoozed) */
    uint64_t exhausted;  /* exhaustions committed */
    uint64_t stale;      /* completions rejected by the fence */
    uint64_t reclaimed;  /* lapsed leases this engine put back */
    uint64_t released;   /* tasks given back at shutdown */
    uint64_t db_errors;  /* failed engine statements (all retried or recovered) */
} wf_engine_stats;

/* New, stopped engine. Copies cfg. NULL on error (err says why). */
wf_engine *wf_engine_new(const wf_engine_config *cfg, ds_error *err);

/* Register a kind (before wf_engine_start). DS_ERR_INVALID for a bad or
 * duplicate name, DS_ERR_RESOURCE_EXHAUSTED past WF_KINDS_MAX. */
ds_status wf_engine_register(wf_engine *e, const wf_kind *kind, ds_error *err);

/* Start the threads (workers, claimer, flusher, listener). Succeeds while
 * the database is down: the engine keeps trying. */
ds_status wf_engine_start(wf_engine *e, ds_error *err);

/* Graceful stop: stop claiming, let running handlers finish for up to
 * grace_ms, flush completions, then give every task still leased back
 * (available again, attempt not spent) and join the threads. Handlers still
 * running after the grace see wf_ctx_cancelled() and their completion is
 * rejected; this call waits for them to return. Idempotent. */
void wf_engine_stop(wf_engine *e, int grace_ms);

/* Stop (with no grace) if running, then free. NULL is a no-op. */
void wf_engine_free(wf_engine *e);

void wf_engine_get_stats(wf_engine *e, wf_engine_stats *out);

/* The lease owner name of this engine (valid until free). */
const char *wf_engine_owner(const wf_engine *e);

/* True once the engine is stopping and the grace has run out, or the
 * task's lease was found lost: the handler should give up soon. */
bool wf_ctx_cancelled(const wf_ctx *ctx);

/* ---- scheduling --------------------------------------------------------- */

/* A task to schedule. */
typedef struct wf_new_task {
    const char *shop_id;    /* uuid text; required */
    const char *kind;       /* required */
    const char *key;        /* dedupe key or NULL; unique per (shop, kind) among live tasks */
    const uint8_t *payload; /* may be NULL */
    size_t payload_len;
    int64_t delay_ms;       /* run_at = database now() + delay; 0 = due now */
    int max_attempts;       /* 0 = WF_DEFAULT_MAX_ATTEMPTS */
} wf_new_task;

/* Schedule t inside the caller's open transaction tx (e.g. CreateOrder's).
 * A live task with the same (shop, kind, key) makes this a no-op while it
 * waits to run: it will run and see what tx wrote. While it runs (it may
 * have read the state before tx), it is marked to run again once this run
 * ends, no earlier than t asks, with its own payload and a fresh attempt
 * count (a retry or snooze of this run comes back no later than that).
 * *created (may be NULL): a new task was inserted. A task due now sends a
 * NOTIFY hint right after tx commits (store_notify; one per transaction).
 * DS_ERR_INVALID for a bad task; database errors as store_exec. */
ds_status wf_schedule_in(store_conn *tx, const wf_new_task *t, bool *created, ds_error *err);

/* Inside tx: make the live task (shop_id, kind, key) due now ("poll now"):
 * a task waiting for a later run_at (a snooze or a retry backoff) runs at
 * once, woken by a NOTIFY hint right after the commit; a running one runs
 * again as soon as this run ends (as wf_schedule_in); an already due one is
 * left alone. *found tells whether such a live task exists; when it does
 * not, the caller schedules one. The attempt count is kept (a rerun
 * starts afresh). */
ds_status wf_run_now_in(store_conn *tx, const char *shop_id, const char *kind, const char *key,
                        bool *found, ds_error *err);

/* ---- the transactional outbox ------------------------------------------- */

/* Open a transaction on one of the engine's connections and take the
 * handler's task over in it: the task row is deleted there, fenced (same
 * attempt, still leased by this engine). DS_ERR_ABORTED if the fence does
 * not hold (the lease lapsed and the task was claimed again): nothing is
 * open then. Other errors as store_exec. At most one per ctx at a time. */
ds_status wf_tx_begin(wf_ctx *ctx, wf_tx **out, ds_error *err);

enum { WF_TX_FIRST_MAX = 4 };

/* wf_tx_begin, with up to WF_TX_FIRST_MAX of the handler's first statements
 * sent in the same round trip (store_begin_with), before the take-over: on
 * DS_OK each item's *out holds its result (the caller PQclear()s it); on
 * any error every *out is NULL, and when the fence does not hold whatever
 * they did is rolled back. Before, because the first statement usually
 * locks the row the task works on (an order), and a transaction that
 * locks that row and then schedules the task's key waits for the task
 * row: taking the task row first would deadlock the two. */
ds_status wf_tx_begin_with(wf_ctx *ctx, const store_batch_item *first, int n, wf_tx **out,
                           ds_error *err);

/* The connection of the transaction, for the handler's own statements. */
store_conn *wf_tx_conn(wf_tx *tx);

/* Schedule a task in the transaction (as wf_schedule_in, at most one NOTIFY
 * per transaction). */
ds_status wf_tx_schedule(wf_tx *tx, const wf_new_task *t, bool *created, ds_error *err);

/* Commit: the task is complete and everything written in tx is durable.
 * On failure all of it is rolled back (the task stays leased and the
 * handler's result then decides). Frees tx in both cases. */
ds_status wf_tx_commit_complete(wf_tx *tx, ds_error *err);

/* Roll back and free. NULL is a no-op. */
void wf_tx_rollback(wf_tx *tx);

#endif
