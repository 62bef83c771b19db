/* api_order_actions.c - CancelOrder, ResolveHold, RecordPaymentProof,
 * RecordShipment and RefreshTracking: validate, then one transaction through
 * the order state machine (wf_order_apply). */
#include "api_order_actions.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "api_auth.h"
#include "api_suppliers.h"
#include "api_util.h"
#include "api_validate.h"
#include "store_orders.h"
#include "store_supplier_orders.h"
#include "store_wf_view.h"
#include "wf_order_fsm.h"
#include "wf_order_runtime.h"
#include "wf_order_steps.h"

enum {
    S_AWAIT_PAY = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_PAYMENT,
    S_AWAIT_SHIP = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_SHIPMENT,
    S_IN_TRANSIT = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_IN_TRANSIT,
    S_VERIFYING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_VERIFYING,
    S_PURCHASING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_PURCHASING,
    S_ON_HOLD = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_ON_HOLD,
    S_CANCELLING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLING,
    S_CANCELLED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLED,
    EV_CANCEL_REQ = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CANCEL_REQUESTED,
    EV_CANCELLED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CANCELLED,
    EV_RESOLVED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_HOLD_RESOLVED,
    EV_ADDRESS = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_ADDRESS_CHANGED,
    EV_PAID = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_PAYMENT_RECORDED,
    EV_PARCEL = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_PARCEL_ADDED,
    A_KEY = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_API_KEY,
    H_ADDRESS = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_ADDRESS_INCOMPLETE,
    H_UNMAPPED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SKU_UNMAPPED,
    H_OOS = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_OUT_OF_STOCK,
    H_PRICE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PRICE_CHANGED,
    H_REJECTED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SUPPLIER_REJECTED,
    H_OVERDUE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PAYMENT_OVERDUE,
    H_REFUSED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_CANCEL_REFUSED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    SO_REJECTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED,
    SO_CANCELLED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_CANCELLED,
    RES_ADDRESS = DROPSHIP__V1__RESOLVE_HOLD_REQUEST__RESOLUTION_CORRECTED_ADDRESS,
    RES_SUBST = DROPSHIP__V1__RESOLVE_HOLD_REQUEST__RESOLUTION_SUBSTITUTE,
    RES_COST = DROPSHIP__V1__RESOLVE_HOLD_REQUEST__RESOLUTION_ACCEPTED_COST,
    RES_RETRY = DROPSHIP__V1__RESOLVE_HOLD_REQUEST__RESOLUTION_RETRY,
    NOTE_MAX = 1000,
    REF_MAX = 200,
    URI_MAX = 2000,
    PARCELS_MAX = 20,
    LINES_MAX = 100
};

static const api_principal *who(const rpc_ctx *ctx)
{
    return ctx->principal;
}

static store_pool *pool_of(void *svc)
{
    return ((api_env *)svc)->pool;
}

ds_status api_order_read(store_pool *pool, int64_t deadline_ms, const char *shop_id,
                         const char *order_id, ds_arena *a, Dropship__V1__Order **out,
                         ds_error *err)
{
    store_order_row row;
    ds_status st = store_order_get(pool, deadline_ms, shop_id, order_id, a, &row, err);

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "order", order_id);
    if (st == DS_OK) {
        row.msg->etag = api_etag(a, row.version);
        if (row.msg->etag == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    *out = row.msg;
    return st;
}

/* ---- one transaction per action ---- */

typedef ds_status (*act_fn)(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                            wf_order_cur *cur, const void *req, ds_error *err);

/* Lock the order, check the etag, run fn, commit. */
static ds_status run_tx(rpc_ctx *ctx, void *svc, const char *order_id, int64_t version,
                        act_fn fn, const void *req, ds_error *err)
{
    store_pool *pool = pool_of(svc);
    store_conn *c = NULL;
    wf_order_cur cur;
    ds_status st = store_acquire(pool, ctx->deadline_ms, &c, err);

    if (st == DS_OK)
        st = store_begin(c, err);
    if (st == DS_OK)
        st = wf_order_lock(c, who(ctx)->shop_id, order_id, &cur, err);
    if (st == DS_ERR_NOT_FOUND)
        st = api_not_found(err, "order", order_id);
    if (st == DS_OK && version != 0 && version != cur.version)
        st = api_etag_mismatch(err, "order");
    if (st == DS_OK)
        st = fn(c, ctx, order_id, &cur, req, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    else if (c != NULL)
        store_rollback(c);
    store_release(pool, c);
    return st;
}

/* After validation (st): run fn in a transaction, then answer with the
 * order as the field "order" of a new response of type d. */
static ds_status finish(rpc_ctx *ctx, void *svc, ds_status st, const char *order_id,
                        int64_t version, act_fn fn, const void *req,
                        const ProtobufCMessageDescriptor *d, ProtobufCMessage **resp,
                        ds_error *err)
{
    Dropship__V1__Order *order = NULL;

    if (st == DS_OK)
        st = run_tx(ctx, svc, order_id, version, fn, req, err);
    if (st == DS_OK)
        st = api_order_read(pool_of(svc), ctx->deadline_ms, who(ctx)->shop_id, order_id,
                            ctx->arena, &order, err);
    if (st == DS_OK)
        st = api_respond(ctx->arena, d, "order", order, resp, err);
    return st;
}

static ds_status precondition(ds_error *err, const char *reason, const char *fmt, const char *a)
{
    ds_error_set(err, DS_ERR_FAILED_PRECONDITION, fmt, a);
    ds_error_reason(err, reason);
    return DS_ERR_FAILED_PRECONDITION;
}

/* The supplier order of supplier_id in tx; NULL when none. *rows must be freed. */
static store_so_row *find_so(store_conn *tx, const char *shop_id, const char *order_id,
                             const char *supplier_id, store_so_row **rows, ds_status *st,
                             ds_error *err)
{
    size_t n = 0;

    *st = store_so_list(tx, shop_id, order_id, rows, &n, err);
    for (size_t i = 0; *st == DS_OK && i < n; i++)
        if (strcasecmp((*rows)[i].supplier_id, supplier_id) == 0)
            return &(*rows)[i];
    return NULL;
}

/* ---- CancelOrder ---- */

static bool any_placed(store_conn *tx, const char *shop_id, const char *order_id, ds_status *st,
                       ds_error *err)
{
    store_so_row *rows = NULL;
    size_t n = 0;
    bool placed = false;

    *st = store_so_list(tx, shop_id, order_id, &rows, &n, err);
    for (size_t i = 0; *st == DS_OK && i < n; i++)
        placed |= rows[i].state != SO_PENDING && rows[i].state != SO_REJECTED &&
                  rows[i].state != SO_CANCELLED;
    free(rows);
    return placed;
}

static ds_status cancel_act(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                            wf_order_cur *cur, const void *req_, ds_error *err)
{
    const Dropship__V1__CancelOrderRequest *req = req_;
    int32_t base = cur->state == S_ON_HOLD ? cur->held_state : cur->state;
    ds_status st = DS_OK;
    char *d;

    if (cur->state == S_CANCELLING || cur->state == S_CANCELLED)
        return DS_OK;
    if (!wf_order_pre_shipment(base) && base != S_CANCELLING)
        return precondition(err, "ORDER_SHIPPED",
                            "order is %s: it has shipped or finished; open an after-sales case",
                            wf_order_state_name(cur->state));
    bool placed = any_placed(tx, who(ctx)->shop_id, order_id, &st, err);
    if (st != DS_OK)
        return st;
    d = wf_details("reason", req->reason, NULL);
    wf_order_change ch = {.to = placed ? S_CANCELLING : S_CANCELLED,
                          .event_type = placed ? EV_CANCEL_REQ : EV_CANCELLED,
                          .actor_kind = A_KEY, .actor_id = who(ctx)->key_id, .details = d,
                          .cancel_reason = req->reason};
    st = wf_order_apply(tx, who(ctx)->shop_id, order_id, cur, &ch, err);
    free(d);
    return st;
}

ds_status api_cancel_order(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__CancelOrderRequest *req = (const void *)req_;
    int64_t version = 0;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    if (av_required(err, "reason", req->reason))
        av_text(err, "reason", req->reason, NOTE_MAX, true);
    api_etag_parse(err, "etag", req->etag, &version);
    st = api_validate_done(err, "request");
    return finish(ctx, svc, st, req->order_id, version, cancel_act, req,
                  &dropship__v1__cancel_order_response__descriptor, resp, err);
}

/* ---- ResolveHold ---- */

/* Does the resolution fit the reason? */
static bool fits(int32_t reason, int resolution)
{
    if (resolution == RES_RETRY)
        return true;
    if (resolution == RES_ADDRESS)
        return reason == H_ADDRESS;
    if (resolution == RES_SUBST)
        return reason == H_UNMAPPED || reason == H_OOS || reason == H_REJECTED;
    if (resolution == RES_COST)
        return reason == H_PRICE;
    return false;
}

static void check_resolution(ds_error *err, const Dropship__V1__ResolveHoldRequest *req)
{
    char f[DS_ERROR_FIELD_MAX];

    if ((int)req->resolution_case == RES_ADDRESS)
        api_check_address(err, "corrected_address", req->corrected_address);
    if ((int)req->resolution_case == RES_SUBST) {
        const Dropship__V1__HoldSubstitution *s = req->substitute;
        if (s->n_lines == 0 || s->n_lines > LINES_MAX)
            ds_error_violation(err, "substitute.lines", "needs 1 to %d entries", LINES_MAX);
        for (size_t i = 0; i < s->n_lines && i < LINES_MAX; i++) {
            snprintf(f, sizeof(f), "substitute.lines[%zu].line_id", i);
            av_token(err, f, s->lines[i]->line_id, 64);
            snprintf(f, sizeof(f), "substitute.lines[%zu].binding_id", i);
            av_uuid(err, f, s->lines[i]->binding_id);
        }
    }
    if ((int)req->resolution_case == RES_COST) {
        const Dropship__V1__HoldAcceptedCost *c = req->accepted_cost;
        if (c->n_lines == 0 || c->n_lines > LINES_MAX)
            ds_error_violation(err, "accepted_cost.lines", "needs 1 to %d entries", LINES_MAX);
        for (size_t i = 0; i < c->n_lines && i < LINES_MAX; i++) {
            const Dropship__V1__Money *m = c->lines[i]->max_unit_cost;
            snprintf(f, sizeof(f), "accepted_cost.lines[%zu].line_id", i);
            av_token(err, f, c->lines[i]->line_id, 64);
            snprintf(f, sizeof(f), "accepted_cost.lines[%zu].max_unit_cost", i);
            if (api_check_money(err, f, m, true, true) && m->units == 0 && m->nanos == 0)
                ds_error_violation(err, f, "must be greater than 0");
        }
    }
}

static void copy_address(const Dropship__V1__Address *in, store_so_address *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->recipient_name, sizeof(a->recipient_name), "%s", in->recipient_name);
    snprintf(a->phone, sizeof(a->phone), "%s", in->phone);
    snprintf(a->country_code, sizeof(a->country_code), "%s", in->country_code);
    snprintf(a->region, sizeof(a->region), "%s", in->region);
    snprintf(a->city, sizeof(a->city), "%s", in->city);
    snprintf(a->district, sizeof(a->district), "%s", in->district);
    snprintf(a->street, sizeof(a->street), "%s", in->street);
    snprintf(a->postal_code, sizeof(a->postal_code), "%s", in->postal_code);
}

/* A line id or binding that does not exist is a bad argument of this call. */
static ds_status bad_ref(store_conn *tx, const char *field, const char *what, ds_error *err)
{
    (void)tx;
    ds_error_clear(err);
    ds_error_violation(err, field, "%s", what);
    return api_validate_done(err, "resolution");
}

/* Write what the resolution brings (address, choices). */
static ds_status apply_resolution(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                                  wf_order_cur *cur,
                                  const Dropship__V1__ResolveHoldRequest *req, ds_error *err)
{
    const char *shop = who(ctx)->shop_id;
    char f[DS_ERROR_FIELD_MAX];
    ds_status st = DS_OK;

    if ((int)req->resolution_case == RES_ADDRESS) {
        store_so_address a;
        wf_order_change ch = {.to = cur->state, .event_type = EV_ADDRESS, .actor_kind = A_KEY,
                              .actor_id = who(ctx)->key_id};
        copy_address(req->corrected_address, &a);
        st = store_so_address_set(tx, shop, order_id, &a, err);
        if (st == DS_OK)
            st = wf_order_apply(tx, shop, order_id, cur, &ch, err);
    }
    for (size_t i = 0; (int)req->resolution_case == RES_SUBST && st == DS_OK &&
                       i < req->substitute->n_lines; i++) {
        const Dropship__V1__LineBinding *lb = req->substitute->lines[i];
        st = store_so_choose(tx, shop, order_id, lb->line_id, lb->binding_id, NULL, err);
        snprintf(f, sizeof(f), "substitute.lines[%zu]", i);
        if (st != DS_OK && st != DS_ERR_UNAVAILABLE && st != DS_ERR_DEADLINE)
            st = bad_ref(tx, f, "names no line of this order or no binding of this shop", err);
    }
    for (size_t i = 0; (int)req->resolution_case == RES_COST && st == DS_OK &&
                       i < req->accepted_cost->n_lines; i++) {
        const Dropship__V1__LineCost *lc = req->accepted_cost->lines[i];
        store_so_money m = {.units = lc->max_unit_cost->units,
                            .nanos = lc->max_unit_cost->nanos};
        snprintf(m.currency, sizeof(m.currency), "%s", lc->max_unit_cost->currency_code);
        st = store_so_choose(tx, shop, order_id, lc->line_id, NULL, &m, err);
        snprintf(f, sizeof(f), "accepted_cost.lines[%zu].line_id", i);
        if (st != DS_OK && st != DS_ERR_UNAVAILABLE && st != DS_ERR_DEADLINE)
            st = bad_ref(tx, f, "names no line of this order", err);
    }
    return st;
}

/* Where the order resumes: its held state, except that a refused
 * cancellation gives the cancellation up, and a purchase that was refused
 * (rejected, out of stock) or held for its offer is planned again from
 * verify (the refused supplier order has no line any more otherwise). */
static int32_t resume_state(store_conn *tx, const char *shop, const char *order_id,
                            const wf_order_cur *cur, ds_status *st, ds_error *err)
{
    if ((cur->hold_reason == H_REJECTED || cur->hold_reason == H_OOS ||
         cur->hold_reason == H_PRICE) && cur->held_state == S_PURCHASING) {
        *st = store_so_drop_unplaced(tx, shop, order_id, err);
        return S_VERIFYING;
    }
    if (cur->hold_reason == H_REFUSED) {
        *st = DS_OK;
        return S_AWAIT_PAY;
    }
    *st = DS_OK;
    return cur->held_state;
}

static ds_status resolve_act(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                             wf_order_cur *cur, const void *req_, ds_error *err)
{
    const Dropship__V1__ResolveHoldRequest *req = req_;
    const char *shop = who(ctx)->shop_id;
    static const char *const names[] = {"", "", "", "corrected_address", "substitute",
                                        "accepted_cost", "retry"};
    int64_t due_ms = 0;
    ds_status st;
    char *d;

    if (cur->state != S_ON_HOLD)
        return precondition(err, "ORDER_NOT_ON_HOLD", "order is %s, not ON_HOLD",
                            wf_order_state_name(cur->state));
    if (!fits(cur->hold_reason, (int)req->resolution_case)) {
        ds_error_violation(err, names[(int)req->resolution_case],
                           "does not resolve this hold reason (%d)", cur->hold_reason);
        return api_validate_done(err, "resolution");
    }
    st = apply_resolution(tx, ctx, order_id, cur, req, err);
    int32_t to = st == DS_OK ? resume_state(tx, shop, order_id, cur, &st, err) : 0;
    if (st == DS_OK && cur->hold_reason == H_OVERDUE)
        st = store_so_restart_due(tx, shop, order_id, wf_order_time_scale(), &due_ms, err);
    if (st != DS_OK)
        return st;
    d = wf_details("resolution", names[(int)req->resolution_case], "note", req->note, NULL);
    wf_order_change ch = {.to = to, .event_type = EV_RESOLVED, .actor_kind = A_KEY,
                          .actor_id = who(ctx)->key_id, .details = d};
    st = wf_order_apply(tx, shop, order_id, cur, &ch, err);
    free(d);
    if (st == DS_OK && due_ms > 0)
        st = wf_order_schedule(tx, shop, order_id, WF_ORDER_KIND_PAYMENT_TIMER, due_ms, err);
    if (st == DS_OK && to == S_AWAIT_PAY)
        st = wf_order_after_paid(tx, shop, order_id, cur, "resolve_hold", err);
    return st;
}

ds_status api_resolve_hold(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__ResolveHoldRequest *req = (const void *)req_;
    int64_t version = 0;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    api_etag_parse(err, "etag", req->etag, &version);
    av_text(err, "note", req->note, NOTE_MAX, true);
    if ((int)req->resolution_case < RES_ADDRESS || (int)req->resolution_case > RES_RETRY)
        ds_error_violation(err, "resolution", "is required: corrected_address, substitute, "
                                              "accepted_cost or retry");
    else
        check_resolution(err, req);
    st = api_validate_done(err, "request");
    return finish(ctx, svc, st, req->order_id, version, resolve_act, req,
                  &dropship__v1__resolve_hold_response__descriptor, resp, err);
}

/* ---- RecordPaymentProof ---- */

static void check_proof(ds_error *err, const Dropship__V1__PaymentProof *p)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (p == NULL) {
        ds_error_violation(err, "proof", "is required");
        return;
    }
    if (api_check_money(err, "proof.amount", p->amount, true, true) && p->amount->units == 0 &&
        p->amount->nanos == 0)
        ds_error_violation(err, "proof.amount", "must be greater than 0");
    av_range(err, "proof.method", p->method, 1, DROPSHIP__V1__PAYMENT_METHOD__PAYMENT_METHOD_OTHER);
    if (av_required(err, "proof.reference", p->reference))
        av_text(err, "proof.reference", p->reference, REF_MAX, false);
    if (p->paid_time == NULL)
        ds_error_violation(err, "proof.paid_time", "is required");
    else if (p->paid_time->seconds > now.tv_sec + 300 || p->paid_time->nanos < 0 ||
             p->paid_time->nanos > 999999999)
        ds_error_violation(err, "proof.paid_time", "must not be more than 5 minutes ahead");
    if (p->attachment_uri[0] != '\0') {
        av_uri(err, "proof.attachment_uri", p->attachment_uri, URI_MAX);
        av_sha256_hex(err, "proof.attachment_sha256", p->attachment_sha256);
    } else if (p->attachment_sha256[0] != '\0') {
        ds_error_violation(err, "proof.attachment_uri", "is required with attachment_sha256");
    }
}

/* The proof as stored; sha256 lower-cased into buf. */
static store_so_proof proof_of(const rpc_ctx *ctx, const Dropship__V1__PaymentProof *p,
                               char sha[65])
{
    store_so_proof out = {.method = p->method, .reference = p->reference,
                          .paid_us = api_timestamp_us(p->paid_time),
                          .attachment_uri = p->attachment_uri, .attachment_sha256 = sha,
                          .actor_kind = A_KEY, .actor_id = who(ctx)->key_id};

    snprintf(out.amount.currency, sizeof(out.amount.currency), "%s", p->amount->currency_code);
    out.amount.units = p->amount->units;
    out.amount.nanos = p->amount->nanos;
    for (size_t i = 0; i < 64; i++)
        sha[i] = (char)tolower((unsigned char)p->attachment_sha256[i]);
    sha[strlen(p->attachment_sha256) < 64 ? strlen(p->attachment_sha256) : 64] = '\0';
    return out;
}

static ds_status check_against(const Dropship__V1__RecordPaymentProofRequest *req,
                               const store_so_row *so, ds_error *err)
{
    if (so->state == SO_PENDING)
        return precondition(err, "SUPPLIER_ORDER_NOT_PLACED",
                            "the supplier order for supplier %s is not placed yet",
                            req->supplier_id);
    if (so->cost.currency[0] != '\0' &&
        strcmp(so->cost.currency, req->proof->amount->currency_code) != 0)
        ds_error_violation(err, "proof.amount.currency_code",
                           "must be the supplier order's cost currency %s", so->cost.currency);
    if (req->supplier_order_ref[0] != '\0' && so->ref[0] != '\0' &&
        strcmp(so->ref, req->supplier_order_ref) != 0)
        ds_error_violation(err, "supplier_order_ref", "does not match the supplier order's %s",
                           so->ref);
    return api_validate_done(err, "request");
}

static ds_status proof_act(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                           wf_order_cur *cur, const void *req_, ds_error *err)
{
    const Dropship__V1__RecordPaymentProofRequest *req = req_;
    const char *shop = who(ctx)->shop_id;
    store_so_row *rows = NULL;
    char sha[65], amount[64];
    bool same = false;
    ds_status st;
    store_so_row *so = find_so(tx, shop, order_id, req->supplier_id, &rows, &st, err);

    if (st == DS_OK && cur->state == S_CANCELLED)
        st = precondition(err, "ORDER_CANCELLED", "order is %s", "CANCELLED");
    if (st == DS_OK && so == NULL)
        st = api_not_found(err, "supplier order of supplier", req->supplier_id);
    if (st == DS_OK)
        st = check_against(req, so, err);
    if (st == DS_OK && req->supplier_order_ref[0] != '\0')
        st = store_so_set_ref(tx, shop, order_id, so->supplier_id, req->supplier_order_ref, err);
    store_so_proof p = proof_of(ctx, req->proof, sha);
    if (st == DS_OK)
        st = store_so_record_proof(tx, shop, order_id, so->supplier_id, &p, &same, err);
    free(rows);
    if (st != DS_OK || same)
        return st;
    snprintf(amount, sizeof(amount), "%lld.%02d %s", (long long)p.amount.units,
             (int)(p.amount.nanos / 10000000), p.amount.currency);
    char *d = wf_details("supplier_id", req->supplier_id, "amount", amount, "reference",
                         req->proof->reference, NULL);
    wf_order_change ev = {.to = cur->state, .event_type = EV_PAID, .actor_kind = A_KEY,
                          .actor_id = who(ctx)->key_id, .details = d};
    wf_order_change resume = {.to = S_AWAIT_PAY, .event_type = EV_RESOLVED, .actor_kind = A_KEY,
                              .actor_id = who(ctx)->key_id, .details = d, .no_entry_task = true};
    st = wf_order_apply(tx, shop, order_id, cur, &ev, err);
    if (st == DS_OK && cur->state == S_ON_HOLD && cur->hold_reason == H_OVERDUE)
        st = wf_order_apply(tx, shop, order_id, cur, &resume, err);
    free(d);
    return st == DS_OK ? wf_order_after_paid(tx, shop, order_id, cur, "payment", err) : st;
}

ds_status api_record_payment_proof(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                   ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__RecordPaymentProofRequest *req = (const void *)req_;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    av_uuid(err, "supplier_id", req->supplier_id);
    if (req->supplier_order_ref[0] != '\0')
        av_text(err, "supplier_order_ref", req->supplier_order_ref, REF_MAX, false);
    check_proof(err, req->proof);
    st = api_validate_done(err, "request");
    return finish(ctx, svc, st, req->order_id, 0, proof_act, req,
                  &dropship__v1__record_payment_proof_response__descriptor, resp, err);
}

/* ---- RecordShipment ---- */

static bool carrier_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
            return false;
    return true;
}

static void check_parcels(ds_error *err, const Dropship__V1__RecordShipmentRequest *req)
{
    char f[DS_ERROR_FIELD_MAX];

    if (req->n_parcels == 0 || req->n_parcels > PARCELS_MAX)
        ds_error_violation(err, "parcels", "needs 1 to %d parcels", PARCELS_MAX);
    for (size_t i = 0; i < req->n_parcels && i < PARCELS_MAX; i++) {
        const Dropship__V1__Parcel *p = req->parcels[i];
        snprintf(f, sizeof(f), "parcels[%zu].carrier", i);
        if (!carrier_ok(p->carrier))
            ds_error_violation(err, f, "must be 1 to 64 characters of [a-z0-9._-]");
        snprintf(f, sizeof(f), "parcels[%zu].tracking_number", i);
        if (av_required(err, f, p->tracking_number) && av_text(err, f, p->tracking_number, 64,
                                                               false) &&
            strchr(p->tracking_number, ' ') != NULL)
            ds_error_violation(err, f, "must not contain spaces");
    }
}

static ds_status shipment_act(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                              wf_order_cur *cur, const void *req_, ds_error *err)
{
    const Dropship__V1__RecordShipmentRequest *req = req_;
    const char *shop = who(ctx)->shop_id;
    store_so_row *rows = NULL;
    ds_status st;
    store_so_row *so = find_so(tx, shop, order_id, req->supplier_id, &rows, &st, err);

    if (st == DS_OK && cur->state == S_CANCELLED)
        st = precondition(err, "ORDER_CANCELLED", "order is %s", "CANCELLED");
    if (st == DS_OK && so == NULL)
        st = api_not_found(err, "supplier order of supplier", req->supplier_id);
    if (st == DS_OK && so->state == SO_PENDING)
        st = precondition(err, "SUPPLIER_ORDER_NOT_PLACED",
                          "the supplier order for supplier %s is not placed yet",
                          req->supplier_id);
    for (size_t i = 0; st == DS_OK && i < req->n_parcels; i++) {
        const Dropship__V1__Parcel *p = req->parcels[i];
        bool added = false;
        st = store_so_parcel_add(tx, shop, order_id, so->supplier_id, p->carrier,
                                 p->tracking_number, "", &added, err);
        char *d = st == DS_OK && added
                      ? wf_details("supplier_id", so->supplier_id, "carrier", p->carrier,
                                   "tracking_number", p->tracking_number, NULL)
                      : NULL;
        wf_order_change ch = {.to = cur->state, .event_type = EV_PARCEL, .actor_kind = A_KEY,
                              .actor_id = who(ctx)->key_id, .details = d};
        if (d != NULL)
            st = wf_order_apply(tx, shop, order_id, cur, &ch, err);
        free(d);
    }
    free(rows);
    if (st == DS_OK && (cur->state == S_AWAIT_SHIP || cur->state == S_IN_TRANSIT))
        st = wf_order_schedule(tx, shop, order_id, WF_ORDER_KIND_TRACKING, 0, err);
    return st;
}

ds_status api_record_shipment(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                              ds_error *err, void *svc)
{
    const Dropship__V1__RecordShipmentRequest *req = (const void *)req_;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    av_uuid(err, "supplier_id", req->supplier_id);
    check_parcels(err, req);
    st = api_validate_done(err, "request");
    return finish(ctx, svc, st, req->order_id, 0, shipment_act, req,
                  &dropship__v1__record_shipment_response__descriptor, resp, err);
}

/* ---- RefreshTracking ---- */

static ds_status refresh_act(store_conn *tx, const rpc_ctx *ctx, const char *order_id,
                             wf_order_cur *cur, const void *req, ds_error *err)
{
    char key[WF_ORDER_KEY_MAX];
    bool found = false;
    ds_status st;

    (void)req;
    if (cur->state != S_AWAIT_SHIP && cur->state != S_IN_TRANSIT)
        return precondition(err, "NOTHING_TO_TRACK",
                            "order is %s: nothing to track (no supplier order placed, or the "
                            "order is finished)",
                            wf_order_state_name(cur->state));
    snprintf(key, sizeof(key), "order:%s:tracking", order_id);
    st = wf_run_now_in(tx, who(ctx)->shop_id, WF_ORDER_KIND_TRACKING, key, &found, err);
    if (st == DS_OK && !found)
        st = wf_order_schedule(tx, who(ctx)->shop_id, order_id, WF_ORDER_KIND_TRACKING, 0, err);
    return st;
}

ds_status api_refresh_tracking(rpc_ctx *ctx, const ProtobufCMessage *req_,
                               ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__RefreshTrackingRequest *req = (const void *)req_;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    st = api_validate_done(err, "request");
    return finish(ctx, svc, st, req->order_id, 0, refresh_act, req,
                  &dropship__v1__refresh_tracking_response__descriptor, resp, err);
}
