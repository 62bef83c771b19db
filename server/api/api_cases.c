/* api_cases.c - dropship.v1.AfterSalesService: OpenCase, GetCase, ListCases,
 * GetCaseHistory, and the method table (the other calls are in
 * api_case_actions.c). */
#include "api_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "api_case_actions.h"
#include "api_util.h"
#include "api_validate.h"
#include "api_watch.h"
#include "store_cases.h"
#include "store_supplier_orders.h"
#include "wf_case_fsm.h"
#include "wf_case_tasks.h"
#include "wf_order_steps.h"

enum {
    T_DISPUTE = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_DISPUTE,
    C_OPEN = DROPSHIP__V1__CASE_STATE__CASE_STATE_OPEN,
    S_CANCELLING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLING,
    S_CANCELLED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    SO_REJECTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED,
    EV_OPENED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_OPENED,
    A_KEY = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_API_KEY,
    REQUEST_ID_MAX = 100,
    DESC_MAX = 4000,
    LINES_MAX = STORE_CASE_LINES_MAX,
    FILTER_VALUES_MAX = 20,
    LIST_BUF = LINES_MAX * 66
};

static const api_principal *who(const rpc_ctx *ctx)
{
    return ctx->principal;
}

static store_pool *pool_of(void *svc)
{
    return ((api_env *)svc)->pool;
}

/* ---- OpenCase: validation ---- */

static void check_lines(ds_error *err, const Dropship__V1__Case *k)
{
    char f[DS_ERROR_FIELD_MAX];

    if (k->n_lines == 0 || k->n_lines > LINES_MAX) {
        ds_error_violation(err, "case.lines", "needs 1 to %d entries", LINES_MAX);
        return;
    }
    for (size_t i = 0; i < k->n_lines; i++) {
        snprintf(f, sizeof(f), "case.lines[%zu].line_id", i);
        av_token(err, f, k->lines[i]->line_id, 64);
        snprintf(f, sizeof(f), "case.lines[%zu].quantity", i);
        av_range(err, f, k->lines[i]->quantity, 1, 10000);
        for (size_t j = 0; j < i; j++)
            if (strcmp(k->lines[i]->line_id, k->lines[j]->line_id) == 0) {
                snprintf(f, sizeof(f), "case.lines[%zu].line_id", i);
                ds_error_violation(err, f, "repeats case.lines[%zu]", j);
            }
    }
}

static void check_case(ds_error *err, const Dropship__V1__Case *k)
{
    if (k == NULL) {
        ds_error_violation(err, "case", "is required");
        return;
    }
    av_uuid(err, "case.order_id", k->order_id);
    av_range(err, "case.type", k->type, 1, T_DISPUTE);
    if (av_required(err, "case.description", k->description))
        av_text(err, "case.description", k->description, DESC_MAX, true);
    check_lines(err, k);
    if ((k->carrier[0] != '\0') != (k->tracking_number[0] != '\0'))
        ds_error_violation(err, k->carrier[0] != '\0' ? "case.tracking_number" : "case.carrier",
                           "carrier and tracking_number go together");
    else if (k->carrier[0] != '\0' && !api_case_carrier_ok(k->carrier))
        ds_error_violation(err, "case.carrier", "must be 1 to 64 characters of [a-z0-9._-]");
    else if (k->tracking_number[0] != '\0')
        av_text(err, "case.tracking_number", k->tracking_number, 64, false);
}

/* ---- OpenCase: the transaction ---- */

typedef struct open_in {
    const rpc_ctx *ctx;
    const Dropship__V1__OpenCaseRequest *req;
    char hash[65];
    char case_id[37];
    char supplier_id[37];
    char line_ids[LIST_BUF], quantities[LINES_MAX * 8];
} open_in;

static const store_case_line *find_line(const store_case_line *ls, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ls[i].line_id, id) == 0)
            return &ls[i];
    return NULL;
}

/* One requested line against the order: violations, supplier agreement. */
static void check_one(ds_error *err, open_in *in, size_t i, const store_case_line *l,
                      bool *unplaced)
{
    const Dropship__V1__LineQuantity *q = in->req->case_->lines[i];
    char f[DS_ERROR_FIELD_MAX];
    size_t k;

    snprintf(f, sizeof(f), "case.lines[%zu].line_id", i);
    if (l == NULL) {
        ds_error_violation(err, f, "names no line of order %s", in->req->case_->order_id);
        return;
    }
    snprintf(f, sizeof(f), "case.lines[%zu].quantity", i);
    if (q->quantity > l->quantity - l->claimed)
        ds_error_violation(err, f, "is more than the %d ordered%s", (int)(l->quantity - l->claimed),
                           l->claimed > 0 ? " and not in other open cases" : "");
    if (l->supplier_id[0] == '\0' || l->so_state == SO_PENDING || l->so_state == SO_REJECTED)
        *unplaced = true;
    else if (in->supplier_id[0] == '\0')
        snprintf(in->supplier_id, sizeof(in->supplier_id), "%s", l->supplier_id);
    else if (strcmp(in->supplier_id, l->supplier_id) != 0)
        ds_error_violation(err, "case.lines", "belong to more than one supplier order; open one "
                                              "case per supplier");
    k = strlen(in->line_ids);
    snprintf(in->line_ids + k, sizeof(in->line_ids) - k, "%s%s", k > 0 ? " " : "", q->line_id);
    k = strlen(in->quantities);
    snprintf(in->quantities + k, sizeof(in->quantities) - k, "%s%d", k > 0 ? " " : "",
             (int)q->quantity);
}

/* carrier + tracking_number, when given, name a parcel of the order that
 * the supplier of the case's lines shipped (violations when not). */
static ds_status check_parcel(store_conn *tx, const open_in *in, ds_error *err)
{
    const Dropship__V1__Case *k = in->req->case_;
    const char *other = NULL;
    bool found = false;
    size_t n = 0;
    store_so_parcel *ps;
    ds_status st;

    if (k->carrier[0] == '\0')
        return DS_OK;
    ps = calloc(STORE_SO_PARCELS_MAX, sizeof(*ps));
    if (ps == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    st = store_so_parcels(tx, who(in->ctx)->shop_id, k->order_id, ps, STORE_SO_PARCELS_MAX, &n,
                          err);
    for (size_t i = 0; st == DS_OK && i < n && !found; i++) {
        if (strcmp(ps[i].carrier, k->carrier) != 0 ||
            strcmp(ps[i].tracking_number, k->tracking_number) != 0)
            continue;
        if (in->supplier_id[0] == '\0' || strcmp(ps[i].supplier_id, in->supplier_id) == 0)
            found = true;
        else
            other = ps[i].supplier_id;
    }
    if (st == DS_OK && !found && other != NULL)
        ds_error_violation(err, "case.tracking_number",
                           "is a parcel of supplier %s; the case's lines are from supplier %s",
                           other, in->supplier_id);
    else if (st == DS_OK && !found)
        ds_error_violation(err, "case.tracking_number",
                           "names no parcel of order %s with carrier %s", k->order_id, k->carrier);
    free(ps);
    return st;
}

static ds_status check_against_order(store_conn *tx, open_in *in, ds_error *err)
{
    const Dropship__V1__Case *k = in->req->case_;
    store_case_line *ls = calloc(LINES_MAX, sizeof(*ls));
    size_t n = 0;
    bool unplaced = false;
    ds_status st = ls == NULL ? ds_error_set(err, DS_ERR_NOMEM, "out of memory")
                              : store_case_order_lines(tx, who(in->ctx)->shop_id, k->order_id, ls,
                                                       LINES_MAX, &n, err);

    for (size_t i = 0; st == DS_OK && i < k->n_lines; i++)
        check_one(err, in, i, find_line(ls, n, k->lines[i]->line_id), &unplaced);
    free(ls);
    if (st == DS_OK)
        st = check_parcel(tx, in, err);
    if (st != DS_OK)
        return st;
    st = api_validate_done(err, "case");
    if (st == DS_OK && unplaced) {
        ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "some of the lines are not purchased from "
                                                      "a supplier yet: cancel the order instead");
        ds_error_reason(err, "ORDER_NOT_PURCHASED");
        st = DS_ERR_FAILED_PRECONDITION;
    }
    return st;
}

static ds_status insert_case(store_conn *tx, open_in *in, ds_error *err)
{
    const Dropship__V1__Case *k = in->req->case_;
    const char *shop = who(in->ctx)->shop_id;
    store_case_new nw = {shop, k->order_id, in->supplier_id, k->type, k->description, k->carrier,
                         k->tracking_number, in->line_ids, in->quantities, A_KEY,
                         who(in->ctx)->key_id, false};
    wf_case_change ch = {.to = C_OPEN, .event_type = EV_OPENED, .actor_kind = A_KEY,
                         .actor_id = who(in->ctx)->key_id};
    ds_status st = store_case_insert(tx, &nw, in->case_id, err);
    char *d = wf_details("case_type", wf_case_type_name(k->type), NULL);

    ch.details = d;
    if (st == DS_OK)
        st = wf_case_event(tx, shop, k->order_id, in->case_id, 0, &ch, err);
    free(d);
    if (st == DS_OK && in->req->request_id[0] != '\0')
        st = store_case_request_put(tx, shop, "OpenCase", in->req->request_id, in->hash,
                                    in->case_id, "", err);
    return st;
}

static ds_status open_in_tx(store_conn *tx, open_in *in, ds_error *err)
{
    const char *shop = who(in->ctx)->shop_id, *order_id = in->req->case_->order_id;
    char result[STORE_CASE_RESULT_MAX + 1];
    wf_order_cur cur;
    bool done = false;
    ds_status st = wf_order_lock(tx, shop, order_id, &cur, err);

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "order", order_id);
    if (st == DS_OK && in->req->request_id[0] != '\0')
        st = store_case_request_find(tx, shop, "OpenCase", in->req->request_id, in->hash, &done,
                                     in->case_id, result, err);
    if (st != DS_OK || done)
        return st;
    if (cur.state == S_CANCELLED || cur.state == S_CANCELLING) {
        ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "order is %s",
                     wf_order_state_name(cur.state));
        ds_error_reason(err, "ORDER_CANCELLED");
        return DS_ERR_FAILED_PRECONDITION;
    }
    st = check_against_order(tx, in, err);
    if (st == DS_OK)
        st = insert_case(tx, in, err);
    return st;
}

static ds_status open_tx(rpc_ctx *ctx, void *svc, open_in *in, ds_error *err)
{
    store_pool *pool = pool_of(svc);
    store_conn *c = NULL;
    ds_status st = store_acquire(pool, ctx->deadline_ms, &c, err);

    if (st == DS_OK)
        st = store_begin(c, err);
    if (st == DS_OK)
        st = open_in_tx(c, in, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    else if (c != NULL)
        store_rollback(c);
    store_release(pool, c);
    return st;
}

static ds_status open_case(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__OpenCaseRequest *req = (const void *)req_;
    open_in *in = ds_arena_alloc(ctx->arena, sizeof(*in));
    Dropship__V1__Case *k = NULL;
    ds_status st;

    if (req->request_id[0] != '\0')
        av_token(err, "request_id", req->request_id, REQUEST_ID_MAX);
    check_case(err, req->case_);
    st = api_validate_done(err, "case");
    if (st == DS_OK && in == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (st != DS_OK)
        return st;
    memset(in, 0, sizeof(*in));
    in->ctx = ctx;
    in->req = req;
    api_message_hash(&req->case_->base, in->hash);
    st = open_tx(ctx, svc, in, err);
    if (st == DS_OK)
        st = api_case_read(pool_of(svc), ctx->deadline_ms, who(ctx)->shop_id, in->case_id,
                           ctx->arena, &k, err);
    if (st != DS_OK)
        return st;
    return api_respond(ctx->arena, &dropship__v1__open_case_response__descriptor, "case", k, resp,
                       err);
}

/* ---- GetCase ---- */

static ds_status get_case(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                          ds_error *err, void *svc)
{
    const Dropship__V1__GetCaseRequest *req = (const void *)req_;
    Dropship__V1__Case *k = NULL;
    ds_status st;

    av_uuid(err, "case_id", req->case_id);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = api_case_read(pool_of(svc), ctx->deadline_ms, who(ctx)->shop_id, req->case_id,
                           ctx->arena, &k, err);
    if (st != DS_OK)
        return st;
    return api_respond(ctx->arena, &dropship__v1__get_case_response__descriptor, "case", k, resp,
                       err);
}

/* ---- ListCases ---- */

static int32_t *enum_filter(ds_error *err, ds_arena *a, const char *name, const int *v, size_t n,
                            int max, size_t *n_out)
{
    int32_t *out = ds_arena_alloc(a, sizeof(*out) * (n + 1));
    char f[DS_ERROR_FIELD_MAX];

    *n_out = 0;
    if (n > FILTER_VALUES_MAX) {
        ds_error_violation(err, name, "has %zu values; at most %d allowed", n, FILTER_VALUES_MAX);
        return out;
    }
    for (size_t i = 0; out != NULL && i < n; i++) {
        snprintf(f, sizeof(f), "%s[%zu]", name, i);
        if (v[i] != 0 && av_range(err, f, v[i], 1, max))
            out[(*n_out)++] = v[i];
    }
    return out;
}

static void check_time(ds_error *err, const char *field, const Google__Protobuf__Timestamp *ts,
                       bool *has, int64_t *us)
{
    if (ts == NULL)
        return;
    if (ts->seconds < -62135596800LL || ts->seconds > 253402300799LL || ts->nanos < 0 ||
        ts->nanos > 999999999) {
        ds_error_violation(err, field, "is not a valid timestamp (years 1 to 9999)");
        return;
    }
    *has = true;
    *us = api_timestamp_us(ts);
}

static void check_filters(ds_error *err, ds_arena *a, const Dropship__V1__ListCasesRequest *req,
                          store_case_filter *f)
{
    f->states = enum_filter(err, a, "states", (const int *)req->states, req->n_states,
                            DROPSHIP__V1__CASE_STATE__CASE_STATE_REJECTED, &f->n_states);
    f->types = enum_filter(err, a, "types", (const int *)req->types, req->n_types, T_DISPUTE,
                           &f->n_types);
    if (req->create_time != NULL) {
        check_time(err, "create_time.start_time", req->create_time->start_time, &f->has_start,
                   &f->start_us);
        check_time(err, "create_time.end_time", req->create_time->end_time, &f->has_end,
                   &f->end_us);
        if (f->has_start && f->has_end && f->start_us >= f->end_us)
            ds_error_violation(err, "create_time", "start_time must be before end_time");
    }
    if (req->order_id[0] != '\0')
        av_uuid(err, "order_id", req->order_id);
    if (req->supplier_id[0] != '\0')
        av_uuid(err, "supplier_id", req->supplier_id);
    f->order_id = req->order_id;
    f->supplier_id = req->supplier_id;
    if (f->states == NULL || f->types == NULL)
        ds_error_set(err, DS_ERR_NOMEM, "out of memory");
}

static ds_status fill_list(ds_arena *a, store_case_row *rows, size_t n, bool more, uint32_t fp,
                           Dropship__V1__ListCasesResponse *out, ds_error *err)
{
    out->cases = ds_arena_alloc(a, sizeof(*out->cases) * (n + 1));
    if (out->cases == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        rows[i].msg->etag = api_etag(a, rows[i].version);
        if (rows[i].msg->etag == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        out->cases[i] = rows[i].msg;
    }
    out->n_cases = n;
    if (more && n > 0) {
        out->next_page_token = api_page_token(a, rows[n - 1].create_us, rows[n - 1].msg->id, fp);
        if (out->next_page_token == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode a page token");
    }
    return DS_OK;
}

static ds_status list_cases(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                            ds_error *err, void *svc)
{
    const Dropship__V1__ListCasesRequest *req = (const void *)req_;
    Dropship__V1__ListCasesResponse *out;
    store_case_filter f = {0};
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_case_row *rows = NULL;
    char after_id[API_ID_MAX + 1] = "";
    int64_t after_us = 0;
    bool has_token = false, more = false;
    size_t n = 0;
    ds_status st;

    api_page_token_parse(err, req->page_token, fp, &has_token, &after_us, after_id);
    check_filters(err, ctx->arena, req, &f);
    st = err->status != DS_OK ? err->status : api_validate_done(err, "request");
    if (st == DS_OK && has_token && !av_uuid(err, "page_token", after_id))
        st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_case_list(pool_of(svc), ctx->deadline_ms, who(ctx)->shop_id, &f, after_us,
                             has_token ? after_id : NULL, size, ctx->arena, &rows, &n, &more, err);
    if (st != DS_OK)
        return st;
    out = api_new_message(ctx->arena, &dropship__v1__list_cases_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return fill_list(ctx->arena, rows, n, more, fp, out, err);
}

/* ---- GetCaseHistory ---- */

static ds_status get_case_history(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                  ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__GetCaseHistoryRequest *req = (const void *)req_;
    Dropship__V1__GetCaseHistoryResponse *out;
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_event_row *rows = NULL;
    char token_id[API_ID_MAX + 1] = "";
    int64_t after_seq = 0;
    bool has_token = false, more = false;
    size_t n = 0;
    ds_status st;

    av_uuid(err, "case_id", req->case_id);
    if (api_page_token_parse(err, req->page_token, fp, &has_token, &after_seq, token_id) &&
        has_token && (after_seq < 0 || strcmp(token_id, req->case_id) != 0))
        ds_error_violation(err, "page_token", "is not a token returned by this server");
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_case_history(pool_of(svc), ctx->deadline_ms, who(ctx)->shop_id, req->case_id,
                                after_seq, size, ctx->arena, &rows, &n, &more, err);
    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "case", req->case_id);
    if (st != DS_OK)
        return st;
    out = api_new_message(ctx->arena, &dropship__v1__get_case_history_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return api_events_page(ctx->arena, rows, n, more, fp, req->case_id, &out->events,
                           &out->n_events, &out->next_page_token, err);
}

const rpc_method_impl api_cases_methods[] = {
    {"OpenCase", open_case, NULL, 0},
    {"GetCase", get_case, NULL, 0},
    {"ListCases", list_cases, NULL, 0},
    {"GetCaseHistory", get_case_history, NULL, 0},
    {"AddEvidence", api_add_evidence, NULL, 0},
    {"ApproveCase", api_approve_case, NULL, 0},
    {"RejectCase", api_reject_case, NULL, 0},
    {"RecordReturnShipment", api_record_return_shipment, NULL, 0},
    {"MarkReturnReceived", api_mark_return_received, NULL, 0},
    {"RecordRefund", api_record_refund, NULL, 0},
    {"Reship", api_reship, NULL, 0},
    {"ResolveCase", api_resolve_case, NULL, 0},
};
const size_t api_cases_n_methods = sizeof(api_cases_methods) / sizeof(api_cases_methods[0]);
