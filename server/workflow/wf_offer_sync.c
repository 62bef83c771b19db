/* wf_offer_sync.c - the periodic offer sync per supplier: task kind,
 * seeding, batched offer reads, storing, and the reaction on orders. */
#include "wf_offer_sync.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_log.h"
#include "wf_offer_react.h"

enum {
    SEED_MAX = 10000, /* suppliers seeded at start */
    KEY_LEN = 64,
    INTERVAL_FLOOR_MS = 1000 /* a supplier is never synced more often (scaled tests) */
};

static _Atomic(wf_order_env *) sync_env;

static void task_key(char out[KEY_LEN], const char *supplier_id)
{
    snprintf(out, KEY_LEN, "offers:%s", supplier_id);
}

ds_status wf_offer_seed(store_conn *c, const char *shop_id, const char *supplier_id,
                        int64_t delay_ms, ds_error *err)
{
    char key[KEY_LEN];
    wf_new_task t = {.shop_id = shop_id,
                     .kind = WF_OFFER_KIND_SYNC,
                     .key = key,
                     .delay_ms = delay_ms,
                     .max_attempts = 1000};

    task_key(key, supplier_id);
    return wf_schedule_in(c, &t, NULL, err);
}

/* The next sync of the supplier after the interval. */
static int64_t interval_ms(const wf_order_env *env)
{
    int64_t v = wf_order_scaled(env, env->set.offer_sync_ms > 0 ? env->set.offer_sync_ms : 900000);

    return v < INTERVAL_FLOOR_MS ? INTERVAL_FLOOR_MS : v;
}

/* Store the offers read for a batch (or the failure) and react on orders. */
static ds_status store_batch(wf_order_env *env, store_conn *c, const char *shop_id,
                             const store_offer_target *t, size_t n, const ad_list_offers_out *out,
                             const ad_result *ar, wf_offer_result *res, ds_error *err)
{
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < n; i++) {
        store_offer_val nv = {.known = true, .stock = 0, .ship_days = -1}, old;
        wf_offer_change ch = {.binding_id = t[i].binding_id, .supplier_sku = t[i].supplier_sku};
        bool changed = false;
        if (ar->status != DS_OK) {
            st = store_offer_failed(c, shop_id, t[i].binding_id, ar->message, err);
            res->failed++;
            continue;
        }
        for (size_t k = 0; k < out->n_offers; k++) {
            const ad_offer *o = &out->offers[k];
            if (strcmp(o->sku, t[i].supplier_sku) != 0)
                continue; /* not listed: nothing in stock, last cost kept */
            nv.stock = o->stock;
            snprintf(nv.cost.currency, sizeof(nv.cost.currency), "%s", o->cost.currency);
            nv.cost.units = o->cost.units;
            nv.cost.nanos = o->cost.nanos;
            nv.ship_days = (int32_t)o->ship_days;
        }
        st = store_offer_record(c, shop_id, t[i].binding_id, &nv, &old, &changed, err);
        if (st == DS_ERR_NOT_FOUND) { /* deleted meanwhile */
            ds_error_clear(err);
            st = DS_OK;
            continue;
        }
        res->synced += st == DS_OK;
        res->changed += st == DS_OK && changed;
        ch.old_offer = old;
        ch.new_offer = nv;
        if (st == DS_OK)
            st = wf_offer_react(env, shop_id, t[i].shop_sku, &ch, &res->held, &res->resumed, err);
    }
    return st;
}

/* Read the offers of one batch of bindings through the adapter. */
static void read_batch(ad_supplier *ad, const store_offer_target *t, size_t n,
                       ad_list_offers_out *out, ad_result *ar)
{
    const char *skus[STORE_OFFER_BATCH_MAX];
    size_t k = 0;
    ad_list_offers_in in = {.skus = skus};
    ad_sync sy;
    ds_error err;

    ds_error_clear(&err);
    for (size_t i = 0; i < n; i++) { /* distinct SKUs (variants share one) */
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(skus[j], t[i].supplier_sku) == 0;
        if (!seen)
            skus[k++] = t[i].supplier_sku;
    }
    in.n_skus = k;
    ad_sync_init(&sy);
    wf_ad_finish(ad_supplier_list_offers(ad, &in, out, ad_sync_done, &sy, &err), &sy, ar, &err);
}

/* One batch: targets after *after, read, store, react. *more false at the end. */
static ds_status sync_batch(wf_order_env *env, ad_supplier *ad, const char *shop_id,
                            const char *supplier_id, char after[STORE_SO_ID], bool *more,
                            wf_offer_result *res, ds_error *err)
{
    store_offer_target *t = calloc(STORE_OFFER_BATCH_MAX, sizeof(*t));
    ad_list_offers_out out = {0};
    ad_result ar;
    store_conn *c = NULL;
    size_t n = 0;
    ds_status st = t != NULL ? store_acquire(env->pool, INT64_MAX, &c, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK)
        st = store_offer_targets(c, shop_id, supplier_id, after, t, STORE_OFFER_BATCH_MAX, &n, err);
    store_release(env->pool, c); /* no connection held during HTTP */
    c = NULL;
    *more = st == DS_OK && n == STORE_OFFER_BATCH_MAX;
    if (st != DS_OK || n == 0)
        goto out;
    res->bindings += (int)n;
    read_batch(ad, t, n, &out, &ar);
    if (ar.status != DS_OK)
        snprintf(res->error, sizeof(res->error), "%s", ar.message);
    st = store_acquire(env->pool, INT64_MAX, &c, err);
    if (st == DS_OK)
        st = store_batch(env, c, shop_id, t, n, &out, &ar, res, err);
    snprintf(after, STORE_SO_ID, "%s", t[n - 1].binding_id);
out:
    store_release(env->pool, c);
    ad_list_offers_out_cleanup(&out);
    free(t);
    return st;
}

/* The supplier's adapter (NULL for MANUAL). DS_ERR_NOT_FOUND when gone. */
static ds_status supplier_adapter(wf_order_env *env, const char *shop_id, const char *supplier_id,
                                  ad_supplier **ad, ds_error *err)
{
    store_so_supplier *s = calloc(1, sizeof(*s));
    store_conn *c = NULL;
    ds_status st = s != NULL ? store_acquire(env->pool, INT64_MAX, &c, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    *ad = NULL;
    if (st == DS_OK)
        st = store_so_supplier_get(c, shop_id, supplier_id, s, err);
    store_release(env->pool, c);
    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, ad, err);
    if (s != NULL)
        memset(s, 0, sizeof(*s)); /* credentials */
    free(s);
    return st;
}

/* Sync every binding of one supplier. */
static ds_status sync_supplier(wf_order_env *env, const char *shop_id, const char *supplier_id,
                               wf_offer_result *res, ds_error *err)
{
    char after[STORE_SO_ID] = "";
    ad_supplier *ad = NULL;
    bool more = true;
    ds_status st = supplier_adapter(env, shop_id, supplier_id, &ad, err);

    memset(res, 0, sizeof(*res));
    res->skipped = st == DS_OK && ad == NULL;
    while (st == DS_OK && ad != NULL && more)
        st = sync_batch(env, ad, shop_id, supplier_id, after, &more, res, err);
    ad_supplier_free(ad);
    if (st == DS_OK && (res->failed > 0 || res->changed > 0 || res->held > 0 || res->resumed > 0))
        DS_INFO("offers",
                "supplier %s: %d bindings, %d synced, %d failed, %d changed, "
                "%d orders held, %d resumed",
                supplier_id, res->bindings, res->synced, res->failed, res->changed, res->held,
                res->resumed);
    return st;
}

/* Complete the task and schedule the next run in one transaction. */
static void reschedule(wf_ctx *ctx, const wf_task *t, wf_order_env *env, bool again, wf_result *res)
{
    wf_tx *tx = NULL;
    wf_new_task next = {.shop_id = t->shop_id,
                        .kind = t->kind,
                        .key = t->key,
                        .delay_ms = interval_ms(env),
                        .max_attempts = 1000};
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    st = wf_tx_begin(ctx, &tx, &err);
    if (st == DS_OK && again)
        st = wf_tx_schedule(tx, &next, NULL, &err);
    if (st == DS_OK) {
        st = wf_tx_commit_complete(tx, &err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
    if (st == DS_ERR_ABORTED)
        res->action = WF_DONE; /* run again elsewhere: that run reschedules */
    else if (st != DS_OK)
        wf_res_set(res, WF_RETRY, "%s", err.message);
}

static void step_sync(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    const char *supplier_id = t->key != NULL ? strchr(t->key, ':') : NULL;
    wf_offer_result r;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (supplier_id == NULL) {
        wf_res_set(res, WF_FAIL, "bad task key");
        return;
    }
    st = sync_supplier(env, t->shop_id, supplier_id + 1, &r, &err);
    if (st == DS_OK || st == DS_ERR_NOT_FOUND)
        reschedule(ctx, t, env, st == DS_OK && !r.skipped && r.bindings > 0, res);
    else
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
}

/* Seed one task per supplier with bindings, due now. Best effort. */
static void seed_all(wf_order_env *env)
{
    store_offer_supplier *s = calloc(SEED_MAX, sizeof(*s));
    store_conn *c = NULL;
    size_t n = 0;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    st = s != NULL ? store_acquire(env->pool, INT64_MAX, &c, &err)
                   : ds_error_set(&err, DS_ERR_NOMEM, "out of memory");
    if (st == DS_OK)
        st = store_offer_suppliers(c, NULL, NULL, s, SEED_MAX, &n, &err);
    for (size_t i = 0; st == DS_OK && i < n; i++)
        st = wf_offer_seed(c, s[i].shop_id, s[i].supplier_id, 0, &err);
    if (st != DS_OK)
        DS_WARN("offers", "cannot seed the offer sync tasks: %s", err.message);
    store_release(env->pool, c);
    free(s);
}

ds_status wf_offer_register(wf_engine *e, wf_order_env *env, ds_error *err)
{
    const wf_kind k = {WF_OFFER_KIND_SYNC, step_sync, NULL, env, 0};
    ds_status st = wf_engine_register(e, &k, err);

    if (st == DS_OK) {
        atomic_store(&sync_env, env);
        seed_all(env);
    }
    return st;
}

void wf_offer_unregister(void)
{
    atomic_store(&sync_env, NULL);
}

ds_status wf_offer_sync_now(const char *shop_id, const char *supplier_id, wf_offer_result *res,
                            ds_error *err)
{
    wf_order_env *env = atomic_load(&sync_env);
    store_conn *c = NULL;
    ds_status st;

    if (env == NULL)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "the order workflow does not run here");
    st = sync_supplier(env, shop_id, supplier_id, res, err);
    if (st == DS_OK && !res->skipped && res->bindings > 0)
        st = store_acquire(env->pool, INT64_MAX, &c, err);
    if (c != NULL)
        st = wf_offer_seed(c, shop_id, supplier_id, interval_ms(env), err);
    store_release(env->pool, c);
    return st;
}
