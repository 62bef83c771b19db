/* wf_group.c - group commit for handler transactions (wf_tx_run): the
 * bodies of handlers that finish at about the same time are written in one
 * shared transaction, each inside a savepoint, and committed together.
 *
 * No thread of its own: a handler thread queues its body, and while no
 * more than cfg.groups shared transactions are being written, a waiting
 * handler thread becomes their writer (the leader), takes up to
 * cfg.group_max queued bodies (its own among them, or someone else's) and
 * writes them; the others sleep until their body has been written. Bodies
 * that queue up while a shared transaction is being written go into the
 * next one, so the batches grow with the load and a lone body waits for
 * nobody.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_log.h"
#include "wf_internal.h"

struct wf_group_job {
    wf_ctx *ctx;
    const char *key;
    const store_batch_item *first;
    int n;
    wf_tx_body_fn body;
    void *arg;
    ds_status st;
    ds_error err;
    bool done;
    wf_group_job *next;
};

/* Set every first[i].out to NULL, PQclear()ing what it held. */
static void clear_outs(const store_batch_item *first, int n)
{
    for (int i = 0; i < n; i++)
        if (first[i].out != NULL) {
            PQclear(*first[i].out);
            *first[i].out = NULL;
        }
}

/* A body alone: the plain outbox transaction. */
static void run_alone(wf_group_job *j)
{
    wf_tx *tx = NULL;

    j->st = wf_tx_begin_with(j->ctx, j->first, j->n, &tx, &j->err);
    if (j->st == DS_OK)
        j->st = j->body(wf_tx_conn(tx), j->arg, &j->err);
    if (j->st == DS_OK && PQtransactionStatus(store_conn_pg(wf_tx_conn(tx))) == PQTRANS_INERROR)
        j->st = ds_error_set(&j->err, DS_ERR_ABORTED, "a statement of the step failed");
    if (j->st == DS_OK) {
        j->st = wf_tx_commit_complete(tx, &j->err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
}

/* Body k of a shared transaction open on c, inside savepoint wf_body_<k>.
 * Returns false when the shared transaction is lost (the savepoint could
 * not be set or rolled back to): then j has failed, and so has every body
 * written before it in the transaction. */
static bool run_shared(wf_engine *e, store_conn *c, wf_group_job *j, int k)
{
    store_batch_item items[1 + WF_TX_FIRST_MAX];
    char name[STORE_SAVEPOINT_NAME_MAX + 1];
    wf_take_args take;
    PGresult *taken = NULL;
    bool saved = false, took = false, ran = false;
    ds_error why;
    ds_status st;

    snprintf(name, sizeof(name), "wf_body_%d", k);
    for (int i = 0; i < j->n; i++)
        items[i] = j->first[i];
    items[j->n] = wf_store_take_item(e->owner, &j->ctx->row->ref, &take, &taken);
    /* the savepoint, the first statements (the order lock), the take-over:
     * one round trip, as wf_tx_begin_with */
    st = store_savepoint_with(c, name, items, j->n + 1, &saved, &j->err);
    if (st == DS_OK)
        st = wf_store_took(c, taken, &took, &j->err);
    PQclear(taken);
    if (st == DS_OK && !took)
        st = ds_error_set(&j->err, DS_ERR_ABORTED, "task %lld lost its lease (attempt %d)",
                          (long long)j->ctx->task.task_id, j->ctx->task.attempt);
    if (st == DS_OK) {
        ran = true;
        st = j->body(c, j->arg, &j->err);
    }
    if (st == DS_OK && PQtransactionStatus(store_conn_pg(c)) == PQTRANS_INERROR)
        st = ds_error_set(&j->err, DS_ERR_ABORTED, "a statement of the step failed");
    if (!ran)
        clear_outs(j->first, j->n);
    j->st = st;
    if (st == DS_OK)
        return true;
    if (saved && store_rollback_to(c, name, &j->err) == DS_OK)
        return true;
    why = j->err;
    j->st = ds_error_set(&j->err, DS_ERR_ABORTED, "shared transaction lost: %s",
                         why.message[0] ? why.message : "savepoint not set");
    return false;
}

/* Order of bodies in a shared transaction: by key, NULL first. */
static int by_key(const void *a, const void *b)
{
    const wf_group_job *x = *(wf_group_job *const *)a, *y = *(wf_group_job *const *)b;

    if (x->key == NULL || y->key == NULL)
        return (x->key != NULL) - (y->key != NULL);
    return strcmp(x->key, y->key);
}

/* Fail every job of jobs[0..m) that is DS_OK so far (or all, when all)
 * because the shared transaction failed: DS_ERR_ABORTED whatever `why` was
 * (another body's NOT_FOUND must not read as this one's). */
static void fail_jobs(wf_group_job **jobs, int m, bool all, const ds_error *why)
{
    for (int i = 0; i < m; i++)
        if (all || jobs[i]->st == DS_OK)
            jobs[i]->st = ds_error_set(&jobs[i]->err, DS_ERR_ABORTED,
                                       "shared transaction failed: %s", why->message);
}

/* Write jobs[0..m) (m >= 2) in one transaction and commit the ones that
 * held. Sets every job's st and err. */
static void run_batch(wf_engine *e, wf_group_job **jobs, int m)
{
    store_conn *c = NULL;
    int kept = 0, k;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    qsort(jobs, (size_t)m, sizeof(jobs[0]), by_key);
    for (k = 0; k < m; k++) {
        jobs[k]->st = DS_OK;
        ds_error_clear(&jobs[k]->err);
        for (int i = 0; i < jobs[k]->n; i++)
            if (jobs[k]->first[i].out != NULL)
                *jobs[k]->first[i].out = NULL;
    }
    st = store_acquire(e->pool, INT64_MAX, &c, &err);
    if (st == DS_OK)
        st = store_begin(c, &err);
    if (st != DS_OK) {
        fail_jobs(jobs, m, true, &err);
        store_release(e->pool, c);
        return;
    }
    for (k = 0; k < m; k++) {
        if (!run_shared(e, c, jobs[k], k)) {
            err = jobs[k]->err;
            fail_jobs(jobs, k, false, &err);
            fail_jobs(jobs + k + 1, m - k - 1, true, &err);
            store_release(e->pool, c); /* rolls back */
            return;
        }
        if (jobs[k]->st == DS_OK)
            kept++;
    }
    if (kept == 0) {
        store_release(e->pool, c);
        return;
    }
    st = store_commit(c, &err);
    store_release(e->pool, c);
    if (st != DS_OK) {
        fail_jobs(jobs, m, false, &err);
        return;
    }
    atomic_fetch_add(&e->n.shared, 1);
    atomic_fetch_add(&e->n.shared_bodies, (uint_fast64_t)kept);
    pthread_mutex_lock(&e->mu);
    for (k = 0; k < m; k++)
        if (jobs[k]->st == DS_OK)
            jobs[k]->ctx->completed = true;
    pthread_mutex_unlock(&e->mu);
}

/* With g_mu held: take up to group_max queued jobs into batch. */
static int take_batch_locked(wf_engine *e, wf_group_job **batch)
{
    int m = 0;

    while (e->g_head != NULL && m < e->cfg.group_max) {
        batch[m++] = e->g_head;
        e->g_head = e->g_head->next;
    }
    if (e->g_head == NULL)
        e->g_tail = NULL;
    return m;
}

ds_status wf_tx_run(wf_ctx *ctx, const char *key, const store_batch_item *first, int n,
                    wf_tx_body_fn body, void *arg, ds_error *err)
{
    wf_engine *e = ctx->e;
    wf_group_job job = {.ctx = ctx, .key = key, .first = first, .n = n, .body = body,
                        .arg = arg};
    wf_group_job *batch[WF_GROUP_MAX];

    for (int i = 0; i < n; i++)
        if (first[i].out != NULL)
            *first[i].out = NULL;
    if (n < 0 || n > WF_TX_FIRST_MAX || body == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "wf_tx_run: bad arguments");
    if (ctx->in_tx || ctx->completed)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "task already in a transaction");
    ds_error_clear(&job.err);
    if (e->cfg.group_max <= 1) {
        run_alone(&job);
    } else {
        pthread_mutex_lock(&e->g_mu);
        if (e->g_tail != NULL)
            e->g_tail->next = &job;
        else
            e->g_head = &job;
        e->g_tail = &job;
        while (!job.done) {
            int m;

            if (e->g_leaders >= e->cfg.groups || e->g_head == NULL) {
                pthread_cond_wait(&e->g_cv, &e->g_mu);
                continue;
            }
            m = take_batch_locked(e, batch);
            e->g_leaders++;
            pthread_mutex_unlock(&e->g_mu);
            if (m == 1)
                run_alone(batch[0]);
            else
                run_batch(e, batch, m);
            pthread_mutex_lock(&e->g_mu);
            e->g_leaders--;
            for (int i = 0; i < m; i++)
                batch[i]->done = true;
            pthread_cond_broadcast(&e->g_cv);
        }
        pthread_mutex_unlock(&e->g_mu);
    }
    if (job.st != DS_OK && err != NULL)
        *err = job.err;
    return job.st;
}
