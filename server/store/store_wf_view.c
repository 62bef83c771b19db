/* store_wf_view.c - supplier orders, proofs, return snapshots, parcels and
 * case ids as dropship.v1 messages. The statements are those of
 * store_supplier_orders.c's API view, defined here. */
#include "store_wf_view.h"

#include <stdlib.h>
#include <string.h>

#include "store_row.h"

/* clang-format off */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"
static const store_stmt stmt_full = {
    "wfv_so",
    "SELECT supplier_id, supplier_order_ref, idempotency_key, state, "
    "COALESCE(cost_currency, ''), COALESCE(cost_units, 0), COALESCE(cost_nanos, 0), "
    "proof_reference IS NOT NULL, COALESCE(proof_currency, ''), COALESCE(proof_units, 0), "
    "COALESCE(proof_nanos, 0), COALESCE(proof_method, 0), COALESCE(proof_reference, ''), "
    US("proof_paid_time") ", proof_attachment_uri, proof_attachment_sha256, "
    "COALESCE(proof_actor_kind, 0), proof_actor_id, " US("proof_record_time") ", "
    "return_address, return_rules, return_policy_source, payment_mode, "
    US("payment_due_time") ", " US("create_time") ", " US("update_time")
    " FROM supplier_orders WHERE shop_id = $1 AND order_id = $2 ORDER BY create_time, supplier_id"};
static const store_stmt stmt_lines = {
    "wfv_lines",
    "SELECT supplier_id, line_id, binding_id, supplier_sku, supplier_variant, quantity, "
    "COALESCE(unit_cost_currency, ''), COALESCE(unit_cost_units, 0), "
    "COALESCE(unit_cost_nanos, 0) FROM supplier_order_lines "
    "WHERE shop_id = $1 AND order_id = $2 ORDER BY supplier_id, line_id"};
static const store_stmt stmt_parcels = {
    "wfv_parcels",
    "SELECT supplier_id, carrier, tracking_number, status, checkpoints, lines, "
    US("last_poll_time") ", " US("next_poll_time") ", " US("create_time")
    " FROM parcels WHERE shop_id = $1 AND order_id = $2 ORDER BY create_time, carrier, "
    "tracking_number"};
/* Order.case_ids, oldest first (a case needs a supplier order). */
static const store_stmt stmt_case_ids = {
    "wfv_case_ids",
    "SELECT case_id FROM cases WHERE shop_id = $1 AND order_id = $2 "
    "ORDER BY create_time, case_id LIMIT 1000"};
/* clang-format on */

enum {
    F_SUPPLIER, F_REF, F_KEY, F_STATE, F_COST, F_HAS_PROOF = 7, F_PROOF_AMOUNT, F_METHOD = 11,
    F_REFERENCE, F_PAID, F_URI, F_SHA, F_ACTOR_KIND, F_ACTOR_ID, F_RECORDED, F_RADDR, F_RRULES,
    F_RSOURCE, F_MODE, F_DUE, F_CREATE, F_UPDATE
};

static Dropship__V1__Money *money_at(ds_arena *a, const PGresult *r, int i, int col)
{
    Dropship__V1__Money *m;

    if (store_row_text(r, i, col) == NULL || store_row_text(r, i, col)[0] == '\0')
        return NULL;
    m = ds_arena_alloc(a, sizeof(*m));
    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = store_row_strdup(a, r, i, col);
    m->units = store_row_int64(r, i, col + 1, 0);
    m->nanos = store_row_int32(r, i, col + 2, 0);
    return m;
}

/* Unpack a bytea cell holding message `d` into the arena, NULL if none. */
static void *unpack_at(ds_arena *a, const PGresult *r, int i, int col,
                       const ProtobufCMessageDescriptor *d)
{
    size_t n = 0;
    uint8_t *b = store_row_bytea(a, r, i, col, &n);

    if (b == NULL)
        return NULL;
    return protobuf_c_message_unpack(d, ds_arena_allocator(a), n, b);
}

static Dropship__V1__PaymentProof *proof_at(ds_arena *a, const PGresult *r, int i)
{
    Dropship__V1__PaymentProof *p;

    if (!store_row_bool(r, i, F_HAS_PROOF))
        return NULL;
    p = ds_arena_alloc(a, sizeof(*p));
    Dropship__V1__Actor *who = ds_arena_alloc(a, sizeof(*who));
    if (p == NULL || who == NULL)
        return NULL;
    dropship__v1__payment_proof__init(p);
    dropship__v1__actor__init(who);
    p->amount = money_at(a, r, i, F_PROOF_AMOUNT);
    p->method = store_row_int32(r, i, F_METHOD, 0);
    p->reference = store_row_strdup(a, r, i, F_REFERENCE);
    p->paid_time = store_row_timestamp(a, r, i, F_PAID);
    p->attachment_uri = store_row_strdup(a, r, i, F_URI);
    p->attachment_sha256 = store_row_strdup(a, r, i, F_SHA);
    who->kind = store_row_int32(r, i, F_ACTOR_KIND, 0);
    who->id = store_row_strdup(a, r, i, F_ACTOR_ID);
    p->recorded_by = who;
    p->record_time = store_row_timestamp(a, r, i, F_RECORDED);
    return p;
}

static Dropship__V1__SupplierOrder *so_at(ds_arena *a, const PGresult *r, int i)
{
    Dropship__V1__SupplierOrder *so = ds_arena_alloc(a, sizeof(*so));

    if (so == NULL)
        return NULL;
    dropship__v1__supplier_order__init(so);
    so->supplier_id = store_row_strdup(a, r, i, F_SUPPLIER);
    so->supplier_order_ref = store_row_strdup(a, r, i, F_REF);
    so->idempotency_key = store_row_strdup(a, r, i, F_KEY);
    so->state = store_row_int32(r, i, F_STATE, 0);
    so->cost = money_at(a, r, i, F_COST);
    so->payment_proof = proof_at(a, r, i);
    so->return_address = unpack_at(a, r, i, F_RADDR, &dropship__v1__address__descriptor);
    so->return_rules = unpack_at(a, r, i, F_RRULES, &dropship__v1__return_rules__descriptor);
    so->return_policy_source = store_row_int32(r, i, F_RSOURCE, 0);
    so->payment_mode = store_row_int32(r, i, F_MODE, 0);
    so->payment_due_time = store_row_timestamp(a, r, i, F_DUE);
    so->create_time = store_row_timestamp(a, r, i, F_CREATE);
    so->update_time = store_row_timestamp(a, r, i, F_UPDATE);
    so->parcels = ds_arena_alloc(a, sizeof(*so->parcels) * 101);
    so->lines = ds_arena_alloc(a, sizeof(*so->lines) * 101);
    if (so->supplier_order_ref == NULL || so->parcels == NULL || so->lines == NULL)
        return NULL;
    return so;
}

static Dropship__V1__SupplierOrder *find_so(Dropship__V1__Order *o, const char *supplier_id)
{
    for (size_t i = 0; i < o->n_supplier_orders; i++)
        if (strcmp(o->supplier_orders[i]->supplier_id, supplier_id) == 0)
            return o->supplier_orders[i];
    return NULL;
}

static ds_status add_line(ds_arena *a, Dropship__V1__Order *o, const PGresult *r, int i)
{
    Dropship__V1__SupplierOrder *so = find_so(o, PQgetvalue(r, i, 0));
    Dropship__V1__SupplierOrderLine *l = ds_arena_alloc(a, sizeof(*l));

    if (so == NULL || so->n_lines >= 100)
        return DS_OK;
    if (l == NULL)
        return DS_ERR_NOMEM;
    dropship__v1__supplier_order_line__init(l);
    l->line_id = store_row_strdup(a, r, i, 1);
    l->binding_id = store_row_strdup(a, r, i, 2);
    l->supplier_sku = store_row_strdup(a, r, i, 3);
    l->supplier_variant = store_row_strdup(a, r, i, 4);
    l->quantity = store_row_int32(r, i, 5, 0);
    l->unit_cost = money_at(a, r, i, 6);
    so->lines[so->n_lines++] = l;
    return DS_OK;
}

/* "line=qty line=qty" -> LineQuantity entries. */
static void parcel_lines(ds_arena *a, Dropship__V1__Parcel *p, char *text)
{
    size_t n = 1;

    for (const char *s = text; *s != '\0'; s++)
        n += *s == ' ';
    p->lines = ds_arena_alloc(a, sizeof(*p->lines) * (n + 1));
    for (char *tok = text; p->lines != NULL && *tok != '\0';) {
        size_t len = strcspn(tok, " ");
        char *eq = memchr(tok, '=', len);
        Dropship__V1__LineQuantity *lq = ds_arena_alloc(a, sizeof(*lq));
        if (lq == NULL || eq == NULL)
            break;
        dropship__v1__line_quantity__init(lq);
        lq->line_id = ds_arena_printf(a, "%.*s", (int)(eq - tok), tok);
        lq->quantity = (int32_t)strtol(eq + 1, NULL, 10);
        p->lines[p->n_lines++] = lq;
        tok += len;
        tok += *tok == ' ';
    }
}

static ds_status add_parcel(ds_arena *a, Dropship__V1__Order *o, const PGresult *r, int i)
{
    Dropship__V1__SupplierOrder *so = find_so(o, PQgetvalue(r, i, 0));
    Dropship__V1__Parcel *p = ds_arena_alloc(a, sizeof(*p));
    Dropship__V1__Parcel *cps;

    if (so == NULL || so->n_parcels >= 100)
        return DS_OK;
    if (p == NULL)
        return DS_ERR_NOMEM;
    dropship__v1__parcel__init(p);
    p->carrier = store_row_strdup(a, r, i, 1);
    p->tracking_number = store_row_strdup(a, r, i, 2);
    p->status = store_row_int32(r, i, 3, 0);
    cps = unpack_at(a, r, i, 4, &dropship__v1__parcel__descriptor);
    if (cps != NULL) {
        p->checkpoints = cps->checkpoints;
        p->n_checkpoints = cps->n_checkpoints;
    }
    parcel_lines(a, p, store_row_strdup(a, r, i, 5));
    p->last_poll_time = store_row_timestamp(a, r, i, 6);
    p->next_poll_time = store_row_timestamp(a, r, i, 7);
    p->create_time = store_row_timestamp(a, r, i, 8);
    so->parcels[so->n_parcels++] = p;
    return DS_OK;
}

static ds_status read_orders(store_conn *c, const char *const *v, ds_arena *a,
                             Dropship__V1__Order *o, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_full, 2, v, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    o->n_supplier_orders = 0;
    o->supplier_orders = ds_arena_alloc(a, sizeof(*o->supplier_orders) * ((size_t)n + 1));
    if (st == DS_OK && o->supplier_orders == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (int i = 0; st == DS_OK && i < n; i++) {
        o->supplier_orders[i] = so_at(a, r, i);
        if (o->supplier_orders[i] == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        o->n_supplier_orders = (size_t)i + 1;
    }
    PQclear(r);
    return st;
}

/* Run stmt and hand each row to add. */
static ds_status each_row(store_conn *c, const store_stmt *stmt, const char *const *v, ds_arena *a,
                          Dropship__V1__Order *o,
                          ds_status (*add)(ds_arena *, Dropship__V1__Order *, const PGresult *, int),
                          ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = store_exec(c, stmt, 2, v, &r, err);

    for (int i = 0; st == DS_OK && i < PQntuples(r); i++)
        if (add(a, o, r, i) != DS_OK)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    PQclear(r);
    return st;
}

/* order->case_ids from the cases table (at most 1000, oldest first). */
static ds_status read_case_ids(store_conn *c, const char *const *v, ds_arena *a,
                               Dropship__V1__Order *o, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_case_ids, 2, v, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    o->n_case_ids = 0;
    o->case_ids = ds_arena_alloc(a, sizeof(*o->case_ids) * ((size_t)n + 1));
    if (st == DS_OK && o->case_ids == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (int i = 0; st == DS_OK && i < n; i++) {
        o->case_ids[i] = store_row_strdup(a, r, i, 0);
        if (o->case_ids[i] == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        else
            o->n_case_ids = (size_t)i + 1;
    }
    PQclear(r);
    return st;
}

ds_status store_wf_fill_order(store_conn *c, const char *shop_id, ds_arena *a,
                              Dropship__V1__Order *order, ds_error *err)
{
    const char *v[2] = {shop_id, order->id};
    ds_status st = read_orders(c, v, a, order, err);

    if (st == DS_OK && order->n_supplier_orders > 0)
        st = each_row(c, &stmt_lines, v, a, order, add_line, err);
    if (st == DS_OK && order->n_supplier_orders > 0)
        st = each_row(c, &stmt_parcels, v, a, order, add_parcel, err);
    if (st == DS_OK && order->n_supplier_orders > 0)
        st = read_case_ids(c, v, a, order, err);
    return st;
}
