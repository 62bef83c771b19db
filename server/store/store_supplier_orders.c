/* store_supplier_orders.c - SQL of the order workflow: choices, supplier
 * orders, proofs, return snapshots, parcels. */
#include "store_supplier_orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropship/v1/suppliers.pb-c.h"
#include "store_row.h"

/* clang-format off */

static const store_stmt stmt_lines = {
    "so_lines",
    "SELECT l.line_id, l.shop_sku, l.quantity, COALESCE(c.binding_id::text, ''), "
    "COALESCE(c.accepted_currency, ''), COALESCE(c.accepted_units, 0), "
    "COALESCE(c.accepted_nanos, 0) FROM order_lines l LEFT JOIN order_line_choices c "
    "ON c.shop_id = l.shop_id AND c.order_id = l.order_id AND c.line_id = l.line_id "
    "WHERE l.shop_id = $1 AND l.order_id = $2 ORDER BY l.line_no"};
static const store_stmt stmt_address = {
    "so_address",
    "SELECT ship_recipient_name, ship_phone, ship_country_code, ship_region, ship_city, "
    "ship_district, ship_street, ship_postal_code FROM orders "
    "WHERE shop_id = $1 AND order_id = $2"};
/* $3, $4: SupplierOrderState CANCELLED, REJECTED (their rules no longer apply) */
static const store_stmt stmt_return_rules = {
    "so_return_rules",
    "SELECT return_rules FROM supplier_orders "
    "WHERE shop_id = $1 AND order_id = $2 AND state NOT IN ($3::int2, $4::int2) "
    "AND return_policy_source <> 0 AND return_rules IS NOT NULL"};
static const store_stmt stmt_binding_return = {
    "so_binding_return",
    "SELECT b.return_address, b.return_rules FROM supplier_order_lines l "
    "JOIN order_lines ol ON ol.shop_id = l.shop_id AND ol.order_id = l.order_id "
    "AND ol.line_id = l.line_id "
    "JOIN bindings b ON b.shop_id = l.shop_id AND b.binding_id = l.binding_id "
    "WHERE l.shop_id = $1 AND l.order_id = $2 AND l.supplier_id = $3 "
    "AND b.return_address IS NOT NULL ORDER BY ol.line_no LIMIT 1"};
static const store_stmt stmt_address_set = {
    "so_address_set",
    "UPDATE orders SET ship_recipient_name = $3, ship_phone = $4, ship_country_code = $5, "
    "ship_region = $6, ship_city = $7, ship_district = $8, ship_street = $9, "
    "ship_postal_code = $10 WHERE shop_id = $1 AND order_id = $2"};
#define BINDING_COLS                                                                            \
    "binding_id, supplier_id, supplier_sku, supplier_variant, max_cost_currency, "              \
    "max_cost_units, max_cost_nanos, priority, "                                                \
    "(offer_sync_time IS NOT NULL AND offer_sync_time > now() - $3::int8 * interval '1 ms'), "  \
    "COALESCE(offer_stock, 0), COALESCE(offer_cost_currency, ''), COALESCE(offer_cost_units, 0), " \
    "COALESCE(offer_cost_nanos, 0) FROM bindings WHERE shop_id = $1 "
static const store_stmt stmt_bindings_sku = {
    "so_bindings_sku",
    "SELECT " BINDING_COLS "AND shop_sku = $2 ORDER BY priority, binding_id LIMIT 20"};
static const store_stmt stmt_binding_one = {
    "so_binding_one", "SELECT " BINDING_COLS "AND binding_id = $2::uuid"};
/* The columns supplier_row reads. */
#define SUPPLIER_COLS                                                                       \
    "SELECT adapter, COALESCE(adapter_credential, ''), tracking, "                           \
    "COALESCE(tracking_credential, ''), payment_mode, payment_due_us, return_address, "     \
    "return_rules"
static const store_stmt stmt_supplier = {
    "so_supplier", SUPPLIER_COLS " FROM suppliers WHERE shop_id = $1 AND supplier_id = $2"};
#define LIST_COLS                                                                          \
    "SELECT s.supplier_id, s.supplier_order_ref, s.state, s.payment_mode, "                  \
    "COALESCE(s.cost_currency, ''), COALESCE(s.cost_units, 0), COALESCE(s.cost_nanos, 0), " \
    "s.proof_reference IS NOT NULL, s.return_policy_source <> 0, "                          \
    "COALESCE((extract(epoch FROM s.payment_due_time) * 1000)::int8, 0), "                  \
    "l.line_id, l.binding_id, l.supplier_sku, l.supplier_variant, l.quantity, "             \
    "COALESCE(l.unit_cost_currency, ''), COALESCE(l.unit_cost_units, 0), "                  \
    "COALESCE(l.unit_cost_nanos, 0)"
#define LIST_JOIN                                                                          \
    "supplier_orders s LEFT JOIN supplier_order_lines l ON l.shop_id = s.shop_id "          \
    "AND l.order_id = s.order_id AND l.supplier_id = s.supplier_id"
static const store_stmt stmt_list = {
    "so_list",
    LIST_COLS " FROM " LIST_JOIN " WHERE s.shop_id = $1 AND s.order_id = $2 "
    "ORDER BY s.supplier_id, l.line_id"};
/* stmt_list's columns, then the order's state (column VIEW_STATE_COL): one
 * row with a NULL supplier when the order has no supplier order yet. */
enum { VIEW_STATE_COL = 18 };
static const store_stmt stmt_view = {
    "so_view",
    LIST_COLS ", o.state FROM orders o LEFT JOIN (" LIST_JOIN ") ON s.shop_id = o.shop_id "
    "AND s.order_id = o.order_id WHERE o.shop_id = $1 AND o.order_id = $2 "
    "ORDER BY s.supplier_id, l.line_id"};
/* stmt_supplier's columns, then the supplier id (column 8). */
static const store_stmt stmt_view_suppliers = {
    "so_view_suppliers",
    SUPPLIER_COLS ", supplier_id FROM suppliers WHERE shop_id = $1 AND supplier_id IN "
    "(SELECT supplier_id FROM supplier_orders WHERE shop_id = $1 AND order_id = $2)"};
static const store_stmt stmt_parcels = {
    "so_parcels",
    "SELECT supplier_id, carrier, tracking_number, status, n_checkpoints, "
    "(extract(epoch FROM now() - last_change_time) * 1000)::int8 FROM parcels "
    "WHERE shop_id = $1 AND order_id = $2 ORDER BY create_time, carrier, tracking_number"};
static const store_stmt stmt_drop_lines = {
    "so_drop_lines",
    "DELETE FROM supplier_order_lines l USING supplier_orders s WHERE s.shop_id = $1 "
    "AND s.order_id = $2 AND (s.state = 1 OR (s.state IN (9, 10) AND NOT EXISTS (SELECT 1 FROM "
    "parcels p WHERE p.shop_id = s.shop_id AND p.order_id = s.order_id AND "
    "p.supplier_id = s.supplier_id))) AND l.shop_id = s.shop_id AND l.order_id = s.order_id "
    "AND l.supplier_id = s.supplier_id"};
static const store_stmt stmt_drop = {
    "so_drop",
    "DELETE FROM supplier_orders s WHERE s.shop_id = $1 AND s.order_id = $2 AND (s.state = 1 "
    "OR (s.state IN (9, 10) AND NOT EXISTS (SELECT 1 FROM parcels p WHERE "
    "p.shop_id = s.shop_id AND p.order_id = s.order_id AND p.supplier_id = s.supplier_id)))"};
static const store_stmt stmt_insert = {
    "so_insert",
    "INSERT INTO supplier_orders (shop_id, order_id, supplier_id, idempotency_key, state, "
    "payment_mode) VALUES ($1, $2::uuid, $3::uuid, $2::uuid::text || ':' || $3::uuid::text, 1, $4)"};
static const store_stmt stmt_insert_line = {
    "so_insert_line",
    "INSERT INTO supplier_order_lines (shop_id, order_id, supplier_id, line_id, binding_id, "
    "supplier_sku, supplier_variant, quantity, unit_cost_currency, unit_cost_units, "
    "unit_cost_nanos) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), $10, $11)"};
static const store_stmt stmt_placed = {
    "so_placed",
    "UPDATE supplier_orders SET supplier_order_ref = $4, cost_currency = NULLIF($5, ''), "
    "cost_units = CASE WHEN $5 = '' THEN NULL ELSE $6::int8 END, "
    "cost_nanos = CASE WHEN $5 = '' THEN NULL ELSE $7::int4 END, state = $8, "
    "payment_due_time = CASE WHEN $9::int8 > 0 THEN now() + $9::int8 * interval '1 microsecond' "
    "END, version = version + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3"};
static const store_stmt stmt_set_state = {
    "so_set_state",
    "UPDATE supplier_orders SET state = $4, supplier_status = COALESCE($5, supplier_status), "
    "version = version + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3"};
static const store_stmt stmt_set_ref = {
    "so_set_ref",
    "UPDATE supplier_orders SET supplier_order_ref = $4, version = version + 1, "
    "update_time = now() WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3 "
    "AND supplier_order_ref = ''"};
/* Returns whether the stored proof equals the given one (NULL row: none). */
static const store_stmt stmt_proof_get = {
    "so_proof_get",
    "SELECT proof_reference IS NOT NULL, proof_currency IS NOT DISTINCT FROM $4 AND "
    "proof_units IS NOT DISTINCT FROM $5::int8 AND proof_nanos IS NOT DISTINCT FROM $6::int4 "
    "AND proof_method IS NOT DISTINCT FROM $7::int2 AND proof_reference IS NOT DISTINCT FROM $8 "
    "AND proof_paid_time IS NOT DISTINCT FROM (timestamptz 'epoch' + $9::int8 * "
    "interval '1 microsecond') AND proof_attachment_uri = $10 AND "
    "proof_attachment_sha256 = $11 FROM supplier_orders "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3 FOR UPDATE"};
static const store_stmt stmt_proof_set = {
    "so_proof_set",
    "UPDATE supplier_orders SET proof_currency = $4, proof_units = $5, proof_nanos = $6, "
    "proof_method = $7, proof_reference = $8, proof_paid_time = timestamptz 'epoch' + "
    "$9::int8 * interval '1 microsecond', proof_attachment_uri = $10, "
    "proof_attachment_sha256 = $11, proof_actor_kind = $12, proof_actor_id = $13, "
    "proof_record_time = now(), state = CASE WHEN state IN (1, 2) THEN 3 ELSE state END, "
    "version = version + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3"};
static const store_stmt stmt_set_return = {
    "so_set_return",
    "UPDATE supplier_orders SET return_address = $4::bytea, return_rules = $5::bytea, "
    "return_policy_source = $6, version = version + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3"};
static const store_stmt stmt_choose = {
    "so_choose",
    "INSERT INTO order_line_choices (shop_id, order_id, line_id, binding_id, accepted_currency, "
    "accepted_units, accepted_nanos) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (shop_id, order_id, line_id) DO UPDATE SET "
    "binding_id = COALESCE(EXCLUDED.binding_id, order_line_choices.binding_id), "
    "accepted_currency = COALESCE(EXCLUDED.accepted_currency, order_line_choices.accepted_currency), "
    "accepted_units = COALESCE(EXCLUDED.accepted_units, order_line_choices.accepted_units), "
    "accepted_nanos = COALESCE(EXCLUDED.accepted_nanos, order_line_choices.accepted_nanos), "
    "update_time = now()"};
static const store_stmt stmt_parcel_add = {
    "so_parcel_add",
    "INSERT INTO parcels (shop_id, order_id, supplier_id, carrier, tracking_number, lines, "
    "next_poll_time) VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT DO NOTHING"};
static const store_stmt stmt_parcel_polled = {
    "so_parcel_polled",
    "UPDATE parcels SET status = $6, checkpoints = $7::bytea, n_checkpoints = $8, "
    "last_poll_time = now(), next_poll_time = now() + $9::int8 * interval '1 ms', "
    "last_change_time = CASE WHEN $10 THEN now() ELSE last_change_time END "
    "WHERE shop_id = $1 AND order_id = $2 AND supplier_id = $3 AND carrier = $4 "
    "AND tracking_number = $5"};
static const store_stmt stmt_restart_due = {
    "so_restart_due",
    "WITH u AS (UPDATE supplier_orders o SET payment_due_time = now() + "
    "(s.payment_due_us / $3::int8) * interval '1 microsecond', version = o.version + 1, "
    "update_time = now() FROM suppliers s WHERE o.shop_id = $1 AND o.order_id = $2 "
    "AND s.shop_id = o.shop_id AND s.supplier_id = o.supplier_id AND o.payment_mode = 2 "
    "AND o.proof_reference IS NULL AND o.state IN (2, 4) "
    "RETURNING s.payment_due_us / $3::int8 / 1000 AS ms) SELECT COALESCE(min(ms), 0) FROM u"};
/* clang-format on */

/* ---- small helpers ---- */

static void cell(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    const char *s = store_row_text(r, row, col);

    snprintf(dst, cap, "%s", s != NULL ? s : "");
}

static void money_cells(store_so_money *m, const PGresult *r, int row, int col)
{
    cell(m->currency, sizeof(m->currency), r, row, col);
    m->units = store_row_int64(r, row, col + 1, 0);
    m->nanos = store_row_int32(r, row, col + 2, 0);
}

/* Run st with v and check the result is rows; *out owned by the caller. */
static ds_status query(store_conn *c, const store_stmt *st, int n, const char *const *v,
                       PGresult **out, ds_error *err)
{
    return store_exec(c, st, n, v, out, err);
}

/* ---- reads for the steps ---- */

ds_status store_so_lines(store_conn *c, const char *shop_id, const char *order_id,
                         store_so_line *out, size_t *n, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = query(c, &stmt_lines, 2, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < STORE_SO_LINES_MAX; i++) {
        store_so_line *l = &out[(*n)++];
        cell(l->line_id, sizeof(l->line_id), r, i, 0);
        cell(l->shop_sku, sizeof(l->shop_sku), r, i, 1);
        l->quantity = store_row_int32(r, i, 2, 0);
        cell(l->choice_binding, sizeof(l->choice_binding), r, i, 3);
        money_cells(&l->accepted, r, i, 4);
    }
    PQclear(r);
    return st;
}

ds_status store_so_address_get(store_conn *c, const char *shop_id, const char *order_id,
                               store_so_address *a, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = query(c, &stmt_address, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK) {
        cell(a->recipient_name, sizeof(a->recipient_name), r, 0, 0);
        cell(a->phone, sizeof(a->phone), r, 0, 1);
        cell(a->country_code, sizeof(a->country_code), r, 0, 2);
        cell(a->region, sizeof(a->region), r, 0, 3);
        cell(a->city, sizeof(a->city), r, 0, 4);
        cell(a->district, sizeof(a->district), r, 0, 5);
        cell(a->street, sizeof(a->street), r, 0, 6);
        cell(a->postal_code, sizeof(a->postal_code), r, 0, 7);
    }
    PQclear(r);
    return st;
}

ds_status store_so_return_days(store_conn *c, const char *shop_id, const char *order_id,
                               int *days, ds_error *err)
{
    char cancelled[24], rejected[24];
    const char *v[4] = {
        shop_id, order_id,
        store_param_int64(cancelled,
                          DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_CANCELLED),
        store_param_int64(rejected, DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED)};
    PGresult *r = NULL;
    ds_arena *a = ds_arena_new(0);
    ds_status st = a != NULL ? query(c, &stmt_return_rules, 4, v, &r, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    *days = -1;
    for (int i = 0; st == DS_OK && i < PQntuples(r); i++) {
        size_t n = 0;
        uint8_t *b = store_row_bytea(a, r, i, 0, &n);
        Dropship__V1__ReturnRules *rules =
            b != NULL ? dropship__v1__return_rules__unpack(NULL, n, b) : NULL;

        if (rules != NULL && rules->no_reason_return_days > *days)
            *days = rules->no_reason_return_days;
        if (rules != NULL)
            dropship__v1__return_rules__free_unpacked(rules, NULL);
    }
    PQclear(r);
    ds_arena_free(a);
    return st;
}

ds_status store_so_address_set(store_conn *c, const char *shop_id, const char *order_id,
                               const store_so_address *a, ds_error *err)
{
    const char *v[10] = {shop_id, order_id, a->recipient_name, a->phone, a->country_code,
                         a->region, a->city, a->district, a->street, a->postal_code};

    return store_exec(c, &stmt_address_set, 10, v, NULL, err);
}

ds_status store_so_bindings(store_conn *c, const char *shop_id, const char *shop_sku,
                            const char *binding_id, int64_t max_age_ms, store_so_binding *out,
                            size_t cap, size_t *n, ds_error *err)
{
    char age[24];
    const char *v[3] = {shop_id, binding_id != NULL ? binding_id : shop_sku,
                        store_param_int64(age, max_age_ms)};
    PGresult *r = NULL;
    ds_status st = query(c, binding_id != NULL ? &stmt_binding_one : &stmt_bindings_sku, 3, v,
                         &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++) {
        store_so_binding *b = &out[(*n)++];
        cell(b->binding_id, sizeof(b->binding_id), r, i, 0);
        cell(b->supplier_id, sizeof(b->supplier_id), r, i, 1);
        cell(b->supplier_sku, sizeof(b->supplier_sku), r, i, 2);
        cell(b->supplier_variant, sizeof(b->supplier_variant), r, i, 3);
        money_cells(&b->max_cost, r, i, 4);
        b->priority = store_row_int32(r, i, 7, 0);
        b->offer_fresh = store_row_bool(r, i, 8);
        b->offer_stock = store_row_int64(r, i, 9, 0);
        money_cells(&b->offer_cost, r, i, 10);
    }
    PQclear(r);
    return st;
}

/* Copy a bytea cell into buf (cap bytes); *len 0 when NULL or too big. */
static void bytes_cell(uint8_t *buf, size_t cap, size_t *len, const PGresult *r, int row, int col)
{
    ds_arena *a = ds_arena_new(0);
    size_t n = 0;
    uint8_t *b = a != NULL ? store_row_bytea(a, r, row, col, &n) : NULL;

    *len = 0;
    if (b != NULL && n <= cap) {
        memcpy(buf, b, n);
        *len = n;
    }
    ds_arena_free(a);
}

static void supplier_adapter(store_so_supplier *s, const uint8_t *b, size_t n)
{
    Dropship__V1__SupplierAdapterConfig *cfg =
        dropship__v1__supplier_adapter_config__unpack(NULL, n, b);

    if (cfg == NULL)
        return;
    s->adapter_kind = cfg->kind;
    snprintf(s->base_url, sizeof(s->base_url), "%s", cfg->base_url);
    if (cfg->request_timeout != NULL)
        s->request_timeout_ms = cfg->request_timeout->seconds * 1000 +
                                cfg->request_timeout->nanos / 1000000;
    if (cfg->default_rate_limit != NULL) {
        s->rate_per_s = cfg->default_rate_limit->requests_per_second;
        s->burst = cfg->default_rate_limit->burst;
    }
    for (size_t i = 0; i < cfg->n_endpoint_rate_limits; i++) {
        const Dropship__V1__EndpointRateLimit *e = cfg->endpoint_rate_limits[i];
        if ((int)e->endpoint > 0 && (int)e->endpoint < STORE_SO_ENDPOINTS && e->limit != NULL) {
            s->endpoint_limit[e->endpoint].rate_per_s = e->limit->requests_per_second;
            s->endpoint_limit[e->endpoint].burst = e->limit->burst;
        }
    }
    dropship__v1__supplier_adapter_config__free_unpacked(cfg, NULL);
}

static void supplier_tracking(store_so_supplier *s, const uint8_t *b, size_t n)
{
    Dropship__V1__TrackingConfig *cfg = dropship__v1__tracking_config__unpack(NULL, n, b);

    if (cfg == NULL)
        return;
    s->tracking_kind = cfg->kind;
    snprintf(s->tracking_url, sizeof(s->tracking_url), "%s", cfg->base_url);
    if (cfg->rate_limit != NULL) {
        s->tracking_rate_per_s = cfg->rate_limit->requests_per_second;
        s->tracking_burst = cfg->rate_limit->burst;
    }
    if (cfg->stale_after != NULL)
        s->stale_after_ms = cfg->stale_after->seconds * 1000 + cfg->stale_after->nanos / 1000000;
    dropship__v1__tracking_config__free_unpacked(cfg, NULL);
}

/* Read row `row` of a stmt_supplier-shaped result into *s (zeroed first);
 * buf is scratch of STORE_SO_BYTES_MAX bytes. */
static void supplier_row(store_so_supplier *s, const char *supplier_id, const PGresult *r,
                         int row, uint8_t *buf)
{
    size_t n = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->supplier_id, sizeof(s->supplier_id), "%s", supplier_id);
    bytes_cell(buf, STORE_SO_BYTES_MAX, &n, r, row, 0);
    supplier_adapter(s, buf, n);
    cell(s->credential, sizeof(s->credential), r, row, 1);
    bytes_cell(buf, STORE_SO_BYTES_MAX, &n, r, row, 2);
    if (n > 0)
        supplier_tracking(s, buf, n);
    cell(s->tracking_credential, sizeof(s->tracking_credential), r, row, 3);
    s->payment_mode = store_row_int32(r, row, 4, 2);
    s->payment_due_us = store_row_int64(r, row, 5, 0);
    bytes_cell(s->return_address, sizeof(s->return_address), &s->return_address_len, r, row, 6);
    bytes_cell(s->return_rules, sizeof(s->return_rules), &s->return_rules_len, r, row, 7);
}

ds_status store_so_binding_return(store_conn *c, const char *shop_id, const char *order_id,
                                  const char *supplier_id, store_so_return *out, ds_error *err)
{
    const char *v[3] = {shop_id, order_id, supplier_id};
    PGresult *r = NULL;
    ds_status st = query(c, &stmt_binding_return, 3, v, &r, err);

    out->address_len = out->rules_len = 0;
    if (st == DS_OK && PQntuples(r) == 1) {
        bytes_cell(out->address, sizeof(out->address), &out->address_len, r, 0, 0);
        bytes_cell(out->rules, sizeof(out->rules), &out->rules_len, r, 0, 1);
    }
    PQclear(r);
    return st;
}

ds_status store_so_supplier_get(store_conn *c, const char *shop_id, const char *supplier_id,
                                store_so_supplier *s, ds_error *err)
{
    const char *v[2] = {shop_id, supplier_id};
    PGresult *r = NULL;
    uint8_t *buf = malloc(STORE_SO_BYTES_MAX);
    ds_status st = buf != NULL ? query(c, &stmt_supplier, 2, v, &r, err)
                               : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    memset(s, 0, sizeof(*s));
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "supplier %s not found", supplier_id);
    if (st == DS_OK)
        supplier_row(s, supplier_id, r, 0, buf);
    free(buf);
    PQclear(r);
    return st;
}

/* Find or append the row of supplier `id` in rows[0..*n). */
static store_so_row *row_of(store_so_row *rows, size_t *n, const char *id)
{
    if (*n > 0 && strcmp(rows[*n - 1].supplier_id, id) == 0)
        return &rows[*n - 1];
    memset(&rows[*n], 0, sizeof(rows[*n]));
    snprintf(rows[*n].supplier_id, sizeof(rows[*n].supplier_id), "%s", id);
    return &rows[(*n)++];
}

static void list_row(store_so_row *so, const PGresult *r, int i)
{
    cell(so->ref, sizeof(so->ref), r, i, 1);
    so->state = store_row_int32(r, i, 2, 0);
    so->payment_mode = store_row_int32(r, i, 3, 0);
    money_cells(&so->cost, r, i, 4);
    so->paid = store_row_bool(r, i, 7);
    so->return_bound = store_row_bool(r, i, 8);
    so->payment_due_ms = store_row_int64(r, i, 9, 0);
    if (store_row_text(r, i, 10) == NULL || so->n_lines >= STORE_SO_LINES_MAX)
        return;
    store_so_pline *l = &so->lines[so->n_lines++];
    cell(l->line_id, sizeof(l->line_id), r, i, 10);
    cell(l->binding_id, sizeof(l->binding_id), r, i, 11);
    cell(l->supplier_sku, sizeof(l->supplier_sku), r, i, 12);
    cell(l->supplier_variant, sizeof(l->supplier_variant), r, i, 13);
    l->quantity = store_row_int32(r, i, 14, 0);
    money_cells(&l->unit_cost, r, i, 15);
}

ds_status store_so_list(store_conn *c, const char *shop_id, const char *order_id,
                        store_so_row **out, size_t *n, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = query(c, &stmt_list, 2, v, &r, err);
    store_so_row *rows = NULL;

    *out = NULL;
    *n = 0;
    if (st == DS_OK) {
        rows = calloc((size_t)PQntuples(r) + 1, sizeof(*rows));
        if (rows == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; st == DS_OK && i < PQntuples(r); i++)
        list_row(row_of(rows, n, PQgetvalue(r, i, 0)), r, i);
    PQclear(r);
    *out = rows;
    return st;
}

ds_status store_so_view_get(store_conn *c, const char *shop_id, const char *order_id,
                            store_so_view *out, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL, *rs = NULL;
    store_batch_item items[2] = {{.stmt = &stmt_view, .nparams = 2, .values = v, .out = &r},
                                 {.stmt = &stmt_view_suppliers, .nparams = 2, .values = v,
                                  .out = &rs}};
    uint8_t *buf = NULL;
    ds_status st = store_exec_batch(c, items, 2, err);

    memset(out, 0, sizeof(*out));
    if (st == DS_OK) {
        out->rows = calloc((size_t)PQntuples(r) + 1, sizeof(*out->rows));
        out->sups = calloc((size_t)PQntuples(rs) + 1, sizeof(*out->sups));
        buf = malloc(STORE_SO_BYTES_MAX);
        if (out->rows == NULL || out->sups == NULL || buf == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; st == DS_OK && i < PQntuples(r); i++) {
        out->state = store_row_int32(r, i, VIEW_STATE_COL, 0);
        if (!PQgetisnull(r, i, 0))
            list_row(row_of(out->rows, &out->n, PQgetvalue(r, i, 0)), r, i);
    }
    for (int i = 0; st == DS_OK && i < PQntuples(rs); i++)
        supplier_row(&out->sups[out->n_sups++], PQgetvalue(rs, i, 8), rs, i, buf);
    free(buf);
    PQclear(r);
    PQclear(rs);
    if (st != DS_OK)
        store_so_view_free(out);
    return st;
}

const store_so_supplier *store_so_view_supplier(const store_so_view *v, const char *supplier_id)
{
    for (size_t i = 0; i < v->n_sups; i++)
        if (strcmp(v->sups[i].supplier_id, supplier_id) == 0)
            return &v->sups[i];
    return NULL;
}

void store_so_view_free(store_so_view *v)
{
    if (v->sups != NULL)
        memset(v->sups, 0, v->n_sups * sizeof(*v->sups));
    free(v->sups);
    free(v->rows);
    memset(v, 0, sizeof(*v));
}

ds_status store_so_parcels(store_conn *c, const char *shop_id, const char *order_id,
                           store_so_parcel *out, size_t cap, size_t *n, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = query(c, &stmt_parcels, 2, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++) {
        store_so_parcel *p = &out[(*n)++];
        cell(p->supplier_id, sizeof(p->supplier_id), r, i, 0);
        cell(p->carrier, sizeof(p->carrier), r, i, 1);
        cell(p->tracking_number, sizeof(p->tracking_number), r, i, 2);
        p->status = store_row_int32(r, i, 3, 0);
        p->n_checkpoints = store_row_int32(r, i, 4, 0);
        p->unchanged_ms = store_row_int64(r, i, 5, 0);
    }
    PQclear(r);
    return st;
}

/* ---- writes ---- */

ds_status store_so_drop_unplaced(store_conn *c, const char *shop_id, const char *order_id,
                                 ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    ds_status st = store_exec(c, &stmt_drop_lines, 2, v, NULL, err);

    return st == DS_OK ? store_exec(c, &stmt_drop, 2, v, NULL, err) : st;
}

ds_status store_so_insert(store_conn *c, const char *shop_id, const char *order_id,
                          const char *supplier_id, int32_t payment_mode,
                          const store_so_pline *lines, size_t n, ds_error *err)
{
    char mode[24], q[24], u[24], na[24];
    const char *v[4] = {shop_id, order_id, supplier_id, store_param_int64(mode, payment_mode)};
    ds_status st = store_exec(c, &stmt_insert, 4, v, NULL, err);

    for (size_t i = 0; st == DS_OK && i < n; i++) {
        const store_so_pline *l = &lines[i];
        const char *lv[11] = {shop_id, order_id, supplier_id, l->line_id, l->binding_id,
                              l->supplier_sku, l->supplier_variant,
                              store_param_int64(q, l->quantity), l->unit_cost.currency,
                              store_param_int64(u, l->unit_cost.units),
                              store_param_int64(na, l->unit_cost.nanos)};
        st = store_exec(c, &stmt_insert_line, 11, lv, NULL, err);
    }
    return st;
}

ds_status store_so_placed(store_conn *c, const char *shop_id, const char *order_id,
                          const char *supplier_id, const char *ref, const store_so_money *cost,
                          int32_t state, int64_t due_us, ds_error *err)
{
    char u[24], n[24], s[24], d[24];
    const char *v[9] = {shop_id, order_id, supplier_id, ref, cost->currency,
                        store_param_int64(u, cost->units), store_param_int64(n, cost->nanos),
                        store_param_int64(s, state), store_param_int64(d, due_us)};

    return store_exec(c, &stmt_placed, 9, v, NULL, err);
}

ds_status store_so_set_state(store_conn *c, const char *shop_id, const char *order_id,
                             const char *supplier_id, int32_t state, const char *supplier_status,
                             ds_error *err)
{
    char s[24];
    const char *v[5] = {shop_id, order_id, supplier_id, store_param_int64(s, state),
                        supplier_status};

    return store_exec(c, &stmt_set_state, 5, v, NULL, err);
}

ds_status store_so_set_ref(store_conn *c, const char *shop_id, const char *order_id,
                           const char *supplier_id, const char *ref, ds_error *err)
{
    const char *v[4] = {shop_id, order_id, supplier_id, ref};

    return store_exec(c, &stmt_set_ref, 4, v, NULL, err);
}

ds_status store_so_record_proof(store_conn *c, const char *shop_id, const char *order_id,
                                const char *supplier_id, const store_so_proof *p, bool *same,
                                ds_error *err)
{
    char u[24], n[24], m[24], t[24], k[24];
    const char *v[13] = {shop_id, order_id, supplier_id, p->amount.currency,
                         store_param_int64(u, p->amount.units),
                         store_param_int64(n, p->amount.nanos), store_param_int64(m, p->method),
                         p->reference, store_param_int64(t, p->paid_us),
                         p->attachment_uri != NULL ? p->attachment_uri : "",
                         p->attachment_sha256 != NULL ? p->attachment_sha256 : "",
                         store_param_int64(k, p->actor_kind), p->actor_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_proof_get, 11, v, &r, err);

    *same = false;
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "no supplier order for supplier %s", supplier_id);
    if (st == DS_OK && store_row_bool(r, 0, 0)) {
        *same = store_row_bool(r, 0, 1);
        if (!*same) {
            st = ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                              "a different payment proof is already recorded for supplier %s",
                              supplier_id);
            ds_error_reason(err, "PAYMENT_PROOF_EXISTS");
        }
        PQclear(r);
        return st;
    }
    PQclear(r);
    return st == DS_OK ? store_exec(c, &stmt_proof_set, 13, v, NULL, err) : st;
}

ds_status store_so_set_return(store_conn *c, const char *shop_id, const char *order_id,
                              const char *supplier_id, const uint8_t *addr, size_t addr_len,
                              const uint8_t *rules, size_t rules_len, int32_t source,
                              ds_error *err)
{
    ds_arena *a = ds_arena_new(0);
    char s[24];
    const char *v[6] = {shop_id, order_id, supplier_id,
                        a != NULL && addr_len > 0 ? store_param_bytea(a, addr, addr_len) : NULL,
                        a != NULL && rules_len > 0 ? store_param_bytea(a, rules, rules_len) : NULL,
                        store_param_int64(s, source)};
    ds_status st = a != NULL ? store_exec(c, &stmt_set_return, 6, v, NULL, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    ds_arena_free(a);
    return st;
}

ds_status store_so_choose(store_conn *c, const char *shop_id, const char *order_id,
                          const char *line_id, const char *binding_id,
                          const store_so_money *accepted, ds_error *err)
{
    char u[24], n[24];
    const char *v[7] = {shop_id, order_id, line_id, binding_id,
                        accepted != NULL ? accepted->currency : NULL,
                        accepted != NULL ? store_param_int64(u, accepted->units) : NULL,
                        accepted != NULL ? store_param_int64(n, accepted->nanos) : NULL};

    return store_exec(c, &stmt_choose, 7, v, NULL, err);
}

ds_status store_so_parcel_add(store_conn *c, const char *shop_id, const char *order_id,
                              const char *supplier_id, const char *carrier, const char *number,
                              const char *lines, bool *added, ds_error *err)
{
    const char *v[6] = {shop_id, order_id, supplier_id, carrier, number, lines ? lines : ""};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_parcel_add, 6, v, &r, err);

    *added = st == DS_OK && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return st;
}

ds_status store_so_parcel_polled(store_conn *c, const char *shop_id, const char *order_id,
                                 const store_so_parcel *p, const uint8_t *cps, size_t cps_len,
                                 bool changed, int64_t next_poll_ms, ds_error *err)
{
    ds_arena *a = ds_arena_new(0);
    char s[24], n[24], np[24];
    const char *v[10] = {shop_id, order_id, p->supplier_id, p->carrier, p->tracking_number,
                         store_param_int64(s, p->status),
                         a != NULL && cps_len > 0 ? store_param_bytea(a, cps, cps_len) : NULL,
                         store_param_int64(n, p->n_checkpoints),
                         store_param_int64(np, next_poll_ms), changed ? "t" : "f"};
    ds_status st = a != NULL ? store_exec(c, &stmt_parcel_polled, 10, v, NULL, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    ds_arena_free(a);
    return st;
}

ds_status store_so_restart_due(store_conn *c, const char *shop_id, const char *order_id,
                               int scale, int64_t *first_ms, ds_error *err)
{
    char sc[24];
    const char *v[3] = {shop_id, order_id, store_param_int64(sc, scale > 0 ? scale : 1)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_restart_due, 3, v, &r, err);

    *first_ms = st == DS_OK && PQntuples(r) == 1 ? store_row_int64(r, 0, 0, 0) : 0;
    PQclear(r);
    return st;
}
