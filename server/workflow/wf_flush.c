/* wf_flush.c - the flusher thread: batched completion of plain successes
 * (one fenced DELETE for everything that finished in the last few ms) and
 * the lease heartbeat of every task this engine holds. */
#include <stdlib.h>
#include <string.h>

#include "ds_log.h"
#include "wf_internal.h"
#include "wf_policy.h"

enum { FLUSH_RETRY_MS = 200 };

/* Move the pending completions into refs/ctxs; returns how many. With
 * e->mu held. */
static int take_pending_locked(wf_engine *e, wf_ref *refs, wf_ctx **ctxs)
{
    int n = e->n_pending;

    memcpy(refs, e->pending, (size_t)n * sizeof(*refs));
    memcpy(ctxs, e->pending_ctx, (size_t)n * sizeof(*ctxs));
    e->n_pending = 0;
    return n;
}

/* Put completions that could not be written back in front of the pending
 * list (there is always room: each holds a lease slot). With e->mu held. */
static void return_pending_locked(wf_engine *e, const wf_ref *refs, wf_ctx **ctxs, int n)
{
    memmove(e->pending + n, e->pending, (size_t)e->n_pending * sizeof(*refs));
    memmove(e->pending_ctx + n, e->pending_ctx, (size_t)e->n_pending * sizeof(*ctxs));
    memcpy(e->pending, refs, (size_t)n * sizeof(*refs));
    memcpy(e->pending_ctx, ctxs, (size_t)n * sizeof(*ctxs));
    e->n_pending += n;
}

/* Write one batch of completions. False when the database failed (the
 * batch was put back). */
static bool flush_batch(wf_engine *e, store_conn **c, wf_ref *refs, wf_ctx **ctxs)
{
    int n, held = 0;
    ds_error err;
    ds_status st = DS_OK;

    pthread_mutex_lock(&e->mu);
    n = take_pending_locked(e, refs, ctxs);
    pthread_mutex_unlock(&e->mu);
    if (n == 0)
        return true;
    ds_error_clear(&err);
    if (*c == NULL)
        st = store_acquire(e->pool, INT64_MAX, c, &err);
    if (st == DS_OK)
        st = wf_store_complete(*c, e->owner, refs, n, &held, &err);
    pthread_mutex_lock(&e->mu);
    if (st != DS_OK) {
        return_pending_locked(e, refs, ctxs, n);
    } else {
        for (int i = 0; i < n; i++)
            wf_lease_drop_locked(e, ctxs[i]);
    }
    pthread_mutex_unlock(&e->mu);
    if (st != DS_OK) {
        atomic_fetch_add(&e->n.db_errors, 1);
        DS_DEBUG("tasks", "completion of %d task(s) failed, will retry: %s", n, err.message);
        store_release(e->pool, *c);
        *c = NULL;
        return false;
    }
    atomic_fetch_add(&e->n.done, (uint_fast64_t)held);
    if (held < n) {
        atomic_fetch_add(&e->n.stale, (uint_fast64_t)(n - held));
        DS_WARN("tasks", "%d completion(s) rejected: their lease had lapsed", n - held);
    }
    return true;
}

/* Extend the lease of every task held here. */
static void heartbeat(wf_engine *e, store_conn **c, wf_ref *refs)
{
    int n = 0;
    ds_error err;
    ds_status st = DS_OK;

    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->cfg.slots; i++)
        if (e->leases[i] != NULL && !e->leases[i]->released)
            refs[n++] = e->leases[i]->row->ref;
    pthread_mutex_unlock(&e->mu);
    if (n == 0)
        return;
    ds_error_clear(&err);
    if (*c == NULL)
        st = store_acquire(e->pool, INT64_MAX, c, &err);
    if (st == DS_OK)
        st = wf_store_heartbeat(*c, e->owner, refs, n, e->cfg.lease_ms, &err);
    if (st != DS_OK) {
        atomic_fetch_add(&e->n.db_errors, 1);
        DS_DEBUG("tasks", "lease heartbeat failed: %s", err.message);
        store_release(e->pool, *c);
        *c = NULL;
    }
}

/* Wait for work: pending completions (then the batching delay), the
 * heartbeat, or stop. With e->mu held; returns with it held. */
static void flusher_wait_locked(wf_engine *e, int64_t next_hb, bool backoff)
{
    struct timespec ts;
    int64_t now = wf_now_ms();
    int64_t wait = next_hb - now;

    if (backoff && wait > FLUSH_RETRY_MS)
        wait = FLUSH_RETRY_MS;
    if (e->n_pending > 0 && !backoff)
        wait = e->cfg.flush_ms > 0 && wait > e->cfg.flush_ms ? e->cfg.flush_ms : 0;
    if (wait <= 0 || e->flusher_stop)
        return;
    wf_deadline(&ts, wait);
    if (e->n_pending > 0 && !backoff) {
        /* batching delay: gather more completions */
        pthread_mutex_unlock(&e->mu);
        struct timespec d = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000};
        nanosleep(&d, NULL);
        pthread_mutex_lock(&e->mu);
        return;
    }
    pthread_cond_timedwait(&e->flush_cv, &e->mu, &ts);
}

void *wf_flusher_main(void *arg)
{
    wf_engine *e = arg;
    wf_ref *refs = calloc((size_t)e->cfg.slots, sizeof(*refs));
    wf_ctx **ctxs = calloc((size_t)e->cfg.slots, sizeof(*ctxs));
    int64_t hb_ms = e->cfg.heartbeat_ms > 0 ? e->cfg.heartbeat_ms : INT64_MAX / 4;
    int64_t next_hb = wf_now_ms() + hb_ms;
    store_conn *c = NULL;
    bool ok = true;

    if (refs == NULL || ctxs == NULL) {
        DS_ERROR("tasks", "out of memory: completions will wait for their leases to lapse");
        goto out;
    }
    pthread_mutex_lock(&e->mu);
    while (!(e->flusher_stop && (e->n_pending == 0 || !ok))) {
        flusher_wait_locked(e, next_hb, !ok);
        pthread_mutex_unlock(&e->mu);
        ok = flush_batch(e, &c, refs, ctxs);
        if (wf_now_ms() >= next_hb) {
            heartbeat(e, &c, refs);
            next_hb = wf_now_ms() + hb_ms;
        }
        pthread_mutex_lock(&e->mu);
    }
    /* Stopping with the database down: drop what could not be written;
     * those leases lapse and the tasks run again elsewhere. */
    while (e->n_pending > 0)
        wf_lease_drop_locked(e, e->pending_ctx[--e->n_pending]);
    pthread_mutex_unlock(&e->mu);
out:
    store_release(e->pool, c);
    free(refs);
    free(ctxs);
    return NULL;
}
