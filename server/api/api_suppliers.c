/* api_suppliers.c - dropship.v1.SupplierService: validation, idempotent
 * create, etag-checked update. */
#include "api_suppliers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "api_util.h"
#include "api_validate.h"
#include "dropship/v1/suppliers.pb-c.h"
#include "store_suppliers.h"

enum {
    NAME_MAX_ = 200,
    URL_MAX = 2000,
    SECRET_MAX = 4000,
    NOTE_MAX = 1000,
    EMAIL_MAX = 254,
    REQUEST_ID_MAX = 100,
    FIELD_MAX = DS_ERROR_FIELD_MAX
};

static const int64_t DAY_S = 86400;
static const int64_t PAYMENT_DUE_DEFAULT_S = 48 * 3600;

/* ---- value checks ---- */

static void check_rate_limit(ds_error *err, const char *field, const Dropship__V1__RateLimit *r)
{
    char f[FIELD_MAX];

    if (r == NULL)
        return;
    if (!(r->requests_per_second >= 0.01 && r->requests_per_second <= 1000.0))
        ds_error_violation(err, api_field(f, field, "requests_per_second"),
                           "must be between 0.01 and 1000");
    av_range(err, api_field(f, field, "burst"), r->burst, 1, 1000);
}

/* An optional Duration within [min_s, max_s] seconds. */
static void check_duration(ds_error *err, const char *field, const Google__Protobuf__Duration *d,
                           int64_t min_s, int64_t max_s)
{
    if (d == NULL)
        return;
    if (d->nanos < 0 || d->nanos > 999999999 || d->seconds < min_s || d->seconds > max_s ||
        (d->seconds == max_s && d->nanos > 0))
        ds_error_violation(err, field, "must be between %llds and %llds", (long long)min_s,
                           (long long)max_s);
}

static void check_endpoint_limits(ds_error *err, const char *prefix,
                                  const Dropship__V1__SupplierAdapterConfig *c)
{
    char f[FIELD_MAX];
    unsigned seen = 0;

    if (c->n_endpoint_rate_limits > 6) {
        ds_error_violation(err, api_field(f, prefix, "endpoint_rate_limits"),
                           "has %zu entries; each of the 6 endpoints at most once",
                           c->n_endpoint_rate_limits);
        return;
    }
    for (size_t i = 0; i < c->n_endpoint_rate_limits; i++) {
        const Dropship__V1__EndpointRateLimit *e = c->endpoint_rate_limits[i];
        snprintf(f, sizeof(f), "%s.endpoint_rate_limits[%zu].endpoint", prefix, i);
        if (!av_range(err, f, e->endpoint, 1, 6))
            continue;
        if (seen & (1u << e->endpoint))
            ds_error_violation(err, f, "names an endpoint that already has a limit");
        seen |= 1u << e->endpoint;
        snprintf(f, sizeof(f), "%s.endpoint_rate_limits[%zu].limit", prefix, i);
        if (e->limit == NULL)
            ds_error_violation(err, f, "is required");
        check_rate_limit(err, f, e->limit);
    }
}

/* Which parts of a supplier to check: every field (full, after merging)
 * or only those named by a mask (before the database is touched). */
typedef struct scope {
    char **paths; /* NULL: full check, including cross-field rules */
    size_t n;
} scope;

static bool want(const scope *s, const char *path)
{
    return s->paths == NULL || api_mask_wants(s->paths, s->n, path);
}

static void check_adapter(ds_error *err, const scope *s,
                          const Dropship__V1__SupplierAdapterConfig *c)
{
    static const char p[] = "supplier.adapter";
    char f[FIELD_MAX];

    if (want(s, "adapter.kind"))
        av_range(err, api_field(f, p, "kind"), c->kind, 1, 3);
    if (c->base_url[0] != '\0' && want(s, "adapter.base_url"))
        av_http_url(err, api_field(f, p, "base_url"), c->base_url, URL_MAX);
    else if (s->paths == NULL &&
             c->kind != DROPSHIP__V1__SUPPLIER_ADAPTER_KIND__SUPPLIER_ADAPTER_KIND_MANUAL)
        ds_error_violation(err, api_field(f, p, "base_url"), "is required unless kind is MANUAL");
    if (want(s, "adapter.credential"))
        av_text(err, api_field(f, p, "credential"), c->credential, SECRET_MAX, false);
    if (want(s, "adapter.default_rate_limit"))
        check_rate_limit(err, api_field(f, p, "default_rate_limit"), c->default_rate_limit);
    if (want(s, "adapter.endpoint_rate_limits"))
        check_endpoint_limits(err, p, c);
    if (want(s, "adapter.request_timeout"))
        check_duration(err, api_field(f, p, "request_timeout"), c->request_timeout, 1, 120);
}

static void check_tracking(ds_error *err, const scope *s, const Dropship__V1__TrackingConfig *c)
{
    static const char p[] = "supplier.tracking";
    char f[FIELD_MAX];

    if (want(s, "tracking.kind"))
        av_range(err, api_field(f, p, "kind"), c->kind, 1, 3);
    if (c->base_url[0] != '\0' && want(s, "tracking.base_url"))
        av_http_url(err, api_field(f, p, "base_url"), c->base_url, URL_MAX);
    else if (want(s, "tracking.base_url"))
        ds_error_violation(err, api_field(f, p, "base_url"), "is required");
    if (want(s, "tracking.credential"))
        av_text(err, api_field(f, p, "credential"), c->credential, SECRET_MAX, false);
    if (want(s, "tracking.rate_limit"))
        check_rate_limit(err, api_field(f, p, "rate_limit"), c->rate_limit);
    if (want(s, "tracking.stale_after"))
        check_duration(err, api_field(f, p, "stale_after"), c->stale_after, DAY_S, 90 * DAY_S);
}

static void check_contact(ds_error *err, const Dropship__V1__SupplierContact *c)
{
    static const char p[] = "supplier.contact";
    char f[FIELD_MAX];

    av_text(err, api_field(f, p, "name"), c->name, NAME_MAX_, false);
    if (c->phone[0] != '\0')
        av_phone(err, api_field(f, p, "phone"), c->phone);
    if (av_text(err, api_field(f, p, "email"), c->email, EMAIL_MAX, false) && c->email[0] != '\0' &&
        (strchr(c->email, '@') == NULL || strchr(c->email, ' ') != NULL))
        ds_error_violation(err, f, "must be an e-mail address");
    av_text(err, api_field(f, p, "messenger"), c->messenger, NAME_MAX_, false);
    av_text(err, api_field(f, p, "note"), c->note, NOTE_MAX, true);
}

/* True when the check covers `top` or any field below it. */
static bool touches(const scope *s, const char *top)
{
    size_t len = strlen(top);

    for (size_t i = 0; s->paths != NULL && i < s->n; i++)
        if (strncmp(s->paths[i], top, len) == 0 &&
            (s->paths[i][len] == '\0' || s->paths[i][len] == '.'))
            return true;
    return s->paths == NULL;
}

/* The nested configuration parts of a supplier. An unset tracking config
 * is valid (no tracking); an unset adapter is not. */
static void check_nested(ds_error *err, const scope *s, const Dropship__V1__Supplier *sup)
{
    static const Dropship__V1__SupplierAdapterConfig no_adapter =
        DROPSHIP__V1__SUPPLIER_ADAPTER_CONFIG__INIT;
    static const Dropship__V1__TrackingConfig no_tracking = DROPSHIP__V1__TRACKING_CONFIG__INIT;

    if (touches(s, "adapter")) {
        if (sup->adapter == NULL && want(s, "adapter"))
            ds_error_violation(err, "supplier.adapter", "is required");
        else
            check_adapter(err, s, sup->adapter ? sup->adapter : &no_adapter);
    }
    if (touches(s, "tracking") && (sup->tracking != NULL || !want(s, "tracking")))
        check_tracking(err, s, sup->tracking ? sup->tracking : &no_tracking);
    if (sup->return_address != NULL && want(s, "return_address"))
        api_check_address(err, "supplier.return_address", sup->return_address);
    if (sup->return_rules != NULL && want(s, "return_rules"))
        api_check_return_rules(err, "supplier.return_rules", sup->return_rules);
    if (sup->contact != NULL && want(s, "contact"))
        check_contact(err, sup->contact);
}

/* Check a supplier within scope s; violations only. */
static void check_supplier(ds_error *err, const scope *s, const Dropship__V1__Supplier *sup)
{
    if (want(s, "display_name") && av_required(err, "supplier.display_name", sup->display_name))
        av_text(err, "supplier.display_name", sup->display_name, NAME_MAX_, false);
    if (want(s, "default_currency_code") &&
        av_required(err, "supplier.default_currency_code", sup->default_currency_code))
        av_currency(err, "supplier.default_currency_code", sup->default_currency_code);
    if (want(s, "payment_mode"))
        av_range(err, "supplier.payment_mode", sup->payment_mode, 0, 2);
    if (want(s, "payment_due"))
        check_duration(err, "supplier.payment_due", sup->payment_due, 60, 30 * DAY_S);
    check_nested(err, s, sup);
}

/* Server defaults for unset fields: MANUAL payment, 48 hours to pay. */
static ds_status apply_defaults(ds_arena *a, Dropship__V1__Supplier *s, ds_error *err)
{
    if (s->payment_mode == DROPSHIP__V1__PAYMENT_MODE__PAYMENT_MODE_UNSPECIFIED)
        s->payment_mode = DROPSHIP__V1__PAYMENT_MODE__PAYMENT_MODE_MANUAL;
    if (s->payment_due == NULL) {
        s->payment_due = ds_arena_alloc(a, sizeof(*s->payment_due));
        if (s->payment_due == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        google__protobuf__duration__init(s->payment_due);
        s->payment_due->seconds = PAYMENT_DUE_DEFAULT_S;
    }
    return DS_OK;
}

/* ---- handlers ---- */

static const char *shop_of(const rpc_ctx *ctx)
{
    return ((const api_principal *)ctx->principal)->shop_id;
}

/* The response form of a stored supplier: etag set, secrets blank. */
static Dropship__V1__Supplier *present(ds_arena *a, const store_supplier_row *row)
{
    Dropship__V1__Supplier *s = row->msg;

    s->etag = api_etag(a, row->version);
    if (s->adapter != NULL)
        s->adapter->credential = (char *)"";
    if (s->tracking != NULL)
        s->tracking->credential = (char *)"";
    return s->etag != NULL ? s : NULL;
}

/* Errors of the store as the API states them. */
static ds_status api_error(ds_status st, const char *id, ds_error *err)
{
    char what[80];

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "supplier", id);
    if (st == DS_ERR_ABORTED && strcmp(err->reason, "ETAG_MISMATCH") == 0) {
        snprintf(what, sizeof(what), "supplier %s", id);
        return api_etag_mismatch(err, what);
    }
    return st;
}

static ds_status create_supplier(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                 ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__CreateSupplierRequest *req = (const void *)req_;
    const scope full = {NULL, 0};
    Dropship__V1__Supplier sup;
    store_supplier_row row;
    char hash[65];
    bool replayed = false;
    ds_status st;

    if (req->request_id[0] != '\0')
        av_token(err, "request_id", req->request_id, REQUEST_ID_MAX);
    if (req->supplier == NULL)
        ds_error_violation(err, "supplier", "is required");
    else
        check_supplier(err, &full, req->supplier);
    st = api_validate_done(err, "supplier");
    if (st != DS_OK)
        return st;
    sup = *req->supplier;
    api_message_hash(req_, hash);
    st = apply_defaults(ctx->arena, &sup, err);
    if (st == DS_OK)
        st = store_supplier_create(((api_env *)svc)->pool, ctx->deadline_ms, shop_of(ctx),
                                   req->request_id, hash, &sup, ctx->arena, &row, &replayed, err);
    if (st != DS_OK)
        return st;
    return api_respond(ctx->arena, &dropship__v1__create_supplier_response__descriptor, "supplier",
                       present(ctx->arena, &row), resp, err);
}

static ds_status get_supplier(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                              ds_error *err, void *svc)
{
    const Dropship__V1__GetSupplierRequest *req = (const void *)req_;
    store_supplier_row row;
    ds_status st;

    av_uuid(err, "supplier_id", req->supplier_id);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_supplier_get(((api_env *)svc)->pool, ctx->deadline_ms, shop_of(ctx),
                                req->supplier_id, ctx->arena, &row, err);
    if (st != DS_OK)
        return api_error(st, req->supplier_id, err);
    return api_respond(ctx->arena, &dropship__v1__get_supplier_response__descriptor, "supplier",
                       present(ctx->arena, &row), resp, err);
}

/* The page of rows into the response, with the token of the next page. */
static ds_status fill_list(ds_arena *a, store_supplier_row *rows, size_t n, bool more, uint32_t fp,
                           Dropship__V1__ListSuppliersResponse *out, ds_error *err)
{
    out->suppliers = ds_arena_alloc(a, sizeof(*out->suppliers) * (n ? n : 1));
    if (out->suppliers == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        out->suppliers[i] = present(a, &rows[i]);
        if (out->suppliers[i] == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    out->n_suppliers = n;
    if (more && n > 0) {
        out->next_page_token = api_page_token(a, rows[n - 1].create_us, rows[n - 1].msg->id, fp);
        if (out->next_page_token == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode a page token");
    }
    return DS_OK;
}

static ds_status list_suppliers(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                                ds_error *err, void *svc)
{
    const Dropship__V1__ListSuppliersRequest *req = (const void *)req_;
    Dropship__V1__ListSuppliersResponse *out;
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_supplier_row *rows = NULL;
    char after_id[API_ID_MAX + 1] = "";
    int64_t after_us = 0;
    bool has_token = false, more = false;
    size_t n = 0;
    ds_status st;

    api_page_token_parse(err, req->page_token, fp, &has_token, &after_us, after_id);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_supplier_list(((api_env *)svc)->pool, ctx->deadline_ms, shop_of(ctx), after_us,
                                 has_token ? after_id : NULL, size, ctx->arena, &rows, &n, &more,
                                 err);
    if (st != DS_OK)
        return st;
    out = api_new_message(ctx->arena, &dropship__v1__list_suppliers_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return fill_list(ctx->arena, rows, n, more, fp, out, err);
}

static const api_mask_rule supplier_rules[] = {{"display_name", API_MASK_UPDATABLE},
                                               {"adapter", API_MASK_UPDATABLE},
                                               {"adapter.kind", API_MASK_UPDATABLE},
                                               {"adapter.base_url", API_MASK_UPDATABLE},
                                               {"adapter.credential", API_MASK_UPDATABLE},
                                               {"adapter.default_rate_limit", API_MASK_UPDATABLE},
                                               {"adapter.endpoint_rate_limits", API_MASK_UPDATABLE},
                                               {"adapter.request_timeout", API_MASK_UPDATABLE},
                                               {"adapter.credential_set", API_MASK_OUTPUT},
                                               {"tracking", API_MASK_UPDATABLE},
                                               {"tracking.kind", API_MASK_UPDATABLE},
                                               {"tracking.base_url", API_MASK_UPDATABLE},
                                               {"tracking.credential", API_MASK_UPDATABLE},
                                               {"tracking.rate_limit", API_MASK_UPDATABLE},
                                               {"tracking.stale_after", API_MASK_UPDATABLE},
                                               {"tracking.credential_set", API_MASK_OUTPUT},
                                               {"payment_mode", API_MASK_UPDATABLE},
                                               {"payment_due", API_MASK_UPDATABLE},
                                               {"return_address", API_MASK_UPDATABLE},
                                               {"return_rules", API_MASK_UPDATABLE},
                                               {"default_currency_code", API_MASK_UPDATABLE},
                                               {"contact", API_MASK_UPDATABLE},
                                               {"id", API_MASK_OUTPUT},
                                               {"create_time", API_MASK_OUTPUT},
                                               {"update_time", API_MASK_OUTPUT},
                                               {"etag", API_MASK_OUTPUT},
                                               {NULL, API_MASK_OUTPUT}};

typedef struct update_arg {
    ds_arena *arena;
    const Dropship__V1__UpdateSupplierRequest *req;
} update_arg;

/* How one mask path changes the stored secrets. */
static void secret_change(const char *path, const Dropship__V1__Supplier *in, store_secret *ac,
                          store_secret *tc)
{
    const char *acred = in->adapter ? in->adapter->credential : "";
    const char *tcred = in->tracking ? in->tracking->credential : "";

    if (strcmp(path, "adapter.credential") == 0 || (strcmp(path, "adapter") == 0 && acred[0]))
        *ac = (store_secret){true, acred};
    if (strcmp(path, "tracking.credential") == 0 || (strcmp(path, "tracking") == 0 && tcred[0]))
        *tc = (store_secret){true, tcred};
    if (strcmp(path, "tracking") == 0 && in->tracking == NULL)
        *tc = (store_secret){true, NULL};
}

/* store_supplier_edit_fn: apply the mask to the locked supplier, check it. */
static ds_status edit_supplier(Dropship__V1__Supplier *cur, store_secret *ac, store_secret *tc,
                               void *arg_, ds_error *err)
{
    const update_arg *arg = arg_;
    const Google__Protobuf__FieldMask *mask = arg->req->update_mask;
    const Dropship__V1__Supplier *in = arg->req->supplier;
    const scope full = {NULL, 0};
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < mask->n_paths; i++) {
        st = api_mask_copy(arg->arena, &cur->base, &in->base, mask->paths[i], err);
        secret_change(mask->paths[i], in, ac, tc);
    }
    if (st == DS_OK)
        st = apply_defaults(arg->arena, cur, err);
    if (st != DS_OK)
        return st;
    check_supplier(err, &full, cur);
    return api_validate_done(err, "supplier");
}

/* Everything about an UpdateSupplierRequest that needs no database. */
static ds_status check_update(const Dropship__V1__UpdateSupplierRequest *req, int64_t *version,
                              ds_error *err)
{
    const Google__Protobuf__FieldMask *mask = req->update_mask;
    bool mask_ok;

    *version = 0;
    if (req->supplier == NULL) {
        ds_error_violation(err, "supplier", "is required");
    } else {
        av_uuid(err, "supplier.id", req->supplier->id);
        api_etag_parse(err, "supplier.etag", req->supplier->etag, version);
    }
    mask_ok = api_mask_check(err, &dropship__v1__supplier__descriptor, mask ? mask->paths : NULL,
                             mask ? mask->n_paths : 0, supplier_rules);
    if (mask_ok && req->supplier != NULL) {
        const scope masked = {mask->paths, mask->n_paths};
        check_supplier(err, &masked, req->supplier);
    }
    return api_validate_done(err, "request");
}

static ds_status update_supplier(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                 ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__UpdateSupplierRequest *req = (const void *)req_;
    update_arg arg = {ctx->arena, req};
    store_supplier_row row;
    int64_t version;
    ds_status st = check_update(req, &version, err);

    if (st == DS_OK)
        st = store_supplier_update(((api_env *)svc)->pool, ctx->deadline_ms, shop_of(ctx),
                                   req->supplier->id, version, edit_supplier, &arg, ctx->arena,
                                   &row, err);
    if (st != DS_OK)
        return req->supplier ? api_error(st, req->supplier->id, err) : st;
    return api_respond(ctx->arena, &dropship__v1__update_supplier_response__descriptor, "supplier",
                       present(ctx->arena, &row), resp, err);
}

const rpc_method_impl api_suppliers_methods[] = {
    {"CreateSupplier", create_supplier, NULL, 0},
    {"GetSupplier", get_supplier, NULL, 0},
    {"ListSuppliers", list_suppliers, NULL, 0},
    {"UpdateSupplier", update_supplier, NULL, 0},
};
const size_t api_suppliers_n_methods =
    sizeof(api_suppliers_methods) / sizeof(api_suppliers_methods[0]);
