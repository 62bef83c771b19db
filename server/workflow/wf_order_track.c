/* wf_order_track.c - the tracking step: poll suppliers for tracking
 * numbers and couriers for checkpoints, with adaptive intervals; moves the
 * order to IN_TRANSIT and DELIVERED. */
#include "wf_order_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropship/v1/orders.pb-c.h"
#include "dropship/v1/suppliers.pb-c.h"
#include "ds_arena.h"
#include "store_wf_view.h"
#include "wf_case_escalate.h"

enum {
    S_AWAIT_SHIP = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_SHIPMENT,
    S_IN_TRANSIT = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_IN_TRANSIT,
    S_DELIVERED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_DELIVERED,
    EV_STATE = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_STATE_CHANGED,
    EV_PARCEL = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_PARCEL_ADDED,
    EV_TRACK = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_TRACKING_UPDATED,
    EV_SO = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_SUPPLIER_ORDER_UPDATED,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
    A_ADAPTER = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_ADAPTER,
    SO_PROCESSING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PROCESSING,
    SO_PARTIAL = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PARTIALLY_SHIPPED,
    SO_SHIPPED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_SHIPPED,
    SO_CANCELLED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_CANCELLED,
    SO_REJECTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    TS_DELIVERED = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_DELIVERED,
    TS_OUT = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_OUT_FOR_DELIVERY,
    TS_FAILED = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_FAILED_ATTEMPT,
    TS_PICKUP = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_AVAILABLE_FOR_PICKUP,
    TS_EXPIRED = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_EXPIRED,
    MAX_SO = 100,
    MAX_NEW = 100
};

/* A parcel learned from a supplier in this run. */
typedef struct new_parcel {
    char supplier_id[STORE_SO_ID];
    char carrier[AD_CARRIER_MAX], number[AD_ID_MAX];
    char lines[512];
} new_parcel;

/* A courier poll's result. */
typedef struct polled {
    store_so_parcel p;          /* with the new status / count */
    uint8_t *cps;               /* packed Parcel{checkpoints}, malloc'd */
    size_t cps_len;
    bool changed;
} polled;

typedef struct so_update {
    char supplier_id[STORE_SO_ID];
    int32_t state;
    char status_text[AD_STATUS_TEXT_MAX];
} so_update;

typedef struct track_out {
    wf_order_env *env;
    int32_t state;
    new_parcel np[MAX_NEW];
    size_t n_np;
    polled pp[STORE_SO_PARCELS_MAX];
    size_t n_pp;
    so_update su[MAX_SO];
    size_t n_su;
    size_t n_parcels;       /* known parcels after this run */
    size_t n_delivered;
    bool all_shipped;       /* every live supplier order reported everything shipped */
    bool near;              /* some parcel near delivery */
    int64_t unchanged_ms;   /* least time any parcel went unchanged */
    int return_days;        /* longest no-reason return window, -1 = unknown */
    int supplier_days;      /* the same from the supplier records, -1 = none */
} track_out;

static ds_status pool_do(wf_order_env *env, store_conn **c, ds_error *err)
{
    return store_acquire(env->pool, INT64_MAX, c, err);
}

static int32_t so_state_of(ad_order_status s)
{
    switch (s) {
    case AD_ORDER_PROCESSING:
    case AD_ORDER_PAID:
        return SO_PROCESSING;
    case AD_ORDER_PARTIALLY_SHIPPED:
        return SO_PARTIAL;
    case AD_ORDER_SHIPPED:
        return SO_SHIPPED;
    case AD_ORDER_CANCELLED:
        return SO_CANCELLED;
    default:
        return 0;
    }
}

/* Ask the supplier for its parcels. */
static ds_status poll_supplier(track_out *to, const char *shop_id, const store_so_row *so,
                               const store_so_supplier *s, ds_error *err)
{
    ad_supplier *ad = NULL;
    ad_get_order_in in = {.supplier_order_id = so->ref};
    ad_get_order_out out = {0};
    ad_sync sy;
    ad_result ar;
    ds_status st = wf_adapter_supplier(to->env, s, &ad, err);

    (void)shop_id;
    if (st != DS_OK || ad == NULL || so->ref[0] == '\0') {
        ad_supplier_free(ad);
        return st; /* MANUAL: parcels come through RecordShipment */
    }
    ad_sync_init(&sy);
    wf_ad_finish(ad_supplier_get_order(ad, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    ad_supplier_free(ad);
    if (ar.status != DS_OK)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: order %s: %s",
                            so->supplier_id, so->ref, ar.message);
    for (size_t i = 0; i < out.n_parcels && to->n_np < MAX_NEW; i++) {
        new_parcel *np = &to->np[to->n_np++];
        snprintf(np->supplier_id, sizeof(np->supplier_id), "%s", so->supplier_id);
        snprintf(np->carrier, sizeof(np->carrier), "%s", out.parcels[i].carrier);
        snprintf(np->number, sizeof(np->number), "%s", out.parcels[i].tracking_number);
    }
    int32_t ns = so_state_of(out.status);
    if (ns != 0 && ns != so->state && to->n_su < MAX_SO) {
        so_update *u = &to->su[to->n_su++];
        snprintf(u->supplier_id, sizeof(u->supplier_id), "%s", so->supplier_id);
        u->state = ns;
        snprintf(u->status_text, sizeof(u->status_text), "%s", out.status_text);
    }
    if (ns != SO_SHIPPED && ns != SO_CANCELLED)
        to->all_shipped = false;
    ad_get_order_out_cleanup(&out);
    return DS_OK;
}

/* Pack the courier's checkpoints as a Parcel holding only them. */
static void pack_checkpoints(const ad_get_tracking_out *o, polled *pp)
{
    Dropship__V1__Parcel p = DROPSHIP__V1__PARCEL__INIT;
    Dropship__V1__TrackingCheckpoint *cps = calloc(o->n_checkpoints + 1, sizeof(*cps));
    Dropship__V1__TrackingCheckpoint **ptrs = calloc(o->n_checkpoints + 1, sizeof(*ptrs));
    Google__Protobuf__Timestamp *ts = calloc(o->n_checkpoints + 1, sizeof(*ts));

    for (size_t i = 0; cps != NULL && ptrs != NULL && ts != NULL && i < o->n_checkpoints; i++) {
        dropship__v1__tracking_checkpoint__init(&cps[i]);
        google__protobuf__timestamp__init(&ts[i]);
        ts[i].seconds = o->checkpoints[i].time_ms / 1000;
        ts[i].nanos = (int32_t)(o->checkpoints[i].time_ms % 1000) * 1000000;
        cps[i].event_time = &ts[i];
        cps[i].status = (int)o->checkpoints[i].status + 1; /* AD_TRACK_PENDING = 0 -> 1 */
        cps[i].location = (char *)o->checkpoints[i].location;
        cps[i].message = (char *)o->checkpoints[i].message;
        ptrs[i] = &cps[i];
        p.n_checkpoints = i + 1;
    }
    p.checkpoints = ptrs;
    pp->cps_len = dropship__v1__parcel__get_packed_size(&p);
    pp->cps = malloc(pp->cps_len + 1);
    if (pp->cps != NULL)
        dropship__v1__parcel__pack(&p, pp->cps);
    else
        pp->cps_len = 0;
    free(cps);
    free(ptrs);
    free(ts);
}

/* Ask the courier about one parcel. Unknown yet (404): unchanged. */
static ds_status poll_courier(track_out *to, const store_so_parcel *p, ad_tracking *tr,
                              ds_error *err)
{
    ad_get_tracking_in in = {.carrier = p->carrier, .tracking_number = p->tracking_number};
    ad_get_tracking_out out = {0};
    ad_sync sy;
    ad_result ar;
    polled *pp = &to->pp[to->n_pp];
    int32_t status;

    ad_sync_init(&sy);
    wf_ad_finish(ad_tracking_get(tr, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    if (ar.status == DS_ERR_NOT_FOUND)
        return DS_OK;
    if (ar.status != DS_OK)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: tracking %s %s: %s",
                            p->supplier_id, p->carrier, p->tracking_number, ar.message);
    status = (int32_t)out.status + 1;
    memset(pp, 0, sizeof(*pp));
    pp->p = *p;
    pp->changed = status != p->status || (int32_t)out.n_checkpoints != p->n_checkpoints;
    pp->p.status = status;
    pp->p.n_checkpoints = (int32_t)out.n_checkpoints;
    pack_checkpoints(&out, pp);
    to->n_pp++;
    ad_get_tracking_out_cleanup(&out);
    return DS_OK;
}

static bool final_status(int32_t s)
{
    return s == TS_DELIVERED || s == TS_EXPIRED;
}

/* Poll the couriers of the known parcels of supplier so. */
static ds_status poll_parcels(track_out *to, const store_so_parcel *ps, size_t n,
                              const store_so_supplier *s, ds_error *err)
{
    ad_tracking *tr = NULL;
    ds_status st = wf_adapter_tracking(to->env, s, &tr, err);

    for (size_t i = 0; st == DS_OK && tr != NULL && i < n; i++)
        if (strcmp(ps[i].supplier_id, s->supplier_id) == 0 && !final_status(ps[i].status) &&
            to->n_pp < STORE_SO_PARCELS_MAX)
            st = poll_courier(to, &ps[i], tr, err);
    ad_tracking_free(tr);
    return st;
}

/* Return window in days from the supplier record's rules, -1 = none. */
static int rules_days(const store_so_supplier *s)
{
    Dropship__V1__ReturnRules *r =
        s->return_rules_len > 0
            ? dropship__v1__return_rules__unpack(NULL, s->return_rules_len, s->return_rules)
            : NULL;
    int d = r != NULL ? r->no_reason_return_days : -1;

    if (r != NULL)
        dropship__v1__return_rules__free_unpacked(r, NULL);
    return d;
}

/* Longest no-reason return window of the return policies snapshotted onto
 * the order's live supplier orders (the return_address step), -1 when none
 * is bound yet. */
static ds_status snapshot_days(wf_order_env *env, const char *shop_id, const char *order_id,
                               int *days, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = pool_do(env, &c, err);

    *days = -1;
    if (st == DS_OK)
        st = store_so_return_days(c, shop_id, order_id, days, err);
    store_release(env->pool, c);
    return st;
}

/* Everything outside the transaction: supplier and courier polls for the
 * supplier orders of v. */
static ds_status poll_all(track_out *to, const store_so_view *v, const char *shop_id,
                          const char *order_id, ds_error *err)
{
    store_conn *c = NULL;
    const store_so_row *rows = v->rows;
    store_so_parcel *ps = calloc(STORE_SO_PARCELS_MAX, sizeof(*ps));
    const store_so_supplier *s = NULL;
    size_t n = v->n, np = 0;
    ds_status st = ps != NULL ? pool_do(to->env, &c, err)
                              : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK)
        st = store_so_parcels(c, shop_id, order_id, ps, STORE_SO_PARCELS_MAX, &np, err);
    store_release(to->env->pool, c);
    to->all_shipped = true;
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        if (rows[i].state == SO_CANCELLED || rows[i].state == SO_REJECTED ||
            rows[i].state == SO_PENDING)
            continue;
        st = wf_view_supplier(v, rows[i].supplier_id, &s, err);
        if (st == DS_OK && rows[i].state != SO_SHIPPED)
            st = poll_supplier(to, shop_id, &rows[i], s, err);
        if (st == DS_OK)
            st = poll_parcels(to, ps, np, s, err);
        if (st == DS_OK && rules_days(s) > to->supplier_days)
            to->supplier_days = rules_days(s);
    }
    to->n_parcels = np;
    to->unchanged_ms = INT64_MAX;
    for (size_t i = 0; i < np; i++) {
        to->n_delivered += ps[i].status == TS_DELIVERED;
        to->near |= ps[i].status == TS_OUT || ps[i].status == TS_FAILED ||
                    ps[i].status == TS_PICKUP;
        if (ps[i].unchanged_ms < to->unchanged_ms)
            to->unchanged_ms = ps[i].unchanged_ms;
    }
    free(ps);
    return st;
}

/* When to poll next. */
static int64_t next_delay(const track_out *to)
{
    const wf_order_settings *set = &to->env->set;
    int64_t d = set->track_poll_ms;

    if (to->n_parcels == 0)
        d = set->ship_poll_ms;
    else if (to->near)
        d = set->track_poll_near_ms;
    else if (to->unchanged_ms != INT64_MAX && to->unchanged_ms > 2 * set->track_poll_ms)
        d = to->unchanged_ms / 2 < set->track_poll_max_ms ? to->unchanged_ms / 2
                                                          : set->track_poll_max_ms;
    d = wf_order_scaled(to->env, d);
    return d < set->min_poll_ms ? set->min_poll_ms : d;
}

static ds_status write_new_parcels(store_conn *tx, const char *shop_id, const char *order_id,
                                   wf_order_cur *cur, track_out *to, ds_error *err)
{
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < to->n_np; i++) {
        new_parcel *np = &to->np[i];
        bool added = false;
        char actor[64];
        st = store_so_parcel_add(tx, shop_id, order_id, np->supplier_id, np->carrier, np->number,
                                 np->lines, &added, err);
        if (st != DS_OK || !added)
            continue;
        to->n_parcels++;
        snprintf(actor, sizeof(actor), "supplier:%s", np->supplier_id);
        char *d = wf_details("supplier_id", np->supplier_id, "carrier", np->carrier,
                             "tracking_number", np->number, NULL);
        wf_order_change ch = {.to = cur->state, .event_type = EV_PARCEL, .actor_kind = A_ADAPTER,
                              .actor_id = actor, .details = d};
        st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
        free(d);
    }
    return st;
}

static ds_status write_polls(store_conn *tx, const char *shop_id, const char *order_id,
                             wf_order_cur *cur, track_out *to, int64_t next_ms, ds_error *err)
{
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < to->n_pp; i++) {
        polled *pp = &to->pp[i];
        char actor[96], status[8];
        st = store_so_parcel_polled(tx, shop_id, order_id, &pp->p, pp->cps, pp->cps_len,
                                    pp->changed, final_status(pp->p.status) ? 0 : next_ms, err);
        if (st != DS_OK || !pp->changed)
            continue;
        snprintf(actor, sizeof(actor), "tracking:%s", pp->p.carrier);
        snprintf(status, sizeof(status), "%d", (int)pp->p.status);
        const char *name = protobuf_c_enum_descriptor_get_value(
                               &dropship__v1__tracking_status__descriptor, pp->p.status)
                               ->name;
        char *d = wf_details("carrier", pp->p.carrier, "tracking_number", pp->p.tracking_number,
                             "tracking_status", name, NULL);
        wf_order_change ch = {.to = cur->state, .event_type = EV_TRACK, .actor_kind = A_ADAPTER,
                              .actor_id = actor, .details = d};
        st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
        free(d);
    }
    for (size_t i = 0; st == DS_OK && i < to->n_su; i++)
        st = store_so_set_state(tx, shop_id, order_id, to->su[i].supplier_id, to->su[i].state,
                                to->su[i].status_text, err);
    return st;
}

/* Count parcels delivered after the polls. */
static size_t delivered_after(const track_out *to)
{
    size_t n = to->n_delivered;

    for (size_t i = 0; i < to->n_pp; i++)
        if (to->pp[i].changed && to->pp[i].p.status == TS_DELIVERED)
            n++;
    return n;
}

static ds_status track_write(store_conn *tx, const char *shop_id, const char *order_id,
                             wf_order_cur *cur, void *arg, ds_error *err)
{
    track_out *to = arg;
    int64_t next_ms = next_delay(to);
    wf_order_change moving = {.to = S_IN_TRANSIT, .event_type = EV_STATE,
                              .actor_kind = A_SYSTEM, .actor_id = "tracking",
                              .no_entry_task = true};
    int64_t days = to->return_days >= 0 ? to->return_days : -1;
    int64_t window = days >= 0 ? days * 86400000LL : to->env->set.return_window_ms;
    wf_order_change arrived = {.to = S_DELIVERED, .event_type = EV_STATE, .actor_kind = A_SYSTEM,
                               .actor_id = "tracking",
                               .entry_delay_ms = wf_order_scaled(to->env, window)};
    ds_status st;

    if (cur->state != S_AWAIT_SHIP && cur->state != S_IN_TRANSIT)
        return DS_OK;
    st = write_new_parcels(tx, shop_id, order_id, cur, to, err);
    if (st == DS_OK)
        st = write_polls(tx, shop_id, order_id, cur, to, next_ms, err);
    if (st == DS_OK) /* stuck / lost / expired parcels open cases (wf_case_escalate.h) */
        st = wf_case_escalate(tx, to->env, shop_id, order_id, NULL, err);
    if (st == DS_OK && cur->state == S_AWAIT_SHIP && to->n_parcels > 0)
        st = wf_order_apply(tx, shop_id, order_id, cur, &moving, err);
    if (st == DS_OK && cur->state == S_IN_TRANSIT && to->all_shipped &&
        to->n_parcels == to->n_pp + (to->n_parcels - to->n_pp) &&
        delivered_after(to) == to->n_parcels && to->n_parcels > 0)
        return wf_order_apply(tx, shop_id, order_id, cur, &arrived, err);
    if (st == DS_OK)
        st = wf_order_schedule(tx, shop_id, order_id, WF_ORDER_KIND_TRACKING, next_ms, err);
    return st;
}

void wf_step_tracking(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    track_out *to = calloc(1, sizeof(*to));
    store_so_view v = {0};
    char order_id[37];
    int32_t state = 0;
    bool changed = false;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (to == NULL || !wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        free(to);
        return;
    }
    to->env = env;
    to->return_days = -1;
    to->supplier_days = -1;
    st = wf_step_view(env, t->shop_id, order_id, &v, &err);
    state = v.state;
    if (st != DS_OK || (state != S_AWAIT_SHIP && state != S_IN_TRANSIT))
        goto out; /* held, cancelled or finished: polling stops */
    st = poll_all(to, &v, t->shop_id, order_id, &err);
    if (st == DS_OK && to->n_parcels > 0 && delivered_after(to) == to->n_parcels)
        st = snapshot_days(env, t->shop_id, order_id, &to->return_days, &err);
    if (st == DS_OK && to->return_days < 0)
        to->return_days = to->supplier_days; /* not bound yet: the supplier record */
    for (size_t i = 0; i < to->n_pp; i++)
        changed |= to->pp[i].changed;
    changed |= to->n_np > 0 || to->n_su > 0;
    if (st == DS_OK && !changed) /* nothing new, but a parcel may be due for a case */
        st = wf_case_escalate_due(env, t->shop_id, order_id, &changed, &err);
    if (st == DS_OK && !changed && (state != S_IN_TRANSIT || to->n_parcels == 0 ||
                                    to->n_delivered < to->n_parcels || !to->all_shipped)) {
        res->action = WF_SNOOZE; /* nothing new: ask again later */
        res->delay_ms = next_delay(to);
    } else if (st == DS_OK) {
        wf_step_commit(ctx, t, order_id, track_write, to, res);
    }
out:
    if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    store_so_view_free(&v);
    for (size_t i = 0; to != NULL && i < to->n_pp; i++)
        free(to->pp[i].cps);
    free(to);
}
