/* store_case_disputes.c - SQL of the supplier side of after-sales cases. */
#include "store_case_disputes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_row.h"

/* clang-format off */
static const store_stmt stmt_case = {
    "cd_case",
    "SELECT c.order_id, c.supplier_id, c.type, c.state, c.description, "
    "so.supplier_order_ref, c.supplier_dispute_id, c.supplier_dispute_status "
    "FROM cases c JOIN supplier_orders so ON so.shop_id = c.shop_id "
    "AND so.order_id = c.order_id AND so.supplier_id = c.supplier_id "
    "WHERE c.shop_id = $1 AND c.case_id = $2"};
static const store_stmt stmt_lines = {
    "cd_lines",
    "SELECT sl.supplier_sku, cl.quantity FROM case_lines cl JOIN cases c "
    "ON c.shop_id = cl.shop_id AND c.case_id = cl.case_id JOIN supplier_order_lines sl "
    "ON sl.shop_id = cl.shop_id AND sl.order_id = cl.order_id AND sl.supplier_id = c.supplier_id "
    "AND sl.line_id = cl.line_id WHERE cl.shop_id = $1 AND cl.case_id = $2 "
    "ORDER BY cl.line_id LIMIT 100"};
static const store_stmt stmt_evidence = {
    "cd_evidence",
    "SELECT uri, sha256 FROM case_evidence WHERE shop_id = $1 AND case_id = $2 "
    "ORDER BY create_time, evidence_id LIMIT 100"};
static const store_stmt stmt_put = {
    "cd_put",
    "UPDATE cases SET supplier_dispute_id = $3, supplier_dispute_status = $4, "
    "supplier_dispute_message = $5, supplier_dispute_refund_currency = $6, "
    "supplier_dispute_refund_units = $7::int8, supplier_dispute_refund_nanos = $8::int4, "
    "supplier_dispute_refund_id = $9, supplier_dispute_update_time = now(), "
    "update_time = now() WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_refund = {
    "cd_refund",
    "SELECT r.payer, r.amount_currency, r.amount_units, r.amount_nanos, "
    "r.supplier_refund_id, r.supplier_refund_status, c.supplier_id, so.supplier_order_ref, "
    "COALESCE(so.proof_currency, so.cost_currency, ''), "
    "COALESCE(so.proof_units, so.cost_units, 0), COALESCE(so.proof_nanos, so.cost_nanos, 0) "
    "FROM case_refunds r JOIN cases c ON c.shop_id = r.shop_id AND c.case_id = r.case_id "
    "JOIN supplier_orders so ON so.shop_id = c.shop_id AND so.order_id = c.order_id "
    "AND so.supplier_id = c.supplier_id "
    "WHERE r.shop_id = $1 AND r.case_id = $2 AND r.refund_id = $3"};
static const store_stmt stmt_fill_case = {
    "cd_fill_case",
    "SELECT supplier_dispute_id, supplier_dispute_status, supplier_dispute_message, "
    "supplier_dispute_refund_currency, supplier_dispute_refund_units, "
    "supplier_dispute_refund_nanos, supplier_dispute_refund_id, "
    "(extract(epoch FROM supplier_dispute_update_time) * 1000000)::int8 "
    "FROM cases WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_fill_refunds = {
    "cd_fill_refunds",
    "SELECT refund_id, supplier_refund_id, supplier_refund_status FROM case_refunds "
    "WHERE shop_id = $1 AND case_id = $2 AND payer = 1"};
/* clang-format on */

static void copy(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

static ds_status two(store_conn *c, const store_stmt *s, const char *shop_id,
                     const char *case_id, PGresult **r, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};

    return store_exec(c, s, 2, v, r, err);
}

static ds_status read_lines(store_conn *c, const char *shop_id, const char *case_id,
                            store_cd_case *out, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = two(c, &stmt_lines, shop_id, case_id, &r, err);

    for (int i = 0; st == DS_OK && i < PQntuples(r) && i < STORE_CD_LINES_MAX; i++) {
        copy(out->lines[i].sku, sizeof(out->lines[i].sku), r, i, 0);
        out->lines[i].quantity = store_row_int32(r, i, 1, 0);
        out->n_lines = (size_t)i + 1;
    }
    PQclear(r);
    return st;
}

static ds_status read_evidence(store_conn *c, const char *shop_id, const char *case_id,
                               store_cd_case *out, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = two(c, &stmt_evidence, shop_id, case_id, &r, err);

    for (int i = 0; st == DS_OK && i < PQntuples(r) && i < STORE_CD_EVIDENCE_MAX; i++) {
        copy(out->evidence[i].uri, sizeof(out->evidence[i].uri), r, i, 0);
        copy(out->evidence[i].sha256, sizeof(out->evidence[i].sha256), r, i, 1);
        out->n_evidence = (size_t)i + 1;
    }
    PQclear(r);
    return st;
}

ds_status store_cd_case_get(store_conn *c, const char *shop_id, const char *case_id,
                            store_cd_case *out, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = two(c, &stmt_case, shop_id, case_id, &r, err);

    memset(out, 0, sizeof(*out));
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        copy(out->order_id, sizeof(out->order_id), r, 0, 0);
        copy(out->supplier_id, sizeof(out->supplier_id), r, 0, 1);
        out->type = store_row_int32(r, 0, 2, 0);
        out->state = store_row_int32(r, 0, 3, 0);
        copy(out->description, sizeof(out->description), r, 0, 4);
        copy(out->supplier_order_ref, sizeof(out->supplier_order_ref), r, 0, 5);
        copy(out->dispute_id, sizeof(out->dispute_id), r, 0, 6);
        copy(out->dispute_status, sizeof(out->dispute_status), r, 0, 7);
    }
    PQclear(r);
    if (st == DS_OK)
        st = read_lines(c, shop_id, case_id, out, err);
    if (st == DS_OK)
        st = read_evidence(c, shop_id, case_id, out, err);
    return st;
}

ds_status store_cd_dispute_put(store_conn *tx, const char *shop_id, const char *case_id,
                               const store_cd_update *u, ds_error *err)
{
    char units[24], nanos[24];
    const char *v[9] = {shop_id, case_id, u->dispute_id, u->status,
                        u->message != NULL ? u->message : "", u->refund.currency,
                        store_param_int64(units, u->refund.units),
                        store_param_int64(nanos, u->refund.nanos),
                        u->refund_id != NULL ? u->refund_id : ""};

    return store_exec(tx, &stmt_put, 9, v, NULL, err);
}

static void money_of(store_cd_money *m, const PGresult *r, int row, int col)
{
    copy(m->currency, sizeof(m->currency), r, row, col);
    m->units = store_row_int64(r, row, col + 1, 0);
    m->nanos = store_row_int32(r, row, col + 2, 0);
}

ds_status store_cd_refund_get(store_conn *c, const char *shop_id, const char *case_id,
                              const char *refund_id, store_cd_refund *out, ds_error *err)
{
    const char *v[3] = {shop_id, case_id, refund_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_refund, 3, v, &r, err);

    memset(out, 0, sizeof(*out));
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "refund %s of case %s not found", refund_id,
                          case_id);
    if (st == DS_OK) {
        out->payer = store_row_int32(r, 0, 0, 0);
        money_of(&out->amount, r, 0, 1);
        copy(out->supplier_refund_id, sizeof(out->supplier_refund_id), r, 0, 4);
        copy(out->supplier_refund_status, sizeof(out->supplier_refund_status), r, 0, 5);
        copy(out->supplier_id, sizeof(out->supplier_id), r, 0, 6);
        copy(out->supplier_order_ref, sizeof(out->supplier_order_ref), r, 0, 7);
        money_of(&out->paid, r, 0, 8);
    }
    PQclear(r);
    return st;
}

/* The SupplierDispute message of a fill_case row; NULL when none. */
static Dropship__V1__SupplierDispute *dispute_of(ds_arena *a, const PGresult *r)
{
    Dropship__V1__SupplierDispute *d;

    if (PQgetvalue(r, 0, 1)[0] == '\0')
        return NULL;
    d = ds_arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    dropship__v1__supplier_dispute__init(d);
    d->dispute_id = store_row_strdup(a, r, 0, 0);
    d->status = store_row_strdup(a, r, 0, 1);
    d->message = store_row_strdup(a, r, 0, 2);
    d->refund_transaction_id = store_row_strdup(a, r, 0, 6);
    d->update_time = store_row_timestamp(a, r, 0, 7);
    if (PQgetvalue(r, 0, 3)[0] != '\0') {
        d->refund_amount = ds_arena_alloc(a, sizeof(*d->refund_amount));
        if (d->refund_amount == NULL)
            return NULL;
        dropship__v1__money__init(d->refund_amount);
        d->refund_amount->currency_code = store_row_strdup(a, r, 0, 3);
        d->refund_amount->units = store_row_int64(r, 0, 4, 0);
        d->refund_amount->nanos = store_row_int32(r, 0, 5, 0);
    }
    return d;
}

static void attach_refunds(ds_arena *a, const PGresult *r, Dropship__V1__Case *k)
{
    for (int i = 0; i < PQntuples(r); i++)
        for (size_t j = 0; j < k->n_refunds; j++)
            if (strcmp(k->refunds[j]->id, PQgetvalue(r, i, 0)) == 0) {
                k->refunds[j]->supplier_refund_id = store_row_strdup(a, r, i, 1);
                k->refunds[j]->supplier_refund_status = store_row_strdup(a, r, i, 2);
            }
}

ds_status store_cd_fill(store_conn *c, const char *shop_id, Dropship__V1__Case *k, ds_arena *a,
                        ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = two(c, &stmt_fill_case, shop_id, k->id, &r, err);

    if (st == DS_OK && PQntuples(r) == 1)
        k->supplier_dispute = dispute_of(a, r);
    PQclear(r);
    r = NULL;
    if (st == DS_OK && k->n_refunds > 0)
        st = two(c, &stmt_fill_refunds, shop_id, k->id, &r, err);
    if (st == DS_OK && r != NULL)
        attach_refunds(a, r, k);
    PQclear(r);
    return st;
}
