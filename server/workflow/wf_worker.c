/* wf_worker.c - worker threads: run a claimed task's handler, then settle
 * its outcome (batched completion, retry, snooze, exhaustion); the
 * transactional outbox for handlers; scheduling from outside a task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_log.h"
#include "wf_internal.h"
#include "wf_policy.h"

/* wf_defer_note of the handler running on this thread; 0 = none. */
static _Thread_local int64_t defer_ms_;

void wf_defer_note(int64_t delay_ms)
{
    defer_ms_ = delay_ms > 0 ? delay_ms : 0;
}

/* Next task for this worker, or NULL when the engine stops. */
static wf_ctx *take_task(wf_engine *e)
{
    wf_ctx *ctx = NULL;

    pthread_mutex_lock(&e->mu);
    while (!e->stopping && e->q_len == 0)
        pthread_cond_wait(&e->work_cv, &e->mu);
    if (!e->stopping) {
        ctx = e->queue[e->q_head];
        e->q_head = (e->q_head + 1) % e->cfg.slots;
        e->q_len--;
        ctx->state = WF_CTX_RUNNING;
        e->n_running++;
    }
    pthread_mutex_unlock(&e->mu);
    return ctx;
}

/* The handler returned: leave the running set. With e->mu held. */
static void leave_running_locked(wf_engine *e, wf_ctx *ctx, wf_ctx_state next)
{
    ctx->state = next;
    e->n_running--;
    pthread_cond_broadcast(&e->idle_cv);
}

/* Hand a plain success to the flusher. */
static void queue_completion(wf_engine *e, wf_ctx *ctx)
{
    pthread_mutex_lock(&e->mu);
    if (ctx->released) {
        leave_running_locked(e, ctx, WF_CTX_SETTLING);
        wf_lease_drop_locked(e, ctx);
    } else {
        leave_running_locked(e, ctx, WF_CTX_PENDING);
        e->pending[e->n_pending] = ctx->row->ref;
        e->pending_ctx[e->n_pending] = ctx;
        e->n_pending++;
        if (e->n_pending == 1)
            pthread_cond_signal(&e->flush_cv);
    }
    pthread_mutex_unlock(&e->mu);
}

/* Count a fenced write: held, or rejected because the lease was lost. */
static void count_fence(wf_engine *e, const wf_ctx *ctx, bool held, atomic_uint_fast64_t *ok)
{
    if (held) {
        atomic_fetch_add(ok, 1);
        return;
    }
    atomic_fetch_add(&e->n.stale, 1);
    DS_WARN("tasks", "task %lld (%s) attempt %d: lease lost, outcome dropped",
            (long long)ctx->task.task_id, ctx->task.kind, ctx->task.attempt);
}

/* Retry or snooze: back to available at now + delay. */
static void reschedule(wf_engine *e, wf_ctx *ctx, const wf_result *res, wf_decision d)
{
    bool snooze = d == WF_DECIDE_SNOOZE;
    int64_t delay = res->delay_ms;
    store_conn *c = NULL;
    bool held = false;
    ds_error err;
    ds_status st;

    if (!snooze && delay <= 0)
        delay = wf_backoff_ms(e->cfg.backoff_base_ms, e->cfg.backoff_cap_ms, ctx->task.attempt,
                              wf_random());
    if (delay < 0)
        delay = 0;
    ds_error_clear(&err);
    st = store_acquire(e->pool, INT64_MAX, &c, &err);
    if (st == DS_OK)
        st = wf_store_reschedule(c, e->owner, &ctx->row->ref, delay,
                                 snooze ? NULL : (res->error[0] ? res->error : "failed"), snooze,
                                 &held, &err);
    store_release(e->pool, c);
    if (st != DS_OK) {
        /* The lease lapses and the sweep puts the task back. */
        atomic_fetch_add(&e->n.db_errors, 1);
        DS_WARN("tasks", "task %lld: could not %s it: %s", (long long)ctx->task.task_id,
                snooze ? "snooze" : "retry", err.message);
        return;
    }
    count_fence(e, ctx, held, snooze ? &e->n.snoozed : &e->n.retried);
    if (held && !snooze)
        DS_DEBUG("tasks", "task %lld (%s) attempt %d failed, retry in %lld ms: %s",
                 (long long)ctx->task.task_id, ctx->task.kind, ctx->task.attempt,
                 (long long)delay, res->error);
}

/* Call on_exhausted, delete the task and record it, in one transaction.
 * The callback goes first so that it locks its business row (an order)
 * before the task row, like wf_tx_begin_with; if the fence then fails, the
 * rollback undoes what it wrote. */
static void exhaust(wf_engine *e, wf_ctx *ctx, const char *error, bool failed)
{
    const wf_kind *k = &ctx->kind->def;
    store_conn *c = NULL;
    bool held = false;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    st = store_acquire(e->pool, INT64_MAX, &c, &err);
    if (st == DS_OK)
        st = store_begin(c, &err);
    if (st == DS_OK && k->on_exhausted != NULL)
        st = k->on_exhausted(c, &ctx->task, error, k->arg);
    if (st == DS_OK)
        st = wf_store_exhaust(c, e->owner, &ctx->row->ref, failed ? "failed" : "exhausted", error,
                              &held, &err);
    if (st == DS_OK && held)
        st = store_commit(c, &err);
    else
        store_rollback(c);
    store_release(e->pool, c);
    if (st != DS_OK) {
        atomic_fetch_add(&e->n.db_errors, 1);
        DS_WARN("tasks", "task %lld: could not record its exhaustion (will again): %s",
                (long long)ctx->task.task_id, err.message[0] ? err.message : "callback failed");
        return;
    }
    count_fence(e, ctx, held, &e->n.exhausted);
    if (held)
        DS_ERROR("tasks", "task %lld (%s, key %s) gave up after attempt %d: %s",
                 (long long)ctx->task.task_id, ctx->task.kind,
                 ctx->task.key ? ctx->task.key : "-", ctx->task.attempt, error);
}

/* Apply the handler's result. Frees ctx (now or in the flusher). */
static void settle(wf_engine *e, wf_ctx *ctx, const wf_result *res)
{
    wf_decision d = wf_decide(res->action, ctx->task.attempt, ctx->task.max_attempts);
    bool skip;

    pthread_mutex_lock(&e->mu);
    skip = ctx->completed || ctx->released;
    pthread_mutex_unlock(&e->mu);
    if (ctx->completed)
        atomic_fetch_add(&e->n.done, 1);
    if (!skip && d == WF_DECIDE_COMPLETE) {
        queue_completion(e, ctx);
        return;
    }
    pthread_mutex_lock(&e->mu);
    leave_running_locked(e, ctx, WF_CTX_SETTLING);
    pthread_mutex_unlock(&e->mu);
    if (!skip && (d == WF_DECIDE_RETRY || d == WF_DECIDE_SNOOZE))
        reschedule(e, ctx, res, d);
    else if (!skip)
        exhaust(e, ctx, res->error[0] ? res->error : "failed",
                res->action == WF_FAIL && ctx->task.attempt <= ctx->task.max_attempts);
    pthread_mutex_lock(&e->mu);
    wf_lease_drop_locked(e, ctx);
    pthread_mutex_unlock(&e->mu);
}

/* Wall-clock microseconds, comparable across the processes of one host. */
static long long wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The run trace (debug level, see docs/task-engine.md "Observing runs"):
 * one line as a handler starts and one as it returns, so that the runs of
 * several replicas can be checked for overlaps from their logs. */
static void trace_run(const wf_engine *e, const wf_ctx *ctx, const char *what)
{
    DS_DEBUG("tasks", "run %s task=%lld attempt=%d kind=%s owner=%s us=%lld", what,
             (long long)ctx->task.task_id, ctx->task.attempt, ctx->task.kind, e->owner,
             wall_us());
}

/* Run one task: a task whose lease lapsed during its last attempt (the
 * process died) is exhausted without running again. */
static void run_task(wf_engine *e, wf_ctx *ctx)
{
    wf_result res;

    memset(&res, 0, sizeof(res));
    res.action = WF_DONE;
    if (ctx->task.attempt > ctx->task.max_attempts) {
        res.action = WF_FAIL;
        snprintf(res.error, sizeof(res.error), "%s",
                 ctx->task.last_error ? ctx->task.last_error : "attempts used up");
        settle(e, ctx, &res);
        return;
    }
    atomic_fetch_add(&e->n.executed, 1);
    trace_run(e, ctx, "start");
    defer_ms_ = 0;
    ctx->kind->def.handler(ctx, &ctx->task, &res, ctx->kind->def.arg);
    trace_run(e, ctx, "end");
    res.error[sizeof(res.error) - 1] = '\0';
    if (res.action == WF_RETRY && defer_ms_ > 0) { /* never sent: wait, keep the attempt */
        DS_DEBUG("tasks", "task %lld (%s): outside call not sent, again in %lld ms: %s",
                 (long long)ctx->task.task_id, ctx->task.kind, (long long)defer_ms_, res.error);
        res.action = WF_SNOOZE;
        res.delay_ms = wf_defer_ms(defer_ms_, wf_random());
        atomic_fetch_add(&e->n.deferred, 1);
    }
    defer_ms_ = 0;
    settle(e, ctx, &res);
}

void *wf_worker_main(void *arg)
{
    wf_engine *e = arg;
    wf_ctx *ctx;

    for (ctx = take_task(e); ctx != NULL; ctx = take_task(e))
        run_task(e, ctx);
    return NULL;
}

void wf_release_refs(wf_engine *e, const wf_ref *refs, int n)
{
    store_conn *c = NULL;
    int released = 0;
    ds_error err;
    ds_status st;

    if (n <= 0)
        return;
    ds_error_clear(&err);
    st = store_acquire(e->pool, INT64_MAX, &c, &err);
    if (st == DS_OK)
        st = wf_store_release(c, e->owner, refs, n, &released, &err);
    store_release(e->pool, c);
    if (st != DS_OK) {
        DS_WARN("tasks", "could not give %d task(s) back, their leases will lapse: %s", n,
                err.message);
        return;
    }
    atomic_fetch_add(&e->n.released, (uint_fast64_t)released);
}

/* ---- the transactional outbox -------------------------------------------- */

ds_status wf_tx_begin(wf_ctx *ctx, wf_tx **out, ds_error *err)
{
    return wf_tx_begin_with(ctx, NULL, 0, out, err);
}

ds_status wf_tx_begin_with(wf_ctx *ctx, const store_batch_item *first, int n, wf_tx **out,
                           ds_error *err)
{
    wf_engine *e = ctx->e;
    store_batch_item items[1 + WF_TX_FIRST_MAX];
    wf_take_args take;
    PGresult *taken = NULL;
    bool took = false;
    wf_tx *tx;
    ds_status st;

    *out = NULL;
    for (int i = 0; i < n; i++)
        if (first[i].out != NULL)
            *first[i].out = NULL;
    if (n < 0 || n > WF_TX_FIRST_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "at most %d first statements", WF_TX_FIRST_MAX);
    if (ctx->in_tx || ctx->completed)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "task already in a transaction");
    tx = calloc(1, sizeof(*tx));
    if (tx == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory opening a task transaction");
    tx->ctx = ctx;
    /* The handler's first statements (an order lock) go before the
     * take-over: see wf_tx_begin_with in wf_engine.h. */
    for (int i = 0; i < n; i++)
        items[i] = first[i];
    items[n] = wf_store_take_item(e->owner, &ctx->row->ref, &take, &taken);
    st = store_acquire(e->pool, INT64_MAX, &tx->conn, err);
    if (st == DS_OK)
        st = store_begin_with(tx->conn, items, 1 + n, err);
    if (st == DS_OK)
        st = wf_store_took(tx->conn, taken, &took, err);
    if (st == DS_OK && !took)
        st = ds_error_set(err, DS_ERR_ABORTED, "task %lld lost its lease (attempt %d)",
                          (long long)ctx->task.task_id, ctx->task.attempt);
    PQclear(taken);
    if (st != DS_OK) {
        for (int i = 0; i < n; i++)
            if (first[i].out != NULL) {
                PQclear(*first[i].out);
                *first[i].out = NULL;
            }
        store_release(e->pool, tx->conn); /* rolls back */
        free(tx);
        return st;
    }
    ctx->in_tx = true;
    *out = tx;
    return DS_OK;
}

store_conn *wf_tx_conn(wf_tx *tx)
{
    return tx->conn;
}

ds_status wf_tx_schedule(wf_tx *tx, const wf_new_task *t, bool *created, ds_error *err)
{
    bool notified = false;
    ds_status st = wf_store_schedule(tx->conn, t, !tx->notified, created, &notified, err);

    if (notified)
        tx->notified = true;
    return st;
}

ds_status wf_tx_commit_complete(wf_tx *tx, ds_error *err)
{
    wf_ctx *ctx = tx->ctx;
    wf_engine *e = ctx->e;
    ds_status st = store_commit(tx->conn, err);

    store_release(e->pool, tx->conn);
    ctx->in_tx = false;
    if (st == DS_OK) {
        pthread_mutex_lock(&e->mu);
        ctx->completed = true;
        pthread_mutex_unlock(&e->mu);
    }
    free(tx);
    return st;
}

void wf_tx_rollback(wf_tx *tx)
{
    if (tx == NULL)
        return;
    store_release(tx->ctx->e->pool, tx->conn);
    tx->ctx->in_tx = false;
    free(tx);
}

ds_status wf_schedule_in(store_conn *tx, const wf_new_task *t, bool *created, ds_error *err)
{
    return wf_store_schedule(tx, t, true, created, NULL, err);
}

ds_status wf_run_now_in(store_conn *tx, const char *shop_id, const char *kind, const char *key,
                        bool *found, ds_error *err)
{
    return wf_store_run_now(tx, shop_id, kind, key, found, err);
}
