/* store_cases.c - after-sales cases: open, read, list, history, request ids. */
#include "store_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_case_disputes.h"
#include "store_events.h"
#include "store_row.h"

/* clang-format off */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"
#define TS(param) "(timestamptz 'epoch' + " param "::int8 * interval '1 microsecond')"

#define CASE_COLS                                                                              \
    "case_id, order_id, supplier_id, type, state, description, carrier, tracking_number, "     \
    "return_required, return_address, return_rules, return_carrier, return_tracking_number, "  \
    "return_status, return_checkpoints, " US("return_last_poll_time") ", "                     \
    US("return_next_poll_time") ", " US("return_create_time") ", reject_reason, resolution, "  \
    "root_cause, opened_by_kind, opened_by_id, " US("create_time") ", " US("update_time")     \
    ", " US("close_time") ", version"

enum {
    K_ID, K_ORDER, K_SUPPLIER, K_TYPE, K_STATE, K_DESC, K_CARRIER, K_NUMBER, K_RREQ, K_RADDR,
    K_RRULES, K_RCARRIER, K_RNUMBER, K_RSTATUS, K_RCPS, K_RLAST, K_RNEXT, K_RCREATE, K_REJECT,
    K_RESOLUTION, K_ROOT, K_BYKIND, K_BYID, K_CREATE, K_UPDATE, K_CLOSE, K_VERSION
};

static const store_stmt stmt_get = {
    "cases_get", "SELECT " CASE_COLS " FROM cases WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_lines = {
    "cases_lines",
    "SELECT cl.line_id, cl.quantity FROM case_lines cl JOIN order_lines l "
    "ON l.shop_id = cl.shop_id AND l.order_id = cl.order_id AND l.line_id = cl.line_id "
    "WHERE cl.shop_id = $1 AND cl.case_id = $2 ORDER BY l.line_no"};
static const store_stmt stmt_evidence = {
    "cases_evidence",
    "SELECT evidence_id, kind, uri, sha256, content_type, note, actor_kind, actor_id, "
    US("create_time") " FROM case_evidence WHERE shop_id = $1 AND case_id = $2 "
    "ORDER BY create_time, evidence_id"};
static const store_stmt stmt_refunds = {
    "cases_refunds",
    "SELECT refund_id, amount_currency, amount_units, amount_nanos, payer, reference, note, "
    "actor_kind, actor_id, " US("create_time") " FROM case_refunds "
    "WHERE shop_id = $1 AND case_id = $2 ORDER BY create_time, refund_id"};
static const store_stmt stmt_comps = {
    "cases_compensations",
    "SELECT refund_id, kind, amount_currency, amount_units, amount_nanos, description "
    "FROM case_compensations WHERE shop_id = $1 AND case_id = $2 ORDER BY refund_id, position"};
static const store_stmt stmt_reships = {
    "cases_reships",
    "SELECT reship_order_id FROM case_reships WHERE shop_id = $1 AND case_id = $2 ORDER BY n"};

/* Parcels of an order to escalate (wf_case_escalate.h): not delivered, and
 * EXCEPTION (8) / EXPIRED (9) / RETURNING_TO_SENDER (10) or unchanged for
 * $3 ms, with no automatic case yet; with the lines of their supplier
 * order as "id id" / "qty qty". */
static const store_stmt stmt_stuck = {
    "cases_stuck_parcels",
    "SELECT p.supplier_id, p.carrier, p.tracking_number, p.status, p.checkpoints, "
    "(extract(epoch FROM now() - p.last_change_time) * 1000)::int8, "
    "(SELECT string_agg(sol.line_id, ' ' ORDER BY ol.line_no) FROM supplier_order_lines sol "
    " JOIN order_lines ol ON ol.shop_id = sol.shop_id AND ol.order_id = sol.order_id "
    " AND ol.line_id = sol.line_id WHERE sol.shop_id = p.shop_id AND sol.order_id = p.order_id "
    " AND sol.supplier_id = p.supplier_id), "
    "(SELECT string_agg(sol.quantity::text, ' ' ORDER BY ol.line_no) FROM supplier_order_lines sol "
    " JOIN order_lines ol ON ol.shop_id = sol.shop_id AND ol.order_id = sol.order_id "
    " AND ol.line_id = sol.line_id WHERE sol.shop_id = p.shop_id AND sol.order_id = p.order_id "
    " AND sol.supplier_id = p.supplier_id) "
    "FROM parcels p WHERE p.shop_id = $1 AND p.order_id = $2 AND p.status <> 7 "
    "AND (p.status IN (8, 9, 10) OR p.last_change_time < now() - $3::int8 * interval '1 millisecond') "
    "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.shop_id = p.shop_id AND c.order_id = p.order_id "
    " AND c.auto_opened AND c.carrier = p.carrier AND c.tracking_number = p.tracking_number) "
    "ORDER BY p.create_time, p.carrier, p.tracking_number LIMIT $4"};

static const store_stmt stmt_order_lines = {
    "cases_order_lines",
    "SELECT l.line_id, l.quantity, "
    "COALESCE((SELECT sum(cl.quantity) FROM case_lines cl JOIN cases c "
    "ON c.shop_id = cl.shop_id AND c.case_id = cl.case_id "
    "WHERE cl.shop_id = l.shop_id AND cl.order_id = l.order_id AND cl.line_id = l.line_id "
    "AND c.state NOT IN (7, 8)), 0), "
    "COALESCE(sol.supplier_id::text, ''), COALESCE(so.state, 0) "
    "FROM order_lines l LEFT JOIN supplier_order_lines sol "
    "ON sol.shop_id = l.shop_id AND sol.order_id = l.order_id AND sol.line_id = l.line_id "
    "LEFT JOIN supplier_orders so ON so.shop_id = sol.shop_id AND so.order_id = sol.order_id "
    "AND so.supplier_id = sol.supplier_id "
    "WHERE l.shop_id = $1 AND l.order_id = $2 ORDER BY l.line_no"};

static const store_stmt stmt_insert = {
    "cases_insert",
    "INSERT INTO cases (shop_id, order_id, supplier_id, type, state, description, carrier, "
    "tracking_number, opened_by_kind, opened_by_id, auto_opened) "
    "VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (shop_id, order_id, carrier, tracking_number) WHERE auto_opened DO NOTHING "
    "RETURNING case_id"};
static const store_stmt stmt_insert_lines = {
    "cases_insert_lines",
    "INSERT INTO case_lines (shop_id, case_id, order_id, line_id, quantity) "
    "SELECT $1, $2, $3, l.id, l.qty FROM unnest(string_to_array($4, ' '), "
    "string_to_array($5, ' ')::int4[]) AS l(id, qty)"};

static const store_stmt stmt_req_find = {
    "cases_request_find",
    "SELECT request_hash, case_id, result_ref FROM case_requests "
    "WHERE shop_id = $1 AND method = $2 AND request_id = $3"};
static const store_stmt stmt_req_put = {
    "cases_request_put",
    "INSERT INTO case_requests (shop_id, method, request_id, request_hash, case_id, result_ref) "
    "VALUES ($1, $2, $3, $4, $5, $6)"};

/* $1 shop, $2 order, $3 supplier, $4 states, $5 types, $6/$7 range, $8/$9
 * keyset position, $10 limit. */
static const store_stmt stmt_list = {
    "cases_list",
    "SELECT " CASE_COLS " FROM cases WHERE shop_id = $1 "
    "AND ($2::uuid IS NULL OR order_id = $2) AND ($3::uuid IS NULL OR supplier_id = $3) "
    "AND ($4::int2[] IS NULL OR state = ANY($4)) AND ($5::int2[] IS NULL OR type = ANY($5)) "
    "AND create_time >= COALESCE(" TS("$6") ", '-infinity') "
    "AND create_time < COALESCE(" TS("$7") ", 'infinity') "
    "AND (create_time, case_id) < (COALESCE(" TS("$8") ", 'infinity'), "
    "COALESCE($9::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) "
    "ORDER BY create_time DESC, case_id DESC LIMIT $10"};

static const store_stmt stmt_history = {
    "cases_history",
    "SELECT " STORE_EVENT_COLUMNS ", e.txid::text, e.event_id FROM order_events e "
    "WHERE e.shop_id = $1 AND e.case_id = $2 AND e.seq > $3 "
    "AND e.order_id = (SELECT order_id FROM cases WHERE shop_id = $1 AND case_id = $2) "
    "ORDER BY e.seq LIMIT $4"};
static const store_stmt stmt_exists = {
    "cases_exists", "SELECT 1 FROM cases WHERE shop_id = $1 AND case_id = $2"};
/* clang-format on */

/* ---- lines and insert ---- */

ds_status store_case_order_lines(store_conn *c, const char *shop_id, const char *order_id,
                                 store_case_line *out, size_t cap, size_t *n, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_order_lines, 2, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && *n < cap; i++) {
        store_case_line *l = &out[(*n)++];
        snprintf(l->line_id, sizeof(l->line_id), "%s", PQgetvalue(r, i, 0));
        l->quantity = store_row_int32(r, i, 1, 0);
        l->claimed = store_row_int32(r, i, 2, 0);
        snprintf(l->supplier_id, sizeof(l->supplier_id), "%s", PQgetvalue(r, i, 3));
        l->so_state = store_row_int32(r, i, 4, 0);
    }
    PQclear(r);
    return st;
}

ds_status store_case_insert(store_conn *tx, const store_case_new *in, char case_id[37],
                            ds_error *err)
{
    char type[24], kind[24];
    const char *v[10] = {in->shop_id, in->order_id, in->supplier_id,
                         store_param_int64(type, in->type), in->description,
                         in->carrier != NULL ? in->carrier : "",
                         in->tracking_number != NULL ? in->tracking_number : "",
                         store_param_int64(kind, in->actor_kind),
                         in->actor_id != NULL ? in->actor_id : "",
                         in->auto_opened ? "true" : "false"};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_insert, 10, v, &r, err);

    case_id[0] = '\0';
    if (st == DS_OK && PQntuples(r) == 1)
        snprintf(case_id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (st != DS_OK || case_id[0] == '\0')
        return st;
    const char *lv[5] = {in->shop_id, case_id, in->order_id, in->line_ids, in->quantities};
    return store_exec(tx, &stmt_insert_lines, 5, lv, NULL, err);
}

/* ---- request ids ---- */

ds_status store_case_request_find(store_conn *tx, const char *shop_id, const char *method,
                                  const char *request_id, const char *hash, bool *found,
                                  char case_id[37], char result[STORE_CASE_RESULT_MAX + 1],
                                  ds_error *err)
{
    const char *v[3] = {shop_id, method, request_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_req_find, 3, v, &r, err);

    *found = false;
    if (st == DS_OK && PQntuples(r) == 1) {
        if (strcmp(PQgetvalue(r, 0, 0), hash) != 0) {
            st = ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                              "request_id %s was already used with a different request",
                              request_id);
            ds_error_reason(err, "REQUEST_ID_REUSED");
        } else {
            *found = true;
            snprintf(case_id, 37, "%s", PQgetvalue(r, 0, 1));
            snprintf(result, STORE_CASE_RESULT_MAX + 1, "%s", PQgetvalue(r, 0, 2));
        }
    }
    PQclear(r);
    return st;
}

ds_status store_case_request_put(store_conn *tx, const char *shop_id, const char *method,
                                 const char *request_id, const char *hash, const char *case_id,
                                 const char *result, ds_error *err)
{
    const char *v[6] = {shop_id, method, request_id, hash, case_id, result != NULL ? result : ""};

    return store_exec(tx, &stmt_req_put, 6, v, NULL, err);
}

/* ---- reading a case ---- */

static Dropship__V1__Actor *actor(ds_arena *a, const PGresult *r, int row, int col)
{
    Dropship__V1__Actor *x = ds_arena_alloc(a, sizeof(*x));

    if (x == NULL)
        return NULL;
    dropship__v1__actor__init(x);
    x->kind = store_row_int32(r, row, col, 0);
    x->id = store_row_strdup(a, r, row, col + 1);
    return x;
}

static Dropship__V1__Money *money(ds_arena *a, const PGresult *r, int row, int col)
{
    Dropship__V1__Money *m = ds_arena_alloc(a, sizeof(*m));

    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = store_row_strdup(a, r, row, col);
    m->units = store_row_int64(r, row, col + 1, 0);
    m->nanos = store_row_int32(r, row, col + 2, 0);
    return m;
}

/* Return parcel columns into a Parcel; NULL when none recorded. */
static Dropship__V1__Parcel *return_parcel(ds_arena *a, const PGresult *r, int i, bool *ok)
{
    Dropship__V1__Parcel *p, *cps;

    if (PQgetvalue(r, i, K_RCARRIER)[0] == '\0')
        return NULL;
    p = ds_arena_alloc(a, sizeof(*p));
    if (p == NULL) {
        *ok = false;
        return NULL;
    }
    dropship__v1__parcel__init(p);
    p->carrier = store_row_strdup(a, r, i, K_RCARRIER);
    p->tracking_number = store_row_strdup(a, r, i, K_RNUMBER);
    p->status = store_row_int32(r, i, K_RSTATUS, 0);
    p->last_poll_time = store_row_timestamp(a, r, i, K_RLAST);
    p->next_poll_time = store_row_timestamp(a, r, i, K_RNEXT);
    p->create_time = store_row_timestamp(a, r, i, K_RCREATE);
    cps = (void *)store_row_message(a, r, i, K_RCPS, &dropship__v1__parcel__descriptor, ok);
    if (cps != NULL) {
        p->n_checkpoints = cps->n_checkpoints;
        p->checkpoints = cps->checkpoints;
    }
    return p;
}

static ds_status read_main(const PGresult *r, int i, ds_arena *a, store_case_row *out,
                           ds_error *err)
{
    Dropship__V1__Case *c = ds_arena_alloc(a, sizeof(*c));
    bool ok = true;

    if (c == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    dropship__v1__case__init(c);
    c->id = store_row_strdup(a, r, i, K_ID);
    c->order_id = store_row_strdup(a, r, i, K_ORDER);
    c->supplier_id = store_row_strdup(a, r, i, K_SUPPLIER);
    c->type = store_row_int32(r, i, K_TYPE, 0);
    c->state = store_row_int32(r, i, K_STATE, 0);
    c->description = store_row_strdup(a, r, i, K_DESC);
    c->carrier = store_row_strdup(a, r, i, K_CARRIER);
    c->tracking_number = store_row_strdup(a, r, i, K_NUMBER);
    c->return_required = store_row_bool(r, i, K_RREQ);
    c->return_address =
        (void *)store_row_message(a, r, i, K_RADDR, &dropship__v1__address__descriptor, &ok);
    c->return_rules =
        (void *)store_row_message(a, r, i, K_RRULES, &dropship__v1__return_rules__descriptor, &ok);
    c->return_parcel = return_parcel(a, r, i, &ok);
    c->reject_reason = store_row_strdup(a, r, i, K_REJECT);
    c->resolution = store_row_strdup(a, r, i, K_RESOLUTION);
    c->root_cause = store_row_int32(r, i, K_ROOT, 0);
    c->opened_by = actor(a, r, i, K_BYKIND);
    c->create_time = store_row_timestamp(a, r, i, K_CREATE);
    c->update_time = store_row_timestamp(a, r, i, K_UPDATE);
    c->close_time = store_row_timestamp(a, r, i, K_CLOSE);
    out->msg = c;
    out->version = store_row_int64(r, i, K_VERSION, 0);
    out->create_us = store_row_int64(r, i, K_CREATE, 0);
    if (!ok || c->id == NULL || c->opened_by == NULL || c->create_time == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading a case");
    return DS_OK;
}

/* Run a per-case sub-read; *r owns the result. */
static ds_status sub(store_conn *c, const store_stmt *s, const char *shop_id, const char *case_id,
                     PGresult **r, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};

    return store_exec(c, s, 2, v, r, err);
}

static ds_status read_lines(store_conn *c, const char *shop_id, Dropship__V1__Case *k,
                            ds_arena *a, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = sub(c, &stmt_lines, shop_id, k->id, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    k->lines = ds_arena_alloc(a, sizeof(*k->lines) * ((size_t)n + 1));
    for (int i = 0; st == DS_OK && k->lines != NULL && i < n; i++) {
        Dropship__V1__LineQuantity *l = ds_arena_alloc(a, sizeof(*l));
        if (l == NULL)
            break;
        dropship__v1__line_quantity__init(l);
        l->line_id = store_row_strdup(a, r, i, 0);
        l->quantity = store_row_int32(r, i, 1, 0);
        k->lines[k->n_lines++] = l;
    }
    PQclear(r);
    if (st == DS_OK && (int)k->n_lines != n)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    return st;
}

static ds_status read_evidence(store_conn *c, const char *shop_id, Dropship__V1__Case *k,
                               ds_arena *a, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = sub(c, &stmt_evidence, shop_id, k->id, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    k->evidence = ds_arena_alloc(a, sizeof(*k->evidence) * ((size_t)n + 1));
    for (int i = 0; st == DS_OK && k->evidence != NULL && i < n; i++) {
        Dropship__V1__Evidence *e = ds_arena_alloc(a, sizeof(*e));
        if (e == NULL)
            break;
        dropship__v1__evidence__init(e);
        e->id = store_row_strdup(a, r, i, 0);
        e->kind = store_row_int32(r, i, 1, 0);
        e->uri = store_row_strdup(a, r, i, 2);
        e->sha256 = store_row_strdup(a, r, i, 3);
        e->content_type = store_row_strdup(a, r, i, 4);
        e->note = store_row_strdup(a, r, i, 5);
        e->added_by = actor(a, r, i, 6);
        e->create_time = store_row_timestamp(a, r, i, 8);
        k->evidence[k->n_evidence++] = e;
    }
    PQclear(r);
    if (st == DS_OK && (int)k->n_evidence != n)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    return st;
}

static Dropship__V1__Refund *refund_of(ds_arena *a, const PGresult *r, int i)
{
    Dropship__V1__Refund *x = ds_arena_alloc(a, sizeof(*x));

    if (x == NULL)
        return NULL;
    dropship__v1__refund__init(x);
    x->id = store_row_strdup(a, r, i, 0);
    x->amount = money(a, r, i, 1);
    x->payer = store_row_int32(r, i, 4, 0);
    x->reference = store_row_strdup(a, r, i, 5);
    x->note = store_row_strdup(a, r, i, 6);
    x->recorded_by = actor(a, r, i, 7);
    x->create_time = store_row_timestamp(a, r, i, 9);
    x->compensations = ds_arena_alloc(a, sizeof(*x->compensations) * 11);
    return x->compensations != NULL ? x : NULL;
}

/* Attach compensation rows to their refunds (at most 10 each). */
static void attach_comps(ds_arena *a, const PGresult *r, Dropship__V1__Case *k)
{
    for (int i = 0; i < PQntuples(r); i++) {
        for (size_t j = 0; j < k->n_refunds; j++) {
            Dropship__V1__Refund *f = k->refunds[j];
            if (strcmp(f->id, PQgetvalue(r, i, 0)) != 0 || f->n_compensations >= 10)
                continue;
            Dropship__V1__Compensation *c = ds_arena_alloc(a, sizeof(*c));
            if (c == NULL)
                return;
            dropship__v1__compensation__init(c);
            c->kind = store_row_int32(r, i, 1, 0);
            c->amount = money(a, r, i, 2);
            c->description = store_row_strdup(a, r, i, 5);
            f->compensations[f->n_compensations++] = c;
        }
    }
}

static ds_status read_refunds(store_conn *c, const char *shop_id, Dropship__V1__Case *k,
                              ds_arena *a, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = sub(c, &stmt_refunds, shop_id, k->id, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    k->refunds = ds_arena_alloc(a, sizeof(*k->refunds) * ((size_t)n + 1));
    for (int i = 0; st == DS_OK && k->refunds != NULL && i < n; i++) {
        Dropship__V1__Refund *x = refund_of(a, r, i);
        if (x == NULL)
            break;
        k->refunds[k->n_refunds++] = x;
    }
    PQclear(r);
    if (st == DS_OK && (int)k->n_refunds != n)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (st == DS_OK && n > 0)
        st = sub(c, &stmt_comps, shop_id, k->id, &r, err);
    if (st == DS_OK && n > 0) {
        attach_comps(a, r, k);
        PQclear(r);
    }
    return st;
}

static ds_status read_reships(store_conn *c, const char *shop_id, Dropship__V1__Case *k,
                              ds_arena *a, ds_error *err)
{
    PGresult *r = NULL;
    ds_status st = sub(c, &stmt_reships, shop_id, k->id, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    k->reship_order_ids = ds_arena_alloc(a, sizeof(char *) * ((size_t)n + 1));
    for (int i = 0; st == DS_OK && k->reship_order_ids != NULL && i < n; i++)
        k->reship_order_ids[k->n_reship_order_ids++] = store_row_strdup(a, r, i, 0);
    PQclear(r);
    if (st == DS_OK && k->reship_order_ids == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    return st;
}

/* Everything besides the main row. */
static ds_status read_parts(store_conn *c, const char *shop_id, Dropship__V1__Case *k,
                            ds_arena *a, ds_error *err)
{
    ds_status st = read_lines(c, shop_id, k, a, err);

    if (st == DS_OK)
        st = read_evidence(c, shop_id, k, a, err);
    if (st == DS_OK)
        st = read_refunds(c, shop_id, k, a, err);
    if (st == DS_OK)
        st = read_reships(c, shop_id, k, a, err);
    return st;
}

ds_status store_case_get(store_conn *c, const char *shop_id, const char *case_id, ds_arena *a,
                         store_case_row *out, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_get, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK)
        st = read_main(r, 0, a, out, err);
    PQclear(r);
    if (st == DS_OK)
        st = read_parts(c, shop_id, out->msg, a, err);
    return st;
}

ds_status store_case_get_pool(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              const char *case_id, ds_arena *a, store_case_row *out,
                              ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    /* one snapshot for the row, its parts and its supplier dispute: a step
     * that writes them together is seen whole or not at all */
    if (st == DS_OK)
        st = store_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (st == DS_OK)
        st = store_case_get(c, shop_id, case_id, a, out, err);
    if (st == DS_OK)
        st = store_cd_fill(c, shop_id, out->msg, a, err);
    if (c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}

/* ---- list ---- */

/* "{1,2}" in the arena, NULL for no values. */
static const char *int_array(ds_arena *a, const int32_t *v, size_t n)
{
    char *s;
    size_t k = 0, cap = n * 12 + 3;

    if (n == 0)
        return NULL;
    s = ds_arena_alloc(a, cap);
    if (s == NULL)
        return NULL;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%d", i > 0 ? "," : "", (int)v[i]);
    snprintf(s + k, cap - k, "}");
    return s;
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Read list row i plus its parts and its supplier dispute, as GetCase. */
static ds_status list_row(store_conn *c, const char *shop_id, const PGresult *r, int i,
                          ds_arena *a, store_case_row *out, ds_error *err)
{
    ds_status st = read_main(r, i, a, out, err);

    if (st == DS_OK)
        st = read_parts(c, shop_id, out->msg, a, err);
    if (st == DS_OK)
        st = store_cd_fill(c, shop_id, out->msg, a, err);
    return st;
}

static ds_status list_on(store_conn *c, const char *shop_id, const store_case_filter *f,
                         int64_t after_us, const char *after_id, int limit, ds_arena *a,
                         store_case_row **out, size_t *n_out, bool *more, ds_error *err)
{
    char start[24], end[24], after[24], lim[24];
    const char *v[10] = {shop_id, nonempty(f->order_id), nonempty(f->supplier_id),
                         int_array(a, f->states, f->n_states), int_array(a, f->types, f->n_types),
                         f->has_start ? store_param_int64(start, f->start_us) : NULL,
                         f->has_end ? store_param_int64(end, f->end_us) : NULL,
                         after_id != NULL ? store_param_int64(after, after_us) : NULL, after_id,
                         store_param_int64(lim, (int64_t)limit + 1)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_list, 10, v, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;

    *more = n > limit;
    if (n > limit)
        n = limit;
    *out = ds_arena_alloc(a, sizeof(**out) * ((size_t)n + 1));
    if (st == DS_OK && *out == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (int i = 0; st == DS_OK && i < n; i++)
        st = list_row(c, shop_id, r, i, a, &(*out)[i], err);
    *n_out = st == DS_OK ? (size_t)n : 0;
    PQclear(r);
    return st;
}

ds_status store_case_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                          const store_case_filter *f, int64_t after_us, const char *after_id,
                          int limit, ds_arena *a, store_case_row **out, size_t *n_out, bool *more,
                          ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    *n_out = 0;
    *more = false;
    /* one snapshot for the page and its parts */
    if (st == DS_OK)
        st = store_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (st == DS_OK)
        st = list_on(c, shop_id, f, after_us, after_id, limit, a, out, n_out, more, err);
    if (c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}

/* ---- history ---- */

static ds_status history_on(store_conn *c, const char *shop_id, const char *case_id,
                            int64_t after_seq, int limit, ds_arena *a, store_event_row **out,
                            size_t *n_out, bool *more, ds_error *err)
{
    char seq[24], lim[24];
    const char *v[4] = {shop_id, case_id, store_param_int64(seq, after_seq),
                        store_param_int64(lim, (int64_t)limit + 1)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_exists, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    PQclear(r);
    r = NULL;
    if (st == DS_OK)
        st = store_exec(c, &stmt_history, 4, v, &r, err);
    int n = st == DS_OK ? PQntuples(r) : 0;
    *more = n > limit;
    if (n > limit)
        n = limit;
    *out = ds_arena_alloc(a, sizeof(**out) * ((size_t)n + 1));
    if (st == DS_OK && *out == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (int i = 0; st == DS_OK && i < n; i++) {
        (*out)[i].msg = store_events_message(a, r, i);
        (*out)[i].pos = store_events_row_pos(r, i);
        if ((*out)[i].msg == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    *n_out = st == DS_OK ? (size_t)n : 0;
    PQclear(r);
    return st;
}

ds_status store_case_history(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *case_id, int64_t after_seq, int limit, ds_arena *a,
                             store_event_row **out, size_t *n_out, bool *more, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    *n_out = 0;
    *more = false;
    if (st == DS_OK)
        st = history_on(c, shop_id, case_id, after_seq, limit, a, out, n_out, more, err);
    store_release(p, c);
    return st;
}

/* ---- escalation ---- */

static void stuck_at(ds_arena *a, const PGresult *r, int i, store_case_stuck *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->supplier_id, sizeof(o->supplier_id), "%s", PQgetvalue(r, i, 0));
    snprintf(o->carrier, sizeof(o->carrier), "%s", PQgetvalue(r, i, 1));
    snprintf(o->tracking_number, sizeof(o->tracking_number), "%s", PQgetvalue(r, i, 2));
    o->status = store_row_int32(r, i, 3, 0);
    o->checkpoints = store_row_bytea(a, r, i, 4, &o->checkpoints_len);
    o->unchanged_ms = store_row_int64(r, i, 5, 0);
    o->line_ids = store_row_strdup(a, r, i, 6);
    o->quantities = store_row_strdup(a, r, i, 7);
}

ds_status store_case_stuck_parcels(store_conn *c, const char *shop_id, const char *order_id,
                                   int64_t after_ms, ds_arena *a, store_case_stuck *out,
                                   size_t cap, size_t *n, ds_error *err)
{
    char after[24], limit[24];
    const char *v[4] = {shop_id, order_id, store_param_int64(after, after_ms),
                        store_param_int64(limit, (int64_t)cap)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_stuck, 4, v, &r, err);

    *n = 0;
    for (int i = 0; st == DS_OK && i < PQntuples(r) && (size_t)i < cap; i++) {
        stuck_at(a, r, i, &out[i]);
        *n = (size_t)i + 1;
    }
    PQclear(r);
    return st;
}
