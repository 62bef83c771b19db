/* wf_engine.c - the task engine's lifecycle, kind registry and claimer
 * thread (batched claims, lapsed-lease sweep, polling and wake-ups). */
#include "wf_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ds_log.h"
#include "wf_internal.h"
#include "wf_policy.h"

enum {
    RECLAIM_BATCH = 1000,   /* lapsed leases put back per sweep statement */
    DB_RETRY_MS = 500,      /* pause after a failed engine statement */
    WARN_EVERY_MS = 10000   /* at most one "database down" warning per this */
};

int64_t wf_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t wf_random(void)
{
    uint32_t r = 0;

    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint32_t)wf_now_ms() * 2654435761u;
    return r;
}

void wf_deadline(struct timespec *ts, int64_t ms_from_now)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms_from_now / 1000;
    ts->tv_nsec += (ms_from_now % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Fill in defaults (see wf_engine.h). */
static void resolve_config(wf_engine_config *c)
{
    if (c->workers <= 0)
        c->workers = 4;
    if (c->slots < c->workers)
        c->slots = c->workers;
    if (c->slots > WF_STORE_BATCH_MAX)
        c->slots = WF_STORE_BATCH_MAX;
    if (c->lease_ms <= 0)
        c->lease_ms = 30000;
    if (c->heartbeat_ms == 0)
        c->heartbeat_ms = c->lease_ms / 3 > 0 ? c->lease_ms / 3 : 1;
    if (c->poll_ms <= 0)
        c->poll_ms = 500;
    if (c->reclaim_ms <= 0)
        c->reclaim_ms = 1000;
    if (c->flush_ms == 0)
        c->flush_ms = 2;
    if (c->backoff_base_ms <= 0)
        c->backoff_base_ms = 1000;
    if (c->backoff_cap_ms <= 0)
        c->backoff_cap_ms = 3600000;
    if (c->statement_timeout_ms <= 0)
        c->statement_timeout_ms = 5000;
}

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

/* The pools: workers + claimer + flusher + one spare; one for LISTEN. */
static ds_status open_pools(wf_engine *e, ds_error *err)
{
    store_config sc = {.conninfo = e->conninfo,
                       .pool_size = e->cfg.workers + 3,
                       .statement_timeout_ms = e->cfg.statement_timeout_ms,
                       .acquire_timeout_ms = 5000,
                       .application_name = "dropshipd-tasks"};

    e->pool = store_pool_new(&sc, err);
    if (e->pool == NULL)
        return err != NULL ? err->status : DS_ERR_CONFIG;
    sc.pool_size = 1;
    sc.application_name = "dropshipd-tasks-listen";
    e->listen_pool = store_pool_new(&sc, err);
    if (e->listen_pool == NULL)
        return err != NULL ? err->status : DS_ERR_CONFIG;
    return DS_OK;
}

static void default_owner(char *buf, size_t size)
{
    char host[64] = "host";

    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, size, "%s:%ld:%08x", host, (long)getpid(), wf_random());
}

wf_engine *wf_engine_new(const wf_engine_config *cfg, ds_error *err)
{
    wf_engine *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        ds_error_set(err, DS_ERR_NOMEM, "out of memory creating the task engine");
        return NULL;
    }
    e->cfg = *cfg;
    resolve_config(&e->cfg);
    e->conninfo = cfg->conninfo != NULL ? strdup(cfg->conninfo) : NULL;
    e->cfg.conninfo = e->conninfo;
    e->cfg.owner = NULL;
    if (cfg->owner != NULL)
        snprintf(e->owner, sizeof(e->owner), "%s", cfg->owner);
    else
        default_owner(e->owner, sizeof(e->owner));
    pthread_mutex_init(&e->mu, NULL);
    cond_init_monotonic(&e->work_cv);
    cond_init_monotonic(&e->claim_cv);
    cond_init_monotonic(&e->flush_cv);
    cond_init_monotonic(&e->idle_cv);
    e->queue = calloc((size_t)e->cfg.slots, sizeof(*e->queue));
    e->leases = calloc((size_t)e->cfg.slots, sizeof(*e->leases));
    e->pending = calloc((size_t)e->cfg.slots, sizeof(*e->pending));
    e->pending_ctx = calloc((size_t)e->cfg.slots, sizeof(*e->pending_ctx));
    e->workers = calloc((size_t)e->cfg.workers, sizeof(*e->workers));
    if (e->queue == NULL || e->leases == NULL || e->pending == NULL || e->pending_ctx == NULL ||
        e->workers == NULL || (cfg->conninfo != NULL && e->conninfo == NULL)) {
        ds_error_set(err, DS_ERR_NOMEM, "out of memory creating the task engine");
        goto fail;
    }
    if (open_pools(e, err) != DS_OK)
        goto fail;
    return e;
fail:
    wf_engine_free(e);
    return NULL;
}

ds_status wf_engine_register(wf_engine *e, const wf_kind *kind, ds_error *err)
{
    wf_kind_slot *k;

    if (e->started)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "register kinds before start");
    if (kind == NULL || kind->handler == NULL || !wf_store_kind_ok(kind->name))
        return ds_error_set(err, DS_ERR_INVALID,
                            "task kind needs a handler and a name of 1..%d [a-z0-9_.:-]",
                            WF_KIND_MAX);
    for (int i = 0; i < e->n_kinds; i++)
        if (strcmp(e->kinds[i].name, kind->name) == 0)
            return ds_error_set(err, DS_ERR_INVALID, "task kind %s registered twice", kind->name);
    if (e->n_kinds == WF_KINDS_MAX)
        return ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED, "more than %d task kinds",
                            WF_KINDS_MAX);
    k = &e->kinds[e->n_kinds++];
    k->def = *kind;
    snprintf(k->name, sizeof(k->name), "%s", kind->name);
    k->def.name = k->name;
    k->leased = 0;
    return DS_OK;
}

/* ---- claiming ------------------------------------------------------------ */

void wf_lease_drop_locked(wf_engine *e, wf_ctx *ctx)
{
    e->leases[ctx->lease_index] = NULL;
    e->n_leased--;
    ctx->kind->leased--;
    free(ctx->row);
    free(ctx);
    pthread_cond_signal(&e->claim_cv);
}

static wf_kind_slot *find_kind(wf_engine *e, const char *name)
{
    for (int i = 0; i < e->n_kinds; i++)
        if (strcmp(e->kinds[i].name, name) == 0)
            return &e->kinds[i];
    return NULL;
}

/* Wrap a claimed row, take a lease slot and queue it. With e->mu held.
 * Returns false (row freed, lease left to lapse) only if the kind is not
 * ours, which the claim's kind filter rules out. */
static bool enqueue_locked(wf_engine *e, wf_claimed *row)
{
    wf_kind_slot *k = find_kind(e, row->kind);
    wf_ctx *ctx = k != NULL ? calloc(1, sizeof(*ctx)) : NULL;
    int slot = 0;

    if (ctx == NULL) {
        free(row);
        return false;
    }
    while (e->leases[slot] != NULL)
        slot++; /* n_leased < slots, so there is a free one */
    ctx->e = e;
    ctx->row = row;
    ctx->kind = k;
    ctx->lease_index = slot;
    ctx->task = (wf_task){.task_id = row->ref.task_id,
                          .kind = k->name,
                          .key = row->key,
                          .payload = row->payload,
                          .payload_len = row->payload_len,
                          .attempt = row->ref.attempt,
                          .max_attempts = row->max_attempts,
                          .last_error = row->last_error};
    memcpy(ctx->task.shop_id, row->ref.shop_id, sizeof(ctx->task.shop_id));
    e->leases[slot] = ctx;
    e->n_leased++;
    k->leased++;
    e->queue[(e->q_head + e->q_len) % e->cfg.slots] = ctx;
    e->q_len++;
    pthread_cond_signal(&e->work_cv);
    return true;
}

/* One claim statement for `kinds`, up to `limit` tasks. Returns how many
 * were claimed, -1 on a database error. */
static int claim_group(wf_engine *e, store_conn *c, const char *kinds, int limit)
{
    wf_claimed **rows = NULL;
    int n = 0;
    ds_error err;

    ds_error_clear(&err);
    if (wf_store_claim(c, e->owner, kinds, limit, e->cfg.lease_ms, &rows, &n, &err) != DS_OK) {
        atomic_fetch_add(&e->n.db_errors, 1);
        DS_DEBUG("tasks", "claim failed: %s", err.message);
        return -1;
    }
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < n; i++)
        enqueue_locked(e, rows[i]);
    pthread_mutex_unlock(&e->mu);
    free(rows);
    atomic_fetch_add(&e->n.claimed, (uint_fast64_t)n);
    return n;
}

/* Claim for every group with room: the uncapped kinds together, each capped
 * kind alone. Returns true when some group came back full (more is due). */
static bool claim_round(wf_engine *e, store_conn *c, int free_slots, bool *failed)
{
    bool full = false;
    int got;

    if (e->claim_all != NULL) {
        got = claim_group(e, c, e->claim_all, free_slots);
        *failed = got < 0;
        if (got < 0)
            return false;
        full = got == free_slots;
        free_slots -= got;
    }
    for (int i = 0; i < e->n_kinds && free_slots > 0; i++) {
        wf_kind_slot *k = &e->kinds[i];
        char lit[WF_KIND_MAX + 8];
        int room;
        if (k->def.max_concurrency <= 0)
            continue;
        pthread_mutex_lock(&e->mu);
        room = k->def.max_concurrency - k->leased;
        pthread_mutex_unlock(&e->mu);
        if (room <= 0)
            continue;
        snprintf(lit, sizeof(lit), "{\"%s\"}", k->name);
        got = claim_group(e, c, lit, room < free_slots ? room : free_slots);
        if (got < 0) {
            *failed = true;
            return false;
        }
        full = full || got == (room < free_slots ? room : free_slots);
        free_slots -= got;
    }
    return full;
}

/* Put lapsed leases back; any replica does this for all of them. */
static void reclaim(wf_engine *e, store_conn *c, bool *failed)
{
    int n = 0;
    ds_error err;

    ds_error_clear(&err);
    if (wf_store_reclaim(c, RECLAIM_BATCH, &n, &err) != DS_OK) {
        atomic_fetch_add(&e->n.db_errors, 1);
        *failed = true;
        return;
    }
    if (n > 0) {
        atomic_fetch_add(&e->n.reclaimed, (uint_fast64_t)n);
        DS_INFO("tasks", "put %d task(s) with a lapsed lease back in the queue", n);
        pthread_mutex_lock(&e->mu);
        e->want_claim = true;
        pthread_mutex_unlock(&e->mu);
    }
}

/* How many slots to claim for now (0 = not now). With e->mu held. */
static int claimable_locked(const wf_engine *e)
{
    int free_slots = e->cfg.slots - e->n_leased;
    int batch_min = e->cfg.slots / 4 > 0 ? e->cfg.slots / 4 : 1;
    int batch_max = e->cfg.slots / 2 > batch_min ? e->cfg.slots / 2 : batch_min;

    if (e->stopping || !e->want_claim || free_slots <= 0)
        return 0;
    if (free_slots < batch_min && e->q_len > 0)
        return 0; /* wait for a worthwhile batch while workers have work */
    /* At most half the slots per claim, so that claiming the next batch
     * overlaps with running and completing the previous one. */
    return free_slots > batch_max ? batch_max : free_slots;
}

typedef struct claimer_timers {
    int64_t next_poll, next_reclaim, warn_after;
} claimer_timers;

/* Sleep until a claim is worth doing or a timer is due. With e->mu held. */
static void claimer_wait_locked(wf_engine *e, claimer_timers *t)
{
    int64_t now = wf_now_ms();
    int64_t until = t->next_poll < t->next_reclaim ? t->next_poll : t->next_reclaim;
    struct timespec ts;

    if (until <= now || claimable_locked(e) > 0)
        return;
    wf_deadline(&ts, until - now);
    pthread_cond_timedwait(&e->claim_cv, &e->mu, &ts);
}

/* One pass of the claimer: timers, sweep, claim. */
static void claimer_step(wf_engine *e, store_conn *c, claimer_timers *t, bool *failed)
{
    int64_t now = wf_now_ms();
    int free_slots;

    if (now >= t->next_reclaim) {
        reclaim(e, c, failed);
        t->next_reclaim = now + wf_jitter_ms(e->cfg.reclaim_ms, wf_random());
    }
    pthread_mutex_lock(&e->mu);
    if (now >= t->next_poll) {
        e->want_claim = true;
        t->next_poll = now + wf_jitter_ms(e->cfg.poll_ms, wf_random());
    }
    free_slots = claimable_locked(e);
    if (free_slots > 0)
        e->want_claim = false;
    pthread_mutex_unlock(&e->mu);
    if (free_slots > 0 && !*failed && claim_round(e, c, free_slots, failed)) {
        pthread_mutex_lock(&e->mu);
        e->want_claim = true; /* a full batch: more is probably due */
        pthread_mutex_unlock(&e->mu);
    }
}

/* Claimer thread: holds one connection while the database is reachable. */
static void *claimer_main(void *arg)
{
    wf_engine *e = arg;
    claimer_timers t = {0, 0, 0};
    store_conn *c = NULL;

    pthread_mutex_lock(&e->mu);
    while (!e->stopping) {
        bool failed = false;
        ds_error err;
        pthread_mutex_unlock(&e->mu);
        ds_error_clear(&err);
        if (c == NULL && store_acquire(e->pool, INT64_MAX, &c, &err) != DS_OK)
            failed = true;
        if (c != NULL)
            claimer_step(e, c, &t, &failed);
        if (failed) {
            int64_t now = wf_now_ms();
            if (now >= t.warn_after) {
                DS_WARN("tasks", "task queue unreachable, retrying: %s",
                        err.message[0] ? err.message : "statement failed");
                t.warn_after = now + WARN_EVERY_MS;
            }
            store_release(e->pool, c); /* a broken connection is reopened */
            c = NULL;
            pthread_mutex_lock(&e->mu);
            if (!e->stopping) {
                struct timespec ts;
                wf_deadline(&ts, wf_jitter_ms(DB_RETRY_MS, wf_random()));
                pthread_cond_timedwait(&e->claim_cv, &e->mu, &ts);
            }
            e->want_claim = true;
            continue;
        }
        pthread_mutex_lock(&e->mu);
        claimer_wait_locked(e, &t);
    }
    pthread_mutex_unlock(&e->mu);
    store_release(e->pool, c);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

/* The text[] literal of the kinds without a concurrency cap. */
static ds_status build_claim_all(wf_engine *e, ds_error *err)
{
    const char *names[WF_KINDS_MAX];
    int n = 0;

    for (int i = 0; i < e->n_kinds; i++)
        if (e->kinds[i].def.max_concurrency <= 0)
            names[n++] = e->kinds[i].name;
    if (n == 0)
        return DS_OK;
    e->claim_all = wf_store_kinds_literal(names, n);
    if (e->claim_all == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory starting the task engine");
    return DS_OK;
}

ds_status wf_engine_start(wf_engine *e, ds_error *err)
{
    ds_status st;

    if (e->started)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "task engine already started");
    if (e->n_kinds == 0)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "no task kinds registered");
    st = build_claim_all(e, err);
    if (st != DS_OK)
        return st;
    e->started = true;
    e->want_claim = true;
    for (int i = 0; i < e->cfg.workers; i++)
        pthread_create(&e->workers[i], NULL, wf_worker_main, e);
    pthread_create(&e->flusher, NULL, wf_flusher_main, e);
    pthread_create(&e->listener, NULL, wf_listener_main, e);
    pthread_create(&e->claimer, NULL, claimer_main, e);
    DS_INFO("tasks", "task engine %s started: %d workers, %d slots, lease %d ms", e->owner,
            e->cfg.workers, e->cfg.slots, e->cfg.lease_ms);
    return DS_OK;
}

/* Take every queued (not started) task off the queue and give it back. */
static void release_queued(wf_engine *e)
{
    wf_ref *refs = calloc((size_t)e->cfg.slots, sizeof(*refs));
    int n = 0;

    pthread_mutex_lock(&e->mu);
    while (e->q_len > 0) {
        wf_ctx *ctx = e->queue[e->q_head];
        e->q_head = (e->q_head + 1) % e->cfg.slots;
        e->q_len--;
        if (refs != NULL)
            refs[n++] = ctx->row->ref;
        wf_lease_drop_locked(e, ctx);
    }
    pthread_mutex_unlock(&e->mu);
    wf_release_refs(e, refs, n);
    free(refs);
}

/* After the grace: mark still running handlers cancelled and give their
 * tasks back; their outcome will be ignored. */
static void release_running(wf_engine *e)
{
    wf_ref *refs = calloc((size_t)e->cfg.slots, sizeof(*refs));
    int n = 0;

    pthread_mutex_lock(&e->mu);
    e->cancelled = true;
    for (int i = 0; i < e->cfg.slots; i++) {
        wf_ctx *ctx = e->leases[i];
        if (ctx == NULL || ctx->state != WF_CTX_RUNNING || ctx->completed)
            continue;
        ctx->released = true;
        if (refs != NULL)
            refs[n++] = ctx->row->ref;
    }
    pthread_mutex_unlock(&e->mu);
    if (n > 0)
        DS_WARN("tasks", "%d handler(s) still running after the grace; their tasks go back", n);
    wf_release_refs(e, refs, n);
    free(refs);
}

void wf_engine_stop(wf_engine *e, int grace_ms)
{
    struct timespec ts;

    if (e == NULL || !e->started)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_broadcast(&e->claim_cv);
    pthread_cond_broadcast(&e->work_cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->claimer, NULL);
    pthread_join(e->listener, NULL);
    release_queued(e);
    wf_deadline(&ts, grace_ms > 0 ? grace_ms : 0);
    pthread_mutex_lock(&e->mu);
    while (e->n_running > 0 && pthread_cond_timedwait(&e->idle_cv, &e->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&e->mu);
    release_running(e);
    for (int i = 0; i < e->cfg.workers; i++)
        pthread_join(e->workers[i], NULL);
    pthread_mutex_lock(&e->mu);
    e->flusher_stop = true;
    pthread_cond_broadcast(&e->flush_cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->flusher, NULL);
    e->started = false;
    DS_INFO("tasks", "task engine %s stopped", e->owner);
}

void wf_engine_free(wf_engine *e)
{
    if (e == NULL)
        return;
    wf_engine_stop(e, 0);
    store_pool_free(e->pool);
    store_pool_free(e->listen_pool);
    pthread_cond_destroy(&e->work_cv);
    pthread_cond_destroy(&e->claim_cv);
    pthread_cond_destroy(&e->flush_cv);
    pthread_cond_destroy(&e->idle_cv);
    pthread_mutex_destroy(&e->mu);
    free(e->queue);
    free(e->leases);
    free(e->pending);
    free(e->pending_ctx);
    free(e->workers);
    free(e->claim_all);
    free(e->conninfo);
    free(e);
}

void wf_engine_get_stats(wf_engine *e, wf_engine_stats *out)
{
    out->claimed = atomic_load(&e->n.claimed);
    out->executed = atomic_load(&e->n.executed);
    out->done = atomic_load(&e->n.done);
    out->retried = atomic_load(&e->n.retried);
    out->snoozed = atomic_load(&e->n.snoozed);
    out->deferred = atomic_load(&e->n.deferred);
    out->exhausted = atomic_load(&e->n.exhausted);
    out->stale = atomic_load(&e->n.stale);
    out->reclaimed = atomic_load(&e->n.reclaimed);
    out->released = atomic_load(&e->n.released);
    out->db_errors = atomic_load(&e->n.db_errors);
}

const char *wf_engine_owner(const wf_engine *e)
{
    return e->owner;
}

bool wf_ctx_cancelled(const wf_ctx *ctx)
{
    bool c;

    pthread_mutex_lock(&ctx->e->mu);
    c = ctx->e->cancelled || ctx->released;
    pthread_mutex_unlock(&ctx->e->mu);
    return c;
}
