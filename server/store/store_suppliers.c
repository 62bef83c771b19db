/* store_suppliers.c - the suppliers table: create, get, list, locked update. */
#include "store_suppliers.h"

#include <stdio.h>
#include <string.h>

#include "store_row.h"

/* The columns every read returns, in the order read_row expects. */
#define SUPPLIER_COLS                                                                              \
    "supplier_id, display_name, default_currency_code, payment_mode, payment_due_us, adapter, "    \
    "tracking, return_address, return_rules, contact, adapter_credential IS NOT NULL, "            \
    "tracking_credential IS NOT NULL, (extract(epoch FROM create_time) * 1000000)::int8, "         \
    "(extract(epoch FROM update_time) * 1000000)::int8, version, request_hash"

enum {
    C_ID,
    C_NAME,
    C_CURRENCY,
    C_MODE,
    C_DUE,
    C_ADAPTER,
    C_TRACKING,
    C_RADDR,
    C_RRULES,
    C_CONTACT,
    C_ADAPTER_CRED,
    C_TRACKING_CRED,
    C_CREATE,
    C_UPDATE,
    C_VERSION,
    C_REQUEST_HASH
};

static const store_stmt stmt_insert = {
    "suppliers_insert",
    "INSERT INTO suppliers (shop_id, display_name, default_currency_code, payment_mode, "
    "payment_due_us, adapter, tracking, return_address, return_rules, contact, "
    "adapter_credential, tracking_credential, request_id, request_hash) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (shop_id, request_id) DO NOTHING RETURNING " SUPPLIER_COLS};
static const store_stmt stmt_by_request = {
    "suppliers_by_request",
    "SELECT " SUPPLIER_COLS " FROM suppliers WHERE shop_id = $1 AND request_id = $2"};
static const store_stmt stmt_get = {"suppliers_get",
                                    "SELECT " SUPPLIER_COLS
                                    " FROM suppliers WHERE shop_id = $1 AND supplier_id = $2"};
static const store_stmt stmt_get_locked = {
    "suppliers_get_locked",
    "SELECT " SUPPLIER_COLS " FROM suppliers WHERE shop_id = $1 AND supplier_id = $2 FOR UPDATE"};
static const store_stmt stmt_list_first = {
    "suppliers_list_first", "SELECT " SUPPLIER_COLS " FROM suppliers WHERE shop_id = $1 "
                            "ORDER BY create_time, supplier_id LIMIT $2"};
static const store_stmt stmt_list_after = {
    "suppliers_list_after",
    "SELECT " SUPPLIER_COLS " FROM suppliers WHERE shop_id = $1 AND (create_time, supplier_id) > "
    "(timestamptz 'epoch' + $2::int8 * interval '1 microsecond', $3::uuid) "
    "ORDER BY create_time, supplier_id LIMIT $4"};
static const store_stmt stmt_update = {
    "suppliers_update",
    "UPDATE suppliers SET display_name = $3, default_currency_code = $4, payment_mode = $5, "
    "payment_due_us = $6, adapter = $7, tracking = $8, return_address = $9, return_rules = $10, "
    "contact = $11, "
    "adapter_credential = CASE WHEN $12::bool THEN $13 ELSE adapter_credential END, "
    "tracking_credential = CASE WHEN $14::bool THEN $15 ELSE tracking_credential END, "
    "version = version + 1, update_time = now() "
    "WHERE shop_id = $1 AND supplier_id = $2 RETURNING " SUPPLIER_COLS};

/* Text parameters of the nine stored fields, in column order. */
enum { N_FIELDS = 9 };
typedef struct field_params {
    const char *v[N_FIELDS];
    char mode[24];
    char due[24];
} field_params;

/* Microseconds of a Duration (unset = 0). */
static int64_t duration_us(const Google__Protobuf__Duration *d)
{
    return d ? d->seconds * 1000000 + d->nanos / 1000 : 0;
}

/* The adapter without its secret, packed. */
static const char *pack_adapter(ds_arena *a, const Dropship__V1__SupplierAdapterConfig *src)
{
    Dropship__V1__SupplierAdapterConfig c;

    if (src == NULL)
        return NULL;
    c = *src;
    c.credential = (char *)"";
    c.credential_set = 0;
    return store_param_message(a, &c.base);
}

/* The tracking config without its secret, packed; NULL when unset. */
static const char *pack_tracking(ds_arena *a, const Dropship__V1__TrackingConfig *src)
{
    Dropship__V1__TrackingConfig c;

    if (src == NULL)
        return NULL;
    c = *src;
    c.credential = (char *)"";
    c.credential_set = 0;
    return store_param_message(a, &c.base);
}

/* Fill fp from s. DS_ERR_NOMEM when the arena is exhausted. */
static ds_status field_values(ds_arena *a, const Dropship__V1__Supplier *s, field_params *fp,
                              ds_error *err)
{
    fp->v[0] = s->display_name;
    fp->v[1] = s->default_currency_code;
    fp->v[2] = store_param_int64(fp->mode, s->payment_mode);
    fp->v[3] = store_param_int64(fp->due, duration_us(s->payment_due));
    fp->v[4] = pack_adapter(a, s->adapter);
    fp->v[5] = pack_tracking(a, s->tracking);
    fp->v[6] = s->return_address ? store_param_message(a, &s->return_address->base) : NULL;
    fp->v[7] = s->return_rules ? store_param_message(a, &s->return_rules->base) : NULL;
    fp->v[8] = s->contact ? store_param_message(a, &s->contact->base) : NULL;
    if (fp->v[4] == NULL || (s->tracking && fp->v[5] == NULL) ||
        (s->return_address && fp->v[6] == NULL) || (s->return_rules && fp->v[7] == NULL) ||
        (s->contact && fp->v[8] == NULL))
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory packing a supplier");
    return DS_OK;
}

/* A Duration of `us` microseconds in the arena. */
static Google__Protobuf__Duration *duration_new(ds_arena *a, int64_t us)
{
    Google__Protobuf__Duration *d = ds_arena_alloc(a, sizeof(*d));

    if (d == NULL)
        return NULL;
    google__protobuf__duration__init(d);
    d->seconds = us / 1000000;
    d->nanos = (int32_t)(us % 1000000) * 1000;
    return d;
}

/* The nested messages of row `row` into s. */
static bool read_nested(ds_arena *a, const PGresult *r, int row, Dropship__V1__Supplier *s)
{
    bool ok = true;

    s->adapter = (Dropship__V1__SupplierAdapterConfig *)store_row_message(
        a, r, row, C_ADAPTER, &dropship__v1__supplier_adapter_config__descriptor, &ok);
    s->tracking = (Dropship__V1__TrackingConfig *)store_row_message(
        a, r, row, C_TRACKING, &dropship__v1__tracking_config__descriptor, &ok);
    s->return_address = (Dropship__V1__Address *)store_row_message(
        a, r, row, C_RADDR, &dropship__v1__address__descriptor, &ok);
    s->return_rules = (Dropship__V1__ReturnRules *)store_row_message(
        a, r, row, C_RRULES, &dropship__v1__return_rules__descriptor, &ok);
    s->contact = (Dropship__V1__SupplierContact *)store_row_message(
        a, r, row, C_CONTACT, &dropship__v1__supplier_contact__descriptor, &ok);
    if (s->adapter != NULL)
        s->adapter->credential_set = store_row_bool(r, row, C_ADAPTER_CRED);
    if (s->tracking != NULL)
        s->tracking->credential_set = store_row_bool(r, row, C_TRACKING_CRED);
    return ok && s->adapter != NULL;
}

/* Row `row` of r as a supplier. */
static ds_status read_row(ds_arena *a, const PGresult *r, int row, store_supplier_row *out,
                          ds_error *err)
{
    Dropship__V1__Supplier *s = ds_arena_alloc(a, sizeof(*s));

    if (s == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading a supplier");
    dropship__v1__supplier__init(s);
    s->id = store_row_strdup(a, r, row, C_ID);
    s->display_name = store_row_strdup(a, r, row, C_NAME);
    s->default_currency_code = store_row_strdup(a, r, row, C_CURRENCY);
    s->payment_mode = store_row_int32(r, row, C_MODE, 0);
    s->payment_due = duration_new(a, store_row_int64(r, row, C_DUE, 0));
    s->create_time = store_row_timestamp(a, r, row, C_CREATE);
    s->update_time = store_row_timestamp(a, r, row, C_UPDATE);
    if (!read_nested(a, r, row, s))
        return ds_error_set(err, DS_ERR_INTERNAL, "stored supplier %s does not parse", s->id);
    if (s->id == NULL || s->display_name == NULL || s->default_currency_code == NULL ||
        s->payment_due == NULL || s->create_time == NULL || s->update_time == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading a supplier");
    out->msg = s;
    out->version = store_row_int64(r, row, C_VERSION, 0);
    out->create_us = store_row_int64(r, row, C_CREATE, 0);
    return DS_OK;
}

/* The one row of res into out, DS_ERR_NOT_FOUND when there is none. */
static ds_status single(ds_arena *a, const PGresult *res, const char *id, store_supplier_row *out,
                        ds_error *err)
{
    if (PQntuples(res) < 1)
        return ds_error_set(err, DS_ERR_NOT_FOUND, "supplier %s not found", id);
    return read_row(a, res, 0, out, err);
}

/* The supplier created earlier with request_id: same hash -> it, else
 * ALREADY_EXISTS. */
static ds_status replay(store_pool *p, int64_t deadline_ms, const char *shop_id,
                        const char *request_id, const char *request_hash, ds_arena *a,
                        store_supplier_row *out, ds_error *err)
{
    const char *v[2] = {shop_id, request_id};
    PGresult *res = NULL;
    ds_status st = store_exec_once(p, deadline_ms, &stmt_by_request, 2, v, &res, err);
    const char *hash;

    if (st == DS_OK && PQntuples(res) < 1)
        st = ds_error_set(err, DS_ERR_INTERNAL, "request_id %s conflicted but has no supplier",
                          request_id);
    if (st != DS_OK)
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

/* A secret as a parameter: "" becomes NULL. */
static const char *secret_param(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

ds_status store_supplier_create(store_pool *p, int64_t deadline_ms, const char *shop_id,
                                const char *request_id, const char *request_hash,
                                const Dropship__V1__Supplier *s, ds_arena *a,
                                store_supplier_row *out, bool *replayed, ds_error *err)
{
    field_params fp;
    const char *v[14];
    PGresult *res = NULL;
    const char *rid = secret_param(request_id);
    ds_status st = field_values(a, s, &fp, err);

    *replayed = false;
    if (st != DS_OK)
        return st;
    v[0] = shop_id;
    memcpy(&v[1], fp.v, sizeof(fp.v));
    v[10] = secret_param(s->adapter ? s->adapter->credential : NULL);
    v[11] = secret_param(s->tracking ? s->tracking->credential : NULL);
    v[12] = rid;
    v[13] = rid ? request_hash : NULL;
    st = store_exec_once(p, deadline_ms, &stmt_insert, 14, v, &res, err);
    if (st == DS_OK && PQntuples(res) == 0 && rid != NULL) {
        *replayed = true;
        st = replay(p, deadline_ms, shop_id, rid, request_hash, a, out, err);
    } else if (st == DS_OK) {
        st = single(a, res, "(new)", out, err);
    }
    PQclear(res);
    return st;
}

ds_status store_supplier_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *supplier_id, ds_arena *a, store_supplier_row *out,
                             ds_error *err)
{
    const char *v[2] = {shop_id, supplier_id};
    PGresult *res = NULL;
    ds_status st = store_exec_once(p, deadline_ms, &stmt_get, 2, v, &res, err);

    if (st == DS_OK)
        st = single(a, res, supplier_id, out, err);
    PQclear(res);
    return st;
}

ds_status store_supplier_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              int64_t after_us, const char *after_id, int limit, ds_arena *a,
                              store_supplier_row **out, size_t *n_out, bool *more, ds_error *err)
{
    char us[24], lim[24];
    const char *v[4] = {shop_id, store_param_int64(us, after_us), after_id, NULL};
    PGresult *res = NULL;
    ds_status st;
    int n;

    *out = NULL;
    *n_out = 0;
    *more = false;
    store_param_int64(lim, (int64_t)limit + 1);
    if (after_id != NULL) {
        v[3] = lim;
        st = store_exec_once(p, deadline_ms, &stmt_list_after, 4, v, &res, err);
    } else {
        v[1] = lim;
        st = store_exec_once(p, deadline_ms, &stmt_list_first, 2, v, &res, err);
    }
    if (st != DS_OK)
        goto out;
    n = PQntuples(res);
    *more = n > limit;
    n = n > limit ? limit : n;
    *out = ds_arena_alloc(a, sizeof(**out) * (size_t)(n > 0 ? n : 1));
    if (*out == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory listing suppliers");
    for (int i = 0; st == DS_OK && i < n; i++)
        st = read_row(a, res, i, &(*out)[i], err);
    if (st == DS_OK)
        *n_out = (size_t)n;
out:
    PQclear(res);
    return st;
}

/* The UPDATE of the edited supplier on an open transaction. */
static ds_status write_back(store_conn *c, const char *shop_id, const char *supplier_id,
                            const Dropship__V1__Supplier *s, const store_secret *ac,
                            const store_secret *tc, ds_arena *a, store_supplier_row *out,
                            ds_error *err)
{
    field_params fp;
    const char *v[15];
    PGresult *res = NULL;
    ds_status st = field_values(a, s, &fp, err);

    if (st != DS_OK)
        return st;
    v[0] = shop_id;
    v[1] = supplier_id;
    memcpy(&v[2], fp.v, sizeof(fp.v));
    v[11] = ac->change ? "true" : "false";
    v[12] = secret_param(ac->value);
    v[13] = tc->change ? "true" : "false";
    v[14] = secret_param(tc->value);
    st = store_exec(c, &stmt_update, 15, v, &res, err);
    if (st == DS_OK)
        st = single(a, res, supplier_id, out, err);
    PQclear(res);
    return st;
}

/* Lock and read the supplier, check the version, let edit change it. */
static ds_status lock_and_edit(store_conn *c, const char *shop_id, const char *supplier_id,
                               int64_t expected_version, store_supplier_edit_fn edit, void *arg,
                               ds_arena *a, store_supplier_row *cur, store_secret *ac,
                               store_secret *tc, ds_error *err)
{
    const char *v[2] = {shop_id, supplier_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_get_locked, 2, v, &res, err);

    if (st == DS_OK)
        st = single(a, res, supplier_id, cur, err);
    PQclear(res);
    if (st != DS_OK)
        return st;
    if (expected_version != 0 && expected_version != cur->version) {
        ds_error_reason(err, "ETAG_MISMATCH");
        return ds_error_set(err, DS_ERR_ABORTED, "supplier %s has changed (etag mismatch)",
                            supplier_id);
    }
    return edit(cur->msg, ac, tc, arg, err);
}

ds_status store_supplier_update(store_pool *p, int64_t deadline_ms, const char *shop_id,
                                const char *supplier_id, int64_t expected_version,
                                store_supplier_edit_fn edit, void *arg, ds_arena *a,
                                store_supplier_row *out, ds_error *err)
{
    store_conn *c = NULL;
    store_supplier_row cur;
    store_secret ac = {false, NULL}, tc = {false, NULL};
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    if (st == DS_OK)
        st = store_begin(c, err);
    if (st == DS_OK)
        st = lock_and_edit(c, shop_id, supplier_id, expected_version, edit, arg, a, &cur, &ac, &tc,
                           err);
    if (st == DS_OK)
        st = write_back(c, shop_id, supplier_id, cur.msg, &ac, &tc, a, out, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    else if (c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}
