/* api_case_actions.c - the mutating AfterSalesService calls on a case:
 * validate, then one transaction through the case state machine
 * (wf_case_apply). */
#include "api_case_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_auth.h"
#include "api_checks.h"
#include "api_util.h"
#include "api_validate.h"
#include "store_case_disputes.h"
#include "store_cases.h"
#include "wf_case_fsm.h"
#include "wf_case_supplier.h"
#include "wf_case_tasks.h"
#include "wf_order_runtime.h"
#include "wf_order_steps.h"

enum {
    C_OPEN = DROPSHIP__V1__CASE_STATE__CASE_STATE_OPEN,
    C_APPROVED = DROPSHIP__V1__CASE_STATE__CASE_STATE_APPROVED,
    C_AWAIT_RETURN = DROPSHIP__V1__CASE_STATE__CASE_STATE_AWAITING_RETURN,
    C_RECEIVED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RETURN_RECEIVED,
    C_REFUNDED = DROPSHIP__V1__CASE_STATE__CASE_STATE_REFUNDED,
    C_RESHIPPED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RESHIPPED,
    C_CLOSED = DROPSHIP__V1__CASE_STATE__CASE_STATE_CLOSED,
    C_REJECTED = DROPSHIP__V1__CASE_STATE__CASE_STATE_REJECTED,
    T_RETURN = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_RETURN,
    T_EXCHANGE = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_EXCHANGE,
    EV_CHANGED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_STATE_CHANGED,
    EV_EVIDENCE = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_EVIDENCE_ADDED,
    EV_REFUND = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_REFUND_RECORDED,
    A_KEY = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_API_KEY,
    P_SUPPLIER = DROPSHIP__V1__REFUND_PAYER__REFUND_PAYER_SUPPLIER,
    REQ_REQUIRED = DROPSHIP__V1__RETURN_REQUIREMENT__RETURN_REQUIREMENT_REQUIRED,
    REQ_NOT = DROPSHIP__V1__RETURN_REQUIREMENT__RETURN_REQUIREMENT_NOT_REQUIRED,
    REQUEST_ID_MAX = 100,
    NOTE_MAX = 1000,
    URI_MAX = 2000,
    REF_MAX = 200,
    COMP_MAX = 10
};

static const api_principal *who(const rpc_ctx *ctx)
{
    return ctx->principal;
}

static store_pool *pool_of(void *svc)
{
    return ((api_env *)svc)->pool;
}

bool api_case_carrier_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
            return false;
    return true;
}

ds_status api_case_read(store_pool *pool, int64_t deadline_ms, const char *shop_id,
                        const char *case_id, ds_arena *a, Dropship__V1__Case **out,
                        ds_error *err)
{
    store_case_row row = {0};
    ds_status st = store_case_get_pool(pool, deadline_ms, shop_id, case_id, a, &row, err);

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "case", case_id);
    if (st == DS_OK) {
        row.msg->etag = api_etag(a, row.version);
        if (row.msg->etag == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    *out = row.msg;
    return st;
}

/* ---- the shared transaction ---- */

typedef struct call {
    rpc_ctx *ctx;
    void *svc;
    const char *method;            /* request id namespace: "ApproveCase" */
    const char *request_id;        /* "" = none */
    const ProtobufCMessage *req;   /* the whole request (hashed for request_id) */
    const char *case_id;
    int64_t version;               /* etag; 0 = unconditional */
    char result[STORE_CASE_RESULT_MAX + 1]; /* what the act produced (ids) */
} call;

typedef ds_status (*act_fn)(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err);

/* Request id replay: *done when the call was already made. */
static ds_status replay(store_conn *tx, call *c, bool *done, ds_error *err)
{
    char hash[65], case_id[37];

    *done = false;
    if (c->request_id[0] == '\0')
        return DS_OK;
    api_message_hash(c->req, hash);
    return store_case_request_find(tx, who(c->ctx)->shop_id, c->method, c->request_id, hash,
                                   done, case_id, c->result, err);
}

static ds_status remember(store_conn *tx, call *c, ds_error *err)
{
    char hash[65];

    if (c->request_id[0] == '\0')
        return DS_OK;
    api_message_hash(c->req, hash);
    return store_case_request_put(tx, who(c->ctx)->shop_id, c->method, c->request_id, hash,
                                  c->case_id, c->result, err);
}

static ds_status in_tx(store_conn *tx, call *c, act_fn fn, ds_error *err)
{
    wf_case_cur cur;
    bool done = false;
    ds_status st = wf_case_lock(tx, who(c->ctx)->shop_id, c->case_id, &cur, err);

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "case", c->case_id);
    if (st == DS_OK)
        st = replay(tx, c, &done, err);
    if (st != DS_OK || done)
        return st;
    if (c->version != 0 && c->version != cur.version)
        return api_etag_mismatch(err, "case");
    st = fn(tx, c, &cur, err);
    if (st == DS_OK)
        st = remember(tx, c, err);
    return st;
}

static ds_status run_tx(call *c, act_fn fn, ds_error *err)
{
    store_pool *pool = pool_of(c->svc);
    store_conn *conn = NULL;
    ds_status st = store_acquire(pool, c->ctx->deadline_ms, &conn, err);

    if (st == DS_OK)
        st = store_begin(conn, err);
    if (st == DS_OK)
        st = in_tx(conn, c, fn, err);
    if (st == DS_OK)
        st = store_commit(conn, err);
    else if (conn != NULL)
        store_rollback(conn);
    store_release(pool, conn);
    return st;
}

/* Validate the common fields, run the act, read the case back into the
 * response's `case` field (and set *kase for extra fields). */
static ds_status run(call *c, act_fn fn, const ProtobufCMessageDescriptor *d,
                     ProtobufCMessage **resp, Dropship__V1__Case **kase, ds_error *err)
{
    ds_status st;

    av_uuid(err, "case_id", c->case_id);
    if (c->request_id[0] != '\0')
        av_token(err, "request_id", c->request_id, REQUEST_ID_MAX);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = run_tx(c, fn, err);
    if (st == DS_OK)
        st = api_case_read(pool_of(c->svc), c->ctx->deadline_ms, who(c->ctx)->shop_id,
                           c->case_id, c->ctx->arena, kase, err);
    if (st != DS_OK)
        return st;
    return api_respond(c->ctx->arena, d, "case", *kase, resp, err);
}

/* A change by the caller's key to state `to` with details d. */
static ds_status change(store_conn *tx, call *c, wf_case_cur *cur, int32_t to, int32_t type,
                        const char *d, ds_error *err)
{
    wf_case_change ch = {.to = to, .event_type = type, .actor_kind = A_KEY,
                         .actor_id = who(c->ctx)->key_id, .details = d};

    return wf_case_apply(tx, who(c->ctx)->shop_id, cur, &ch, err);
}

/* The etag field of a request into c->version (violation when bad). */
static void etag_of(ds_error *err, const char *etag, call *c)
{
    api_etag_parse(err, "etag", etag, &c->version);
}

/* ---- AddEvidence ---- */

static void check_evidence(ds_error *err, const Dropship__V1__Evidence *e)
{
    if (e == NULL) {
        ds_error_violation(err, "evidence", "is required");
        return;
    }
    av_range(err, "evidence.kind", e->kind,
             DROPSHIP__V1__EVIDENCE_KIND__EVIDENCE_KIND_PHOTO,
             DROPSHIP__V1__EVIDENCE_KIND__EVIDENCE_KIND_TRACKING_HISTORY);
    if (av_required(err, "evidence.uri", e->uri))
        av_uri(err, "evidence.uri", e->uri, URI_MAX);
    if (av_required(err, "evidence.sha256", e->sha256))
        av_sha256_hex(err, "evidence.sha256", e->sha256);
    if (av_text(err, "evidence.content_type", e->content_type, 100, false) &&
        e->content_type[0] != '\0' &&
        (strchr(e->content_type, '/') == NULL || strchr(e->content_type, ' ') != NULL))
        ds_error_violation(err, "evidence.content_type", "must look like type/subtype");
    av_text(err, "evidence.note", e->note, NOTE_MAX, true);
}

static ds_status evidence_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__AddEvidenceRequest *req = (const void *)c->req;
    const Dropship__V1__Evidence *e = req->evidence;
    char kind[24];
    ds_status st;

    if (wf_case_terminal(cur->state))
        return wf_case_refuse(err, cur, "evidence can no longer be added");
    st = store_case_evidence_add(tx, who(c->ctx)->shop_id, cur->case_id, e, A_KEY,
                                 who(c->ctx)->key_id, err);
    snprintf(kind, sizeof(kind), "%d", (int)e->kind);
    char *d = wf_details("evidence_kind", kind, "uri", e->uri, "sha256", e->sha256, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, cur->state, EV_EVIDENCE, d, err);
    free(d);
    return st;
}

ds_status api_add_evidence(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__AddEvidenceRequest *req = (const void *)req_;
    call c = {ctx, svc, "AddEvidence", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    check_evidence(err, req->evidence);
    etag_of(err, req->etag, &c);
    return run(&c, evidence_act, &dropship__v1__add_evidence_response__descriptor, resp, &k, err);
}

/* ---- ApproveCase ---- */

static bool return_default(int32_t type)
{
    return type == T_RETURN || type == T_EXCHANGE;
}

/* No-reason returns (RETURN, EXCHANGE) end with the supplier's window. */
static ds_status check_window(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    int32_t days = -1;
    int64_t delivered = 0, window_us;
    struct timespec now;
    ds_status st;

    if (!return_default(cur->type))
        return DS_OK;
    st = store_case_window(tx, who(c->ctx)->shop_id, cur->case_id, c->ctx->arena, &days,
                           &delivered, err);
    if (st != DS_OK || delivered == 0)
        return st;
    window_us = (days < 0 ? 7 : days) * 86400000000LL / wf_order_time_scale();
    clock_gettime(CLOCK_REALTIME, &now);
    if ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 <= delivered + window_us)
        return DS_OK;
    ds_error_set(err, DS_ERR_FAILED_PRECONDITION,
                 "the %d-day no-reason return window of this supplier order has passed; open "
                 "a defect case (DAMAGED, NOT_AS_DESCRIBED) if the goods are faulty",
                 days < 0 ? 7 : days);
    ds_error_reason(err, "RETURN_WINDOW_PASSED");
    return DS_ERR_FAILED_PRECONDITION;
}

static ds_status approve_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__ApproveCaseRequest *req = (const void *)c->req;
    int rr = (int)req->return_requirement;
    bool required = rr == REQ_REQUIRED || (rr != REQ_NOT && return_default(cur->type));
    bool bound = false;
    ds_status st = DS_OK;

    if (cur->state != C_OPEN)
        return wf_case_refuse(err, cur, "only an OPEN case can be approved");
    st = check_window(tx, c, cur, err);
    if (st == DS_OK)
        st = store_case_set_approval(tx, who(c->ctx)->shop_id, cur->case_id, required, &bound,
                                     err);
    if (st == DS_OK && !bound) {
        ds_error_set(err, DS_ERR_FAILED_PRECONDITION,
                     "no return address is bound to the supplier order of supplier %s yet",
                     cur->supplier_id);
        ds_error_reason(err, "RETURN_ADDRESS_UNBOUND");
        return DS_ERR_FAILED_PRECONDITION;
    }
    cur->return_required = required;
    char *d = wf_details("return_required", required ? "true" : "false", "note", req->note, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_APPROVED, EV_CHANGED, d, err);
    free(d);
    if (st == DS_OK) /* a DISPUTE goes to the supplier */
        st = wf_case_supplier_on_approved(tx, who(c->ctx)->shop_id, cur, err);
    return st;
}

ds_status api_approve_case(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__ApproveCaseRequest *req = (const void *)req_;
    call c = {ctx, svc, "ApproveCase", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;
    ds_status st;

    av_range(err, "return_requirement", req->return_requirement, 0, REQ_NOT);
    av_text(err, "note", req->note, NOTE_MAX, true);
    etag_of(err, req->etag, &c);
    st = run(&c, approve_act, &dropship__v1__approve_case_response__descriptor, resp, &k, err);
    if (st == DS_OK && k->return_required) {
        Dropship__V1__ApproveCaseResponse *out = (void *)*resp;
        out->return_address = k->return_address;
        out->return_rules = k->return_rules;
    }
    return st;
}

/* ---- RejectCase ---- */

static ds_status reject_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__RejectCaseRequest *req = (const void *)c->req;
    ds_status st;

    if (cur->state != C_OPEN)
        return wf_case_refuse(err, cur, "only an OPEN case can be rejected");
    st = store_case_set_reject(tx, who(c->ctx)->shop_id, cur->case_id, req->reason, err);
    char *d = wf_details("reason", req->reason, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_REJECTED, EV_CHANGED, d, err);
    free(d);
    return st;
}

ds_status api_reject_case(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                          ds_error *err, void *svc)
{
    const Dropship__V1__RejectCaseRequest *req = (const void *)req_;
    call c = {ctx, svc, "RejectCase", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    if (av_required(err, "reason", req->reason))
        av_text(err, "reason", req->reason, NOTE_MAX, true);
    etag_of(err, req->etag, &c);
    return run(&c, reject_act, &dropship__v1__reject_case_response__descriptor, resp, &k, err);
}

/* ---- RecordReturnShipment ---- */

static ds_status shipment_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__RecordReturnShipmentRequest *req = (const void *)c->req;
    const char *shop = who(c->ctx)->shop_id;
    ds_status st;

    if (cur->state != C_APPROVED)
        return wf_case_refuse(err, cur, "a return parcel is recorded on an APPROVED case");
    if (!cur->return_required)
        return wf_case_refuse(err, cur, "no return is required for this case");
    st = store_case_return_parcel(tx, shop, cur->case_id, req->carrier, req->tracking_number,
                                  err);
    char *d = wf_details("carrier", req->carrier, "tracking_number", req->tracking_number, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_AWAIT_RETURN, EV_CHANGED, d, err);
    free(d);
    if (st == DS_OK)
        st = wf_case_schedule(tx, shop, cur->case_id, WF_CASE_KIND_RETURN, NULL, 0, err);
    return st;
}

ds_status api_record_return_shipment(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                     ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__RecordReturnShipmentRequest *req = (const void *)req_;
    call c = {ctx, svc, "RecordReturnShipment", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    if (!api_case_carrier_ok(req->carrier))
        ds_error_violation(err, "carrier", "must be 1 to 64 characters of [a-z0-9._-]");
    if (av_required(err, "tracking_number", req->tracking_number) &&
        av_text(err, "tracking_number", req->tracking_number, 64, false) &&
        strchr(req->tracking_number, ' ') != NULL)
        ds_error_violation(err, "tracking_number", "must not contain spaces");
    etag_of(err, req->etag, &c);
    return run(&c, shipment_act, &dropship__v1__record_return_shipment_response__descriptor, resp,
               &k, err);
}

/* ---- MarkReturnReceived ---- */

static ds_status received_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__MarkReturnReceivedRequest *req = (const void *)c->req;
    ds_status st;

    if (cur->state != C_AWAIT_RETURN && cur->state != C_APPROVED)
        return wf_case_refuse(err, cur, "goods are received in AWAITING_RETURN or APPROVED");
    if (!cur->return_required)
        return wf_case_refuse(err, cur, "no return is required for this case");
    char *d = wf_details("note", req->note, NULL);
    st = change(tx, c, cur, C_RECEIVED, EV_CHANGED, d, err);
    free(d);
    return st;
}

ds_status api_mark_return_received(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                   ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__MarkReturnReceivedRequest *req = (const void *)req_;
    call c = {ctx, svc, "MarkReturnReceived", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    av_text(err, "note", req->note, NOTE_MAX, true);
    etag_of(err, req->etag, &c);
    return run(&c, received_act, &dropship__v1__mark_return_received_response__descriptor, resp,
               &k, err);
}

/* ---- RecordRefund ---- */

static void check_refund(ds_error *err, const Dropship__V1__Refund *f)
{
    char fld[DS_ERROR_FIELD_MAX];

    if (f == NULL) {
        ds_error_violation(err, "refund", "is required");
        return;
    }
    api_check_money(err, "refund.amount", f->amount, true, true);
    av_range(err, "refund.payer", f->payer, P_SUPPLIER,
             DROPSHIP__V1__REFUND_PAYER__REFUND_PAYER_SHOP);
    av_text(err, "refund.reference", f->reference, REF_MAX, false);
    av_text(err, "refund.note", f->note, NOTE_MAX, true);
    if (f->n_compensations > COMP_MAX)
        ds_error_violation(err, "refund.compensations", "at most %d entries", COMP_MAX);
    for (size_t i = 0; i < f->n_compensations && i < COMP_MAX; i++) {
        const Dropship__V1__Compensation *x = f->compensations[i];
        snprintf(fld, sizeof(fld), "refund.compensations[%zu].kind", i);
        av_range(err, fld, x->kind, 1, DROPSHIP__V1__COMPENSATION_KIND__COMPENSATION_KIND_OTHER);
        snprintf(fld, sizeof(fld), "refund.compensations[%zu].amount", i);
        if (api_check_money(err, fld, x->amount, true, true) && x->amount->units == 0 &&
            x->amount->nanos == 0)
            ds_error_violation(err, fld, "must be greater than 0");
        snprintf(fld, sizeof(fld), "refund.compensations[%zu].description", i);
        av_text(err, fld, x->description, REF_MAX, false);
    }
    if (f->amount != NULL && f->amount->units == 0 && f->amount->nanos == 0 &&
        f->n_compensations == 0)
        ds_error_violation(err, "refund.amount", "must be greater than 0 unless compensations "
                                                 "are given");
}

/* The amount against what the buyer paid for the case's lines. */
static ds_status check_refundable(store_conn *tx, call *c, wf_case_cur *cur,
                                  const Dropship__V1__Money *amount, ds_error *err)
{
    store_case_refundable rf;
    ds_status st = store_case_refundable_get(tx, who(c->ctx)->shop_id, cur->case_id, amount, &rf,
                                             err);

    if (st != DS_OK)
        return st;
    if (strcmp(rf.currency, amount->currency_code) != 0)
        ds_error_violation(err, "refund.amount.currency_code", "must be the order's currency %s",
                           rf.currency);
    else if (!rf.fits)
        ds_error_violation(err, "refund.amount",
                           "exceeds what the buyer paid for the case's lines: paid %s %s, "
                           "refunded so far %s %s",
                           rf.paid, rf.currency, rf.refunded, rf.currency);
    return api_validate_done(err, "refund");
}

static ds_status refund_allowed(wf_case_cur *cur, ds_error *err)
{
    if (cur->state == C_REFUNDED || cur->state == C_RESHIPPED ||
        wf_case_can_move(cur->state, C_REFUNDED, cur->return_required))
        return DS_OK;
    return wf_case_refuse(err, cur,
                          cur->return_required && cur->state != C_RECEIVED
                              ? "a refund needs the returned goods received first (or a case "
                                "approved without return)"
                              : "a refund is recorded on an approved case");
}

static ds_status refund_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__RecordRefundRequest *req = (const void *)c->req;
    const Dropship__V1__Refund *f = req->refund;
    const char *shop = who(c->ctx)->shop_id;
    char amount[64];
    ds_status st = refund_allowed(cur, err);

    if (st == DS_OK)
        st = check_refundable(tx, c, cur, f->amount, err);
    if (st == DS_OK)
        st = store_case_refund_add(tx, shop, cur->case_id, f, A_KEY, who(c->ctx)->key_id,
                                   c->result, err);
    snprintf(amount, sizeof(amount), "%lld.%02d %s", (long long)f->amount->units,
             (int)(f->amount->nanos / 10000000), f->amount->currency_code);
    char *d = wf_details("amount", amount, "payer", (int)f->payer == P_SUPPLIER ? "SUPPLIER" : "SHOP",
                         "refund_id", c->result, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_REFUNDED, EV_REFUND, d, err);
    free(d);
    if (st == DS_OK) /* SUPPLIER-paid: claimed from the supplier */
        st = wf_case_supplier_on_refund(tx, shop, cur->case_id, c->result, (int)f->payer, err);
    return st;
}

ds_status api_record_refund(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                            ds_error *err, void *svc)
{
    const Dropship__V1__RecordRefundRequest *req = (const void *)req_;
    call c = {ctx, svc, "RecordRefund", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    check_refund(err, req->refund);
    etag_of(err, req->etag, &c);
    return run(&c, refund_act, &dropship__v1__record_refund_response__descriptor, resp, &k, err);
}

/* ---- Reship ---- */

static ds_status reship_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__ReshipRequest *req = (const void *)c->req;
    const char *shop = who(c->ctx)->shop_id;
    ds_status st = DS_OK;

    if (cur->state != C_REFUNDED && cur->state != C_RESHIPPED &&
        !wf_case_can_move(cur->state, C_RESHIPPED, cur->return_required))
        return wf_case_refuse(err, cur, cur->return_required
                                            ? "a replacement is sent once the return is received"
                                            : "a replacement is sent for an approved case");
    st = store_case_reship(tx, shop, cur->case_id, req->shipping_address, who(c->ctx)->key_id,
                           c->result, err);
    if (st == DS_OK)
        st = wf_order_on_created(tx, shop, c->result, err);
    char *d = wf_details("reship_order_id", c->result, "note", req->note, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_RESHIPPED, EV_CHANGED, d, err);
    free(d);
    return st;
}

ds_status api_reship(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                     ds_error *err, void *svc)
{
    const Dropship__V1__ReshipRequest *req = (const void *)req_;
    call c = {ctx, svc, "Reship", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;
    ds_status st;

    if (req->shipping_address != NULL)
        api_check_address(err, "shipping_address", req->shipping_address);
    av_text(err, "note", req->note, NOTE_MAX, true);
    etag_of(err, req->etag, &c);
    st = run(&c, reship_act, &dropship__v1__reship_response__descriptor, resp, &k, err);
    if (st == DS_OK) {
        Dropship__V1__ReshipResponse *out = (void *)*resp;
        out->reship_order_id = ds_arena_strdup(ctx->arena, c.result);
        if (out->reship_order_id == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    return st;
}

/* ---- ResolveCase ---- */

static ds_status resolve_act(store_conn *tx, call *c, wf_case_cur *cur, ds_error *err)
{
    const Dropship__V1__ResolveCaseRequest *req = (const void *)c->req;
    char root[24];
    ds_status st;

    if (wf_case_terminal(cur->state))
        return wf_case_refuse(err, cur, "it is already finished");
    st = store_case_set_resolution(tx, who(c->ctx)->shop_id, cur->case_id, req->resolution,
                                   req->root_cause, err);
    snprintf(root, sizeof(root), "%d", (int)req->root_cause);
    char *d = wf_details("resolution", req->resolution, "root_cause", root, NULL);
    if (st == DS_OK)
        st = change(tx, c, cur, C_CLOSED, EV_CHANGED, d, err);
    free(d);
    return st;
}

ds_status api_resolve_case(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__ResolveCaseRequest *req = (const void *)req_;
    call c = {ctx, svc, "ResolveCase", req->request_id, req_, req->case_id, 0, ""};
    Dropship__V1__Case *k = NULL;

    if (av_required(err, "resolution", req->resolution))
        av_text(err, "resolution", req->resolution, NOTE_MAX, true);
    av_range(err, "root_cause", req->root_cause, 1,
             DROPSHIP__V1__ROOT_CAUSE__ROOT_CAUSE_OTHER);
    etag_of(err, req->etag, &c);
    return run(&c, resolve_act, &dropship__v1__resolve_case_response__descriptor, resp, &k, err);
}
