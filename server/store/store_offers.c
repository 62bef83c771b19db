/* store_offers.c - the offer sync's statements: bindings to sync, latest
 * offer with change history, orders an offer change concerns. */
#include "store_offers.h"

#include <stdio.h>
#include <string.h>

#include "store_row.h"

/* clang-format off */
static const store_stmt stmt_suppliers = {
    "offers_suppliers",
    "SELECT DISTINCT b.shop_id::text, b.supplier_id::text FROM bindings b "
    "WHERE ($1::uuid IS NULL OR b.shop_id = $1::uuid) "
    "AND ($2::uuid IS NULL OR b.supplier_id = $2::uuid) LIMIT $3::int8"};
static const store_stmt stmt_targets = {
    "offers_targets",
    "SELECT binding_id::text, shop_sku, supplier_sku FROM bindings "
    "WHERE shop_id = $1 AND supplier_id = $2 AND binding_id > $3::uuid "
    "ORDER BY binding_id LIMIT $4::int8"};
static const store_stmt stmt_lock = {
    "offers_lock",
    "SELECT offer_stock, COALESCE(offer_cost_currency, ''), COALESCE(offer_cost_units, 0), "
    "COALESCE(offer_cost_nanos, 0), COALESCE(offer_ship_days, -1) FROM bindings "
    "WHERE shop_id = $1 AND binding_id = $2 FOR UPDATE"};
static const store_stmt stmt_write = {
    "offers_write",
    "UPDATE bindings SET offer_stock = $3::int8, offer_cost_currency = $4, "
    "offer_cost_units = $5::int8, offer_cost_nanos = $6::int4, offer_ship_days = $7::int4, "
    "offer_sync_time = now(), offer_attempt_time = now(), offer_sync_error = '' "
    "WHERE shop_id = $1 AND binding_id = $2"};
static const store_stmt stmt_history = {
    "offers_history",
    "INSERT INTO offer_history (shop_id, binding_id, old_stock, old_cost_currency, "
    "old_cost_units, old_cost_nanos, old_ship_days, new_stock, new_cost_currency, "
    "new_cost_units, new_cost_nanos, new_ship_days) VALUES ($1, $2, $3::int8, $4, $5::int8, "
    "$6::int4, $7::int4, $8::int8, $9, $10::int8, $11::int4, $12::int4)"};
static const store_stmt stmt_failed = {
    "offers_failed",
    "UPDATE bindings SET offer_attempt_time = now(), offer_sync_error = left($3, 500) "
    "WHERE shop_id = $1 AND binding_id = $2"};
/* States 1, 2, 3 = RECEIVED, VERIFYING, PURCHASING; 9 = ON_HOLD; hold
 * reasons 3, 4 = OUT_OF_STOCK, PRICE_CHANGED; supplier order state 1 =
 * PENDING (dropship.v1 enums). The orders not yet bought are found first
 * (orders_state_idx, orders_hold_idx; MATERIALIZED keeps the planner from
 * starting at order_lines instead) and then their lines, so a sync costs
 * what is in flight, not every line ever sold of the SKU. */
static const store_stmt stmt_orders = {
    "offers_orders",
    "WITH live AS MATERIALIZED (SELECT o.shop_id, o.order_id FROM orders o "
    "WHERE o.shop_id = $1 AND (o.state IN (1, 2, 3) OR "
    "(o.state = 9 AND o.hold_reason IN (3, 4) AND o.hold_held_state IN (1, 2, 3)))) "
    "SELECT live.order_id::text FROM live WHERE EXISTS (SELECT 1 FROM order_lines l "
    "WHERE l.shop_id = live.shop_id AND l.order_id = live.order_id AND l.shop_sku = $2 "
    "AND NOT EXISTS (SELECT 1 FROM supplier_order_lines sl JOIN supplier_orders so "
    "ON so.shop_id = sl.shop_id AND so.order_id = sl.order_id AND so.supplier_id = sl.supplier_id "
    "WHERE sl.shop_id = l.shop_id AND sl.order_id = l.order_id AND sl.line_id = l.line_id "
    "AND so.state <> 1)) LIMIT $3::int8"};
static const store_stmt stmt_hold_lines = {
    "offers_hold_lines",
    "SELECT array_to_string(hold_line_ids, ' ') FROM orders "
    "WHERE shop_id = $1 AND order_id = $2"};
/* clang-format on */

static void cell(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    const char *s = store_row_text(r, row, col);

    snprintf(dst, cap, "%s", s != NULL ? s : "");
}

ds_status store_offer_suppliers(store_conn *c, const char *shop_id, const char *supplier_id,
                                store_offer_supplier *out, size_t cap, size_t *n, ds_error *err)
{
    char lim[24];
    const char *v[3] = {shop_id, supplier_id, store_param_int64(lim, (int64_t)cap)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_suppliers, 3, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++, (*n)++) {
        cell(out[*n].shop_id, sizeof(out[*n].shop_id), r, i, 0);
        cell(out[*n].supplier_id, sizeof(out[*n].supplier_id), r, i, 1);
    }
    PQclear(r);
    return st;
}

ds_status store_offer_targets(store_conn *c, const char *shop_id, const char *supplier_id,
                              const char *after, store_offer_target *out, size_t cap, size_t *n,
                              ds_error *err)
{
    char lim[24];
    const char *v[4] = {shop_id, supplier_id,
                        after[0] != '\0' ? after : "00000000-0000-0000-0000-000000000000",
                        store_param_int64(lim, (int64_t)cap)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_targets, 4, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++, (*n)++) {
        cell(out[*n].binding_id, sizeof(out[*n].binding_id), r, i, 0);
        cell(out[*n].shop_sku, sizeof(out[*n].shop_sku), r, i, 1);
        cell(out[*n].supplier_sku, sizeof(out[*n].supplier_sku), r, i, 2);
    }
    PQclear(r);
    return st;
}

/* Lock the binding and read its stored offer. */
static ds_status lock_offer(store_conn *c, const char *shop_id, const char *binding_id,
                            store_offer_val *old, ds_error *err)
{
    const char *v[2] = {shop_id, binding_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_lock, 2, v, &r, err);

    memset(old, 0, sizeof(*old));
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "binding %s is gone", binding_id);
    if (st == DS_OK) {
        old->known = store_row_text(r, 0, 0) != NULL;
        old->stock = store_row_int64(r, 0, 0, 0);
        cell(old->cost.currency, sizeof(old->cost.currency), r, 0, 1);
        old->cost.units = store_row_int64(r, 0, 2, 0);
        old->cost.nanos = store_row_int32(r, 0, 3, 0);
        old->ship_days = store_row_int32(r, 0, 4, -1);
    }
    PQclear(r);
    return st;
}

/* Offer parameters: stock, currency, units, nanos, ship days (NULL when
 * unknown). bufs: 4 x 24 bytes. */
static void offer_params(const store_offer_val *o, char bufs[4][24], const char **v)
{
    bool cost = o->known && o->cost.currency[0] != '\0';

    v[0] = o->known ? store_param_int64(bufs[0], o->stock) : NULL;
    v[1] = cost ? o->cost.currency : NULL;
    v[2] = cost ? store_param_int64(bufs[1], o->cost.units) : NULL;
    v[3] = cost ? store_param_int64(bufs[2], o->cost.nanos) : NULL;
    v[4] = o->known && o->ship_days >= 0 ? store_param_int64(bufs[3], o->ship_days) : NULL;
}

static bool same_offer(const store_offer_val *a, const store_offer_val *b)
{
    return a->known == b->known && a->stock == b->stock && a->ship_days == b->ship_days &&
           strcmp(a->cost.currency, b->cost.currency) == 0 && a->cost.units == b->cost.units &&
           a->cost.nanos == b->cost.nanos;
}

/* Write the new offer and, when it changed, a history row. */
static ds_status write_offer(store_conn *c, const char *shop_id, const char *binding_id,
                             const store_offer_val *old, const store_offer_val *nv, bool *changed,
                             ds_error *err)
{
    char ob[4][24], nb[4][24];
    const char *v[12] = {shop_id, binding_id};
    ds_status st;

    offer_params(nv, nb, &v[2]);
    st = store_exec(c, &stmt_write, 7, v, NULL, err);
    *changed = !same_offer(old, nv);
    if (st != DS_OK || !*changed)
        return st;
    offer_params(old, ob, &v[2]);
    offer_params(nv, nb, &v[7]);
    return store_exec(c, &stmt_history, 12, v, NULL, err);
}

ds_status store_offer_record(store_conn *c, const char *shop_id, const char *binding_id,
                             const store_offer_val *nv, store_offer_val *old, bool *changed,
                             ds_error *err)
{
    store_offer_val eff = *nv;
    ds_status st = store_begin(c, err);

    *changed = false;
    if (st == DS_OK)
        st = lock_offer(c, shop_id, binding_id, old, err);
    if (st == DS_OK && eff.cost.currency[0] == '\0') /* not listed: keep the last cost */
        eff.cost = old->cost;
    if (st == DS_OK && eff.ship_days < 0)
        eff.ship_days = old->ship_days;
    if (st == DS_OK)
        st = write_offer(c, shop_id, binding_id, old, &eff, changed, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    else
        store_rollback(c);
    return st;
}

ds_status store_offer_failed(store_conn *c, const char *shop_id, const char *binding_id,
                             const char *error, ds_error *err)
{
    const char *v[3] = {shop_id, binding_id, error};

    return store_exec(c, &stmt_failed, 3, v, NULL, err);
}

ds_status store_offer_orders(store_conn *c, const char *shop_id, const char *shop_sku,
                             store_offer_order *out, size_t cap, size_t *n, ds_error *err)
{
    char lim[24];
    const char *v[3] = {shop_id, shop_sku, store_param_int64(lim, (int64_t)cap)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_orders, 3, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++, (*n)++)
        cell(out[*n].order_id, sizeof(out[*n].order_id), r, i, 0);
    PQclear(r);
    return st;
}

ds_status store_offer_hold_lines(store_conn *c, const char *shop_id, const char *order_id,
                                 char *out, size_t cap, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_hold_lines, 2, v, &r, err);

    out[0] = '\0';
    if (st == DS_OK && PQntuples(r) == 1)
        cell(out, cap, r, 0, 0);
    PQclear(r);
    return st;
}
