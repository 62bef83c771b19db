/* api_orders.c - dropship.v1.OrderService: CreateOrder, GetOrder, ListOrders,
 * GetOrderHistory. */
#include "api_orders.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "api_order_actions.h"
#include "api_suppliers.h"
#include "api_util.h"
#include "api_validate.h"
#include "wf_order_runtime.h"
#include "api_watch.h"
#include "dropship/v1/orders.pb-c.h"
#include "store_orders.h"

enum {
    REQUEST_ID_MAX = 100,
    EXTERNAL_ID_MAX = 100,
    LINES_MAX = 100,
    LINE_ID_MAX = 64,
    SKU_MAX = 100,
    TITLE_MAX = 200,
    NOTE_MAX = 1000,
    QUANTITY_MAX = 10000,
    FILTER_VALUES_MAX = 20,
    FIELD_MAX = DS_ERROR_FIELD_MAX
};

/* Timestamp bounds: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
static const int64_t TS_MIN_S = -62135596800LL;
static const int64_t TS_MAX_S = 253402300799LL;

static const api_principal *principal_of(const rpc_ctx *ctx)
{
    return ctx->principal;
}

static store_pool *pool_of(void *svc)
{
    return ((api_env *)svc)->pool;
}

/* ---- CreateOrder validation ---- */

/* The line id a line gets: its own, or its 1-based position. */
static const char *line_id_of(const Dropship__V1__OrderLine *l, size_t i, char buf[24])
{
    if (l->line_id[0] != '\0')
        return l->line_id;
    snprintf(buf, 24, "%zu", i + 1);
    return buf;
}

static void check_line(ds_error *err, size_t i, const Dropship__V1__OrderLine *l,
                       const char *currency)
{
    char f[FIELD_MAX];

    snprintf(f, sizeof(f), "order.lines[%zu].line_id", i);
    if (l->line_id[0] != '\0')
        av_token(err, f, l->line_id, LINE_ID_MAX);
    snprintf(f, sizeof(f), "order.lines[%zu].shop_sku", i);
    if (av_required(err, f, l->shop_sku))
        av_text(err, f, l->shop_sku, SKU_MAX, false);
    snprintf(f, sizeof(f), "order.lines[%zu].quantity", i);
    av_range(err, f, l->quantity, 1, QUANTITY_MAX);
    snprintf(f, sizeof(f), "order.lines[%zu].unit_price", i);
    if (api_check_money(err, f, l->unit_price, true, true) && av_is_currency(currency) &&
        strcmp(l->unit_price->currency_code, currency) != 0) {
        snprintf(f, sizeof(f), "order.lines[%zu].unit_price.currency_code", i);
        ds_error_violation(err, f, "must be the order's currency_code %s", currency);
    }
    snprintf(f, sizeof(f), "order.lines[%zu].title", i);
    av_text(err, f, l->title, TITLE_MAX, false);
}

/* Each shop_sku and each (effective) line_id at most once. */
static void check_unique_lines(ds_error *err, const Dropship__V1__Order *o)
{
    char f[FIELD_MAX], a[24], b[24];

    for (size_t i = 1; i < o->n_lines; i++) {
        for (size_t j = 0; j < i; j++) {
            if (o->lines[i]->shop_sku[0] != '\0' &&
                strcmp(o->lines[i]->shop_sku, o->lines[j]->shop_sku) == 0) {
                snprintf(f, sizeof(f), "order.lines[%zu].shop_sku", i);
                ds_error_violation(err, f, "repeats order.lines[%zu].shop_sku; use quantity", j);
            }
            const char *id = line_id_of(o->lines[i], i, a);
            if (strcmp(id, line_id_of(o->lines[j], j, b)) == 0) {
                snprintf(f, sizeof(f), "order.lines[%zu].line_id", i);
                ds_error_violation(err, f, "\"%s\" is already the line_id of order.lines[%zu]", id,
                                   j);
            }
        }
    }
}

static void check_lines(ds_error *err, const Dropship__V1__Order *o)
{
    if (o->n_lines == 0) {
        ds_error_violation(err, "order.lines", "is required: 1 to %d lines", LINES_MAX);
        return;
    }
    if (o->n_lines > LINES_MAX) {
        ds_error_violation(err, "order.lines", "has %zu lines; at most %d allowed", o->n_lines,
                           LINES_MAX);
        return;
    }
    for (size_t i = 0; i < o->n_lines; i++)
        check_line(err, i, o->lines[i], o->currency_code);
    check_unique_lines(err, o);
}

/* Every input field of the order; output-only fields are ignored. */
static void check_order(ds_error *err, const Dropship__V1__Order *o)
{
    if (av_required(err, "order.external_order_id", o->external_order_id))
        av_text(err, "order.external_order_id", o->external_order_id, EXTERNAL_ID_MAX, false);
    if (av_required(err, "order.currency_code", o->currency_code))
        av_currency(err, "order.currency_code", o->currency_code);
    av_text(err, "order.buyer_note", o->buyer_note, NOTE_MAX, true);
    if (o->shipping_address == NULL)
        ds_error_violation(err, "order.shipping_address", "is required");
    else
        api_check_address(err, "order.shipping_address", o->shipping_address);
    check_lines(err, o);
}

/* ---- CreateOrder ---- */

/* A new Order with only the input fields of o (lines shared). */
static Dropship__V1__Order *input_of(ds_arena *a, const Dropship__V1__Order *o)
{
    Dropship__V1__Order *in = ds_arena_alloc(a, sizeof(*in));

    if (in == NULL)
        return NULL;
    dropship__v1__order__init(in);
    in->external_order_id = o->external_order_id;
    in->shipping_address = o->shipping_address;
    in->n_lines = o->n_lines;
    in->lines = o->lines;
    in->currency_code = o->currency_code;
    in->buyer_note = o->buyer_note;
    return in;
}

/* Replace in's lines by copies that all have a line_id. */
static bool fill_line_ids(ds_arena *a, Dropship__V1__Order *in)
{
    Dropship__V1__OrderLine **lines = ds_arena_alloc(a, sizeof(*lines) * (in->n_lines + 1));
    char buf[24];

    for (size_t i = 0; lines != NULL && i < in->n_lines; i++) {
        lines[i] = ds_arena_alloc(a, sizeof(**lines));
        if (lines[i] == NULL)
            return false;
        *lines[i] = *in->lines[i];
        lines[i]->line_id = ds_arena_strdup(a, line_id_of(in->lines[i], i, buf));
        if (lines[i]->line_id == NULL)
            return false;
    }
    in->lines = lines;
    return lines != NULL;
}

/* The response form of a stored order: etag set. NULL when out of memory. */
static Dropship__V1__Order *present(ds_arena *a, const store_order_row *row)
{
    row->msg->etag = api_etag(a, row->version);
    return row->msg->etag != NULL ? row->msg : NULL;
}

/* Errors of the store as the API states them. */
static ds_status api_error(ds_status st, const char *order_id, ds_error *err)
{
    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "order", order_id);
    return st;
}

static ds_status create_order(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                              ds_error *err, void *svc)
{
    const Dropship__V1__CreateOrderRequest *req = (const void *)req_;
    store_order_new nw = {principal_of(ctx)->shop_id, principal_of(ctx)->key_id, req->request_id,
                          NULL, NULL, wf_order_on_created};
    Dropship__V1__Order *in;
    store_order_row row;
    char hash[65], dup[37];
    bool replayed = false;
    ds_status st;

    if (req->request_id[0] != '\0')
        av_token(err, "request_id", req->request_id, REQUEST_ID_MAX);
    if (req->order == NULL)
        ds_error_violation(err, "order", "is required");
    else
        check_order(err, req->order);
    st = api_validate_done(err, "order");
    if (st != DS_OK)
        return st;
    in = input_of(ctx->arena, req->order);
    if (in == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    api_message_hash(&in->base, hash);
    if (!fill_line_ids(ctx->arena, in))
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    nw.request_hash = hash;
    nw.order = in;
    st = store_order_create(pool_of(svc), ctx->deadline_ms, &nw, ctx->arena, &row, &replayed, dup,
                            err);
    if (st != DS_OK)
        return st;
    return api_respond(ctx->arena, &dropship__v1__create_order_response__descriptor, "order",
                       present(ctx->arena, &row), resp, err);
}

/* ---- GetOrder ---- */

static ds_status get_order(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                           ds_error *err, void *svc)
{
    const Dropship__V1__GetOrderRequest *req = (const void *)req_;
    Dropship__V1__Order *order = NULL;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = api_order_read(pool_of(svc), ctx->deadline_ms, principal_of(ctx)->shop_id,
                            req->order_id, ctx->arena, &order, err);
    if (st != DS_OK)
        return st;
    return api_respond(ctx->arena, &dropship__v1__get_order_response__descriptor, "order",
                       order, resp, err);
}

/* ---- ListOrders ---- */

/* A valid Timestamp (seconds within years 1..9999, nanos 0..999999999). */
static bool check_timestamp(ds_error *err, const char *field, const Google__Protobuf__Timestamp *ts)
{
    if (ts->seconds >= TS_MIN_S && ts->seconds <= TS_MAX_S && ts->nanos >= 0 &&
        ts->nanos <= 999999999)
        return true;
    ds_error_violation(err, field, "is not a valid timestamp (years 1 to 9999)");
    return false;
}

/* The create_time range into f. */
static void check_time_range(ds_error *err, const Dropship__V1__TimeRange *r, store_order_filter *f)
{
    if (r == NULL)
        return;
    if (r->start_time != NULL && check_timestamp(err, "create_time.start_time", r->start_time)) {
        f->has_start = true;
        f->start_us = api_timestamp_us(r->start_time);
    }
    if (r->end_time != NULL && check_timestamp(err, "create_time.end_time", r->end_time)) {
        f->has_end = true;
        f->end_us = api_timestamp_us(r->end_time);
    }
    if (f->has_start && f->has_end && f->start_us >= f->end_us)
        ds_error_violation(err, "create_time", "start_time must be before end_time");
}

/* Enum filter values in 1..max (0 = "no filter" entries are dropped) into
 * an arena array. */
static int32_t *enum_filter(ds_error *err, ds_arena *a, const char *name, const int *v, size_t n,
                            int max, size_t *n_out)
{
    int32_t *out = ds_arena_alloc(a, sizeof(*out) * (n + 1));
    char f[FIELD_MAX];

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

/* Validate the filters of req into f (violations only). */
static void check_list_filters(ds_error *err, ds_arena *a,
                               const Dropship__V1__ListOrdersRequest *req, store_order_filter *f)
{
    f->states = enum_filter(err, a, "states", (const int *)req->states, req->n_states,
                            DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLED, &f->n_states);
    f->hold_reasons =
        enum_filter(err, a, "hold_reasons", (const int *)req->hold_reasons, req->n_hold_reasons,
                    DROPSHIP__V1__HOLD_REASON__HOLD_REASON_STEP_FAILED, &f->n_hold_reasons);
    check_time_range(err, req->create_time, f);
    if (req->external_order_id[0] != '\0')
        av_text(err, "external_order_id", req->external_order_id, EXTERNAL_ID_MAX, false);
    if (req->supplier_id[0] != '\0')
        av_uuid(err, "supplier_id", req->supplier_id);
    f->external_order_id = req->external_order_id;
    f->supplier_id = req->supplier_id;
    if (f->states == NULL || f->hold_reasons == NULL)
        ds_error_set(err, DS_ERR_NOMEM, "out of memory");
}

/* The page of rows into the response, with the token of the next page. */
static ds_status fill_list(ds_arena *a, store_order_row *rows, size_t n, bool more, uint32_t fp,
                           Dropship__V1__ListOrdersResponse *out, ds_error *err)
{
    out->orders = ds_arena_alloc(a, sizeof(*out->orders) * (n + 1));
    if (out->orders == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        out->orders[i] = present(a, &rows[i]);
        if (out->orders[i] == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    out->n_orders = n;
    if (more && n > 0) {
        out->next_page_token = api_page_token(a, rows[n - 1].create_us, rows[n - 1].msg->id, fp);
        if (out->next_page_token == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode a page token");
    }
    return DS_OK;
}

static ds_status list_orders(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                             ds_error *err, void *svc)
{
    const Dropship__V1__ListOrdersRequest *req = (const void *)req_;
    Dropship__V1__ListOrdersResponse *out;
    store_order_filter f = {0};
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_order_row *rows = NULL;
    char after_id[API_ID_MAX + 1] = "";
    int64_t after_us = 0;
    bool has_token = false, more = false;
    size_t n = 0;
    ds_status st;

    api_page_token_parse(err, req->page_token, fp, &has_token, &after_us, after_id);
    check_list_filters(err, ctx->arena, req, &f);
    st = err->status != DS_OK ? err->status : api_validate_done(err, "request");
    if (st == DS_OK && has_token && !av_uuid(err, "page_token", after_id))
        st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_order_list(pool_of(svc), ctx->deadline_ms, principal_of(ctx)->shop_id, &f,
                              after_us, has_token ? after_id : NULL, size, ctx->arena, &rows, &n,
                              &more, err);
    if (st != DS_OK)
        return st;
    out = api_new_message(ctx->arena, &dropship__v1__list_orders_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return fill_list(ctx->arena, rows, n, more, fp, out, err);
}

/* ---- GetOrderHistory ---- */

static ds_status get_order_history(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                   ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__GetOrderHistoryRequest *req = (const void *)req_;
    Dropship__V1__GetOrderHistoryResponse *out;
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_event_row *rows = NULL;
    char token_id[API_ID_MAX + 1] = "";
    int64_t after_seq = 0;
    bool has_token = false, more = false;
    size_t n = 0;
    ds_status st;

    av_uuid(err, "order_id", req->order_id);
    if (api_page_token_parse(err, req->page_token, fp, &has_token, &after_seq, token_id) &&
        has_token && (after_seq < 0 || strcmp(token_id, req->order_id) != 0))
        ds_error_violation(err, "page_token", "is not a token returned by this server");
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_order_history(pool_of(svc), ctx->deadline_ms, principal_of(ctx)->shop_id,
                                 req->order_id, after_seq, size, ctx->arena, &rows, &n, &more, err);
    if (st != DS_OK)
        return api_error(st, req->order_id, err);
    out = api_new_message(ctx->arena, &dropship__v1__get_order_history_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return api_events_page(ctx->arena, rows, n, more, fp, req->order_id, &out->events,
                           &out->n_events, &out->next_page_token, err);
}

/* The workflow RPCs (CancelOrder, ResolveHold, RecordPaymentProof,
 * RecordShipment, RefreshTracking, WatchOrderEvents) come with the workflow
 * engine; until then api.c answers them UNIMPLEMENTED. */
const rpc_method_impl api_orders_methods[] = {
    {"CreateOrder", create_order, NULL, 0},
    {"GetOrder", get_order, NULL, 0},
    {"ListOrders", list_orders, NULL, 0},
    {"GetOrderHistory", get_order_history, NULL, 0},
    {"CancelOrder", api_cancel_order, NULL, 0},
    {"ResolveHold", api_resolve_hold, NULL, 0},
    {"RecordPaymentProof", api_record_payment_proof, NULL, 0},
    {"RecordShipment", api_record_shipment, NULL, 0},
    {"RefreshTracking", api_refresh_tracking, NULL, 0},
    {"WatchOrderEvents", NULL, api_watch_order_events, 0},
};
const size_t api_orders_n_methods = sizeof(api_orders_methods) / sizeof(api_orders_methods[0]);
