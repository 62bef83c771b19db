/* store_bindings.c - the bindings table: create, get, list, update, delete. */
#include "store_bindings.h"

#include <stdio.h>
#include <string.h>

#include "store_row.h"

/* The columns every read returns, in the order read_row expects. */
#define BINDING_COLS                                                                               \
    "b.binding_id, b.shop_sku, b.supplier_id, b.supplier_sku, b.supplier_variant, "                \
    "b.max_cost_currency, b.max_cost_units, b.max_cost_nanos, b.priority, b.title, "               \
    "b.return_address, b.return_rules, b.offer_stock, b.offer_cost_currency, "                     \
    "b.offer_cost_units, b.offer_cost_nanos, b.offer_ship_days, "                                  \
    "(extract(epoch FROM b.offer_sync_time) * 1000000)::int8, b.offer_sync_error, "                \
    "(extract(epoch FROM b.offer_attempt_time) * 1000000)::int8, "                                 \
    "(extract(epoch FROM b.create_time) * 1000000)::int8, "                                        \
    "(extract(epoch FROM b.update_time) * 1000000)::int8, b.version, b.request_hash"

enum {
    C_ID,
    C_SHOP_SKU,
    C_SUPPLIER,
    C_SUPPLIER_SKU,
    C_VARIANT,
    C_COST_CUR,
    C_COST_UNITS,
    C_COST_NANOS,
    C_PRIORITY,
    C_TITLE,
    C_RADDR,
    C_RRULES,
    C_O_STOCK,
    C_O_CUR,
    C_O_UNITS,
    C_O_NANOS,
    C_O_SHIP_DAYS,
    C_O_SYNC,
    C_O_ERROR,
    C_O_ATTEMPT,
    C_CREATE,
    C_UPDATE,
    C_VERSION,
    C_REQUEST_HASH,
    C_SUPPLIER_CURRENCY /* only in stmt_get_locked */
};

#define LIST_ORDER " ORDER BY b.shop_sku, b.priority, b.binding_id LIMIT $5"
#define LIST_WHERE                                                                                 \
    "SELECT " BINDING_COLS " FROM bindings b WHERE b.shop_id = $1 AND "                            \
    "(b.shop_sku, b.priority, b.binding_id) > ($2::text COLLATE \"C\", $3::int4, $4::uuid)"

static const store_stmt stmt_by_request = {
    "bindings_by_request",
    "SELECT " BINDING_COLS " FROM bindings b WHERE b.shop_id = $1 AND b.request_id = $2"};
static const store_stmt stmt_supplier_currency = {
    "bindings_supplier_currency",
    "SELECT default_currency_code FROM suppliers WHERE shop_id = $1 AND supplier_id = $2 "
    "FOR SHARE"};
static const store_stmt stmt_insert = {
    "bindings_insert",
    "INSERT INTO bindings AS b (shop_id, shop_sku, supplier_id, supplier_sku, supplier_variant, "
    "max_cost_currency, max_cost_units, max_cost_nanos, priority, title, return_address, "
    "return_rules, request_id, request_hash) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (shop_id, request_id) DO NOTHING RETURNING " BINDING_COLS};
static const store_stmt stmt_get = {"bindings_get",
                                    "SELECT " BINDING_COLS
                                    " FROM bindings b WHERE b.shop_id = $1 AND b.binding_id = $2"};
static const store_stmt stmt_get_locked = {
    "bindings_get_locked",
    "SELECT " BINDING_COLS ", s.default_currency_code FROM bindings b JOIN suppliers s "
    "ON s.shop_id = b.shop_id AND s.supplier_id = b.supplier_id "
    "WHERE b.shop_id = $1 AND b.binding_id = $2 FOR UPDATE OF b"};
static const store_stmt stmt_update = {
    "bindings_update",
    "UPDATE bindings AS b SET supplier_variant = $3, max_cost_currency = $4, "
    "max_cost_units = $5, max_cost_nanos = $6, priority = $7, title = $8, return_address = $9, "
    "return_rules = $10, version = b.version + 1, update_time = now() "
    "WHERE b.shop_id = $1 AND b.binding_id = $2 RETURNING " BINDING_COLS};
static const store_stmt stmt_delete = {
    "bindings_delete", "DELETE FROM bindings WHERE shop_id = $1 AND binding_id = $2 "
                       "AND ($3::int8 = 0 OR version = $3::int8) RETURNING version"};
static const store_stmt stmt_version = {
    "bindings_version", "SELECT version FROM bindings WHERE shop_id = $1 AND binding_id = $2"};

/* The list statements by filter: none, shop_sku ($6), supplier ($6), both. */
static const store_stmt stmt_list[4] = {
    {"bindings_list", LIST_WHERE LIST_ORDER},
    {"bindings_list_sku", LIST_WHERE " AND b.shop_sku = $6" LIST_ORDER},
    {"bindings_list_supplier", LIST_WHERE " AND b.supplier_id = $6" LIST_ORDER},
    {"bindings_list_sku_supplier",
     LIST_WHERE " AND b.shop_sku = $6 AND b.supplier_id = $7" LIST_ORDER},
};

static const char nil_uuid[] = "00000000-0000-0000-0000-000000000000";

/* A Money from three columns, NULL when the currency is SQL NULL. */
static Dropship__V1__Money *read_money(ds_arena *a, const PGresult *r, int row, int col)
{
    Dropship__V1__Money *m;

    if (store_row_text(r, row, col) == NULL)
        return NULL;
    m = ds_arena_alloc(a, sizeof(*m));
    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = store_row_strdup(a, r, row, col);
    m->units = store_row_int64(r, row, col + 1, 0);
    m->nanos = store_row_int32(r, row, col + 2, 0);
    return m;
}

/* The last offer, or NULL before the first sync attempt. */
static Dropship__V1__Offer *read_offer(ds_arena *a, const PGresult *r, int row)
{
    Dropship__V1__Offer *o;

    if (store_row_text(r, row, C_O_SYNC) == NULL && store_row_text(r, row, C_O_ATTEMPT) == NULL)
        return NULL;
    o = ds_arena_alloc(a, sizeof(*o));
    if (o == NULL)
        return NULL;
    dropship__v1__offer__init(o);
    o->stock = store_row_int64(r, row, C_O_STOCK, 0);
    o->cost = read_money(a, r, row, C_O_CUR);
    o->ship_days = store_row_int32(r, row, C_O_SHIP_DAYS, 0);
    o->sync_time = store_row_timestamp(a, r, row, C_O_SYNC);
    o->sync_error = store_row_strdup(a, r, row, C_O_ERROR);
    o->attempt_time = store_row_timestamp(a, r, row, C_O_ATTEMPT);
    return o;
}

/* The scalar text fields of row `row` into b; false when out of memory. */
static bool read_texts(ds_arena *a, const PGresult *r, int row, Dropship__V1__Binding *b)
{
    b->id = store_row_strdup(a, r, row, C_ID);
    b->shop_sku = store_row_strdup(a, r, row, C_SHOP_SKU);
    b->supplier_id = store_row_strdup(a, r, row, C_SUPPLIER);
    b->supplier_sku = store_row_strdup(a, r, row, C_SUPPLIER_SKU);
    b->supplier_variant = store_row_strdup(a, r, row, C_VARIANT);
    b->title = store_row_strdup(a, r, row, C_TITLE);
    return b->id && b->shop_sku && b->supplier_id && b->supplier_sku && b->supplier_variant &&
           b->title;
}

/* Row `row` of r as a binding. */
static ds_status read_row(ds_arena *a, const PGresult *r, int row, store_binding_row *out,
                          ds_error *err)
{
    Dropship__V1__Binding *b = ds_arena_alloc(a, sizeof(*b));
    bool ok = true;

    if (b == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading a binding");
    dropship__v1__binding__init(b);
    ok = read_texts(a, r, row, b);
    b->max_cost = read_money(a, r, row, C_COST_CUR);
    b->priority = store_row_int32(r, row, C_PRIORITY, 0);
    b->return_address = (Dropship__V1__Address *)store_row_message(
        a, r, row, C_RADDR, &dropship__v1__address__descriptor, &ok);
    b->return_rules = (Dropship__V1__ReturnRules *)store_row_message(
        a, r, row, C_RRULES, &dropship__v1__return_rules__descriptor, &ok);
    b->last_offer = read_offer(a, r, row);
    b->create_time = store_row_timestamp(a, r, row, C_CREATE);
    b->update_time = store_row_timestamp(a, r, row, C_UPDATE);
    if (!ok || b->max_cost == NULL || b->create_time == NULL || b->update_time == NULL)
        return ds_error_set(err, DS_ERR_INTERNAL, "stored binding %s could not be read",
                            b->id ? b->id : "?");
    out->msg = b;
    out->version = store_row_int64(r, row, C_VERSION, 0);
    return DS_OK;
}

/* The one row of res into out, DS_ERR_NOT_FOUND when there is none. */
static ds_status single(ds_arena *a, const PGresult *res, const char *id, store_binding_row *out,
                        ds_error *err)
{
    if (PQntuples(res) < 1)
        return ds_error_set(err, DS_ERR_NOT_FOUND, "binding %s not found", id);
    return read_row(a, res, 0, out, err);
}

/* A unique violation of the natural key as ALREADY_EXISTS with a reason. */
static ds_status map_duplicate(store_conn *c, ds_status st, ds_error *err)
{
    if (st != DS_ERR_ALREADY_EXISTS ||
        strcmp(store_last_constraint(c), "bindings_natural_key") != 0)
        return st;
    ds_error_reason(err, "DUPLICATE_BINDING");
    return ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                        "a binding of this shop_sku to this supplier_sku and supplier_variant "
                        "already exists");
}

/* Look request_id up on c: *found and, when the hash matches, the binding;
 * ALREADY_EXISTS when it does not. */
static ds_status by_request(store_conn *c, const char *shop_id, const char *request_id,
                            const char *request_hash, ds_arena *a, store_binding_row *out,
                            bool *found, ds_error *err)
{
    const char *v[2] = {shop_id, request_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_by_request, 2, v, &res, err);
    const char *hash;

    *found = st == DS_OK && PQntuples(res) > 0;
    if (!*found)
        goto out;
    hash = store_row_text(res, 0, C_REQUEST_HASH);
    if (hash == NULL || strcmp(hash, request_hash) != 0) {
        ds_error_reason(err, "REQUEST_ID_REUSED");
        st = ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                          "request_id %s was already used with a different request", request_id);
        goto out;
    }
    st = read_row(a, res, 0, out, err);
out:
    PQclear(res);
    return st;
}

/* The supplier's currency (locked FOR SHARE) must be `currency`. */
static ds_status check_supplier(store_conn *c, const char *shop_id, const char *supplier_id,
                                const char *currency, char supplier_currency[4], ds_error *err)
{
    const char *v[2] = {shop_id, supplier_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_supplier_currency, 2, v, &res, err);

    if (st == DS_OK && PQntuples(res) < 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "supplier %s not found", supplier_id);
    if (st == DS_OK) {
        snprintf(supplier_currency, 4, "%s", PQgetvalue(res, 0, 0));
        if (strcmp(supplier_currency, currency) != 0) {
            ds_error_reason(err, "CURRENCY_MISMATCH");
            st = ds_error_set(err, DS_ERR_INVALID, "supplier %s charges in %s, not %s", supplier_id,
                              supplier_currency, currency);
        }
    }
    PQclear(res);
    return st;
}

/* Text parameters of the fields an update may change, in column order
 * (supplier_variant .. return_rules); an unset message is SQL NULL. */
enum { N_EDIT = 8 };
typedef struct edit_params {
    const char *v[N_EDIT];
    char units[24];
    char nanos[24];
    char prio[24];
} edit_params;

static void edit_values(ds_arena *a, const Dropship__V1__Binding *b, edit_params *ep)
{
    ep->v[0] = b->supplier_variant;
    ep->v[1] = b->max_cost->currency_code;
    ep->v[2] = store_param_int64(ep->units, b->max_cost->units);
    ep->v[3] = store_param_int64(ep->nanos, b->max_cost->nanos);
    ep->v[4] = store_param_int64(ep->prio, b->priority);
    ep->v[5] = b->title;
    ep->v[6] = b->return_address ? store_param_message(a, &b->return_address->base) : NULL;
    ep->v[7] = b->return_rules ? store_param_message(a, &b->return_rules->base) : NULL;
}

/* INSERT on c; *conflict when request_id was taken meanwhile. */
static ds_status insert(store_conn *c, const char *shop_id, const char *request_id,
                        const char *request_hash, const Dropship__V1__Binding *b, ds_arena *a,
                        store_binding_row *out, bool *conflict, ds_error *err)
{
    edit_params ep;
    const char *v[14] = {shop_id, b->shop_sku, b->supplier_id, b->supplier_sku};
    PGresult *res = NULL;
    ds_status st;

    edit_values(a, b, &ep);
    memcpy(&v[4], ep.v, sizeof(ep.v));
    v[12] = request_id;
    v[13] = request_id ? request_hash : NULL;
    st = store_exec(c, &stmt_insert, 14, v, &res, err);

    st = map_duplicate(c, st, err);
    *conflict = st == DS_OK && PQntuples(res) == 0;
    if (st == DS_OK && !*conflict)
        st = read_row(a, res, 0, out, err);
    PQclear(res);
    return st;
}

/* The create transaction on c. */
static ds_status create_tx(store_conn *c, const char *shop_id, const char *rid,
                           const char *request_hash, const Dropship__V1__Binding *b, ds_arena *a,
                           store_binding_row *out, bool *replayed, char supplier_currency[4],
                           ds_error *err)
{
    bool conflict = false;
    ds_status st = store_begin(c, err);

    if (st == DS_OK && rid != NULL)
        st = by_request(c, shop_id, rid, request_hash, a, out, replayed, err);
    if (st != DS_OK || *replayed)
        return st;
    st = check_supplier(c, shop_id, b->supplier_id, b->max_cost->currency_code, supplier_currency,
                        err);
    if (st == DS_OK)
        st = insert(c, shop_id, rid, request_hash, b, a, out, &conflict, err);
    if (st == DS_OK && conflict) {
        /* the same request_id committed meanwhile: answer as a replay */
        store_rollback(c);
        st = by_request(c, shop_id, rid, request_hash, a, out, replayed, err);
        if (st == DS_OK && !*replayed)
            st = ds_error_set(err, DS_ERR_ABORTED, "request_id %s is in use; retry", rid);
        return st;
    }
    return st == DS_OK ? store_commit(c, err) : st;
}

ds_status store_binding_create(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *request_id, const char *request_hash,
                               const Dropship__V1__Binding *b, ds_arena *a, store_binding_row *out,
                               bool *replayed, char supplier_currency[4], ds_error *err)
{
    store_conn *c = NULL;
    const char *rid = request_id != NULL && request_id[0] != '\0' ? request_id : NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    *replayed = false;
    supplier_currency[0] = '\0';
    if (st == DS_OK)
        st = create_tx(c, shop_id, rid, request_hash, b, a, out, replayed, supplier_currency, err);
    if (st != DS_OK && c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}

ds_status store_binding_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                            const char *binding_id, ds_arena *a, store_binding_row *out,
                            ds_error *err)
{
    const char *v[2] = {shop_id, binding_id};
    PGresult *res = NULL;
    ds_status st = store_exec_once(p, deadline_ms, &stmt_get, 2, v, &res, err);

    if (st == DS_OK)
        st = single(a, res, binding_id, out, err);
    PQclear(res);
    return st;
}

/* Rows of res (at most limit) into an arena array. */
static ds_status read_rows(ds_arena *a, const PGresult *res, int limit, store_binding_row **out,
                           size_t *n_out, bool *more, ds_error *err)
{
    int n = PQntuples(res);
    ds_status st = DS_OK;

    *more = n > limit;
    n = n > limit ? limit : n;
    *out = ds_arena_alloc(a, sizeof(**out) * (size_t)(n > 0 ? n : 1));
    if (*out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory listing bindings");
    for (int i = 0; st == DS_OK && i < n; i++)
        st = read_row(a, res, i, &(*out)[i], err);
    *n_out = st == DS_OK ? (size_t)n : 0;
    return st;
}

ds_status store_binding_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *shop_sku, const char *supplier_id,
                             const store_binding_pos *after, int limit, ds_arena *a,
                             store_binding_row **out, size_t *n_out, bool *more, ds_error *err)
{
    char prio[24], lim[24];
    const char *v[7] = {shop_id, "", "-1", nil_uuid, store_param_int64(lim, (int64_t)limit + 1)};
    int n = 5, which = (shop_sku ? 1 : 0) | (supplier_id ? 2 : 0);
    PGresult *res = NULL;
    ds_status st;

    *out = NULL;
    *n_out = 0;
    *more = false;
    if (after != NULL && after->id != NULL) {
        v[1] = after->shop_sku;
        v[2] = store_param_int64(prio, after->priority);
        v[3] = after->id;
    }
    if (shop_sku != NULL)
        v[n++] = shop_sku;
    if (supplier_id != NULL)
        v[n++] = supplier_id;
    st = store_exec_once(p, deadline_ms, &stmt_list[which], n, v, &res, err);
    if (st == DS_OK)
        st = read_rows(a, res, limit, out, n_out, more, err);
    PQclear(res);
    return st;
}

/* Lock and read the binding with its supplier's currency; check version. */
static ds_status lock_row(store_conn *c, const char *shop_id, const char *binding_id,
                          int64_t expected_version, ds_arena *a, store_binding_row *cur,
                          char currency[4], ds_error *err)
{
    const char *v[2] = {shop_id, binding_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_get_locked, 2, v, &res, err);

    if (st == DS_OK)
        st = single(a, res, binding_id, cur, err);
    if (st == DS_OK)
        snprintf(currency, 4, "%s", PQgetvalue(res, 0, C_SUPPLIER_CURRENCY));
    PQclear(res);
    if (st == DS_OK && expected_version != 0 && expected_version != cur->version) {
        ds_error_reason(err, "ETAG_MISMATCH");
        st =
            ds_error_set(err, DS_ERR_ABORTED, "binding %s has changed (etag mismatch)", binding_id);
    }
    return st;
}

/* The UPDATE of the edited binding on the open transaction. */
static ds_status write_back(store_conn *c, const char *shop_id, const Dropship__V1__Binding *b,
                            ds_arena *a, store_binding_row *out, ds_error *err)
{
    edit_params ep;
    const char *v[10] = {shop_id, b->id};
    PGresult *res = NULL;
    ds_status st;

    edit_values(a, b, &ep);
    memcpy(&v[2], ep.v, sizeof(ep.v));
    st = store_exec(c, &stmt_update, 10, v, &res, err);

    st = map_duplicate(c, st, err);
    if (st == DS_OK)
        st = single(a, res, b->id, out, err);
    PQclear(res);
    return st;
}

ds_status store_binding_update(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *binding_id, int64_t expected_version,
                               store_binding_edit_fn edit, void *arg, ds_arena *a,
                               store_binding_row *out, ds_error *err)
{
    store_conn *c = NULL;
    store_binding_row cur;
    char currency[4] = "";
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    if (st == DS_OK)
        st = store_begin(c, err);
    if (st == DS_OK)
        st = lock_row(c, shop_id, binding_id, expected_version, a, &cur, currency, err);
    if (st == DS_OK)
        st = edit(cur.msg, currency, arg, err);
    if (st == DS_OK && cur.msg->max_cost == NULL)
        st = ds_error_set(err, DS_ERR_INTERNAL, "edited binding %s lost its max_cost", binding_id);
    if (st == DS_OK)
        st = write_back(c, shop_id, cur.msg, a, out, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    else if (c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}

ds_status store_binding_delete(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *binding_id, int64_t expected_version, ds_error *err)
{
    char ver[24];
    const char *v[3] = {shop_id, binding_id, store_param_int64(ver, expected_version)};
    PGresult *res = NULL;
    ds_status st = store_exec_once(p, deadline_ms, &stmt_delete, 3, v, &res, err);

    if (st != DS_OK || PQntuples(res) > 0)
        goto out;
    PQclear(res);
    res = NULL;
    st = store_exec_once(p, deadline_ms, &stmt_version, 2, v, &res, err);
    if (st == DS_OK && PQntuples(res) < 1) {
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "binding %s not found", binding_id);
    } else if (st == DS_OK) {
        ds_error_reason(err, "ETAG_MISMATCH");
        st =
            ds_error_set(err, DS_ERR_ABORTED, "binding %s has changed (etag mismatch)", binding_id);
    }
out:
    PQclear(res);
    return st;
}
