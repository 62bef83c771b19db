/* wf_case_supplier.c - case.supplier_dispute and case.supplier_refund:
 * disputes and refund claims sent to the supplier through its adapter. */
#include "wf_case_supplier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropship/v1/cases.pb-c.h"
#include "store_case_disputes.h"
#include "store_cases.h"
#include "wf_case_tasks.h"
#include "wf_order_steps.h"

enum {
    T_DISPUTE = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_DISPUTE,
    C_REFUNDED = DROPSHIP__V1__CASE_STATE__CASE_STATE_REFUNDED,
    C_RESHIPPED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RESHIPPED,
    EV_UPDATED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_UPDATED,
    EV_REFUND = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_REFUND_RECORDED,
    A_ADAPTER = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_ADAPTER,
    P_SUPPLIER = DROPSHIP__V1__REFUND_PAYER__REFUND_PAYER_SUPPLIER
};

ds_status wf_case_supplier_on_approved(store_conn *tx, const char *shop_id,
                                       const wf_case_cur *cur, ds_error *err)
{
    if (cur->type != T_DISPUTE)
        return DS_OK;
    return wf_case_schedule(tx, shop_id, cur->case_id, WF_CASE_KIND_DISPUTE, NULL, 0, err);
}

ds_status wf_case_supplier_on_refund(store_conn *tx, const char *shop_id, const char *case_id,
                                     const char *refund_id, int payer, ds_error *err)
{
    if (payer != P_SUPPLIER)
        return DS_OK;
    return wf_case_schedule(tx, shop_id, case_id, WF_CASE_KIND_REFUND, refund_id, 0, err);
}

/* "case:<case_id>:<step>[:<sub>]" -> case id and sub ("" when none). */
static bool parse_key(const char *key, char case_id[37], char sub[37])
{
    const char *last;

    if (key == NULL || strncmp(key, "case:", 5) != 0 || strlen(key) < 5 + 36 || key[41] != ':')
        return false;
    memcpy(case_id, key + 5, 36);
    case_id[36] = '\0';
    last = strrchr(key + 42, ':');
    snprintf(sub, 37, "%s", last != NULL ? last + 1 : "");
    return true;
}

/* What the supplier said, or why nothing was sent. */
typedef struct answer {
    char status[STORE_CD_STATUS];      /* dispute / claim status text */
    char message[AD_DISPUTE_MESSAGE_MAX];
    ad_dispute_out d;                  /* disputes */
    ad_request_refund_out r;           /* claims */
    bool final;                        /* nothing more to poll */
} answer;

/* The supplier of the case and its adapter (NULL for MANUAL). */
static ds_status adapter_of(wf_order_env *env, const char *shop_id, const char *supplier_id,
                            ad_supplier **ad, ds_error *err)
{
    store_so_supplier *s = calloc(1, sizeof(*s));
    store_conn *c = NULL;
    ds_status st = s == NULL ? ds_error_set(err, DS_ERR_NOMEM, "out of memory")
                             : store_acquire(env->pool, INT64_MAX, &c, err);

    *ad = NULL;
    if (st == DS_OK)
        st = store_so_supplier_get(c, shop_id, supplier_id, s, err);
    store_release(env->pool, c);
    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, ad, err);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    free(s);
    return st;
}

/* Turn the outcome of an adapter call into the answer: DS_OK when the
 * answer is to be recorded, DS_ERR_UNAVAILABLE (retry) otherwise. */
static ds_status classify(ds_status start, const ad_result *ar, answer *an, ds_error *err)
{
    if (start == DS_ERR_UNIMPLEMENTED || (start == DS_OK && ar->status == DS_ERR_UNIMPLEMENTED)) {
        snprintf(an->status, sizeof(an->status), "MANUAL");
        snprintf(an->message, sizeof(an->message), "%s", start != DS_OK ? err->message : ar->message);
        an->final = true;
        return DS_OK;
    }
    if (ar->status == DS_OK)
        return DS_OK;
    if (ar->retryable)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier: %s", ar->message);
    snprintf(an->status, sizeof(an->status), "FAILED");
    snprintf(an->message, sizeof(an->message), "%s%s%s", ar->code, ar->code[0] ? ": " : "",
             ar->message);
    an->final = true;
    return DS_OK;
}

static void manual(answer *an, const char *why)
{
    snprintf(an->status, sizeof(an->status), "MANUAL");
    snprintf(an->message, sizeof(an->message), "%s", why);
    an->final = true;
}

/* ---- case.supplier_dispute ---- */

static ds_status dispute_call(ad_supplier *ad, const store_cd_case *k, const char *case_id,
                              answer *an, ds_error *err)
{
    ad_line lines[STORE_CD_LINES_MAX];
    ad_evidence_ref ev[STORE_CD_EVIDENCE_MAX];
    char key[64];
    ad_open_dispute_in oin = {.supplier_order_id = k->supplier_order_ref, .idempotency_key = key,
                              .case_ref = case_id, .type = wf_case_type_name(k->type),
                              .lines = lines, .n_lines = k->n_lines, .reason = k->description,
                              .evidence = ev, .n_evidence = k->n_evidence};
    ad_get_dispute_in gin = {.supplier_order_id = k->supplier_order_ref,
                             .dispute_id = k->dispute_id};
    ad_sync sy;
    ad_result ar;
    ds_status st;

    snprintf(key, sizeof(key), "%s:dispute", case_id);
    for (size_t i = 0; i < k->n_lines; i++) {
        snprintf(lines[i].sku, sizeof(lines[i].sku), "%s", k->lines[i].sku);
        lines[i].quantity = k->lines[i].quantity;
    }
    for (size_t i = 0; i < k->n_evidence; i++)
        ev[i] = (ad_evidence_ref){k->evidence[i].uri, k->evidence[i].sha256};
    ad_sync_init(&sy);
    st = k->dispute_id[0] == '\0'
             ? ad_supplier_open_dispute(ad, &oin, &an->d, ad_sync_done, &sy, err)
             : ad_supplier_get_dispute(ad, &gin, &an->d, ad_sync_done, &sy, err);
    wf_ad_finish(st, &sy, &ar, err);
    st = classify(st, &ar, an, err);
    if (st == DS_OK && an->status[0] == '\0') {
        snprintf(an->status, sizeof(an->status), "%s", an->d.status_text);
        snprintf(an->message, sizeof(an->message), "%s", an->d.message);
        an->final = an->d.status >= AD_DISPUTE_ACCEPTED;
    }
    return st;
}

/* A dispute status after which nothing is polled. */
static bool settled(const char *status)
{
    static const char *const done[] = {"MANUAL", "FAILED", "ACCEPTED", "REJECTED", "REFUNDED",
                                       NULL};

    for (int i = 0; done[i] != NULL; i++)
        if (strcmp(status, done[i]) == 0)
            return true;
    return false;
}

/* Everything outside the transaction; *skip when there is nothing to do. */
static ds_status dispute_outside(wf_order_env *env, const char *shop_id, const char *case_id,
                                 store_cd_case *k, answer *an, bool *skip, ds_error *err)
{
    ad_supplier *ad = NULL;
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_cd_case_get(c, shop_id, case_id, k, err);
    store_release(env->pool, c);
    *skip = st == DS_OK && (k->type != T_DISPUTE || wf_case_terminal(k->state) ||
                            settled(k->dispute_status));
    if (st != DS_OK || *skip)
        return st;
    st = adapter_of(env, shop_id, k->supplier_id, &ad, err);
    if (st == DS_OK && ad == NULL)
        manual(an, "the supplier has no API adapter (MANUAL): open the dispute yourself");
    else if (st == DS_OK && (k->supplier_order_ref[0] == '\0' || k->n_lines == 0))
        manual(an, "the supplier order has no supplier order id or lines to dispute");
    else if (st == DS_OK)
        st = dispute_call(ad, k, case_id, an, err);
    ad_supplier_free(ad);
    return st;
}

/* The supplier refunded, but not as a refund to the buyer: say why in an
 * event (the amount stays on Case.supplier_dispute). */
static ds_status not_recorded(store_conn *tx, const char *shop_id, wf_case_cur *cur,
                              const answer *an, const char *actor, const char *why,
                              ds_error *err)
{
    char *d = wf_details("supplier_refund_id", an->d.refund_id, "refund_recorded", "false",
                         "reason", why, NULL);
    wf_case_change ch = {.to = cur->state, .event_type = EV_UPDATED, .actor_kind = A_ADAPTER,
                         .actor_id = actor, .details = d};
    ds_status st = wf_case_apply(tx, shop_id, cur, &ch, err);

    free(d);
    return st;
}

/* Record the supplier's refund as a Refund with payer SUPPLIER and move
 * the case to REFUNDED when it may; *recorded tells whether it was. */
static ds_status dispute_refund(store_conn *tx, const char *shop_id, wf_case_cur *cur,
                                const answer *an, const char *actor, bool *recorded,
                                ds_error *err)
{
    Dropship__V1__Money m = DROPSHIP__V1__MONEY__INIT;
    Dropship__V1__Refund f = DROPSHIP__V1__REFUND__INIT;
    store_case_refundable rf;
    char refund_id[37], amount[64];
    bool may = cur->state == C_REFUNDED || cur->state == C_RESHIPPED ||
               wf_case_can_move(cur->state, C_REFUNDED, cur->return_required);
    ds_status st;

    *recorded = false;
    m.currency_code = (char *)an->d.refund_amount.currency;
    m.units = an->d.refund_amount.units;
    m.nanos = an->d.refund_amount.nanos;
    st = store_case_refundable_get(tx, shop_id, cur->case_id, &m, &rf, err);
    if (st == DS_OK && !may)
        return not_recorded(tx, shop_id, cur, an, actor, "the case's state allows no refund", err);
    if (st == DS_OK && strcmp(rf.currency, m.currency_code) != 0)
        return not_recorded(tx, shop_id, cur, an, actor, "not in the order's currency", err);
    if (st == DS_OK && !rf.fits)
        return not_recorded(tx, shop_id, cur, an, actor,
                            "more than the buyer may still get back for the case's lines", err);
    if (st != DS_OK || (m.units == 0 && m.nanos == 0))
        return st;
    f.amount = &m;
    f.payer = (Dropship__V1__RefundPayer)P_SUPPLIER;
    f.reference = (char *)an->d.refund_id;
    f.note = (char *)"refunded by the supplier (dispute)";
    st = store_case_refund_add(tx, shop_id, cur->case_id, &f, A_ADAPTER, actor, refund_id, err);
    if (st == DS_OK)
        st = store_case_refund_supplier(tx, shop_id, cur->case_id, refund_id, an->d.refund_id,
                                        "REFUNDED", err);
    snprintf(amount, sizeof(amount), "%lld.%02d %s", (long long)m.units, (int)(m.nanos / 10000000),
             m.currency_code);
    char *d = wf_details("amount", amount, "payer", "SUPPLIER", "refund_id", refund_id,
                         "supplier_refund_id", an->d.refund_id, NULL);
    wf_case_change ch = {.to = C_REFUNDED, .event_type = EV_REFUND, .actor_kind = A_ADAPTER,
                         .actor_id = actor, .details = d};
    if (st == DS_OK)
        st = wf_case_apply(tx, shop_id, cur, &ch, err);
    free(d);
    *recorded = st == DS_OK;
    return st;
}

static ds_status dispute_write(store_conn *tx, const char *shop_id, const char *case_id,
                               const store_cd_case *k, const answer *an, ds_error *err)
{
    wf_case_cur cur;
    char actor[64];
    bool refunded = strcmp(an->status, "REFUNDED") == 0, recorded = false;
    const char *id = an->d.dispute_id[0] != '\0' ? an->d.dispute_id : k->dispute_id;
    store_cd_update u = {.dispute_id = id, .status = an->status, .message = an->message,
                         .refund_id = refunded ? an->d.refund_id : ""};
    ds_status st = wf_case_lock(tx, shop_id, case_id, &cur, err);

    if (st != DS_OK || wf_case_terminal(cur.state) || strcmp(k->dispute_status, an->status) == 0)
        return st;
    snprintf(actor, sizeof(actor), "supplier:%s", k->supplier_id);
    if (refunded)
        memcpy(&u.refund, &an->d.refund_amount, sizeof(u.refund));
    st = store_cd_dispute_put(tx, shop_id, case_id, &u, err);
    char *d = wf_details("supplier_dispute_id", id, "supplier_dispute_status", an->status,
                         "message", an->message, NULL);
    wf_case_change ch = {.to = cur.state, .event_type = EV_UPDATED, .actor_kind = A_ADAPTER,
                         .actor_id = actor, .details = d};
    if (st == DS_OK)
        st = wf_case_apply(tx, shop_id, &cur, &ch, err);
    free(d);
    if (st == DS_OK && refunded)
        st = dispute_refund(tx, shop_id, &cur, an, actor, &recorded, err);
    return st;
}

static int64_t poll_ms(const wf_order_env *env)
{
    int64_t d = wf_order_scaled(env, env->set.ship_poll_ms);

    return d < env->set.min_poll_ms ? env->set.min_poll_ms : d;
}

static void step_dispute(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    store_cd_case *k = calloc(1, sizeof(*k));
    answer *an = calloc(1, sizeof(*an));
    char case_id[37], sub[37];
    wf_tx *tx = NULL;
    bool skip = false;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (k == NULL || an == NULL || !parse_key(t->key, case_id, sub)) {
        wf_res_set(res, WF_FAIL, "malformed task key or out of memory");
        goto out;
    }
    st = dispute_outside(env, t->shop_id, case_id, k, an, &skip, &err);
    if (st == DS_OK && !skip)
        st = wf_tx_begin(ctx, &tx, &err);
    if (st == DS_OK && tx != NULL)
        st = dispute_write(wf_tx_conn(tx), t->shop_id, case_id, k, an, &err);
    if (st == DS_OK && tx != NULL && !an->final)
        st = wf_case_schedule(wf_tx_conn(tx), t->shop_id, case_id, WF_CASE_KIND_DISPUTE, NULL,
                              poll_ms(env), &err);
    if (st == DS_OK && tx != NULL) {
        st = wf_tx_commit_complete(tx, &err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
    if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
out:
    free(k);
    free(an);
}

/* ---- case.supplier_refund ---- */

static ds_status refund_call(ad_supplier *ad, const store_cd_refund *f, const char *case_id,
                             const char *refund_id, answer *an, ds_error *err)
{
    char key[100], ref[80];
    ad_request_refund_in in = {.supplier_order_id = f->supplier_order_ref, .idempotency_key = key,
                               .refund_ref = ref, .reason = "refund to the buyer of case"};
    ad_sync sy;
    ad_result ar;
    ds_status st;
    bool over = strcmp(f->paid.currency, f->amount.currency) == 0 &&
                (f->amount.units > f->paid.units ||
                 (f->amount.units == f->paid.units && f->amount.nanos > f->paid.nanos));

    snprintf(key, sizeof(key), "%s:refund:%s", case_id, refund_id);
    snprintf(ref, sizeof(ref), "%s:%s", case_id, refund_id);
    memcpy(&in.amount, over ? &f->paid : &f->amount, sizeof(in.amount));
    ad_sync_init(&sy);
    st = ad_supplier_request_refund(ad, &in, &an->r, ad_sync_done, &sy, err);
    wf_ad_finish(st, &sy, &ar, err);
    st = classify(st, &ar, an, err);
    if (st == DS_OK && an->status[0] == '\0') {
        snprintf(an->status, sizeof(an->status), "REFUNDED");
        snprintf(an->message, sizeof(an->message), "refunded %lld.%02d %s", (long long)an->r.amount.units,
                 (int)(an->r.amount.nanos / 10000000), an->r.amount.currency);
    }
    return st;
}

static ds_status refund_outside(wf_order_env *env, const char *shop_id, const char *case_id,
                                const char *refund_id, store_cd_refund *f, answer *an,
                                bool *skip, ds_error *err)
{
    ad_supplier *ad = NULL;
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_cd_refund_get(c, shop_id, case_id, refund_id, f, err);
    store_release(env->pool, c);
    *skip = st == DS_OK && (f->payer != P_SUPPLIER || f->supplier_refund_status[0] != '\0');
    if (st != DS_OK || *skip)
        return st;
    st = adapter_of(env, shop_id, f->supplier_id, &ad, err);
    if (st == DS_OK && ad == NULL)
        manual(an, "the supplier has no API adapter (MANUAL): claim the refund yourself");
    else if (st == DS_OK && f->supplier_order_ref[0] == '\0')
        manual(an, "the supplier order has no supplier order id");
    else if (st == DS_OK)
        st = refund_call(ad, f, case_id, refund_id, an, err);
    ad_supplier_free(ad);
    return st;
}

static ds_status refund_write(store_conn *tx, const char *shop_id, const char *case_id,
                              const char *refund_id, const store_cd_refund *f, const answer *an,
                              ds_error *err)
{
    wf_case_cur cur;
    char actor[64];
    ds_status st = wf_case_lock(tx, shop_id, case_id, &cur, err);

    if (st == DS_OK)
        st = store_case_refund_supplier(tx, shop_id, case_id, refund_id, an->r.transaction_id,
                                        an->status, err);
    snprintf(actor, sizeof(actor), "supplier:%s", f->supplier_id);
    char *d = wf_details("refund_id", refund_id, "supplier_refund_id", an->r.transaction_id,
                         "supplier_refund_status", an->status, "message", an->message, NULL);
    wf_case_change ch = {.to = cur.state, .event_type = EV_UPDATED, .actor_kind = A_ADAPTER,
                         .actor_id = actor, .details = d};
    if (st == DS_OK)
        st = wf_case_apply(tx, shop_id, &cur, &ch, err);
    free(d);
    return st;
}

static void step_refund(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    store_cd_refund f;
    answer *an = calloc(1, sizeof(*an));
    char case_id[37], refund_id[37];
    wf_tx *tx = NULL;
    bool skip = false;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (an == NULL || !parse_key(t->key, case_id, refund_id) || refund_id[0] == '\0') {
        wf_res_set(res, WF_FAIL, "malformed task key or out of memory");
        free(an);
        return;
    }
    st = refund_outside(env, t->shop_id, case_id, refund_id, &f, an, &skip, &err);
    if (st == DS_OK && !skip)
        st = wf_tx_begin(ctx, &tx, &err);
    if (st == DS_OK && tx != NULL)
        st = refund_write(wf_tx_conn(tx), t->shop_id, case_id, refund_id, &f, an, &err);
    if (st == DS_OK && tx != NULL) {
        st = wf_tx_commit_complete(tx, &err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
    if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    free(an);
}

ds_status wf_case_supplier_register(wf_engine *e, struct wf_order_env *env, ds_error *err)
{
    const wf_kind kd = {WF_CASE_KIND_DISPUTE, step_dispute, wf_case_task_exhausted, env, 0};
    const wf_kind kr = {WF_CASE_KIND_REFUND, step_refund, wf_case_task_exhausted, env, 0};
    ds_status st = wf_engine_register(e, &kd, err);

    return st == DS_OK ? wf_engine_register(e, &kr, err) : st;
}
