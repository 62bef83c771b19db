/* wf_order_after.c - the order steps after purchase: payment (and its
 * overdue timer), return address, completion and cancellation. */
#include "wf_order_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropship/v1/orders.pb-c.h"
#include "store_cases.h"

enum {
    S_AWAIT_PAY = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_PAYMENT,
    S_AWAIT_SHIP = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_SHIPMENT,
    S_DELIVERED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_DELIVERED,
    S_COMPLETED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_COMPLETED,
    S_ON_HOLD = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_ON_HOLD,
    S_CANCELLING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLING,
    S_CANCELLED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLED,
    EV_STATE = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_STATE_CHANGED,
    EV_HELD = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_HELD,
    EV_PAID = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_PAYMENT_RECORDED,
    EV_RETURN = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_RETURN_POLICY_BOUND,
    EV_CANCELLED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CANCELLED,
    EV_SO = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_SUPPLIER_ORDER_UPDATED,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
    A_ADAPTER = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_ADAPTER,
    H_OVERDUE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PAYMENT_OVERDUE,
    H_REFUSED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_CANCEL_REFUSED,
    SO_ACCEPTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_ACCEPTED,
    SO_CANCELLED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_CANCELLED,
    SO_REJECTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    MODE_AUTO = DROPSHIP__V1__PAYMENT_MODE__PAYMENT_MODE_AUTO,
    PM_PLATFORM = DROPSHIP__V1__PAYMENT_METHOD__PAYMENT_METHOD_PLATFORM_BALANCE,
    SRC_ADAPTER = DROPSHIP__V1__RETURN_POLICY_SOURCE__RETURN_POLICY_SOURCE_ADAPTER,
    SRC_BINDING = DROPSHIP__V1__RETURN_POLICY_SOURCE__RETURN_POLICY_SOURCE_BINDING,
    SRC_SUPPLIER = DROPSHIP__V1__RETURN_POLICY_SOURCE__RETURN_POLICY_SOURCE_SUPPLIER,
    MAX_SO = 100
};

/* Supplier orders of the order through the pool; *rows malloc'd. */
static ds_status list_so(wf_order_env *env, const char *shop_id, const char *order_id,
                         store_so_row **rows, size_t *n, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    *rows = NULL;
    *n = 0;
    if (st == DS_OK)
        st = store_so_list(c, shop_id, order_id, rows, n, err);
    store_release(env->pool, c);
    return st;
}

/* Is a placed supplier order still alive (not rejected or cancelled)? */
static bool live(const store_so_row *so)
{
    return so->state != SO_REJECTED && so->state != SO_CANCELLED && so->state != SO_PENDING;
}

/* ---- payment ---- */

typedef struct paid {
    char supplier_id[STORE_SO_ID];
    char tx_id[AD_ID_MAX];
    store_so_money amount;
    int64_t paid_ms;
} paid;

typedef struct payment_out {
    paid p[MAX_SO];
    size_t n;
} payment_out;

/* Pay one AUTO supplier order (key "<order_id>:<supplier_id>:pay"). */
static ds_status pay_one(wf_order_env *env, const store_so_view *v, const char *order_id,
                         const store_so_row *so, payment_out *po, ds_error *err)
{
    const store_so_supplier *s = NULL;
    ad_supplier *ad = NULL;
    char key[120];
    ad_pay_order_in in = {.supplier_order_id = so->ref, .idempotency_key = key};
    ad_pay_order_out out;
    ad_sync sy;
    ad_result ar;
    ds_status st = wf_view_supplier(v, so->supplier_id, &s, err);

    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, &ad, err);
    if (st != DS_OK || ad == NULL)
        goto out;
    snprintf(key, sizeof(key), "%s:%s:pay", order_id, so->supplier_id);
    snprintf(in.amount.currency, sizeof(in.amount.currency), "%s", so->cost.currency);
    in.amount.units = so->cost.units;
    in.amount.nanos = so->cost.nanos;
    ad_sync_init(&sy);
    wf_ad_finish(ad_supplier_pay_order(ad, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    if (ar.status != DS_OK) {
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: payment: %s", so->supplier_id,
                          ar.message);
        goto out;
    }
    paid *p = &po->p[po->n++];
    snprintf(p->supplier_id, sizeof(p->supplier_id), "%s", so->supplier_id);
    snprintf(p->tx_id, sizeof(p->tx_id), "%s", out.transaction_id);
    snprintf(p->amount.currency, sizeof(p->amount.currency), "%s", out.amount.currency);
    p->amount.units = out.amount.units;
    p->amount.nanos = out.amount.nanos;
    p->paid_ms = out.paid_at_ms;
out:
    ad_supplier_free(ad);
    return st;
}

/* Record proofs in tx; the order moves on when every live supplier order
 * is paid. Shared with RecordPaymentProof through wf_order_after_paid. */
static ds_status payment_write(store_conn *tx, const char *shop_id, const char *order_id,
                               wf_order_cur *cur, void *arg, ds_error *err)
{
    payment_out *po = arg;
    ds_status st = DS_OK;

    if (cur->state != S_AWAIT_PAY)
        return DS_OK;
    for (size_t i = 0; st == DS_OK && i < po->n; i++) {
        paid *p = &po->p[i];
        char actor[64], amount[64];
        bool same = false;
        store_so_proof proof = {.amount = p->amount, .method = PM_PLATFORM,
                                .reference = p->tx_id, .paid_us = p->paid_ms * 1000,
                                .actor_kind = A_ADAPTER, .actor_id = actor};
        snprintf(actor, sizeof(actor), "supplier:%s", p->supplier_id);
        snprintf(amount, sizeof(amount), "%lld.%02d %s", (long long)p->amount.units,
                 (int)(p->amount.nanos / 10000000), p->amount.currency);
        st = store_so_record_proof(tx, shop_id, order_id, p->supplier_id, &proof, &same, err);
        char *d = st == DS_OK ? wf_details("supplier_id", p->supplier_id, "amount", amount,
                                           "method", "PLATFORM_BALANCE", "reference", p->tx_id,
                                           NULL)
                              : NULL;
        wf_order_change ch = {.to = cur->state, .event_type = EV_PAID, .actor_kind = A_ADAPTER,
                              .actor_id = actor, .details = d};
        if (st == DS_OK && !same)
            st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
        free(d);
    }
    return st == DS_OK ? wf_order_after_paid(tx, shop_id, order_id, cur, "payment", err) : st;
}

void wf_step_payment(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    payment_out *po = calloc(1, sizeof(*po));
    store_so_view v = {0};
    char order_id[37];
    ds_error err;
    ds_status st = DS_OK;

    ds_error_clear(&err);
    if (po == NULL || !wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        free(po);
        return;
    }
    st = wf_step_view(env, t->shop_id, order_id, &v, &err);
    for (size_t i = 0; st == DS_OK && v.state == S_AWAIT_PAY && i < v.n; i++)
        if (live(&v.rows[i]) && !v.rows[i].paid && v.rows[i].payment_mode == MODE_AUTO)
            st = pay_one(env, &v, order_id, &v.rows[i], po, &err);
    if (st == DS_OK && v.state == S_AWAIT_PAY)
        wf_step_commit(ctx, t, order_id, payment_write, po, res);
    else if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    store_so_view_free(&v);
    free(po);
}

ds_status wf_order_after_paid(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, const char *actor, ds_error *err)
{
    store_so_row *rows = NULL;
    size_t n = 0, unpaid = 0;
    wf_order_change next = {.to = S_AWAIT_SHIP, .event_type = EV_STATE, .actor_kind = A_SYSTEM,
                            .actor_id = actor};
    ds_status st;

    if (cur->state != S_AWAIT_PAY)
        return DS_OK;
    st = store_so_list(tx, shop_id, order_id, &rows, &n, err);
    for (size_t i = 0; st == DS_OK && i < n; i++)
        unpaid += live(&rows[i]) && !rows[i].paid;
    free(rows);
    if (st == DS_OK && unpaid == 0 && n > 0)
        st = wf_order_apply(tx, shop_id, order_id, cur, &next, err);
    return st;
}

/* ---- payment timer ---- */

typedef struct timer_out {
    char supplier_id[STORE_SO_ID]; /* "" = nothing overdue */
    int64_t next_ms;               /* > 0: check again then */
} timer_out;

static ds_status timer_write(store_conn *tx, const char *shop_id, const char *order_id,
                             wf_order_cur *cur, void *arg, ds_error *err)
{
    timer_out *to = arg;
    char *d;
    wf_order_change ch = {.to = S_ON_HOLD, .event_type = EV_HELD, .actor_kind = A_SYSTEM,
                          .actor_id = "payment_timer",
                          .hold_reason = H_OVERDUE,
                          .hold_detail = "no payment proof recorded before the payment due time",
                          .hold_supplier_id = to->supplier_id};
    ds_status st;

    if (cur->state != S_AWAIT_PAY)
        return DS_OK;
    if (to->supplier_id[0] == '\0')
        return to->next_ms > 0 ? wf_order_schedule(tx, shop_id, order_id,
                                                   WF_ORDER_KIND_PAYMENT_TIMER, to->next_ms, err)
                               : DS_OK;
    d = wf_details("hold_reason", "HOLD_REASON_PAYMENT_OVERDUE", "supplier_id", to->supplier_id,
                   NULL);
    ch.details = d;
    st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
    free(d);
    return st;
}

void wf_step_payment_timer(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    timer_out to;
    store_so_row *rows = NULL;
    size_t n = 0;
    char order_id[37];
    ds_error err;
    struct timespec now;
    ds_status st;

    ds_error_clear(&err);
    memset(&to, 0, sizeof(to));
    if (!wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key");
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    st = list_so(env, t->shop_id, order_id, &rows, &n, &err);
    for (size_t i = 0; st == DS_OK && i < n && to.supplier_id[0] == '\0'; i++) {
        const store_so_row *so = &rows[i];
        if (!live(so) || so->paid || so->payment_due_ms == 0)
            continue;
        if (so->payment_due_ms <= now_ms)
            snprintf(to.supplier_id, sizeof(to.supplier_id), "%s", so->supplier_id);
        else if (to.next_ms == 0 || so->payment_due_ms - now_ms < to.next_ms)
            to.next_ms = so->payment_due_ms - now_ms;
    }
    free(rows);
    if (st == DS_OK)
        wf_step_commit(ctx, t, order_id, timer_write, &to, res);
    else if (st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
}

/* ---- return address ---- */

typedef struct bound {
    char supplier_id[STORE_SO_ID];
    uint8_t addr[STORE_SO_BYTES_MAX], rules[STORE_SO_BYTES_MAX];
    size_t addr_len, rules_len;
    int32_t source;
} bound;

typedef struct return_out {
    bound *b; /* one per supplier order (16 KiB each), not MAX_SO of them */
    size_t n;
} return_out;

static void pack_policy(const ad_return_policy_out *o, bound *b)
{
    Dropship__V1__Address a = DROPSHIP__V1__ADDRESS__INIT;
    Dropship__V1__ReturnRules r = DROPSHIP__V1__RETURN_RULES__INIT;
    static const int payer[] = {
        DROPSHIP__V1__RETURN_POSTAGE_PAYER__RETURN_POSTAGE_PAYER_BUYER,
        DROPSHIP__V1__RETURN_POSTAGE_PAYER__RETURN_POSTAGE_PAYER_SUPPLIER,
        DROPSHIP__V1__RETURN_POSTAGE_PAYER__RETURN_POSTAGE_PAYER_SHOP};

    a.recipient_name = (char *)o->address.recipient_name;
    a.phone = (char *)o->address.phone;
    a.country_code = (char *)o->address.country_code;
    a.region = (char *)o->address.region;
    a.city = (char *)o->address.city;
    a.street = (char *)o->address.street;
    a.postal_code = (char *)o->address.postal_code;
    r.no_reason_return_days = (int32_t)o->no_reason_return_days;
    r.return_postage_payer = payer[o->return_postage_payer % 3];
    r.damaged_goods_policy = (char *)o->damaged_goods;
    b->addr_len = dropship__v1__address__get_packed_size(&a);
    b->rules_len = dropship__v1__return_rules__get_packed_size(&r);
    if (b->addr_len > sizeof(b->addr) || b->rules_len > sizeof(b->rules)) {
        b->addr_len = b->rules_len = 0;
        return;
    }
    dropship__v1__address__pack(&a, b->addr);
    dropship__v1__return_rules__pack(&r, b->rules);
}

/* When the adapter has no policy: the override of the supplier order's
 * bindings, else the supplier record's (b->source 0 = neither has one). */
static ds_status record_policy(wf_order_env *env, const char *shop_id, const char *order_id,
                               const store_so_supplier *s, bound *b, ds_error *err)
{
    store_so_return *br = malloc(sizeof(*br));
    store_conn *c = NULL;
    ds_status st = br != NULL ? store_acquire(env->pool, INT64_MAX, &c, err)
                              : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK)
        st = store_so_binding_return(c, shop_id, order_id, b->supplier_id, br, err);
    store_release(env->pool, c);
    if (st == DS_OK && br->address_len > 0) {
        memcpy(b->addr, br->address, br->address_len);
        b->addr_len = br->address_len;
        memcpy(b->rules, br->rules, br->rules_len);
        b->rules_len = br->rules_len;
        b->source = SRC_BINDING;
    } else if (st == DS_OK && s->return_address_len > 0) {
        memcpy(b->addr, s->return_address, s->return_address_len);
        b->addr_len = s->return_address_len;
        memcpy(b->rules, s->return_rules, s->return_rules_len);
        b->rules_len = s->return_rules_len;
        b->source = SRC_SUPPLIER;
    }
    free(br);
    return st;
}

/* Fetch one supplier order's policy: adapter first, then the override of
 * its bindings, then the supplier record. b->source 0 = nothing found. */
static ds_status fetch_policy(wf_order_env *env, const char *shop_id, const char *order_id,
                              const store_so_view *v, const store_so_row *so, bound *b,
                              ds_error *err)
{
    const store_so_supplier *s = NULL;
    ad_supplier *ad = NULL;
    ad_return_policy_in in = {.sku = so->n_lines > 0 ? so->lines[0].supplier_sku : NULL};
    ad_return_policy_out out;
    ad_sync sy;
    ad_result ar = {.status = DS_ERR_UNIMPLEMENTED};
    ds_status st = wf_view_supplier(v, so->supplier_id, &s, err);

    snprintf(b->supplier_id, sizeof(b->supplier_id), "%s", so->supplier_id);
    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, &ad, err);
    if (st == DS_OK && ad != NULL) {
        ad_sync_init(&sy);
        wf_ad_finish(ad_supplier_get_return_policy(ad, &in, &out, ad_sync_done, &sy, err), &sy,
                     &ar, err);
    }
    if (st == DS_OK && ar.status == DS_OK) {
        pack_policy(&out, b);
        b->source = SRC_ADAPTER;
    } else if (st == DS_OK && ar.retryable) {
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: return policy: %s",
                          so->supplier_id, ar.message);
    } else if (st == DS_OK) {
        st = record_policy(env, shop_id, order_id, s, b, err);
    }
    ad_supplier_free(ad);
    return st;
}

static const char *source_name(int32_t source)
{
    return source == SRC_ADAPTER ? "ADAPTER" : source == SRC_BINDING ? "BINDING" : "SUPPLIER";
}

static ds_status return_write(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, void *arg, ds_error *err)
{
    return_out *ro = arg;
    ds_status st = DS_OK;

    if (cur->state == S_CANCELLED)
        return DS_OK;
    for (size_t i = 0; st == DS_OK && i < ro->n; i++) {
        bound *b = &ro->b[i];
        char actor[64];
        char *d = wf_details("supplier_id", b->supplier_id, "source", source_name(b->source),
                             NULL);
        wf_order_change ch = {.to = cur->state, .event_type = EV_RETURN, .actor_kind = A_ADAPTER,
                              .actor_id = actor, .details = d};
        snprintf(actor, sizeof(actor), "supplier:%s", b->supplier_id);
        if (b->source != 0)
            st = store_so_set_return(tx, shop_id, order_id, b->supplier_id, b->addr, b->addr_len,
                                     b->rules, b->rules_len, b->source, err);
        if (st == DS_OK && b->source != 0)
            st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
        free(d);
    }
    return st;
}

void wf_step_return_address(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    return_out *ro = calloc(1, sizeof(*ro));
    store_so_view v = {0};
    char order_id[37];
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (ro == NULL || !wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        free(ro);
        return;
    }
    st = wf_step_view(env, t->shop_id, order_id, &v, &err);
    if (st == DS_OK && v.n > 0 && (ro->b = calloc(v.n, sizeof(*ro->b))) == NULL)
        st = ds_error_set(&err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == DS_OK && i < v.n && ro->n < MAX_SO; i++)
        if (live(&v.rows[i]) && !v.rows[i].return_bound)
            st = fetch_policy(env, t->shop_id, order_id, &v, &v.rows[i], &ro->b[ro->n++], &err);
    if (st == DS_OK)
        wf_step_commit(ctx, t, order_id, return_write, ro, res);
    else if (st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    store_so_view_free(&v);
    free(ro->b);
    free(ro);
}

/* ---- complete ---- */

/* The return window has passed (this step runs when it ends); an open
 * after-sales case keeps the order DELIVERED, and closing the last one
 * schedules this step again (wf_case_apply). */
static ds_status complete_write(store_conn *tx, const char *shop_id, const char *order_id,
                                wf_order_cur *cur, void *arg, ds_error *err)
{
    wf_order_change ch = {.to = S_COMPLETED, .event_type = EV_STATE, .actor_kind = A_SYSTEM,
                          .actor_id = "complete"};
    bool open = false;
    ds_status st;

    (void)arg;
    if (cur->state != S_DELIVERED)
        return DS_OK;
    st = store_case_order_open(tx, shop_id, order_id, &open, err);
    if (st != DS_OK || open)
        return st;
    return wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
}

void wf_step_complete(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    char order_id[37];

    (void)arg;
    if (!wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key");
        return;
    }
    wf_step_commit(ctx, t, order_id, complete_write, NULL, res);
}

/* ---- cancel ---- */

typedef struct cancel_out {
    char cancelled[MAX_SO][STORE_SO_ID];
    size_t n;
    char refused[STORE_SO_ID]; /* "" = none */
    char detail[256];
} cancel_out;

/* Ask one supplier to cancel (key "<order_id>:<supplier_id>:cancel"). */
static ds_status cancel_one(wf_order_env *env, const store_so_view *v, const char *order_id,
                            const store_so_row *so, cancel_out *co, ds_error *err)
{
    const store_so_supplier *s = NULL;
    ad_supplier *ad = NULL;
    char key[120];
    ad_cancel_order_in in = {.supplier_order_id = so->ref, .idempotency_key = key};
    ad_cancel_order_out out = {0};
    ad_sync sy;
    ad_result ar = {.status = DS_OK};
    ds_status st = wf_view_supplier(v, so->supplier_id, &s, err);

    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, &ad, err);
    snprintf(key, sizeof(key), "%s:%s:cancel", order_id, so->supplier_id);
    out.cancelled = true; /* MANUAL: the person who placed it cancels it */
    if (st == DS_OK && ad != NULL && so->ref[0] != '\0') {
        ad_sync_init(&sy);
        wf_ad_finish(ad_supplier_cancel_order(ad, &in, &out, ad_sync_done, &sy, err), &sy, &ar,
                     err);
    }
    if (st == DS_OK && ar.status != DS_OK)
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: cancel: %s", so->supplier_id,
                          ar.message);
    if (st == DS_OK && out.cancelled)
        snprintf(co->cancelled[co->n++], STORE_SO_ID, "%s", so->supplier_id);
    else if (st == DS_OK && co->refused[0] == '\0') {
        snprintf(co->refused, sizeof(co->refused), "%s", so->supplier_id);
        snprintf(co->detail, sizeof(co->detail), "supplier %s refused to cancel: %s",
                 so->supplier_id, out.refusal_code);
    }
    ad_supplier_free(ad);
    return st;
}

static ds_status cancel_write(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, void *arg, ds_error *err)
{
    cancel_out *co = arg;
    wf_order_change done = {.to = S_CANCELLED, .event_type = EV_CANCELLED,
                            .actor_kind = A_SYSTEM, .actor_id = "cancel"};
    wf_order_change refused = {.to = S_ON_HOLD, .event_type = EV_HELD, .actor_kind = A_SYSTEM,
                               .actor_id = "cancel", .hold_reason = H_REFUSED,
                               .hold_detail = co->detail, .hold_supplier_id = co->refused};
    ds_status st = DS_OK;

    if (cur->state != S_CANCELLING)
        return DS_OK;
    for (size_t i = 0; st == DS_OK && i < co->n; i++)
        st = store_so_set_state(tx, shop_id, order_id, co->cancelled[i], SO_CANCELLED, NULL, err);
    if (st == DS_OK)
        st = wf_order_apply(tx, shop_id, order_id, cur,
                            co->refused[0] != '\0' ? &refused : &done, err);
    return st;
}

void wf_step_cancel(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    cancel_out *co = calloc(1, sizeof(*co));
    store_so_view v = {0};
    char order_id[37];
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (co == NULL || !wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        free(co);
        return;
    }
    st = wf_step_view(env, t->shop_id, order_id, &v, &err);
    for (size_t i = 0; st == DS_OK && v.state == S_CANCELLING && i < v.n; i++)
        if (live(&v.rows[i]))
            st = cancel_one(env, &v, order_id, &v.rows[i], co, &err);
    if (st == DS_OK && v.state == S_CANCELLING)
        wf_step_commit(ctx, t, order_id, cancel_write, co, res);
    else if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    store_so_view_free(&v);
    free(co);
}
