/* api_catalog.c - dropship.v1.CatalogService: binding validation, idempotent
 * create, filtered keyset list, etag-checked update and delete. */
#include "api_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "api_suppliers.h"
#include "api_util.h"
#include "api_validate.h"
#include "dropship/v1/catalog.pb-c.h"
#include "ds_log.h"
#include "store_bindings.h"
#include "store_offers.h"
#include "wf_offer_sync.h"

enum { SKU_MAX = 100, VARIANT_MAX = 200, TITLE_MAX = 200, REQUEST_ID_MAX = 100 };
enum { SYNC_SUPPLIERS_MAX = 1000 }; /* suppliers one SyncOffers call syncs */

/* ---- validation ---- */

/* max_cost: a valid amount above zero. */
static void check_max_cost(ds_error *err, const Dropship__V1__Money *m)
{
    if (api_check_money(err, "binding.max_cost", m, true, true) && m->units == 0 && m->nanos == 0)
        ds_error_violation(err, "binding.max_cost", "must be greater than 0");
}

/* The fields UpdateBinding may change (all of them when `all`). */
static void check_mutable(ds_error *err, const Dropship__V1__Binding *b, char **paths, size_t n,
                          bool all)
{
    if (all || api_mask_wants(paths, n, "supplier_variant"))
        av_text(err, "binding.supplier_variant", b->supplier_variant, VARIANT_MAX, false);
    if (all || api_mask_wants(paths, n, "max_cost"))
        check_max_cost(err, b->max_cost);
    if (all || api_mask_wants(paths, n, "priority"))
        av_range(err, "binding.priority", b->priority, 0, 1000);
    if ((all || api_mask_wants(paths, n, "return_address")) && b->return_address != NULL)
        api_check_address(err, "binding.return_address", b->return_address);
    if ((all || api_mask_wants(paths, n, "return_rules")) && b->return_rules != NULL)
        api_check_return_rules(err, "binding.return_rules", b->return_rules);
    if (all || api_mask_wants(paths, n, "title"))
        av_text(err, "binding.title", b->title, TITLE_MAX, false);
}

/* A whole binding as CreateBinding takes it. */
static void check_binding(ds_error *err, const Dropship__V1__Binding *b)
{
    if (av_required(err, "binding.shop_sku", b->shop_sku))
        av_text(err, "binding.shop_sku", b->shop_sku, SKU_MAX, false);
    av_uuid(err, "binding.supplier_id", b->supplier_id);
    if (av_required(err, "binding.supplier_sku", b->supplier_sku))
        av_text(err, "binding.supplier_sku", b->supplier_sku, SKU_MAX, false);
    check_mutable(err, b, NULL, 0, true);
}

/* ---- page tokens: the shared keyset token (priority, id) + the shop_sku ---- */

/* "<token of (priority, id)>.<hex of shop_sku>" in the arena. */
static char *page_token(ds_arena *a, const Dropship__V1__Binding *last, uint32_t fp)
{
    static const char hex[] = "0123456789abcdef";
    const char *base = api_page_token(a, last->priority, last->id, fp);
    size_t blen, slen = strlen(last->shop_sku);
    char *t;

    if (base == NULL)
        return NULL;
    blen = strlen(base);
    t = ds_arena_alloc(a, blen + 2 + 2 * slen);
    if (t == NULL)
        return NULL;
    memcpy(t, base, blen);
    t[blen] = '.';
    for (size_t i = 0; i < slen; i++) {
        t[blen + 1 + 2 * i] = hex[(unsigned char)last->shop_sku[i] >> 4];
        t[blen + 2 + 2 * i] = hex[(unsigned char)last->shop_sku[i] & 15];
    }
    t[blen + 1 + 2 * slen] = '\0';
    return t;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode the shop_sku part (hex) into sku (SKU_MAX + 1 bytes). */
static bool sku_part(const char *hexs, char sku[SKU_MAX + 1])
{
    size_t n = strlen(hexs);

    if (n == 0 || n % 2 != 0 || n / 2 > SKU_MAX)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hexs[2 * i]), lo = hexval(hexs[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        sku[i] = (char)(hi * 16 + lo);
    }
    sku[n / 2] = '\0';
    return true;
}

typedef struct page_pos {
    bool has;
    char id[API_ID_MAX + 1];
    char sku[SKU_MAX + 1];
    int64_t priority;
} page_pos;

/* Parse a ListBindings page token into pos (violation on page_token). */
static void parse_token(ds_error *err, ds_arena *a, const char *token, uint32_t fp, page_pos *pos)
{
    const char *dot = strchr(token, '.');
    char *base;

    pos->has = false;
    if (token[0] == '\0')
        return;
    base = dot ? ds_arena_strdup(a, token) : NULL;
    if (base == NULL || !sku_part(dot + 1, pos->sku)) {
        ds_error_violation(err, "page_token", "is not a token returned by this server");
        return;
    }
    base[dot - token] = '\0';
    if (api_page_token_parse(err, base, fp, &pos->has, &pos->priority, pos->id) &&
        (pos->priority < 0 || pos->priority > 1000)) {
        pos->has = false;
        ds_error_violation(err, "page_token", "is not a token returned by this server");
    }
}

/* ---- handlers ---- */

static const char *shop_of(const rpc_ctx *ctx)
{
    return ((const api_principal *)ctx->principal)->shop_id;
}

static store_pool *pool_of(void *svc)
{
    return ((api_env *)svc)->pool;
}

/* Errors of the store as the API states them. */
static ds_status api_error(ds_status st, const char *id, ds_error *err)
{
    char what[80];

    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "binding", id);
    if (st == DS_ERR_ABORTED && strcmp(err->reason, "ETAG_MISMATCH") == 0) {
        snprintf(what, sizeof(what), "binding %s", id);
        return api_etag_mismatch(err, what);
    }
    return st;
}

/* The response form of a stored binding (etag set). */
static Dropship__V1__Binding *present(ds_arena *a, const store_binding_row *row)
{
    row->msg->etag = api_etag(a, row->version);
    return row->msg->etag != NULL ? row->msg : NULL;
}

/* A currency mismatch as a field violation. */
static ds_status currency_violation(ds_error *err, const char *currency)
{
    ds_error_clear(err);
    ds_error_violation(err, "binding.max_cost.currency_code",
                       "must be %s, the supplier's default_currency_code", currency);
    return api_validate_done(err, "binding");
}

/* Make sure the supplier has a periodic offer sync (due now when new).
 * Best effort: the binding exists either way and the next start seeds. */
static void seed_sync(store_pool *p, int64_t deadline_ms, const char *shop, const char *supplier_id)
{
    store_conn *c = NULL;
    ds_error e;
    ds_status st;

    ds_error_clear(&e);
    st = store_acquire(p, deadline_ms, &c, &e);
    if (st == DS_OK)
        st = wf_offer_seed(c, shop, supplier_id, 0, &e);
    if (st != DS_OK)
        DS_WARN("catalog", "cannot schedule the offer sync of supplier %s: %s", supplier_id,
                e.message);
    store_release(p, c);
}

static ds_status create_binding(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                                ds_error *err, void *svc)
{
    const Dropship__V1__CreateBindingRequest *req = (const void *)req_;
    store_binding_row row;
    char hash[65], currency[4] = "";
    bool replayed = false;
    ds_status st;

    if (req->request_id[0] != '\0')
        av_token(err, "request_id", req->request_id, REQUEST_ID_MAX);
    if (req->binding == NULL)
        ds_error_violation(err, "binding", "is required");
    else
        check_binding(err, req->binding);
    st = api_validate_done(err, "binding");
    if (st != DS_OK)
        return st;
    api_message_hash(req_, hash);
    st = store_binding_create(pool_of(svc), ctx->deadline_ms, shop_of(ctx), req->request_id, hash,
                              req->binding, ctx->arena, &row, &replayed, currency, err);
    if (st == DS_ERR_NOT_FOUND)
        return api_not_found(err, "supplier", req->binding->supplier_id);
    if (st == DS_ERR_INVALID && strcmp(err->reason, "CURRENCY_MISMATCH") == 0)
        return currency_violation(err, currency);
    if (st != DS_OK)
        return st;
    if (!replayed)
        seed_sync(pool_of(svc), ctx->deadline_ms, shop_of(ctx), req->binding->supplier_id);
    return api_respond(ctx->arena, &dropship__v1__create_binding_response__descriptor, "binding",
                       present(ctx->arena, &row), resp, err);
}

static ds_status get_binding(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                             ds_error *err, void *svc)
{
    const Dropship__V1__GetBindingRequest *req = (const void *)req_;
    store_binding_row row;
    ds_status st;

    av_uuid(err, "binding_id", req->binding_id);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_binding_get(pool_of(svc), ctx->deadline_ms, shop_of(ctx), req->binding_id,
                               ctx->arena, &row, err);
    if (st != DS_OK)
        return api_error(st, req->binding_id, err);
    return api_respond(ctx->arena, &dropship__v1__get_binding_response__descriptor, "binding",
                       present(ctx->arena, &row), resp, err);
}

/* The page of rows into the response, with the token of the next page. */
static ds_status fill_list(ds_arena *a, store_binding_row *rows, size_t n, bool more, uint32_t fp,
                           Dropship__V1__ListBindingsResponse *out, ds_error *err)
{
    out->bindings = ds_arena_alloc(a, sizeof(*out->bindings) * (n ? n : 1));
    if (out->bindings == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        out->bindings[i] = present(a, &rows[i]);
        if (out->bindings[i] == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    out->n_bindings = n;
    if (more && n > 0) {
        out->next_page_token = page_token(a, rows[n - 1].msg, fp);
        if (out->next_page_token == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode a page token");
    }
    return DS_OK;
}

static ds_status list_bindings(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                               ds_error *err, void *svc)
{
    const Dropship__V1__ListBindingsRequest *req = (const void *)req_;
    Dropship__V1__ListBindingsResponse *out;
    uint32_t fp = api_list_fingerprint(req_);
    int32_t size = api_page_size(err, req->page_size);
    store_binding_row *rows = NULL;
    store_binding_pos after = {NULL, 0, NULL};
    page_pos pos;
    bool more = false;
    size_t n = 0;
    ds_status st;

    av_text(err, "shop_sku", req->shop_sku, SKU_MAX, false);
    if (req->supplier_id[0] != '\0')
        av_uuid(err, "supplier_id", req->supplier_id);
    parse_token(err, ctx->arena, req->page_token, fp, &pos);
    st = api_validate_done(err, "request");
    if (st != DS_OK)
        return st;
    if (pos.has)
        after = (store_binding_pos){pos.sku, (int32_t)pos.priority, pos.id};
    st = store_binding_list(pool_of(svc), ctx->deadline_ms, shop_of(ctx),
                            req->shop_sku[0] ? req->shop_sku : NULL,
                            req->supplier_id[0] ? req->supplier_id : NULL, &after, size, ctx->arena,
                            &rows, &n, &more, err);
    if (st != DS_OK)
        return st;
    out = api_new_message(ctx->arena, &dropship__v1__list_bindings_response__descriptor);
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *resp = &out->base;
    return fill_list(ctx->arena, rows, n, more, fp, out, err);
}

static const api_mask_rule binding_rules[] = {{"supplier_variant", API_MASK_UPDATABLE},
                                              {"max_cost", API_MASK_UPDATABLE},
                                              {"priority", API_MASK_UPDATABLE},
                                              {"return_address", API_MASK_UPDATABLE},
                                              {"return_rules", API_MASK_UPDATABLE},
                                              {"title", API_MASK_UPDATABLE},
                                              {"shop_sku", API_MASK_IMMUTABLE},
                                              {"supplier_id", API_MASK_IMMUTABLE},
                                              {"supplier_sku", API_MASK_IMMUTABLE},
                                              {"id", API_MASK_OUTPUT},
                                              {"last_offer", API_MASK_OUTPUT},
                                              {"create_time", API_MASK_OUTPUT},
                                              {"update_time", API_MASK_OUTPUT},
                                              {"etag", API_MASK_OUTPUT},
                                              {NULL, API_MASK_OUTPUT}};

typedef struct update_arg {
    ds_arena *arena;
    const Dropship__V1__UpdateBindingRequest *req;
} update_arg;

/* store_binding_edit_fn: apply the mask to the locked binding, check it. */
static ds_status edit_binding(Dropship__V1__Binding *cur, const char *supplier_currency, void *arg_,
                              ds_error *err)
{
    const update_arg *arg = arg_;
    const Google__Protobuf__FieldMask *mask = arg->req->update_mask;
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < mask->n_paths; i++)
        st = api_mask_copy(arg->arena, &cur->base, &arg->req->binding->base, mask->paths[i], err);
    if (st != DS_OK)
        return st;
    check_mutable(err, cur, NULL, 0, true);
    if (err->n_violations == 0 && api_mask_wants(mask->paths, mask->n_paths, "max_cost") &&
        strcmp(cur->max_cost->currency_code, supplier_currency) != 0)
        return currency_violation(err, supplier_currency);
    return api_validate_done(err, "binding");
}

/* Everything about an UpdateBindingRequest that needs no database. */
static ds_status check_update(const Dropship__V1__UpdateBindingRequest *req, int64_t *version,
                              ds_error *err)
{
    const Google__Protobuf__FieldMask *mask = req->update_mask;
    bool mask_ok;

    *version = 0;
    if (req->binding == NULL) {
        ds_error_violation(err, "binding", "is required");
    } else {
        av_uuid(err, "binding.id", req->binding->id);
        api_etag_parse(err, "binding.etag", req->binding->etag, version);
    }
    mask_ok = api_mask_check(err, &dropship__v1__binding__descriptor, mask ? mask->paths : NULL,
                             mask ? mask->n_paths : 0, binding_rules);
    if (mask_ok && req->binding != NULL)
        check_mutable(err, req->binding, mask->paths, mask->n_paths, false);
    return api_validate_done(err, "request");
}

static ds_status update_binding(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                                ds_error *err, void *svc)
{
    const Dropship__V1__UpdateBindingRequest *req = (const void *)req_;
    update_arg arg = {ctx->arena, req};
    store_binding_row row;
    int64_t version;
    ds_status st = check_update(req, &version, err);

    if (st == DS_OK)
        st = store_binding_update(pool_of(svc), ctx->deadline_ms, shop_of(ctx), req->binding->id,
                                  version, edit_binding, &arg, ctx->arena, &row, err);
    if (st != DS_OK)
        return req->binding ? api_error(st, req->binding->id, err) : st;
    return api_respond(ctx->arena, &dropship__v1__update_binding_response__descriptor, "binding",
                       present(ctx->arena, &row), resp, err);
}

static ds_status delete_binding(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                                ds_error *err, void *svc)
{
    static Dropship__V1__DeleteBindingResponse empty = DROPSHIP__V1__DELETE_BINDING_RESPONSE__INIT;
    const Dropship__V1__DeleteBindingRequest *req = (const void *)req_;
    int64_t version = 0;
    ds_status st;

    av_uuid(err, "binding_id", req->binding_id);
    api_etag_parse(err, "etag", req->etag, &version);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_binding_delete(pool_of(svc), ctx->deadline_ms, shop_of(ctx), req->binding_id,
                                  version, err);
    if (st != DS_OK)
        return api_error(st, req->binding_id, err);
    *resp = &empty.base;
    return DS_OK;
}

/* One supplier's result as a message in the arena. */
static Dropship__V1__SupplierOfferSync *sync_result(ds_arena *a, const char *supplier_id,
                                                    const wf_offer_result *r)
{
    Dropship__V1__SupplierOfferSync *m = ds_arena_alloc(a, sizeof(*m));

    if (m == NULL)
        return NULL;
    dropship__v1__supplier_offer_sync__init(m);
    m->supplier_id = ds_arena_strdup(a, supplier_id);
    m->binding_count = r->bindings;
    m->synced_count = r->synced;
    m->failed_count = r->failed;
    m->changed_count = r->changed;
    m->held_order_count = r->held;
    m->resumed_order_count = r->resumed;
    m->skipped = r->skipped;
    m->error = ds_arena_strdup(a, r->error);
    return m->supplier_id != NULL && m->error != NULL ? m : NULL;
}

/* The suppliers to sync (NOT_FOUND for an unknown supplier_id). */
static ds_status sync_targets(store_pool *p, int64_t deadline_ms, const char *shop,
                              const char *supplier_id, store_offer_supplier *out, size_t *n,
                              ds_error *err)
{
    store_so_supplier *s = calloc(1, sizeof(*s));
    store_conn *c = NULL;
    ds_status st = s != NULL ? store_acquire(p, deadline_ms, &c, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK && supplier_id != NULL)
        st = store_so_supplier_get(c, shop, supplier_id, s, err);
    if (st == DS_OK)
        st = store_offer_suppliers(c, shop, supplier_id, out, SYNC_SUPPLIERS_MAX, n, err);
    store_release(p, c);
    if (s != NULL)
        memset(s, 0, sizeof(*s)); /* credentials */
    free(s);
    return st;
}

static int by_supplier(const void *a, const void *b)
{
    return strcmp(((const store_offer_supplier *)a)->supplier_id,
                  ((const store_offer_supplier *)b)->supplier_id);
}

static ds_status sync_offers(rpc_ctx *ctx, const ProtobufCMessage *req_, ProtobufCMessage **resp,
                             ds_error *err, void *svc)
{
    const Dropship__V1__SyncOffersRequest *req = (const void *)req_;
    const char *supplier = req->supplier_id[0] != '\0' ? req->supplier_id : NULL;
    store_offer_supplier *t = ds_arena_alloc(ctx->arena, SYNC_SUPPLIERS_MAX * sizeof(*t));
    Dropship__V1__SyncOffersResponse *out = ds_arena_alloc(ctx->arena, sizeof(*out));
    size_t n = 0;
    ds_status st;

    if (supplier != NULL)
        av_uuid(err, "supplier_id", supplier);
    st = api_validate_done(err, "request");
    if (st == DS_OK && (t == NULL || out == NULL))
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (st == DS_OK)
        st = sync_targets(pool_of(svc), ctx->deadline_ms, shop_of(ctx), supplier, t, &n, err);
    if (st == DS_OK) {
        dropship__v1__sync_offers_response__init(out);
        qsort(t, n, sizeof(*t), by_supplier);
        out->results = ds_arena_alloc(ctx->arena, (n + 1) * sizeof(*out->results));
        if (out->results == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        wf_offer_result r;
        if (rpc_ctx_expired(ctx)) { /* the caller is gone: leave the rest to the periodic syncs */
            st = ds_error_set(err, DS_ERR_DEADLINE, "deadline exceeded after %zu of %zu suppliers",
                              i, n);
            break;
        }
        st = wf_offer_sync_now(shop_of(ctx), t[i].supplier_id, &r, err);
        if (st == DS_OK)
            out->results[out->n_results] = sync_result(ctx->arena, t[i].supplier_id, &r);
        if (st == DS_OK && out->results[out->n_results++] == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    if (st == DS_ERR_NOT_FOUND && supplier != NULL)
        return api_not_found(err, "supplier", supplier);
    if (st != DS_OK)
        return st;
    *resp = &out->base;
    return DS_OK;
}

const rpc_method_impl api_catalog_methods[] = {
    {"CreateBinding", create_binding, NULL, 0}, {"GetBinding", get_binding, NULL, 0},
    {"ListBindings", list_bindings, NULL, 0},   {"UpdateBinding", update_binding, NULL, 0},
    {"DeleteBinding", delete_binding, NULL, 0}, {"SyncOffers", sync_offers, NULL, RPC_SLOW},
};
const size_t api_catalog_n_methods = sizeof(api_catalog_methods) / sizeof(api_catalog_methods[0]);
