/* store_case_writes.c - what the after-sales calls write besides the case
 * state: reasons, approvals, evidence, refunds, return parcels, reships. */
#include "store_cases.h"

#include <stdio.h>
#include <string.h>

#include "store_events.h"
#include "store_row.h"

/* clang-format off */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"

static const store_stmt stmt_reject = {
    "cases_set_reject",
    "UPDATE cases SET reject_reason = $3 WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_resolution = {
    "cases_set_resolution",
    "UPDATE cases SET resolution = $3, root_cause = $4 WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_window = {
    "cases_window",
    "SELECT so.return_rules, (SELECT " US("min(e.event_time)") " FROM order_events e "
    "WHERE e.shop_id = c.shop_id AND e.order_id = c.order_id AND e.case_id IS NULL "
    "AND e.to_state = 7) FROM cases c JOIN supplier_orders so ON so.shop_id = c.shop_id "
    "AND so.order_id = c.order_id AND so.supplier_id = c.supplier_id "
    "WHERE c.shop_id = $1 AND c.case_id = $2"};
/* $3 return required: snapshot the supplier order's policy when required. */
static const store_stmt stmt_approve = {
    "cases_set_approval",
    "UPDATE cases c SET return_required = $3, "
    "return_address = CASE WHEN $3 THEN so.return_address END, "
    "return_rules = CASE WHEN $3 THEN so.return_rules END "
    "FROM supplier_orders so WHERE c.shop_id = $1 AND c.case_id = $2 "
    "AND so.shop_id = c.shop_id AND so.order_id = c.order_id AND so.supplier_id = c.supplier_id "
    "AND (NOT $3 OR so.return_address IS NOT NULL) RETURNING c.case_id"};
static const store_stmt stmt_evidence_count = {
    "cases_evidence_count",
    "SELECT count(*) FROM case_evidence WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_evidence_add = {
    "cases_evidence_add",
    "INSERT INTO case_evidence (shop_id, case_id, kind, uri, sha256, content_type, note, "
    "actor_kind, actor_id) VALUES ($1, $2, $3, $4, lower($5), $6, $7, $8, $9)"};
static const store_stmt stmt_refundable = {
    "cases_refundable",
    "SELECT x.currency_code, trim_scale(x.paid)::text, trim_scale(x.refunded)::text, "
    "x.refunded + $3::numeric <= x.paid FROM (SELECT o.currency_code, "
    "(SELECT COALESCE(sum((l.unit_price_units + l.unit_price_nanos / 1e9) * cl.quantity), 0) "
    " FROM case_lines cl JOIN order_lines l ON l.shop_id = cl.shop_id "
    " AND l.order_id = cl.order_id AND l.line_id = cl.line_id "
    " WHERE cl.shop_id = c.shop_id AND cl.case_id = c.case_id) AS paid, "
    "(SELECT COALESCE(sum(r.amount_units + r.amount_nanos / 1e9), 0) FROM case_refunds r "
    " WHERE r.shop_id = c.shop_id AND r.case_id = c.case_id) AS refunded "
    "FROM cases c JOIN orders o ON o.shop_id = c.shop_id AND o.order_id = c.order_id "
    "WHERE c.shop_id = $1 AND c.case_id = $2) x"};
static const store_stmt stmt_refund_add = {
    "cases_refund_add",
    "INSERT INTO case_refunds (shop_id, case_id, amount_currency, amount_units, amount_nanos, "
    "payer, reference, note, actor_kind, actor_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING refund_id"};
static const store_stmt stmt_comp_add = {
    "cases_compensation_add",
    "INSERT INTO case_compensations (shop_id, case_id, refund_id, position, kind, "
    "amount_currency, amount_units, amount_nanos, description) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"};
static const store_stmt stmt_refund_supplier = {
    "cases_refund_supplier",
    "UPDATE case_refunds SET supplier_refund_id = $4, supplier_refund_status = $5 "
    "WHERE shop_id = $1 AND case_id = $2 AND refund_id = $3"};
static const store_stmt stmt_dispute = {
    "cases_dispute_set",
    "UPDATE cases SET supplier_dispute_id = $3, supplier_dispute_status = $4, "
    "update_time = now() WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_return_parcel = {
    "cases_return_parcel",
    "UPDATE cases SET return_carrier = $3, return_tracking_number = $4, return_status = 0, "
    "return_create_time = now() WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_return_polled = {
    "cases_return_polled",
    "UPDATE cases SET return_status = $3, return_checkpoints = COALESCE($4, return_checkpoints), "
    "return_last_poll_time = now(), "
    "return_next_poll_time = now() + $5::int8 * interval '1 millisecond' "
    "WHERE shop_id = $1 AND case_id = $2"};
/* The replacement order: number n, id derived from (case, n). $3..$10 the
 * address (NULL = the original's). */
static const store_stmt stmt_reship_order = {
    "cases_reship_order",
    "WITH k AS (SELECT c.order_id, (SELECT count(*) FROM case_reships r WHERE r.shop_id = $1 "
    " AND r.case_id = $2) + 1 AS n FROM cases c WHERE c.shop_id = $1 AND c.case_id = $2), "
    "ins AS (INSERT INTO orders (shop_id, order_id, external_order_id, state, currency_code, "
    " ship_recipient_name, ship_phone, ship_country_code, ship_region, ship_city, "
    " ship_district, ship_street, ship_postal_code, last_event_seq) "
    " SELECT o.shop_id, md5($2::text || ':reship:' || k.n)::uuid, "
    " left(o.external_order_id, 90) || '-R' || k.n, 1, o.currency_code, "
    " COALESCE($3, o.ship_recipient_name), COALESCE($4, o.ship_phone), "
    " COALESCE($5, o.ship_country_code), COALESCE($6, o.ship_region), "
    " COALESCE($7, o.ship_city), COALESCE($8, o.ship_district), COALESCE($9, o.ship_street), "
    " COALESCE($10, o.ship_postal_code), 1 FROM orders o JOIN k ON o.order_id = k.order_id "
    " WHERE o.shop_id = $1 RETURNING order_id) "
    "SELECT ins.order_id, k.n FROM ins, k"};
static const store_stmt stmt_reship_lines = {
    "cases_reship_lines",
    "INSERT INTO order_lines (shop_id, order_id, line_no, line_id, shop_sku, quantity, "
    "unit_price_units, unit_price_nanos, title) "
    "SELECT $1, $3, row_number() OVER (ORDER BY l.line_no), l.line_id, l.shop_sku, "
    "cl.quantity, 0, 0, l.title FROM case_lines cl JOIN order_lines l "
    "ON l.shop_id = cl.shop_id AND l.order_id = cl.order_id AND l.line_id = cl.line_id "
    "WHERE cl.shop_id = $1 AND cl.case_id = $2"};
static const store_stmt stmt_reship_event = {
    "cases_reship_event",
    "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, from_state, "
    "to_state, details, txid) VALUES ($1, $3, 1, 1, $4, 1, 0, 1, "
    "jsonb_build_object('reship_of_case', $2::text), pg_current_xact_id())"};
static const store_stmt stmt_reship_link = {
    "cases_reship_link",
    "INSERT INTO case_reships (shop_id, case_id, n, reship_order_id) VALUES ($1, $2, $4, $3)"};
static const store_stmt stmt_order_open = {
    "cases_order_open",
    "SELECT EXISTS (SELECT 1 FROM cases WHERE shop_id = $1 AND order_id = $2 "
    "AND state NOT IN (7, 8))"};
/* clang-format on */

ds_status store_case_set_reject(store_conn *tx, const char *shop_id, const char *case_id,
                                const char *reason, ds_error *err)
{
    const char *v[3] = {shop_id, case_id, reason};

    return store_exec(tx, &stmt_reject, 3, v, NULL, err);
}

ds_status store_case_set_resolution(store_conn *tx, const char *shop_id, const char *case_id,
                                    const char *resolution, int32_t root_cause, ds_error *err)
{
    char rc[24];
    const char *v[4] = {shop_id, case_id, resolution, store_param_int64(rc, root_cause)};

    return store_exec(tx, &stmt_resolution, 4, v, NULL, err);
}

ds_status store_case_window(store_conn *tx, const char *shop_id, const char *case_id,
                            ds_arena *a, int32_t *no_reason_days, int64_t *delivered_us,
                            ds_error *err)
{
    const char *v[2] = {shop_id, case_id};
    PGresult *r = NULL;
    bool ok = true;
    ds_status st = store_exec(tx, &stmt_window, 2, v, &r, err);

    *no_reason_days = -1;
    *delivered_us = 0;
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        Dropship__V1__ReturnRules *rules = (void *)store_row_message(
            a, r, 0, 0, &dropship__v1__return_rules__descriptor, &ok);
        *no_reason_days = rules != NULL ? rules->no_reason_return_days : -1;
        *delivered_us = store_row_int64(r, 0, 1, 0);
    }
    PQclear(r);
    if (st == DS_OK && !ok)
        st = ds_error_set(err, DS_ERR_INTERNAL, "stored return rules do not parse");
    return st;
}

ds_status store_case_set_approval(store_conn *tx, const char *shop_id, const char *case_id,
                                  bool return_required, bool *bound, ds_error *err)
{
    const char *v[3] = {shop_id, case_id, return_required ? "true" : "false"};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_approve, 3, v, &r, err);

    *bound = st == DS_OK && PQntuples(r) == 1;
    PQclear(r);
    return st;
}

ds_status store_case_evidence_add(store_conn *tx, const char *shop_id, const char *case_id,
                                  const Dropship__V1__Evidence *e, int32_t actor_kind,
                                  const char *actor_id, ds_error *err)
{
    char kind[24], ak[24];
    const char *v[9] = {shop_id, case_id, store_param_int64(kind, e->kind), e->uri, e->sha256,
                        e->content_type, e->note, store_param_int64(ak, actor_kind), actor_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_evidence_count, 2, v, &r, err);

    if (st == DS_OK && store_row_int64(r, 0, 0, 0) >= STORE_CASE_EVIDENCE_MAX) {
        st = ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED, "case %s has %d pieces of evidence "
                          "already, the most allowed", case_id, STORE_CASE_EVIDENCE_MAX);
        ds_error_reason(err, "EVIDENCE_LIMIT");
    }
    PQclear(r);
    if (st == DS_OK)
        st = store_exec(tx, &stmt_evidence_add, 9, v, NULL, err);
    return st;
}

/* Non-negative units + nanos as decimal text. */
static const char *decimal(char buf[48], const Dropship__V1__Money *m)
{
    snprintf(buf, 48, "%lld.%09d", (long long)m->units, (int)m->nanos);
    return buf;
}

ds_status store_case_refundable_get(store_conn *tx, const char *shop_id, const char *case_id,
                                    const Dropship__V1__Money *amount,
                                    store_case_refundable *out, ds_error *err)
{
    char amt[48];
    const char *v[3] = {shop_id, case_id, decimal(amt, amount)};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_refundable, 3, v, &r, err);

    memset(out, 0, sizeof(*out));
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        snprintf(out->currency, sizeof(out->currency), "%s", PQgetvalue(r, 0, 0));
        snprintf(out->paid, sizeof(out->paid), "%s", PQgetvalue(r, 0, 1));
        snprintf(out->refunded, sizeof(out->refunded), "%s", PQgetvalue(r, 0, 2));
        out->fits = store_row_bool(r, 0, 3);
    }
    PQclear(r);
    return st;
}

static ds_status comp_add(store_conn *tx, const char *shop_id, const char *case_id,
                          const char *refund_id, size_t i, const Dropship__V1__Compensation *c,
                          ds_error *err)
{
    char pos[24], kind[24], units[24], nanos[24];
    const char *v[9] = {shop_id, case_id, refund_id, store_param_int64(pos, (int64_t)i + 1),
                        store_param_int64(kind, c->kind), c->amount->currency_code,
                        store_param_int64(units, c->amount->units),
                        store_param_int64(nanos, c->amount->nanos), c->description};

    return store_exec(tx, &stmt_comp_add, 9, v, NULL, err);
}

ds_status store_case_refund_add(store_conn *tx, const char *shop_id, const char *case_id,
                                const Dropship__V1__Refund *f, int32_t actor_kind,
                                const char *actor_id, char refund_id[37], ds_error *err)
{
    char units[24], nanos[24], payer[24], ak[24];
    const char *v[10] = {shop_id, case_id, f->amount->currency_code,
                         store_param_int64(units, f->amount->units),
                         store_param_int64(nanos, f->amount->nanos),
                         store_param_int64(payer, f->payer), f->reference, f->note,
                         store_param_int64(ak, actor_kind), actor_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_refund_add, 10, v, &r, err);

    refund_id[0] = '\0';
    if (st == DS_OK)
        snprintf(refund_id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    for (size_t i = 0; st == DS_OK && i < f->n_compensations; i++)
        st = comp_add(tx, shop_id, case_id, refund_id, i, f->compensations[i], err);
    return st;
}

ds_status store_case_refund_supplier(store_conn *c, const char *shop_id, const char *case_id,
                                     const char *refund_id, const char *ref, const char *status,
                                     ds_error *err)
{
    const char *v[5] = {shop_id, case_id, refund_id, ref, status};

    return store_exec(c, &stmt_refund_supplier, 5, v, NULL, err);
}

ds_status store_case_dispute_set(store_conn *c, const char *shop_id, const char *case_id,
                                 const char *dispute_id, const char *status, ds_error *err)
{
    const char *v[4] = {shop_id, case_id, dispute_id, status};

    return store_exec(c, &stmt_dispute, 4, v, NULL, err);
}

ds_status store_case_return_parcel(store_conn *tx, const char *shop_id, const char *case_id,
                                   const char *carrier, const char *tracking_number,
                                   ds_error *err)
{
    const char *v[4] = {shop_id, case_id, carrier, tracking_number};

    return store_exec(tx, &stmt_return_parcel, 4, v, NULL, err);
}

ds_status store_case_return_polled(store_conn *tx, const char *shop_id, const char *case_id,
                                   int32_t status, const uint8_t *cps, size_t cps_len,
                                   int64_t next_poll_ms, ds_error *err)
{
    char s[24], next[24];
    ds_arena *a = ds_arena_new(2 * cps_len + 64);
    const char *v[5] = {shop_id, case_id, store_param_int64(s, status),
                        cps != NULL && a != NULL ? store_param_bytea(a, cps, cps_len) : NULL,
                        store_param_int64(next, next_poll_ms)};
    ds_status st = a == NULL ? ds_error_set(err, DS_ERR_NOMEM, "out of memory")
                             : store_exec(tx, &stmt_return_polled, 5, v, NULL, err);

    ds_arena_free(a);
    return st;
}

/* Address parameters $3..$10 (all NULL for no address). */
static void address_params(const Dropship__V1__Address *ad, const char *v[11])
{
    if (ad == NULL)
        return;
    v[2] = ad->recipient_name;
    v[3] = ad->phone;
    v[4] = ad->country_code;
    v[5] = ad->region;
    v[6] = ad->city;
    v[7] = ad->district;
    v[8] = ad->street;
    v[9] = ad->postal_code;
}

ds_status store_case_reship(store_conn *tx, const char *shop_id, const char *case_id,
                            const Dropship__V1__Address *address, const char *actor_id,
                            char order_id[37], ds_error *err)
{
    const char *v[11] = {shop_id, case_id};
    char n[24] = "";
    PGresult *r = NULL;
    ds_status st;

    address_params(address, v);
    st = store_exec(tx, &stmt_reship_order, 10, v, &r, err);
    order_id[0] = '\0';
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        snprintf(order_id, 37, "%s", PQgetvalue(r, 0, 0));
        snprintf(n, sizeof(n), "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    const char *w[4] = {shop_id, case_id, order_id, n};
    if (st == DS_OK)
        st = store_exec(tx, &stmt_reship_lines, 3, w, NULL, err);
    w[3] = actor_id;
    if (st == DS_OK)
        st = store_exec(tx, &stmt_reship_event, 4, w, NULL, err);
    if (st == DS_OK)
        st = store_notify(tx, STORE_EVENTS_CHANNEL, shop_id, err);
    w[3] = n;
    if (st == DS_OK)
        st = store_exec(tx, &stmt_reship_link, 4, w, NULL, err);
    return st;
}

ds_status store_case_order_open(store_conn *c, const char *shop_id, const char *order_id,
                                bool *open, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_order_open, 2, v, &r, err);

    *open = st == DS_OK && store_row_bool(r, 0, 0);
    PQclear(r);
    return st;
}
