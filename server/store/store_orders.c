/* store_orders.c - orders, order lines and history: create, get, list, history. */
#include "store_orders.h"

#include <stdio.h>
#include <string.h>

#include "store_events.h"
#include "store_row.h"
#include "store_wf_view.h"

/* SQL text reads better laid out by hand. */
/* clang-format off */

/* A timestamptz column as epoch microseconds, and back from a parameter. */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::int8"
#define TS(param) "(timestamptz 'epoch' + " param "::int8 * interval '1 microsecond')"

/* The columns every order read returns, in the order read_order expects. */
#define ORDER_COLS                                                                          \
    "order_id, external_order_id, state, hold_reason, hold_detail, hold_held_state, "      \
    US("hold_since") ", array_to_string(hold_line_ids, ' '), hold_supplier_id, "            \
    "currency_code, ship_recipient_name, ship_phone, ship_country_code, ship_region, "     \
    "ship_city, ship_district, ship_street, ship_postal_code, buyer_note, cancel_reason, " \
    US("create_time") " AS create_us, " US("update_time") ", version"

enum {
    C_ID, C_EXT, C_STATE, C_HREASON, C_HDETAIL, C_HHELD, C_HSINCE, C_HLINES, C_HSUPPLIER,
    C_CURRENCY, C_RNAME, C_PHONE, C_COUNTRY, C_REGION, C_CITY, C_DISTRICT, C_STREET, C_POSTAL,
    C_NOTE, C_CANCEL, C_CREATE, C_UPDATE, C_VERSION
};

/* Newest first; $1 shop, $2/$3 create_time range (NULL = open), $4/$5 the
 * keyset position (NULL = first page), $6 limit. Each list statement adds
 * its own filter so that the planner can use the index made for it, also
 * in a generic plan. */
#define LIST_WHERE                                                                    \
    " FROM orders WHERE shop_id = $1"                                                 \
    " AND create_time >= COALESCE(" TS("$2") ", '-infinity')"                         \
    " AND create_time < COALESCE(" TS("$3") ", 'infinity')"                           \
    " AND (create_time, order_id) < (COALESCE(" TS("$4") ", 'infinity'),"             \
    " COALESCE($5::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) "
#define LIST_ORDER " ORDER BY create_time DESC, order_id DESC LIMIT $6"
/* Filtering on the values of array $7 of column `col`: the newest rows of
 * each value come in index order from (shop_id, col, create_time, order_id)
 * and are merged, so a rare value costs as little as a common one. */
#define LIST_PER_VALUE(col, more)                                                                  \
    "SELECT o.* FROM (SELECT DISTINCT v FROM unnest($7::int2[]) AS v) AS s "                       \
    "CROSS JOIN LATERAL (SELECT " ORDER_COLS LIST_WHERE "AND " col " = s.v " more LIST_ORDER       \
    ") AS o ORDER BY o.create_us DESC, o.order_id DESC LIMIT $6"

static const store_stmt stmt_list_all = {"orders_list_all",
                                         "SELECT " ORDER_COLS LIST_WHERE LIST_ORDER};
static const store_stmt stmt_list_states = {"orders_list_states", LIST_PER_VALUE("state", "")};
static const store_stmt stmt_list_holds = {
    "orders_list_holds",
    LIST_PER_VALUE("hold_reason", "AND ($8::int2[] IS NULL OR state = ANY($8))")};
static const store_stmt stmt_list_external = {
    "orders_list_external", "SELECT " ORDER_COLS LIST_WHERE "AND external_order_id = $7 "
                            "AND ($8::int2[] IS NULL OR state = ANY($8)) "
                            "AND ($9::int2[] IS NULL OR hold_reason = ANY($9))" LIST_ORDER};

static const store_stmt stmt_get = {
    "orders_get", "SELECT " ORDER_COLS " FROM orders WHERE shop_id = $1 AND order_id = $2"};
static const store_stmt stmt_exists = {"orders_exists",
                                       "SELECT 1 FROM orders WHERE shop_id = $1 AND order_id = $2"};
/* The lines of the orders in $2, tagged with the 1-based position of their
 * order in $2, in page order then line order. */
static const store_stmt stmt_lines = {
    "orders_lines",
    "SELECT p.pos, l.line_id, l.shop_sku, l.quantity, l.unit_price_units, l.unit_price_nanos, "
    "l.title FROM unnest($2::uuid[]) WITH ORDINALITY AS p(order_id, pos) "
    "JOIN order_lines l ON l.shop_id = $1 AND l.order_id = p.order_id "
    "ORDER BY p.pos, l.line_no"};
static const store_stmt stmt_by_request = {
    "orders_by_request",
    "SELECT order_id, request_hash FROM orders WHERE shop_id = $1 AND request_id = $2"};
static const store_stmt stmt_by_external = {
    "orders_by_external",
    "SELECT order_id FROM orders WHERE shop_id = $1 AND external_order_id = $2"};
/* A new order has history event 1, hence last_event_seq 1. */
static const store_stmt stmt_insert = {
    "orders_insert",
    "INSERT INTO orders (shop_id, external_order_id, state, currency_code, ship_recipient_name, "
    "ship_phone, ship_country_code, ship_region, ship_city, ship_district, ship_street, "
    "ship_postal_code, buyer_note, last_event_seq, request_id, request_hash) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15) "
    "RETURNING order_id"};
static const store_stmt stmt_insert_lines = {
    "orders_insert_lines",
    "INSERT INTO order_lines (shop_id, order_id, line_no, line_id, shop_sku, quantity, "
    "unit_price_units, unit_price_nanos, title) "
    "SELECT $1, $2, l.no::int2, l.id, l.sku, l.qty, l.units, l.nanos, l.title "
    "FROM unnest($3::text[], $4::text[], $5::int4[], $6::int8[], $7::int4[], $8::text[]) "
    "WITH ORDINALITY AS l(id, sku, qty, units, nanos, title, no)"};
static const store_stmt stmt_insert_created = {
    "orders_insert_created",
    "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, from_state, "
    "to_state, txid) VALUES ($1, $2, 1, $3, $4, $5, 0, $6, pg_current_xact_id())"};
/* A page of one order's history, in the row layout shared by every reader
 * of order_events (store_events.h), then the stream position. */
static const store_stmt stmt_history = {
    "orders_history",
    "SELECT " STORE_EVENT_COLUMNS ", e.txid::text, e.event_id FROM order_events e "
    "WHERE e.shop_id = $1 AND e.order_id = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4"};

/* clang-format on */

enum { UUID_LEN = 36, CONSTRAINT_MAX = 64 };

/* ---- parameters ---- */

/* A PostgreSQL array literal of the n strings, every element quoted, in the
 * arena; NULL when out of memory. Values are data, never SQL. */
static char *text_array(ds_arena *a, char *const *items, size_t n)
{
    size_t cap = 3, k = 0;
    char *s;

    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(items[i]) + 3;
    s = ds_arena_alloc(a, cap);
    if (s == NULL)
        return NULL;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            s[k++] = ',';
        s[k++] = '"';
        for (const char *p = items[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                s[k++] = '\\';
            s[k++] = *p;
        }
        s[k++] = '"';
    }
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

/* "{1,2,3}" in the arena; NULL for n == 0 (SQL NULL: no filter) or no memory. */
static char *int_array(ds_arena *a, const int32_t *v, size_t n)
{
    char *s = n > 0 ? ds_arena_alloc(a, n * 12 + 3) : NULL;
    size_t k = 0;

    if (s == NULL)
        return NULL;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, 13, i > 0 ? ",%d" : "%d", (int)v[i]);
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

/* s, or NULL for NULL or "". */
static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- reading ---- */

/* The hold columns of an ON_HOLD order, or NULL when it is not held. */
static Dropship__V1__OrderHold *read_hold(ds_arena *a, const PGresult *r, int row, bool *ok)
{
    Dropship__V1__OrderHold *h;
    char *ids;

    if (store_row_text(r, row, C_HREASON) == NULL)
        return NULL;
    h = ds_arena_alloc(a, sizeof(*h));
    ids = store_row_strdup(a, r, row, C_HLINES);
    if (h == NULL || ids == NULL) {
        *ok = false;
        return NULL;
    }
    dropship__v1__order_hold__init(h);
    h->reason = store_row_int32(r, row, C_HREASON, 0);
    h->detail = store_row_strdup(a, r, row, C_HDETAIL);
    h->held_state = store_row_int32(r, row, C_HHELD, 0);
    h->since_time = store_row_timestamp(a, r, row, C_HSINCE);
    h->supplier_id = store_row_strdup(a, r, row, C_HSUPPLIER);
    /* line ids never contain spaces: split the space-joined list in place */
    h->n_line_ids = ids[0] != '\0';
    for (char *p = ids; *p != '\0'; p++)
        h->n_line_ids += *p == ' ';
    h->line_ids = ds_arena_alloc(a, sizeof(char *) * (h->n_line_ids + 1));
    for (size_t i = 0; h->line_ids != NULL && i < h->n_line_ids; i++) {
        h->line_ids[i] = ids;
        ids += strcspn(ids, " ");
        if (*ids == ' ')
            *ids++ = '\0';
    }
    *ok = *ok && h->line_ids != NULL && h->detail != NULL && h->supplier_id != NULL;
    return h;
}

/* The shipping address columns of row `row`. */
static Dropship__V1__Address *read_address(ds_arena *a, const PGresult *r, int row, bool *ok)
{
    Dropship__V1__Address *d = ds_arena_alloc(a, sizeof(*d));

    if (d == NULL) {
        *ok = false;
        return NULL;
    }
    dropship__v1__address__init(d);
    d->recipient_name = store_row_strdup(a, r, row, C_RNAME);
    d->phone = store_row_strdup(a, r, row, C_PHONE);
    d->country_code = store_row_strdup(a, r, row, C_COUNTRY);
    d->region = store_row_strdup(a, r, row, C_REGION);
    d->city = store_row_strdup(a, r, row, C_CITY);
    d->district = store_row_strdup(a, r, row, C_DISTRICT);
    d->street = store_row_strdup(a, r, row, C_STREET);
    d->postal_code = store_row_strdup(a, r, row, C_POSTAL);
    *ok = *ok && d->recipient_name && d->phone && d->country_code && d->region && d->city &&
          d->district && d->street && d->postal_code;
    return d;
}

/* Row `row` of r as an order without lines. */
static ds_status read_order(ds_arena *a, const PGresult *r, int row, store_order_row *out,
                            ds_error *err)
{
    Dropship__V1__Order *o = ds_arena_alloc(a, sizeof(*o));
    bool ok = o != NULL;

    if (!ok)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading an order");
    dropship__v1__order__init(o);
    o->id = store_row_strdup(a, r, row, C_ID);
    o->external_order_id = store_row_strdup(a, r, row, C_EXT);
    o->state = store_row_int32(r, row, C_STATE, 0);
    o->hold = read_hold(a, r, row, &ok);
    o->shipping_address = read_address(a, r, row, &ok);
    o->currency_code = store_row_strdup(a, r, row, C_CURRENCY);
    o->buyer_note = store_row_strdup(a, r, row, C_NOTE);
    o->cancel_reason = store_row_strdup(a, r, row, C_CANCEL);
    o->create_time = store_row_timestamp(a, r, row, C_CREATE);
    o->update_time = store_row_timestamp(a, r, row, C_UPDATE);
    if (!ok || !o->id || !o->external_order_id || !o->currency_code || !o->buyer_note ||
        !o->cancel_reason || !o->create_time || !o->update_time)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading an order");
    out->msg = o;
    out->version = store_row_int64(r, row, C_VERSION, 0);
    out->create_us = store_row_int64(r, row, C_CREATE, 0);
    return DS_OK;
}

/* A Money in the arena; NULL when out of memory. */
static Dropship__V1__Money *money(ds_arena *a, const char *currency, int64_t units, int32_t nanos)
{
    Dropship__V1__Money *m = ds_arena_alloc(a, sizeof(*m));

    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = (char *)currency;
    m->units = units;
    m->nanos = nanos;
    return m;
}

/* Line row `row` of r (stmt_lines) in the order's currency (shared string). */
static Dropship__V1__OrderLine *read_line(ds_arena *a, const PGresult *r, int row,
                                          const char *currency)
{
    Dropship__V1__OrderLine *l = ds_arena_alloc(a, sizeof(*l));

    if (l == NULL)
        return NULL;
    dropship__v1__order_line__init(l);
    l->line_id = store_row_strdup(a, r, row, 1);
    l->shop_sku = store_row_strdup(a, r, row, 2);
    l->quantity = store_row_int32(r, row, 3, 0);
    l->unit_price =
        money(a, currency, store_row_int64(r, row, 4, 0), store_row_int32(r, row, 5, 0));
    l->title = store_row_strdup(a, r, row, 6);
    if (!l->line_id || !l->shop_sku || !l->unit_price || !l->title)
        return NULL;
    return l;
}

/* Give every order of rows[0..n) room for its lines, counted from r. */
static bool size_lines(ds_arena *a, const PGresult *r, store_order_row *rows, size_t n)
{
    int total = PQntuples(r);

    for (int i = 0; i < total; i++) {
        int64_t pos = store_row_int64(r, i, 0, 0);
        if (pos >= 1 && (size_t)pos <= n)
            rows[pos - 1].msg->n_lines++;
    }
    for (size_t i = 0; i < n; i++) {
        Dropship__V1__Order *o = rows[i].msg;
        o->lines = ds_arena_alloc(a, sizeof(*o->lines) * (o->n_lines + 1));
        if (o->lines == NULL)
            return false;
        o->n_lines = 0;
    }
    return true;
}

/* Read the lines of rows[0..n) (one statement for the whole page). */
static ds_status read_lines(store_conn *c, const char *shop_id, ds_arena *a, store_order_row *rows,
                            size_t n, ds_error *err)
{
    char **ids = ds_arena_alloc(a, sizeof(char *) * (n + 1));
    const char *v[2] = {shop_id, NULL};
    PGresult *res = NULL;
    ds_status st;

    for (size_t i = 0; ids != NULL && i < n; i++)
        ids[i] = rows[i].msg->id;
    v[1] = ids ? text_array(a, ids, n) : NULL;
    if (v[1] == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading order lines");
    st = store_exec(c, &stmt_lines, 2, v, &res, err);
    if (st == DS_OK && !size_lines(a, res, rows, n))
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory reading order lines");
    for (int i = 0; st == DS_OK && i < PQntuples(res); i++) {
        int64_t pos = store_row_int64(res, i, 0, 0);
        Dropship__V1__Order *o;
        if (pos < 1 || (size_t)pos > n)
            continue;
        o = rows[pos - 1].msg;
        o->lines[o->n_lines] = read_line(a, res, i, o->currency_code);
        if (o->lines[o->n_lines++] == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory reading order lines");
    }
    PQclear(res);
    return st;
}

/* Orders of an executed list/get statement: at most `limit` rows, with lines. */
static ds_status read_page(store_conn *c, const char *shop_id, const PGresult *res, int limit,
                           ds_arena *a, store_order_row **out, size_t *n_out, ds_error *err)
{
    int n = PQntuples(res) < limit ? PQntuples(res) : limit;
    ds_status st = DS_OK;

    *out = ds_arena_alloc(a, sizeof(**out) * (size_t)(n > 0 ? n : 1));
    if (*out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading orders");
    for (int i = 0; st == DS_OK && i < n; i++)
        st = read_order(a, res, i, &(*out)[i], err);
    if (st == DS_OK && n > 0)
        st = read_lines(c, shop_id, a, *out, (size_t)n, err);
    *n_out = st == DS_OK ? (size_t)n : 0;
    return st;
}

/* One order by id on connection c. */
static ds_status read_one(store_conn *c, const char *shop_id, const char *order_id, ds_arena *a,
                          store_order_row *out, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *res = NULL;
    store_order_row *rows = NULL;
    size_t n = 0;
    ds_status st = store_exec(c, &stmt_get, 2, v, &res, err);

    if (st == DS_OK && PQntuples(res) < 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK)
        st = read_page(c, shop_id, res, 1, a, &rows, &n, err);
    if (st == DS_OK)
        *out = rows[0];
    PQclear(res);
    return st;
}

/* ---- create ---- */

/* The order created earlier with in->request_id, if any: *found with its id
 * when the request hash matches; REQUEST_ID_REUSED when it does not. */
static ds_status find_request(store_conn *c, const store_order_new *in, char id[UUID_LEN + 1],
                              bool *found, ds_error *err)
{
    const char *v[2] = {in->shop_id, in->request_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_by_request, 2, v, &res, err);
    const char *hash;

    *found = false;
    if (st != DS_OK || PQntuples(res) < 1)
        goto out;
    hash = store_row_text(res, 0, 1);
    if (hash == NULL || strcmp(hash, in->request_hash) != 0) {
        ds_error_reason(err, "REQUEST_ID_REUSED");
        st =
            ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                         "request_id %s was already used with a different request", in->request_id);
        goto out;
    }
    snprintf(id, UUID_LEN + 1, "%s", store_row_text(res, 0, 0));
    *found = true;
out:
    PQclear(res);
    return st;
}

/* DUPLICATE_EXTERNAL_ORDER_ID naming the order that has the external id. */
static ds_status duplicate_external(store_conn *c, const store_order_new *in,
                                    char dup_order_id[UUID_LEN + 1], ds_error *err)
{
    const char *v[2] = {in->shop_id, in->order->external_order_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_by_external, 2, v, &res, err);

    if (st == DS_OK && PQntuples(res) > 0) {
        snprintf(dup_order_id, UUID_LEN + 1, "%s", store_row_text(res, 0, 0));
        ds_error_reason(err, "DUPLICATE_EXTERNAL_ORDER_ID");
        ds_error_metadata(err, "order_id", dup_order_id);
        st = ds_error_set(err, DS_ERR_ALREADY_EXISTS,
                          "external_order_id \"%s\" is already used by order %s",
                          in->order->external_order_id, dup_order_id);
    } else if (st == DS_OK) {
        st = ds_error_set(err, DS_ERR_ABORTED, "conflicting order vanished; retry");
    }
    PQclear(res);
    return st;
}

/* INSERT the order row; its new id to id. */
static ds_status insert_order(store_conn *c, const store_order_new *in, char id[UUID_LEN + 1],
                              ds_error *err)
{
    const Dropship__V1__Order *o = in->order;
    const Dropship__V1__Address *d = o->shipping_address;
    const char *rid = nonempty(in->request_id);
    char state[24];
    const char *v[15] = {in->shop_id,
                         o->external_order_id,
                         store_param_int64(state, DROPSHIP__V1__ORDER_STATE__ORDER_STATE_RECEIVED),
                         o->currency_code,
                         d->recipient_name,
                         d->phone,
                         d->country_code,
                         d->region,
                         d->city,
                         d->district,
                         d->street,
                         d->postal_code,
                         o->buyer_note,
                         rid,
                         rid ? in->request_hash : NULL};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_insert, 15, v, &res, err);

    if (st == DS_OK)
        snprintf(id, UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return st;
}

/* The six column arrays of the lines. */
static ds_status line_arrays(ds_arena *a, const Dropship__V1__Order *o, const char *v[6],
                             ds_error *err)
{
    size_t n = o->n_lines;
    char **col[6];
    bool ok = true;

    for (int k = 0; k < 6; k++) {
        col[k] = ds_arena_alloc(a, sizeof(char *) * (n + 1));
        ok = ok && col[k] != NULL;
    }
    for (size_t i = 0; ok && i < n; i++) {
        const Dropship__V1__OrderLine *l = o->lines[i];
        col[0][i] = l->line_id;
        col[1][i] = l->shop_sku;
        col[2][i] = ds_arena_printf(a, "%d", (int)l->quantity);
        col[3][i] = ds_arena_printf(a, "%lld", (long long)l->unit_price->units);
        col[4][i] = ds_arena_printf(a, "%d", (int)l->unit_price->nanos);
        col[5][i] = l->title;
        ok = col[2][i] && col[3][i] && col[4][i];
    }
    for (int k = 0; ok && k < 6; k++) {
        v[k] = text_array(a, col[k], n);
        ok = v[k] != NULL;
    }
    return ok ? DS_OK : ds_error_set(err, DS_ERR_NOMEM, "out of memory writing order lines");
}

/* INSERT the lines and the CREATED event of order id. */
static ds_status insert_children(store_conn *c, const store_order_new *in, const char *id,
                                 ds_arena *a, ds_error *err)
{
    const char *lv[8] = {in->shop_id, id};
    char kind[24], type[24], to[24];
    const char *ev[6] = {
        in->shop_id,
        id,
        store_param_int64(kind, DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_API_KEY),
        in->key_id,
        store_param_int64(type, DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CREATED),
        store_param_int64(to, DROPSHIP__V1__ORDER_STATE__ORDER_STATE_RECEIVED)};
    ds_status st = line_arrays(a, in->order, &lv[2], err);

    if (st == DS_OK)
        st = store_exec(c, &stmt_insert_lines, 8, lv, NULL, err);
    if (st == DS_OK)
        st = store_exec(c, &stmt_insert_created, 6, ev, NULL, err);
    if (st == DS_OK)
        st = store_notify(c, STORE_EVENTS_CHANNEL, in->shop_id, err);
    if (st == DS_OK && in->on_created != NULL)
        st = in->on_created(c, in->shop_id, id, err);
    return st;
}

/* The whole create transaction. On failure it is rolled back and the
 * violated constraint (if any) is copied to `constraint`. */
static ds_status insert_all(store_conn *c, const store_order_new *in, ds_arena *a,
                            store_order_row *out, char constraint[CONSTRAINT_MAX], ds_error *err)
{
    char id[UUID_LEN + 1] = "";
    ds_status st = store_begin(c, err);

    if (st == DS_OK)
        st = insert_order(c, in, id, err);
    if (st == DS_OK)
        st = insert_children(c, in, id, a, err);
    if (st == DS_OK)
        st = read_one(c, in->shop_id, id, a, out, err);
    if (st == DS_OK)
        return store_commit(c, err);
    snprintf(constraint, CONSTRAINT_MAX, "%s", store_last_constraint(c));
    store_rollback(c);
    return st;
}

/* After a unique violation: the request_id's order (a concurrent twin won
 * the race), else the external_order_id's. */
static ds_status resolve_conflict(store_conn *c, const store_order_new *in, const char *constraint,
                                  char id[UUID_LEN + 1], bool *found,
                                  char dup_order_id[UUID_LEN + 1], ds_error *err)
{
    ds_status st = DS_OK;

    *found = false;
    ds_error_clear(err);
    if (nonempty(in->request_id) != NULL)
        st = find_request(c, in, id, found, err);
    if (st != DS_OK || *found)
        return st;
    if (strcmp(constraint, "orders_external_order_id_key") == 0)
        return duplicate_external(c, in, dup_order_id, err);
    return ds_error_set(err, DS_ERR_INTERNAL, "order insert violated %s", constraint);
}

ds_status store_order_create(store_pool *p, int64_t deadline_ms, const store_order_new *in,
                             ds_arena *a, store_order_row *out, bool *replayed,
                             char dup_order_id[37], ds_error *err)
{
    store_conn *c = NULL;
    char id[UUID_LEN + 1] = "", constraint[CONSTRAINT_MAX] = "";
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    *replayed = false;
    dup_order_id[0] = '\0';
    if (st == DS_OK && nonempty(in->request_id) != NULL)
        st = find_request(c, in, id, replayed, err);
    if (st == DS_OK && !*replayed) {
        st = insert_all(c, in, a, out, constraint, err);
        if (st == DS_ERR_ALREADY_EXISTS)
            st = resolve_conflict(c, in, constraint, id, replayed, dup_order_id, err);
    }
    if (st == DS_OK && *replayed)
        st = read_one(c, in->shop_id, id, a, out, err);
    store_release(p, c);
    return st;
}

ds_status store_order_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                          const char *order_id, ds_arena *a, store_order_row *out, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    /* one snapshot for the order and its workflow view: a step that moves
     * the order and writes its supplier orders or parcels is seen whole */
    if (st == DS_OK)
        st = store_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (st == DS_OK)
        st = read_one(c, shop_id, order_id, a, out, err);
    if (st == DS_OK)
        st = store_wf_fill_order(c, shop_id, a, out->msg, err);
    if (c != NULL)
        store_rollback(c);
    store_release(p, c);
    return st;
}

/* ---- list ---- */

/* The statement serving f and its parameters beyond the common six. */
static const store_stmt *list_stmt(ds_arena *a, const store_order_filter *f, const char *v[9],
                                   int *nparams)
{
    const char *states = int_array(a, f->states, f->n_states);
    const char *holds = int_array(a, f->hold_reasons, f->n_hold_reasons);

    if (nonempty(f->external_order_id) != NULL) {
        v[6] = f->external_order_id;
        v[7] = states;
        v[8] = holds;
        *nparams = 9;
        return &stmt_list_external;
    }
    *nparams = 7;
    if (holds != NULL) {
        v[6] = holds;
        v[7] = states;
        *nparams = 8;
        return &stmt_list_holds;
    }
    if (states == NULL) {
        *nparams = 6;
        return &stmt_list_all;
    }
    v[6] = states;
    return &stmt_list_states;
}

ds_status store_order_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                           const store_order_filter *f, int64_t after_us, const char *after_id,
                           int limit, ds_arena *a, store_order_row **out, size_t *n_out, bool *more,
                           ds_error *err)
{
    char start[24], end[24], after[24], lim[24];
    const char *v[9] = {shop_id,
                        f->has_start ? store_param_int64(start, f->start_us) : NULL,
                        f->has_end ? store_param_int64(end, f->end_us) : NULL,
                        after_id ? store_param_int64(after, after_us) : NULL,
                        after_id,
                        store_param_int64(lim, (int64_t)limit + 1)};
    int nparams = 0;
    const store_stmt *stmt = list_stmt(a, f, v, &nparams);
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status st = DS_OK;

    *out = NULL;
    *n_out = 0;
    *more = false;
    /* Supplier orders are created by the purchase step, which does not
     * exist yet: no order has one, so this filter matches nothing. */
    if (nonempty(f->supplier_id) != NULL)
        return DS_OK;
    st = store_acquire(p, deadline_ms, &c, err);
    if (st == DS_OK)
        st = store_exec(c, stmt, nparams, v, &res, err);
    if (st == DS_OK) {
        *more = PQntuples(res) > limit;
        st = read_page(c, shop_id, res, limit, a, out, n_out, err);
    }
    PQclear(res);
    store_release(p, c);
    return st;
}

/* ---- history ---- */

/* Up to `limit` events of res into out. */
static ds_status read_events(ds_arena *a, const PGresult *res, size_t limit, store_event_row **out,
                             size_t *n_out, ds_error *err)
{
    size_t n = (size_t)PQntuples(res) < limit ? (size_t)PQntuples(res) : limit;

    *out = ds_arena_alloc(a, sizeof(**out) * (n + 1));
    if (*out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading order history");
    for (size_t i = 0; i < n; i++) {
        (*out)[i].msg = store_events_message(a, res, (int)i);
        (*out)[i].pos = store_events_row_pos(res, (int)i);
        if ((*out)[i].msg == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory reading order history");
    }
    *n_out = n;
    return DS_OK;
}

/* DS_OK when the order exists in the shop, else DS_ERR_NOT_FOUND. */
static ds_status order_exists(store_conn *c, const char *shop_id, const char *order_id,
                              ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_exists, 2, v, &res, err);

    if (st == DS_OK && PQntuples(res) < 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    PQclear(res);
    return st;
}

ds_status store_order_history(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              const char *order_id, int64_t after_seq, int limit, ds_arena *a,
                              store_event_row **out, size_t *n_out, bool *more, ds_error *err)
{
    char after[24], lim[24];
    const char *v[4] = {shop_id, order_id, store_param_int64(after, after_seq),
                        store_param_int64(lim, (int64_t)limit + 1)};
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status st = store_acquire(p, deadline_ms, &c, err);

    *out = NULL;
    *n_out = 0;
    *more = false;
    if (st == DS_OK)
        st = store_exec(c, &stmt_history, 4, v, &res, err);
    if (st == DS_OK && PQntuples(res) == 0)
        st = order_exists(c, shop_id, order_id, err);
    if (st == DS_OK) {
        *more = PQntuples(res) > limit;
        st = read_events(a, res, (size_t)limit, out, n_out, err);
    }
    PQclear(res);
    store_release(p, c);
    return st;
}
