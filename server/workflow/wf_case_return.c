/* wf_case_return.c - the case task kinds: scheduling, registration, and
 * case.return_tracking, which follows the buyer's return parcel through the
 * supplier's courier adapter until it is delivered, then marks the return
 * received (AWAITING_RETURN -> RETURN_RECEIVED, actor ADAPTER). */
#include "wf_case_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad_tracking.h"
#include "dropship/v1/cases.pb-c.h"
#include "ds_log.h"
#include "store_cases.h"
#include "store_row.h"
#include "store_supplier_orders.h"
#include "wf_case_fsm.h"
#include "wf_order_steps.h"

enum {
    C_AWAIT_RETURN = DROPSHIP__V1__CASE_STATE__CASE_STATE_AWAITING_RETURN,
    C_RECEIVED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RETURN_RECEIVED,
    TS_DELIVERED = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_DELIVERED,
    EV_CHANGED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_STATE_CHANGED,
    EV_UPDATED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_UPDATED,
    A_ADAPTER = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_ADAPTER,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM
};

ds_status wf_case_schedule(store_conn *tx, const char *shop_id, const char *case_id,
                           const char *kind, const char *sub, int64_t delay_ms, ds_error *err)
{
    char key[WF_KEY_MAX];
    const char *step = strchr(kind, '.');
    wf_new_task t = {.shop_id = shop_id, .kind = kind, .key = key, .delay_ms = delay_ms,
                     .max_attempts = 20};

    snprintf(key, sizeof(key), "case:%s:%s%s%s", case_id, step != NULL ? step + 1 : kind,
             sub != NULL ? ":" : "", sub != NULL ? sub : "");
    return wf_schedule_in(tx, &t, NULL, err);
}

/* Case id from a key "case:<id>:<step>...". */
static bool case_of(const char *key, char out[37])
{
    if (key == NULL || strncmp(key, "case:", 5) != 0 || strlen(key) < 5 + 36)
        return false;
    memcpy(out, key + 5, 36);
    out[36] = '\0';
    return true;
}

/* What one poll found. */
typedef struct poll_out {
    char supplier_id[37];
    char carrier[65], number[65];
    int32_t state;
    int32_t status;        /* TrackingStatus after the poll */
    uint8_t *cps;          /* packed Parcel with the checkpoints; malloc'd */
    size_t cps_len;
} poll_out;

/* clang-format off */
static const store_stmt stmt_parcel = {
    "wf_case_return_parcel",
    "SELECT supplier_id, return_carrier, return_tracking_number, state FROM cases "
    "WHERE shop_id = $1 AND case_id = $2"};
/* clang-format on */

static ds_status read_parcel(store_conn *c, const char *shop_id, const char *case_id,
                             poll_out *po, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_parcel, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        snprintf(po->supplier_id, sizeof(po->supplier_id), "%s", PQgetvalue(r, 0, 0));
        snprintf(po->carrier, sizeof(po->carrier), "%s", PQgetvalue(r, 0, 1));
        snprintf(po->number, sizeof(po->number), "%s", PQgetvalue(r, 0, 2));
        po->state = store_row_int32(r, 0, 3, 0);
    }
    PQclear(r);
    return st;
}

static void pack(const ad_get_tracking_out *o, poll_out *po)
{
    Dropship__V1__Parcel p = DROPSHIP__V1__PARCEL__INIT;
    size_t n = o->n_checkpoints;
    Dropship__V1__TrackingCheckpoint *cps = calloc(n + 1, sizeof(*cps));
    Dropship__V1__TrackingCheckpoint **ptrs = calloc(n + 1, sizeof(*ptrs));
    Google__Protobuf__Timestamp *ts = calloc(n + 1, sizeof(*ts));

    for (size_t i = 0; cps != NULL && ptrs != NULL && ts != NULL && i < n; i++) {
        dropship__v1__tracking_checkpoint__init(&cps[i]);
        google__protobuf__timestamp__init(&ts[i]);
        ts[i].seconds = o->checkpoints[i].time_ms / 1000;
        ts[i].nanos = (int32_t)(o->checkpoints[i].time_ms % 1000) * 1000000;
        cps[i].event_time = &ts[i];
        cps[i].status = (int)o->checkpoints[i].status + 1;
        cps[i].location = (char *)o->checkpoints[i].location;
        cps[i].message = (char *)o->checkpoints[i].message;
        ptrs[i] = &cps[i];
        p.n_checkpoints = i + 1;
    }
    p.checkpoints = ptrs;
    po->cps_len = dropship__v1__parcel__get_packed_size(&p);
    po->cps = malloc(po->cps_len + 1);
    if (po->cps != NULL)
        dropship__v1__parcel__pack(&p, po->cps);
    else
        po->cps_len = 0;
    free(cps);
    free(ptrs);
    free(ts);
}

/* Ask the courier (the supplier's tracking integration). */
static ds_status poll(wf_order_env *env, const store_so_supplier *s, poll_out *po, ds_error *err)
{
    ad_get_tracking_in in = {.carrier = po->carrier, .tracking_number = po->number};
    ad_get_tracking_out out = {0};
    ad_tracking *tr = NULL;
    ad_sync sy;
    ad_result ar;
    ds_status st = wf_adapter_tracking(env, s, &tr, err);

    if (st != DS_OK || tr == NULL)
        return st != DS_OK ? st
                           : ds_error_set(err, DS_ERR_CONFIG, "supplier %s has no tracking "
                                                              "integration", s->supplier_id);
    ad_sync_init(&sy);
    wf_ad_finish(ad_tracking_get(tr, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    ad_tracking_free(tr);
    if (ar.status == DS_ERR_NOT_FOUND)
        return DS_OK; /* unknown yet */
    if (ar.status != DS_OK)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "tracking %s %s: %s", po->carrier,
                            po->number, ar.message);
    po->status = (int32_t)out.status + 1;
    pack(&out, po);
    ad_get_tracking_out_cleanup(&out);
    return DS_OK;
}

/* Everything outside the transaction. */
static ds_status poll_outside(wf_order_env *env, const char *shop_id, const char *case_id,
                              poll_out *po, ds_error *err)
{
    store_so_supplier *s = calloc(1, sizeof(*s));
    store_conn *c = NULL;
    ds_status st = s == NULL ? ds_error_set(err, DS_ERR_NOMEM, "out of memory")
                             : store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = read_parcel(c, shop_id, case_id, po, err);
    if (st == DS_OK && po->state == C_AWAIT_RETURN)
        st = store_so_supplier_get(c, shop_id, po->supplier_id, s, err);
    store_release(env->pool, c);
    if (st == DS_OK && po->state == C_AWAIT_RETURN)
        st = poll(env, s, po, err);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    free(s);
    return st;
}

/* In the task's transaction: store the poll, and on delivery move on. */
static ds_status write_poll(store_conn *tx, const char *shop_id, const char *case_id,
                            const poll_out *po, int64_t next_ms, ds_error *err)
{
    wf_case_cur cur;
    ds_status st = wf_case_lock(tx, shop_id, case_id, &cur, err);

    if (st != DS_OK || cur.state != C_AWAIT_RETURN)
        return st;
    st = store_case_return_polled(tx, shop_id, case_id, po->status, po->cps, po->cps_len,
                                  next_ms, err);
    if (st != DS_OK || po->status != TS_DELIVERED)
        return st;
    char *d = wf_details("carrier", po->carrier, "tracking_number", po->number,
                         "tracking_status", "DELIVERED", NULL);
    wf_case_change ch = {.to = C_RECEIVED, .event_type = EV_CHANGED, .actor_kind = A_ADAPTER,
                         .actor_id = "return_tracking", .details = d};
    st = wf_case_apply(tx, shop_id, &cur, &ch, err);
    free(d);
    return st;
}

static int64_t next_poll_ms(const wf_order_env *env)
{
    int64_t d = wf_order_scaled(env, env->set.track_poll_ms);

    return d < env->set.min_poll_ms ? env->set.min_poll_ms : d;
}

static void step_return(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    poll_out po = {0};
    char case_id[37];
    wf_tx *tx = NULL;
    ds_error err;
    ds_status st;
    int64_t next = next_poll_ms(env);

    ds_error_clear(&err);
    if (!case_of(t->key, case_id)) {
        wf_res_set(res, WF_FAIL, "malformed task key");
        return;
    }
    st = poll_outside(env, t->shop_id, case_id, &po, &err);
    if (st == DS_OK && po.state == C_AWAIT_RETURN)
        st = wf_tx_begin(ctx, &tx, &err);
    if (st == DS_OK && tx != NULL)
        st = write_poll(wf_tx_conn(tx), t->shop_id, case_id, &po, next, &err);
    if (st == DS_OK && tx != NULL && po.status != TS_DELIVERED)
        st = wf_case_schedule(wf_tx_conn(tx), t->shop_id, case_id, WF_CASE_KIND_RETURN, NULL,
                              next, &err);
    if (st == DS_OK && tx != NULL) {
        st = wf_tx_commit_complete(tx, &err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
    free(po.cps);
    if (st == DS_ERR_NOT_FOUND)
        res->action = WF_DONE;
    else if (st != DS_OK)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
}

ds_status wf_case_task_exhausted(store_conn *tx, const wf_task *t, const char *error, void *arg)
{
    const char *step = strchr(t->kind, '.');
    char case_id[37], attempts[16];
    wf_case_cur cur;
    ds_error err;
    ds_status st;

    (void)arg;
    ds_error_clear(&err);
    if (!case_of(t->key, case_id))
        return DS_OK;
    st = wf_case_lock(tx, t->shop_id, case_id, &cur, &err);
    if (st == DS_ERR_NOT_FOUND || (st == DS_OK && wf_case_terminal(cur.state)))
        return DS_OK;
    snprintf(attempts, sizeof(attempts), "%d", t->attempt);
    char *d = wf_details("step", step != NULL ? step + 1 : t->kind, "gave_up", "true",
                         "attempts", attempts, "error", error != NULL ? error : "", NULL);
    wf_case_change ch = {.to = cur.state, .event_type = EV_UPDATED, .actor_kind = A_SYSTEM,
                         .actor_id = "workflow", .details = d};
    if (st == DS_OK)
        st = d != NULL ? wf_case_apply(tx, t->shop_id, &cur, &ch, &err)
                       : ds_error_set(&err, DS_ERR_NOMEM, "out of memory");
    free(d);
    if (st != DS_OK)
        DS_ERROR("workflow", "cannot record the failed %s of case %s: %s", t->kind, case_id,
                 err.message);
    return st;
}

ds_status wf_case_register(wf_engine *e, struct wf_order_env *env, ds_error *err)
{
    const wf_kind k = {WF_CASE_KIND_RETURN, step_return, wf_case_task_exhausted, env, 0};

    return wf_engine_register(e, &k, err);
}
